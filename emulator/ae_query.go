package emulator

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// parseAETime accepts RFC 3339 with Z or an offset. A "+" sent unencoded in a query
// string arrives as a space, which AE refuses rather than guesses at: so does the
// emulator, so that a client that forgets to encode it fails here first.
func parseAETime(s string) (time.Time, error) {
	if strings.Contains(s, " ") {
		return time.Time{}, errors.New("a '+' in a query string must be URL-encoded as %2B")
	}
	return time.Parse(time.RFC3339Nano, s)
}

// aeQuerySpec is a parsed query; it travels inside the page token, so every page of a
// sequence applies the same filters and order.
type aeQuerySpec struct {
	Object  string     `json:"obj"`
	Deleted string     `json:"del"` // "false" | "true" | "all"
	Order   []aeOrder  `json:"ord"`
	Limit   int        `json:"lim"`
	Filters []aeFilter `json:"flt,omitempty"`
	// Email keeps the prospects with this email (the email filter), compared as a business
	// unit without AMPSEA compares emails: trimmed, ASCII letters without case.
	Email  *string `json:"email,omitempty"`
	After  *aeKey  `json:"after,omitempty"` // sort key of the previous page's last row
	Issued int64   `json:"iat"`
}

type aeOrder struct {
	Field string `json:"f"`
	Desc  bool   `json:"d,omitempty"`
}

// aeFilter compares a field with a value: ids as-is, times in unix nanoseconds.
type aeFilter struct {
	Field string `json:"f"`
	Op    string `json:"o"`
	Value int64  `json:"v"`
}

type aeKey struct {
	ID        int64 `json:"id"`
	CreatedAt int64 `json:"c"`
	UpdatedAt int64 `json:"u"`
}

func (k aeKey) get(field string) int64 {
	switch field {
	case "createdAt":
		return k.CreatedAt
	case "updatedAt":
		return k.UpdatedAt
	}
	return k.ID
}

func keyOf(r aeRow) aeKey {
	return aeKey{ID: r.int("id"), CreatedAt: r.int("createdAt"), UpdatedAt: r.int("updatedAt")}
}

// aeKeyColumn is the column behind an aeKey field, with aeKey.get's fallback to id.
func aeKeyColumn(field string) string {
	switch field {
	case "createdAt":
		return "created_at"
	case "updatedAt":
		return "updated_at"
	}
	return "id"
}

// floorDiv and ceilDiv round a quotient down and up (b > 0), where Go's / truncates.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// sql translates the spec into a WHERE condition (values in args) and an ORDER BY list
// that select and order exactly its rows: the deleted choice, the filters, the keyset
// position after the previous page, and the order terms with id as the final tiebreak (a
// total order makes keyset paging exact). SQLite can then walk the updated_at/created_at
// index and stop after one page instead of sorting the whole table.
func (s *aeQuerySpec) sql() (where string, args []any, orderBy string) {
	var conds []string
	switch s.Deleted {
	case "false":
		conds = append(conds, "is_deleted = 0")
	case "true":
		conds = append(conds, "is_deleted <> 0")
	} // anything else ("all") keeps every row
	if s.Email != nil {
		// The key folds as aeEmailKey does; SQLite's lower folds ASCII letters only, so
		// other letters must match as they are.
		conds = append(conds, aeEmailKey+" = lower(replace(replace(?, '\u212a', 'k'), '\u017f', 's'))")
		args = append(args, trimEmail(*s.Email))
	}
	for _, f := range s.Filters {
		op, bound := f.Op, f.Value
		if op != ">" && op != ">=" && op != "<" {
			op = "<="
		}
		if f.Field != "id" {
			// Times are stored in whole seconds v and filters carry nanoseconds V:
			// v·1e9 > V ⇔ v > ⌊V/1e9⌋, v·1e9 ≥ V ⇔ v ≥ ⌈V/1e9⌉, v·1e9 < V ⇔ v < ⌈V/1e9⌉,
			// v·1e9 ≤ V ⇔ v ≤ ⌊V/1e9⌋. Comparing seconds keeps the index usable.
			if op == ">" || op == "<=" {
				bound = floorDiv(bound, int64(time.Second))
			} else {
				bound = ceilDiv(bound, int64(time.Second))
			}
		}
		conds = append(conds, aeKeyColumn(f.Field)+" "+op+" ?")
		args = append(args, bound)
	}
	terms := append(append([]aeOrder(nil), s.Order...), aeOrder{Field: "id"})
	if a := s.After; a != nil {
		// Lexicographic "after": some term is past the key while all earlier terms equal
		// it. The first term's bound is implied by that and gives SQLite an index range.
		first := aeKeyColumn(terms[0].Field) + " >= ?"
		if terms[0].Desc {
			first = aeKeyColumn(terms[0].Field) + " <= ?"
		}
		conds = append(conds, first)
		args = append(args, a.get(terms[0].Field))
		alts := make([]string, len(terms))
		for i, t := range terms {
			var alt []string
			for _, prev := range terms[:i] {
				alt = append(alt, aeKeyColumn(prev.Field)+" = ?")
				args = append(args, a.get(prev.Field))
			}
			op := " > ?"
			if t.Desc {
				op = " < ?"
			}
			alt = append(alt, aeKeyColumn(t.Field)+op)
			args = append(args, a.get(t.Field))
			alts[i] = "(" + strings.Join(alt, " AND ") + ")"
		}
		conds = append(conds, "("+strings.Join(alts, " OR ")+")")
	}
	order := make([]string, len(terms))
	for i, t := range terms {
		order[i] = aeKeyColumn(t.Field)
		if t.Desc {
			order[i] += " DESC"
		}
	}
	return strings.Join(conds, " AND "), args, strings.Join(order, ", ")
}

// aeFilters maps the v5 filter parameters to (field, operator).
func aeFilterParam(name string) (field, op string, ok bool) {
	for _, f := range []string{"createdAt", "updatedAt"} {
		switch name {
		case f + "After":
			return f, ">", true
		case f + "AfterOrEqualTo":
			return f, ">=", true
		case f + "Before":
			return f, "<", true
		case f + "BeforeOrEqualTo":
			return f, "<=", true
		}
	}
	switch name {
	case "idGreaterThan":
		return "id", ">", true
	case "idGreaterThanOrEqualTo":
		return "id", ">=", true
	case "idLessThan":
		return "id", "<", true
	case "idLessThanOrEqualTo":
		return "id", "<=", true
	}
	return "", "", false
}

func parseAEQuery(object string, q url.Values) (*aeQuerySpec, *result) {
	spec := &aeQuerySpec{Object: object, Deleted: "false", Limit: aeDefaultLimit, Order: []aeOrder{{Field: "id"}}}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(q.Get(k))
		switch k {
		case "fields":
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > aeMaxLimit {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidLimit, fmt.Sprintf("Invalid value specified for limit: must be 1..%d", aeMaxLimit))
			}
			spec.Limit = n
		case "orderBy":
			spec.Order = nil
			for _, term := range strings.Split(v, ",") {
				parts := strings.Fields(term)
				if len(parts) == 0 || len(parts) > 2 {
					return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidOrderBy, "Invalid value specified for orderBy: "+v)
				}
				o := aeOrder{Field: parts[0]}
				if o.Field != "id" && o.Field != "createdAt" && o.Field != "updatedAt" {
					return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidOrderBy, "Invalid value specified for orderBy: "+parts[0])
				}
				if len(parts) == 2 {
					switch strings.ToUpper(parts[1]) {
					case "ASC":
					case "DESC":
						o.Desc = true
					default:
						return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidOrderBy, "Invalid value specified for orderBy: "+v)
					}
				}
				spec.Order = append(spec.Order, o)
			}
		case "email":
			if v != "" {
				email := q.Get(k)
				spec.Email = &email
			}
		case "deleted":
			d := strings.ToLower(v)
			if d != "true" && d != "false" && d != "all" {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidDeleted, "Parameter deleted must be true, false or all")
			}
			spec.Deleted = d
		default:
			field, op, ok := aeFilterParam(k)
			if !ok {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidParams, "Invalid query parameters: "+k)
			}
			f := aeFilter{Field: field, Op: op}
			if field == "id" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidID, "Invalid ID: "+v)
				}
				f.Value = n
			} else {
				t, err := parseAETime(q.Get(k))
				if err != nil {
					return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidTimestamp, fmt.Sprintf("Invalid timestamp: %s: %v", k, err))
				}
				f.Value = t.UnixNano()
			}
			spec.Filters = append(spec.Filters, f)
		}
	}
	return spec, nil
}

func encodePageToken(spec *aeQuerySpec) string {
	b, _ := json.Marshal(spec)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (e *Emulator) decodePageToken(object, tok string) (*aeQuerySpec, *result) {
	invalid := aeErrP(http.StatusBadRequest, aeCodeTokenInvalid, "Page token is invalid.")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, invalid
	}
	var spec aeQuerySpec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil || spec.Object != object || spec.After == nil || spec.Limit < 1 {
		return nil, invalid
	}
	if e.now().Sub(time.Unix(spec.Issued, 0)) > aePageTokenTTL {
		return nil, aeErrP(http.StatusBadRequest, aeCodeTokenExpired, "Page token has expired.")
	}
	return &spec, nil
}

func (e *Emulator) queryAE(ctx context.Context, tx *sql.Tx, req *aeReq, table string, defs []aeField) (result, error) {
	fields, bad := parseFields(defs, req.query, true)
	if bad != nil {
		return *bad, nil
	}
	var spec *aeQuerySpec
	if tok := req.query.Get("nextPageToken"); tok != "" {
		for k := range req.query {
			if k != "fields" && k != "nextPageToken" {
				return aeErr(http.StatusBadRequest, aeCodeInvalidParams, "Only fields may accompany nextPageToken: "+k), nil
			}
		}
		spec, bad = e.decodePageToken(req.object, tok)
	} else {
		spec, bad = parseAEQuery(req.object, req.query)
	}
	if bad != nil {
		return *bad, nil
	}
	where, args, orderBy := spec.sql()
	// One row beyond the page tells whether another page follows.
	kept, err := selectAE(ctx, tx, table, defs, where, orderBy, spec.Limit+1, args...)
	if err != nil {
		return result{}, err
	}
	more := len(kept) > spec.Limit
	if more {
		kept = kept[:spec.Limit]
	}
	values := make([]any, len(kept))
	for i, r := range kept {
		values[i] = aeJSON(r, fields)
	}
	var token, next any
	if more {
		last := keyOf(kept[len(kept)-1])
		spec.After = &last
		spec.Issued = e.now().Unix()
		t := encodePageToken(spec)
		token = t
		next = req.base + "/api/v5/objects/" + req.object + "?" + url.Values{"fields": {req.query.Get("fields")}, "nextPageToken": {t}}.Encode()
	}
	return result{status: http.StatusOK, body: object{{"values", values}, {"nextPageToken", token}, {"nextPageUrl", next}}}, nil
}

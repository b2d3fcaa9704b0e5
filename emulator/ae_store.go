package emulator

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// aeKind is how a v5 field is stored and shown.
type aeKind int

const (
	aeInt     aeKind = iota // INTEGER, never null (id)
	aeIntNull               // INTEGER or null (assignedToId)
	aeStr                   // TEXT or null
	aeTime                  // INTEGER unix seconds (AE has second precision)
	aeBool                  // INTEGER 0/1
)

// aeField maps a v5 JSON field to its column.
type aeField struct {
	name     string
	col      string
	kind     aeKind
	writable bool
}

func prospectFieldDefs() []aeField {
	return []aeField{
		{"id", "id", aeInt, false},
		{"email", "email", aeStr, true},
		{"firstName", "first_name", aeStr, true},
		{"lastName", "last_name", aeStr, true},
		{"company", "company", aeStr, true},
		{"jobTitle", "job_title", aeStr, true},
		{"phone", "phone", aeStr, true},
		{"assignedToId", "assigned_to_id", aeIntNull, true},
		// The CRM ids are read-only: Account Engagement's own connector sets them (v5 prospect
		// object; docs/engagement.md). Writing salesforceOwnerId assigns the prospect to the
		// AE user of that Salesforce user.
		{"salesforceId", "salesforce_id", aeStr, false},
		{"salesforceLeadId", "salesforce_lead_id", aeStr, false},
		{"salesforceContactId", "salesforce_contact_id", aeStr, false},
		{"salesforceOwnerId", "salesforce_owner_id", aeStr, true},
		{"createdAt", "created_at", aeTime, false},
		{"updatedAt", "updated_at", aeTime, false},
		{"isDeleted", "is_deleted", aeBool, false},
	}
}

func aeUserFieldDefs() []aeField {
	return []aeField{
		{"id", "id", aeInt, false},
		{"email", "email", aeStr, false},
		{"firstName", "first_name", aeStr, false},
		{"lastName", "last_name", aeStr, false},
		{"username", "username", aeStr, false},
		{"salesforceId", "salesforce_id", aeStr, false},
		{"createdAt", "created_at", aeTime, false},
		{"updatedAt", "updated_at", aeTime, false},
		{"isDeleted", "is_deleted", aeBool, false},
	}
}

func findAEField(defs []aeField, name string) (aeField, bool) {
	for _, f := range defs {
		if f.name == name {
			return f, true
		}
	}
	return aeField{}, false
}

// aeRow is one AE record keyed by JSON name: int64, string, bool or nil values.
type aeRow map[string]any

func (r aeRow) int(name string) int64 {
	n, _ := r[name].(int64)
	return n
}

func formatAETime(sec int64) string {
	return time.Unix(sec, 0).In(time.FixedZone("", aeOffsetSeconds)).Format(time.RFC3339)
}

func loadAE(ctx context.Context, tx *sql.Tx, table string, defs []aeField, where string, args ...any) ([]aeRow, error) {
	return selectAE(ctx, tx, table, defs, where, "id", 0, args...)
}

// selectAE reads the rows matching where in orderBy order, at most limit of them (0 = no
// limit); where and orderBy are SQL made of column names and placeholders only, and args
// carry all values.
func selectAE(ctx context.Context, tx *sql.Tx, table string, defs []aeField, where, orderBy string, limit int, args ...any) ([]aeRow, error) {
	cols := make([]string, len(defs))
	for i, f := range defs {
		cols[i] = f.col
	}
	q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ", "), table)
	if where != "" {
		q += " WHERE " + where
	}
	q += " ORDER BY " + orderBy
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args[:len(args):len(args)], limit) // never into the caller's array
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []aeRow
	for rows.Next() {
		dest := make([]any, len(defs))
		for i, f := range defs {
			switch f.kind {
			case aeStr:
				dest[i] = new(sql.NullString)
			case aeIntNull:
				dest[i] = new(sql.NullInt64)
			default:
				dest[i] = new(int64)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := aeRow{}
		for i, f := range defs {
			switch v := dest[i].(type) {
			case *sql.NullString:
				row[f.name] = nil
				if v.Valid {
					row[f.name] = v.String
				}
			case *sql.NullInt64:
				row[f.name] = nil
				if v.Valid {
					row[f.name] = v.Int64
				}
			case *int64:
				if f.kind == aeBool {
					row[f.name] = *v != 0
				} else {
					row[f.name] = *v
				}
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func loadAEOne(ctx context.Context, tx *sql.Tx, table string, defs []aeField, id int64) (aeRow, bool, error) {
	rows, err := loadAE(ctx, tx, table, defs, "id = ?", id)
	if err != nil || len(rows) == 0 {
		return nil, false, err
	}
	return rows[0], true, nil
}

func aeJSON(row aeRow, fields []aeField) object {
	o := make(object, 0, len(fields))
	for _, f := range fields {
		v := row[f.name]
		if f.kind == aeTime {
			v = formatAETime(row.int(f.name))
		}
		o = append(o, kv{f.name, v})
	}
	return o
}

// parseFields reads the fields parameter; v5 has no default representation.
func parseFields(defs []aeField, q url.Values, required bool) ([]aeField, *result) {
	raw := strings.TrimSpace(q.Get("fields"))
	if raw == "" {
		if required {
			return nil, aeErrP(http.StatusBadRequest, aeCodeMissingParams, "One or more required parameters are missing: fields")
		}
		return nil, nil
	}
	var out []aeField
	for _, name := range strings.Split(raw, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		f, ok := findAEField(defs, name)
		if !ok {
			return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidReadField, "Invalid fields for request type: "+name)
		}
		out = append(out, f)
	}
	return out, nil
}

func includeDeleted(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	return v == "true" || v == "all"
}

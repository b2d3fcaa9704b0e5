package emulator

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// serve sends one request through the handler and returns the status and body.
func serve(tb testing.TB, e *Emulator, token, method, path string, body any) (int, []byte) {
	tb.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w.Code, w.Body.Bytes()
}

// queryIDs runs SOQL through the handler (verb "query" or "queryAll") and returns the
// Ids in answer order.
func queryIDs(tb testing.TB, e *Emulator, token, verb, soql string) []string {
	tb.Helper()
	status, body := serve(tb, e, token, http.MethodGet, "/services/data/v62.0/"+verb+"?q="+url.QueryEscape(soql), nil)
	var page struct {
		Done    bool             `json:"done"`
		Records []map[string]any `json:"records"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &page) != nil || !page.Done {
		tb.Fatalf("%s %q: %d %s", verb, soql, status, body)
	}
	out := []string{}
	for _, r := range page.Records {
		out = append(out, r["Id"].(string))
	}
	return out
}

// scanIDs is the reference answer: every row of the object (live rows unless all) through
// the Go evaluator, as the emulator answered before prefilters existed.
func scanIDs(tb testing.TB, e *Emulator, soql string, all bool) []string {
	tb.Helper()
	q, err := parseSOQL(soql, e.objects)
	if err != nil {
		tb.Fatalf("parse %q: %v", soql, err)
	}
	ctx := context.Background()
	var rows []record
	err = e.inTx(ctx, false, func(tx *sql.Tx) (bool, error) {
		where := ""
		if !all && q.obj.has("IsDeleted") {
			where = `"IsDeleted" = 0`
		}
		var err error
		rows, err = e.loadRecords(ctx, tx, q.obj, where)
		return false, err
	})
	if err != nil {
		tb.Fatal(err)
	}
	out := []string{}
	for _, r := range q.run(rows) {
		out = append(out, r.str("Id"))
	}
	return out
}

// TestFoldExprCoversEqualFold guards foldExpr's premise: KELVIN SIGN and LONG S are the
// only non-ASCII runes that strings.EqualFold equates with an ASCII one.
func TestFoldExprCoversEqualFold(t *testing.T) {
	var found []rune
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				found = append(found, r)
				break
			}
		}
	}
	if !slices.Equal(found, []rune{'\u017f', '\u212a'}) {
		t.Errorf("non-ASCII runes folding to ASCII: %q; foldExpr must map them", found)
	}
}

func TestSOQLPrefilterKeepsResults(t *testing.T) {
	e, token := newInternalEmulator(t)
	id := func(n int) string { return to18(fmt.Sprintf("00Q%012d", n)) }
	at := func(n int) time.Time { return time.Date(2024, 1, 1, 0, n, 0, 0, time.UTC) }
	lead := func(n int, email any, last string, extra ...any) record {
		r := record{"Id": id(n), "Email": email, "LastName": last, "Company": "Co", "CreatedDate": at(n % 5)}
		for i := 0; i+1 < len(extra); i += 2 {
			r[extra[i].(string)] = extra[i+1]
		}
		return r
	}
	insertLeads(t, e,
		lead(1, "kate@example.com", "A", "Company", "X", "Prospect_Id__c", "P-1"),
		lead(2, "KATE@Example.com", "B", "Company", "Y"),
		lead(3, "\u212aate@example.com", "C"), // KELVIN SIGN: EqualFold to kate@
		lead(4, "\u017fam@example.com", "D"),  // LONG S: EqualFold to sam@
		lead(5, "SAM@example.com", "D"),
		lead(6, "élodie@example.com", "E"),
		lead(7, "ÉLODIE@example.com", "E"),
		lead(8, nil, "F"),
		lead(9, "kate@example.com", "G", "IsDeleted", true),
		lead(10, "kate@example.com", "H", "IsConverted", true, "ConvertedContactId", "003000000000001"),  // 15-char reference
		record{"Id": "00Q000000000011", "Email": "eleven@example.com", "LastName": "I", "Company": "Co"}, // 15-char id
		lead(12, "", "J"),
		lead(13, "o'neil+x@example.com", "K", "Prospect_Id__c", "\u212a-13"),
	)
	kate := []string{id(1), id(2), id(3), id(10)}
	cases := []struct {
		soql   string
		pushed bool
		want   []string // nil = only compare with the scan
	}{
		{"SELECT Id FROM Lead WHERE Email = 'kate@example.com'", true, kate},
		{"SELECT Id FROM Lead WHERE Email = 'KATE@EXAMPLE.COM' AND IsConverted = false", true, kate[:3]},
		{"SELECT Id FROM Lead WHERE Email = 'sam@example.com'", true, []string{id(4), id(5)}},
		{"SELECT Id FROM Lead WHERE Email IN ('sam@example.com', 'Kate@example.com', 'nobody@example.com') ORDER BY LastName DESC", true, nil},
		{"SELECT Id FROM Lead WHERE Email = 'kate@example.com' AND (LastName = 'A' OR LastName = 'C') ORDER BY LastName DESC", true, []string{id(3), id(1)}},
		{"SELECT Id FROM Lead WHERE (Email = 'kate@example.com' AND Company = 'x') AND LastName != 'B'", true, []string{id(1)}},
		{"SELECT Id FROM Lead WHERE Email = 'kate@example.com' AND NOT LastName = 'A' ORDER BY CreatedDate DESC LIMIT 2 OFFSET 1", true, nil},
		{"SELECT Id FROM Lead WHERE Email = ''", true, []string{id(12)}},
		{"SELECT Id FROM Lead WHERE Email = 'o\\'neil+x@example.com'", true, []string{id(13)}},
		{"SELECT Id FROM Lead WHERE Prospect_Id__c = 'p-1'", true, []string{id(1)}},
		{"SELECT Id FROM Lead WHERE Prospect_Id__c IN ('k-13', 'K-13')", true, []string{id(13)}},
		{"SELECT Id FROM Lead WHERE Id = '" + id(1)[:15] + "'", true, []string{id(1)}},
		{"SELECT Id FROM Lead WHERE Id = '" + to18("00Q000000000011") + "'", true, []string{"00Q000000000011"}},
		{"SELECT Id FROM Lead WHERE Id IN ('00Q000000000011', '" + id(2) + "', 'bogus')", true, []string{id(2), "00Q000000000011"}},
		{"SELECT Id FROM Lead WHERE Id = '" + strings.ToLower(id(1)) + "'", true, []string{}}, // ids are case-sensitive
		{"SELECT Id FROM Lead WHERE ConvertedContactId = '003000000000001AAA' AND Email = 'kate@example.com'", true, []string{id(10)}},
		// Any text or id field qualifies; without an index SQLite still scans, but cheaply.
		{"SELECT Id FROM Lead WHERE Email > 'k' AND LastName = 'd'", true, []string{id(4), id(5)}},
		{"SELECT Id FROM Lead WHERE LastName = 'E' AND OwnerId = null", true, []string{id(6), id(7)}},
		{"SELECT Id FROM Lead WHERE IsConverted = false AND Email IN ('eleven@example.com') AND Id = '" + to18("00Q000000000011") + "'", true, []string{"00Q000000000011"}},
		// Not pushed down: the Go evaluator alone decides, over every row.
		{"SELECT Id FROM Lead WHERE Email = 'élodie@example.com'", false, []string{id(6), id(7)}},
		{"SELECT Id FROM Lead WHERE Email IN ('kate@example.com', 'ÉLODIE@example.com')", false, nil},
		{"SELECT Id FROM Lead WHERE Email = 'kate@example.com' OR LastName = 'D'", false, nil},
		{"SELECT Id FROM Lead WHERE Email != 'kate@example.com'", false, nil},
		{"SELECT Id FROM Lead WHERE Email NOT IN ('kate@example.com')", false, nil},
		{"SELECT Id FROM Lead WHERE NOT Email = 'kate@example.com'", false, nil},
		{"SELECT Id FROM Lead WHERE Email = null", false, []string{id(8)}},
		{"SELECT Id FROM Lead WHERE Email IN ('kate@example.com', null)", false, nil},
		{"SELECT Id FROM Lead WHERE Email > 'k' OR LastName = 'D'", false, nil},
		{"SELECT Id FROM Lead WHERE (LastName = 'A' OR LastName = 'D') AND Title = null", false, nil},
		{"SELECT Id FROM Lead", false, nil},
	}
	for _, c := range cases {
		q, err := parseSOQL(c.soql, e.objects)
		if err != nil {
			t.Fatalf("parse %q: %v", c.soql, err)
		}
		if pre, _ := q.prefilter(); (pre != "") != c.pushed {
			t.Errorf("%q: prefilter %q, want pushed=%v", c.soql, pre, c.pushed)
		}
		got, ref := queryIDs(t, e, token, "query", c.soql), scanIDs(t, e, c.soql, false)
		if !slices.Equal(got, ref) {
			t.Errorf("%q: got %v, full scan %v", c.soql, got, ref)
		}
		if c.want != nil && !slices.Equal(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.soql, got, c.want)
		}
	}
	// queryAll keeps deleted rows; the prefilter combines with that too.
	soql := "SELECT Id FROM Lead WHERE Email = 'kate@example.com'"
	if got, ref := queryIDs(t, e, token, "queryAll", soql), scanIDs(t, e, soql, true); !slices.Equal(got, ref) || len(got) != 5 {
		t.Errorf("queryAll: got %v, full scan %v", got, ref)
	}

	// Upsert and the duplicate rule look up by value with the same fold.
	status, body := serve(t, e, token, http.MethodPatch, "/services/data/v62.0/sobjects/Lead/Prospect_Id__c/k-13", map[string]any{"Title": "Up"})
	if status != http.StatusOK || !strings.Contains(string(body), id(13)) {
		t.Errorf("upsert k-13 (stored with KELVIN SIGN): %d %s", status, body)
	}
	status, body = serve(t, e, token, http.MethodPatch, "/services/data/v62.0/sobjects/Lead/Prospect_Id__c/P-1", map[string]any{"Title": "Up"})
	if status != http.StatusOK || !strings.Contains(string(body), id(1)) {
		t.Errorf("upsert P-1: %d %s", status, body)
	}
	if err := e.setDuplicateRule(context.Background(), DuplicateRule{LeadEmail: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		email string
		dup   bool
	}{
		{"Sam@Example.com", true}, // matches LONG S and SAM@
		{"ELODIE@example.com", false},
		{"élodie@EXAMPLE.com", true}, // non-ASCII: scanned
		{"eleven@example.com", true},
		{"new@example.com", false},
	} {
		status, body := serve(t, e, token, http.MethodPost, "/services/data/v62.0/sobjects/Lead", map[string]any{"Email": c.email, "LastName": "N", "Company": "N"})
		if got := strings.Contains(string(body), "DUPLICATES_DETECTED"); got != c.dup || !c.dup && status != http.StatusCreated {
			t.Errorf("create %s: %d %s, want duplicate=%v", c.email, status, body, c.dup)
		}
	}
	insertLeads(t, e, lead(20, "\u212ail@example.com", "L"))
	if _, body := serve(t, e, token, http.MethodPost, "/services/data/v62.0/sobjects/Lead", map[string]any{"Email": "KIL@example.com", "LastName": "N", "Company": "N"}); !strings.Contains(string(body), "DUPLICATES_DETECTED") {
		t.Errorf("KIL@ vs stored KELVIN SIGN: %s", body)
	}
}

// explain returns SQLite's query plan details for query, one per line.
func explain(t *testing.T, e *Emulator, query string, args ...any) string {
	t.Helper()
	rows, err := e.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// TestLookupsUseIndexes checks that the SQL the lookups send matches the index
// expressions exactly (an expression index serves only identical text).
func TestLookupsUseIndexes(t *testing.T) {
	e, _ := newInternalEmulator(t)
	for _, c := range []struct{ soql, index string }{
		{"SELECT Id FROM Lead WHERE Email = 'a@b.com' AND IsConverted = false", "Lead_email_fold"},
		{"SELECT Id FROM Contact WHERE Email IN ('a@b.com', 'c@d.com')", "Contact_email_fold"},
		{"SELECT Id FROM Lead WHERE Prospect_Id__c = 'x'", "Lead_prospect_id_fold"},
		{"SELECT Id FROM Lead WHERE ConvertedContactId = '003000000000001AAA'", "Lead_converted_contact"},
		{"SELECT Id FROM Contact WHERE Id IN ('003000000000001AAA', '003000000000002')", "sqlite_autoindex_Contact_1"},
	} {
		q, err := parseSOQL(c.soql, e.objects)
		if err != nil {
			t.Fatal(err)
		}
		pre, args := q.prefilter()
		plan := explain(t, e, fmt.Sprintf(`SELECT %s FROM %s WHERE "IsDeleted" = 0 AND %s ORDER BY rowid`, q.obj.columns(), quoteIdent(q.obj.Name), pre), args...)
		if !strings.Contains(plan, c.index) {
			t.Errorf("%q: plan does not use %s:\n%s", c.soql, c.index, plan)
		}
	}

	// The change feed's query: updatedAt order, inclusive lower bound, deleted=all, next page.
	spec, bad := parseAEQuery(aeObjProspects, url.Values{"orderBy": {"updatedAt"}, "updatedAtAfterOrEqualTo": {"2024-05-06T12:00:00Z"}, "deleted": {"all"}})
	if bad != nil {
		t.Fatalf("parseAEQuery: %+v", bad)
	}
	for _, after := range []*aeKey{nil, {ID: 100010, CreatedAt: 1714996800, UpdatedAt: 1714996900}} {
		spec.After = after
		where, args, orderBy := spec.sql()
		plan := explain(t, e, "SELECT id FROM prospects WHERE "+where+" ORDER BY "+orderBy+" LIMIT 201", args...)
		if !strings.Contains(plan, "prospects_updated_at") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("after %v: plan does not walk prospects_updated_at in order:\n%s", after, plan)
		}
	}
}

// refKeep and refCompare are the in-memory filter and order queryAE used before the
// query moved into SQL; they are the reference the SQL must reproduce.
func refKeep(s *aeQuerySpec, r aeRow) bool {
	deleted := r["isDeleted"] == true
	switch s.Deleted {
	case "false":
		if deleted {
			return false
		}
	case "true":
		if !deleted {
			return false
		}
	}
	k := keyOf(r)
	for _, f := range s.Filters {
		v := k.get(f.Field)
		if f.Field != "id" {
			v *= int64(time.Second)
		}
		var ok bool
		switch f.Op {
		case ">":
			ok = v > f.Value
		case ">=":
			ok = v >= f.Value
		case "<":
			ok = v < f.Value
		default:
			ok = v <= f.Value
		}
		if !ok {
			return false
		}
	}
	return true
}

func refCompare(s *aeQuerySpec, a, b aeKey) int {
	for _, o := range s.Order {
		if c := cmp.Compare(a.get(o.Field), b.get(o.Field)); c != 0 {
			if o.Desc {
				return -c
			}
			return c
		}
	}
	return cmp.Compare(a.ID, b.ID)
}

func TestAEQuerySQLMatchesScan(t *testing.T) {
	e, _ := newInternalEmulator(t)
	ctx := context.Background()
	const base = int64(1_714_996_800) // seconds; few distinct times make many ties
	err := e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		for i := range 60 {
			deleted := 0
			if i%7 == 3 {
				deleted = 1
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO prospects (id, email, created_at, updated_at, is_deleted) VALUES (?, ?, ?, ?, ?)`,
				firstProspectID+i, fmt.Sprintf("p%d@example.com", i), base+int64(i%5), base+int64(i*7%11), deleted)
			if err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var all []aeRow
	err = e.inTx(ctx, false, func(tx *sql.Tx) (bool, error) {
		var err error
		all, err = loadAE(ctx, tx, aeTableProspects, e.prospectFields, "")
		return false, err
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(rows []aeRow) []int64 {
		out := []int64{}
		for _, r := range rows {
			out = append(out, r.int("id"))
		}
		return out
	}
	reference := func(s *aeQuerySpec) []aeRow {
		var kept []aeRow
		for _, r := range all {
			if refKeep(s, r) && (s.After == nil || refCompare(s, keyOf(r), *s.After) > 0) {
				kept = append(kept, r)
			}
		}
		sort.SliceStable(kept, func(i, j int) bool { return refCompare(s, keyOf(kept[i]), keyOf(kept[j])) < 0 })
		return kept
	}
	viaSQL := func(s *aeQuerySpec) []aeRow {
		var rows []aeRow
		err := e.inTx(ctx, false, func(tx *sql.Tx) (bool, error) {
			where, args, orderBy := s.sql()
			var err error
			rows, err = selectAE(ctx, tx, aeTableProspects, e.prospectFields, where, orderBy, s.Limit+1, args...)
			return false, err
		})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	sec := int64(time.Second)
	orders := [][]aeOrder{
		{{Field: "id"}}, {{Field: "id", Desc: true}}, {{Field: "updatedAt"}}, {{Field: "updatedAt", Desc: true}},
		{{Field: "createdAt"}, {Field: "updatedAt", Desc: true}}, {{Field: "updatedAt"}, {Field: "updatedAt", Desc: true}},
		{{Field: "createdAt", Desc: true}, {Field: "id", Desc: true}}, {},
	}
	filters := [][]aeFilter{
		nil,
		{{Field: "updatedAt", Op: ">=", Value: (base + 3) * sec}},
		{{Field: "updatedAt", Op: ">", Value: (base+3)*sec - 1}},
		{{Field: "updatedAt", Op: ">", Value: (base + 3) * sec}},
		{{Field: "updatedAt", Op: ">=", Value: (base+3)*sec + 1}},
		{{Field: "updatedAt", Op: "<", Value: (base+5)*sec - 1}, {Field: "createdAt", Op: "<=", Value: (base+2)*sec + sec/2}},
		{{Field: "createdAt", Op: "<", Value: (base + 2) * sec}, {Field: "id", Op: ">", Value: 100010}, {Field: "id", Op: "<=", Value: 100050}},
		{{Field: "createdAt", Op: ">", Value: -sec - sec/2}, {Field: "updatedAt", Op: "<=", Value: -1}}, // negative bounds: floor/ceil
		{{Field: "bogus", Op: ">", Value: 100020 * sec}, {Field: "id", Op: "?", Value: 100040}},         // forged token: get's fallbacks
	}
	checked := 0
	for _, order := range orders {
		for _, flt := range filters {
			for _, del := range []string{"false", "true", "all"} {
				for _, limit := range []int{1, 7, 1000} {
					spec := &aeQuerySpec{Object: aeObjProspects, Deleted: del, Order: order, Limit: limit, Filters: flt}
					want := ids(reference(spec))
					// Walk the pages as a client would; together they must be the whole answer.
					var got []int64
					for page := 0; ; page++ {
						rows := viaSQL(spec)
						ref := reference(spec)
						ref = ref[:min(len(ref), limit+1)]
						if !slices.Equal(ids(rows), ids(ref)) {
							t.Fatalf("%+v page %d: sql %v, reference %v", spec, page, ids(rows), ids(ref))
						}
						checked++
						more := len(rows) > limit
						rows = rows[:min(len(rows), limit)]
						got = append(got, ids(rows)...)
						if !more {
							break
						}
						last := keyOf(rows[len(rows)-1])
						spec.After = &last
					}
					if !slices.Equal(got, want) {
						t.Fatalf("order %v filters %v deleted %s limit %d: pages %v, want %v", order, flt, del, limit, got, want)
					}
				}
			}
			// A position between rows, as a token made by an older page would carry.
			spec := &aeQuerySpec{Object: aeObjProspects, Deleted: "all", Order: order, Limit: 5, Filters: flt,
				After: &aeKey{ID: 100030, CreatedAt: base + 2, UpdatedAt: base + 5}}
			if got, want := ids(viaSQL(spec)), ids(reference(spec)); !slices.Equal(got, want[:min(len(want), 6)]) {
				t.Errorf("%+v: sql %v, reference %v", spec, got, want)
			}
		}
	}
	if checked < 500 {
		t.Errorf("only %d pages compared", checked)
	}
}

// The email lookups of a business unit without AMPSEA use prospects_email_key, and the
// SQL key agrees with the Go comparison (trimmed, EqualFold) for stored emails with
// surrounding white space and the two non-ASCII letters that fold to ASCII.
func TestProspectEmailKey(t *testing.T) {
	e, _ := newInternalEmulator(t)
	plan := explain(t, e, "SELECT id FROM prospects WHERE is_deleted = ? AND id != ? AND email IS NOT NULL AND "+aeEmailKey+" = ?", 0, 0, "a@b.com")
	if !strings.Contains(plan, "prospects_email_key") {
		t.Errorf("plan does not use prospects_email_key:\n%s", plan)
	}
	ctx := context.Background()
	stored := []string{"Kim@Example.com", "\u212aim@example.com", " kim@example.com\t", "\nKIM@EXAMPLE.COM\r", "ki\u017f@example.com", "kim@example.co"}
	err := e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		for i, s := range stored {
			if _, err := tx.ExecContext(ctx, `INSERT INTO prospects (id, email, created_at, updated_at) VALUES (?, ?, 0, ?)`, i+1, s, i); err != nil {
				return false, err
			}
		}
		for _, key := range []string{"kim@example.com", "KIS@example.com", "kiſ@example.com"} {
			rows, err := e.prospectsWithEmail(ctx, tx, key, false, 0)
			if err != nil {
				return false, err
			}
			var got []string
			for _, r := range rows {
				got = append(got, r["email"].(string))
			}
			var want []string
			for i := len(stored) - 1; i >= 0; i-- { // latest updated first
				if strings.EqualFold(trimEmail(stored[i]), trimEmail(key)) {
					want = append(want, stored[i])
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%q: %q, want %q", key, got, want)
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

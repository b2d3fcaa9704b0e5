package emulator

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseSOQL checks the SOQL parser on any text: it never panics; a refusal has a
// message; an accepted query renders back to SOQL (formatSOQL) that parses to the same
// query and selects the same rows; and evaluating it never panics, honours LIMIT, and gives
// the same rows whether or not its prefilter narrowed the rows SQLite loads first (the
// prefilter must keep a superset, as the query handler relies on).
func FuzzParseSOQL(f *testing.F) {
	e, _ := newInternalEmulator(f)
	ctx := context.Background()
	id := func(prefix string, n int) string { return to18(fmt.Sprintf("%s%012d", prefix, n)) }
	at := func(n int) time.Time { return time.Date(2024, 1, 1, 0, n, 0, n*1000, time.UTC) }
	lead := func(n int, email any, last string, extra ...any) record {
		r := record{"Id": id("00Q", n), "Email": email, "LastName": last, "Company": "Co", "CreatedDate": at(n % 5), "LastModifiedDate": at(n % 3)}
		for i := 0; i+1 < len(extra); i += 2 {
			r[extra[i].(string)] = extra[i+1]
		}
		return r
	}
	fixtures := map[*objectDef][]record{
		e.lead: {
			lead(1, "kate@example.com", "A", "Company", "X", "Prospect_Id__c", "P-1", "Title", "CEO"),
			lead(2, "KATE@Example.com", "B", "Company", "Y", "OwnerId", id("005", 9)),
			lead(3, "\u212aate@example.com", "C"), // KELVIN SIGN: EqualFold to kate@
			lead(4, "\u017fam@example.com", "D"),  // LONG S: EqualFold to sam@
			lead(5, "SAM@example.com", "D"),
			lead(6, "élodie@bücher.de", "E"),
			lead(7, "ÉLODIE@BÜCHER.DE", "E"),
			lead(8, nil, "F"),
			lead(9, "kate@example.com", "G", "IsDeleted", true),
			lead(10, "kate@example.com", "H", "IsConverted", true, "ConvertedContactId", "003000000000001"),
			record{"Id": "00Q000000000011", "Email": "eleven@example.com", "LastName": "I", "Company": "Co"}, // 15-char id, no dates
			lead(12, "", "J"),
			lead(13, "o'neil+x@example.com", "K\\", "Prospect_Id__c", "\u212a-13"),
			lead(14, "nul@example.com", "L\x00M", "Title", "bad \xff utf-8"),
			lead(15, "quote\"@example.com", "", "Title", "line\nbreak\ttab"),
		},
		e.contact: {
			{"Id": id("003", 1), "Email": "kate@example.com", "LastName": "A", "AccountId": id("001", 1), "CreatedDate": at(1)},
			{"Id": "003000000000002", "Email": nil, "LastName": "Z", "Prospect_Id__c": "p-2"},
		},
		e.account: {
			{"Id": id("001", 1), "Name": "Acme", "CreatedDate": at(2)},
			{"Id": id("001", 2), "Name": "acme"},
		},
		e.user: {
			{"Id": id("005", 9), "Username": "u9@example.com", "Email": "U9@example.com", "Name": "Ünïcode User", "IsActive": true},
		},
	}
	all := map[*objectDef][]record{}
	err := e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		for o, recs := range fixtures {
			for _, r := range recs {
				if err := e.insertRecord(ctx, tx, o, fill(o, r), false); err != nil {
					return false, err
				}
			}
		}
		return true, nil
	})
	if err != nil {
		f.Fatal(err)
	}
	load := func(tb testing.TB, o *objectDef, where string, args ...any) []record {
		var rows []record
		err := e.inTx(ctx, false, func(tx *sql.Tx) (bool, error) {
			var err error
			rows, err = e.loadRecords(ctx, tx, o, where, args...)
			return false, err
		})
		if err != nil {
			tb.Fatalf("load %s where %q %q: %v", o.Name, where, args, err)
		}
		return rows
	}
	for _, o := range e.objects {
		all[o] = load(f, o, "")
	}
	ids := func(rows []record) []string {
		out := []string{}
		for _, r := range rows {
			out = append(out, r.str("Id"))
		}
		return out
	}

	f.Fuzz(func(t *testing.T, soql string) {
		q, err := parseSOQL(soql, e.objects)
		if err != nil {
			if q != nil || err.Error() == "" {
				t.Fatalf("%q: refused with query %v and message %q", soql, q, err)
			}
			return
		}
		if q.obj == nil || e.objects[strings.ToLower(q.obj.Name)] != q.obj || len(q.fields) == 0 || q.limit < -1 || q.offset < 0 {
			t.Fatalf("%q: accepted as a malformed query %+v", soql, q)
		}
		for i, fd := range q.fields {
			if q.obj.field(fd.Name) != fd || slices.Contains(q.fields[:i], fd) {
				t.Fatalf("%q: selected field %s is foreign or repeated", soql, fd.Name)
			}
		}

		text := formatSOQL(q)
		q2, err := parseSOQL(text, e.objects)
		if err != nil {
			t.Fatalf("%q is accepted, but its rendering %q is refused: %v", soql, text, err)
		}
		if again := formatSOQL(q2); again != text {
			t.Fatalf("%q renders as %q, which parses back as %q", soql, text, again)
		}

		rows := all[q.obj]
		got := ids(q.run(rows))
		if q.limit >= 0 && len(got) > q.limit {
			t.Fatalf("%q: %d rows past LIMIT %d", soql, len(got), q.limit)
		}
		if got2 := ids(q2.run(rows)); !slices.Equal(got, got2) {
			t.Fatalf("%q selects %v, its rendering %q selects %v", soql, got, text, got2)
		}
		if pre, args := q.prefilter(); pre != "" {
			if narrowed := ids(q.run(load(t, q.obj, pre, args...))); !slices.Equal(got, narrowed) {
				t.Fatalf("%q: full scan %v, prefiltered by %s %q: %v", soql, got, pre, args, narrowed)
			}
		}
	})
}

// formatSOQL renders a parsed query as SOQL in one canonical form: canonical field and object
// names, upper-case keywords, every AND/OR group in parentheses, every literal quoted.
func formatSOQL(q *soqlQuery) string {
	var b strings.Builder
	names := make([]string, len(q.fields))
	for i, f := range q.fields {
		names[i] = f.Name
	}
	fmt.Fprintf(&b, "SELECT %s FROM %s", strings.Join(names, ", "), q.obj.Name)
	if q.where != nil {
		b.WriteString(" WHERE " + formatCond(q.where))
	}
	for i, o := range q.order {
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		dir, nulls := "ASC", "FIRST"
		if o.desc {
			dir = "DESC"
		}
		if o.nullsLast {
			nulls = "LAST"
		}
		fmt.Fprintf(&b, "%s %s NULLS %s", o.f.Name, dir, nulls)
	}
	if q.limit >= 0 {
		fmt.Fprintf(&b, " LIMIT %d", q.limit)
	}
	if q.offset > 0 {
		fmt.Fprintf(&b, " OFFSET %d", q.offset)
	}
	return b.String()
}

func formatCond(c cond) string {
	switch c := c.(type) {
	case boolCond:
		parts := make([]string, len(c.parts))
		for i, p := range c.parts {
			parts[i] = formatCond(p)
		}
		op := " OR "
		if c.and {
			op = " AND "
		}
		return "(" + strings.Join(parts, op) + ")"
	case notCond:
		return "NOT " + formatCond(c.c)
	case cmpCond:
		lits := make([]string, len(c.vals))
		for i, v := range c.vals {
			lits[i] = formatLiteral(v)
		}
		switch {
		case c.op == "IN" && c.not:
			return c.f.Name + " NOT IN (" + strings.Join(lits, ", ") + ")"
		case c.op == "IN":
			return c.f.Name + " IN (" + strings.Join(lits, ", ") + ")"
		}
		return c.f.Name + " " + c.op + " " + strings.Join(lits, ", ")
	}
	panic(fmt.Sprintf("unknown condition %T", c))
}

func formatLiteral(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case string:
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	panic(fmt.Sprintf("unknown literal %T", v))
}

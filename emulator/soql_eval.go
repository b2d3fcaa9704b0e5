package emulator

import (
	"sort"
	"strings"
	"time"
)

// A parsed SOQL query: its conditions, how they match a record, the SQL prefilter that narrows the rows read, and the run over them (order, offset, limit).

// soqlQuery is a parsed query.
type soqlQuery struct {
	obj    *objectDef
	fields []*fieldDef
	where  cond
	order  []orderTerm
	limit  int // -1 = none
	offset int
}

type orderTerm struct {
	f         *fieldDef
	desc      bool
	nullsLast bool
}

type cond interface{ match(r record) bool }

type boolCond struct {
	and   bool
	parts []cond
}

func (c boolCond) match(r record) bool {
	for _, p := range c.parts {
		if p.match(r) != c.and {
			return !c.and
		}
	}
	return c.and
}

type notCond struct{ c cond }

func (c notCond) match(r record) bool { return !c.c.match(r) }

type cmpCond struct {
	f    *fieldDef
	op   string // = != < <= > >= IN
	not  bool   // NOT IN
	vals []any
}

func (c cmpCond) match(r record) bool {
	v := r[c.f.Name]
	switch c.op {
	case "IN":
		found := false
		for _, lit := range c.vals {
			if equalValue(c.f, v, lit) {
				found = true
				break
			}
		}
		return found != c.not
	case "=":
		return equalValue(c.f, v, c.vals[0])
	case "!=":
		return !equalValue(c.f, v, c.vals[0])
	}
	lit := c.vals[0]
	if v == nil || lit == nil {
		return false
	}
	n := compareValue(c.f, v, lit)
	switch c.op {
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	default:
		return n >= 0
	}
}

func equalValue(f *fieldDef, v, lit any) bool {
	if lit == nil || v == nil {
		return lit == nil && v == nil
	}
	switch f.Kind {
	case kID:
		return to18(v.(string)) == to18(lit.(string))
	case kString:
		return strings.EqualFold(v.(string), lit.(string))
	case kBool:
		return v.(bool) == lit.(bool)
	default:
		return v.(time.Time).Equal(lit.(time.Time))
	}
}

func compareValue(f *fieldDef, a, b any) int {
	switch f.Kind {
	case kID, kString:
		return strings.Compare(strings.ToLower(a.(string)), strings.ToLower(b.(string)))
	case kBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		default:
			return 1
		}
	default:
		return a.(time.Time).Compare(b.(time.Time))
	}
}

// maxPrefilterArgs keeps a prefilter well below SQLite's bound on statement parameters
// (32766); a longer IN list is simply not pushed down.
const maxPrefilterArgs = 2000

// prefilter returns a SQL condition (values in args) that holds for every row q.where
// accepts, so loading only those rows and then running q changes nothing but the cost.
// It collects the equality and IN terms on text and id fields that q.where requires
// through AND; any other term (OR, NOT, !=, ranges, null, a non-ASCII string) adds
// nothing, which keeps the condition a superset. "" means no prefilter.
func (q *soqlQuery) prefilter() (string, []any) {
	var terms []string
	var args []any
	var walk func(c cond)
	walk = func(c cond) {
		switch c := c.(type) {
		case boolCond:
			if c.and {
				for _, p := range c.parts {
					walk(p)
				}
			}
		case cmpCond:
			if t, a, ok := c.prefilter(); ok && len(args)+len(a) <= maxPrefilterArgs {
				terms = append(terms, t)
				args = append(args, a...)
			}
		}
	}
	if q.where != nil {
		walk(q.where)
	}
	return strings.Join(terms, " AND "), args
}

// prefilter is the SQL superset of one = or IN term, when there is a simple one.
func (c cmpCond) prefilter() (string, []any, bool) {
	if c.not || c.op != "=" && c.op != "IN" {
		return "", nil, false
	}
	var col string
	var args []any
	for _, v := range c.vals {
		s, ok := v.(string)
		if !ok { // null matches null columns, which IN (...) cannot express
			return "", nil, false
		}
		switch c.f.Kind {
		case kString:
			// equalValue is EqualFold; foldExpr covers it only for ASCII literals.
			if !isASCII(s) {
				return "", nil, false
			}
			col = foldExpr(c.f.Name)
			args = append(args, strings.ToLower(s))
		case kID:
			col = quoteIdent(c.f.Name)
			args = append(args, idForms(s)...)
		default:
			return "", nil, false
		}
	}
	if len(args) == 1 {
		return col + " = ?", args, true
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ") + ")", args, true
}

// idForms lists every stored value v with to18(v) == to18(lit), which is how equalValue
// compares ids: lit itself, its 18-character form, and its 15-character form when lit's
// last three characters are the checksum of its first 15.
func idForms(lit string) []any {
	out := []any{lit}
	if long := to18(lit); long != lit {
		out = append(out, long)
	}
	if len(lit) == 18 && to18(lit[:15]) == lit {
		out = append(out, lit[:15])
	}
	return out
}

// run filters, sorts and limits the rows.
func (q *soqlQuery) run(rows []record) []record {
	out := make([]record, 0, len(rows))
	for _, r := range rows {
		if q.where == nil || q.where.match(r) {
			out = append(out, r)
		}
	}
	if len(q.order) > 0 {
		sort.SliceStable(out, func(i, j int) bool {
			for _, t := range q.order {
				a, b := out[i][t.f.Name], out[j][t.f.Name]
				var n int
				switch {
				case a == nil && b == nil:
					n = 0
				case a == nil:
					n = -1
					if t.nullsLast {
						n = 1
					}
				case b == nil:
					n = 1
					if t.nullsLast {
						n = -1
					}
				default:
					n = compareValue(t.f, a, b)
					if t.desc {
						n = -n
					}
				}
				if n != 0 {
					return n < 0
				}
			}
			return false
		})
	}
	if q.offset > 0 {
		if q.offset >= len(out) {
			out = out[:0]
		} else {
			out = out[q.offset:]
		}
	}
	if q.limit >= 0 && q.limit < len(out) {
		out = out[:q.limit]
	}
	return out
}

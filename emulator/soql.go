package emulator

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The SOQL subset the emulator understands:
//
//	SELECT f1, f2 FROM Lead|Contact|User|Account
//	  [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]
//	cond := term { AND term } | term { OR term }   (mixing AND/OR needs parentheses, as in SOQL)
//	term := NOT term | ( cond ) | field op literal | field [NOT] IN ( literal, ... )
//	op   := = != <> < <= > >=
//
// Literals: 'strings' with backslash escapes, numbers, true/false, null and datetimes
// (2024-01-02T03:04:05Z). String equality is case-insensitive. As in Salesforce, an
// unknown field is INVALID_FIELD and an unknown object INVALID_TYPE; everything else is a
// MALFORMED_QUERY.

// soqlError is a query error that Salesforce reports under its own code rather than as
// MALFORMED_QUERY.
type soqlError struct{ code, msg string }

func (e *soqlError) Error() string { return e.msg }

func noSuchColumn(name string, obj *objectDef) error {
	return &soqlError{"INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", name, obj.Name)}
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDateTime
	tComma
	tLParen
	tRParen
	tOp
)

type token struct {
	kind tokKind
	text string // identifier, operator or decoded string
	num  float64
	t    time.Time
}

func lexSOQL(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
		case r == ',':
			toks = append(toks, token{kind: tComma, text: ","})
			i++
		case r == '(':
			toks = append(toks, token{kind: tLParen, text: "("})
			i++
		case r == ')':
			toks = append(toks, token{kind: tRParen, text: ")"})
			i++
		case r == '=':
			toks = append(toks, token{kind: tOp, text: "="})
			i++
		case r == '!':
			if i+1 < len(s) && s[i+1] == '=' {
				toks = append(toks, token{kind: tOp, text: "!="})
				i += 2
			} else {
				return nil, fmt.Errorf("unexpected token: '!'")
			}
		case r == '<':
			switch {
			case strings.HasPrefix(s[i:], "<="):
				toks = append(toks, token{kind: tOp, text: "<="})
				i += 2
			case strings.HasPrefix(s[i:], "<>"):
				toks = append(toks, token{kind: tOp, text: "!="})
				i += 2
			default:
				toks = append(toks, token{kind: tOp, text: "<"})
				i++
			}
		case r == '>':
			if strings.HasPrefix(s[i:], ">=") {
				toks = append(toks, token{kind: tOp, text: ">="})
				i += 2
			} else {
				toks = append(toks, token{kind: tOp, text: ">"})
				i++
			}
		case r == '\'':
			str, n, err := lexString(s[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, text: str})
			i += n
		case r >= '0' && r <= '9' || (r == '-' || r == '+') && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789.:-+TZtz", s[j]) >= 0 {
				j++
			}
			lit := s[i:j]
			if t, err := time.Parse(time.RFC3339, lit); err == nil {
				toks = append(toks, token{kind: tDateTime, text: lit, t: t})
			} else if f, err := strconv.ParseFloat(lit, 64); err == nil {
				toks = append(toks, token{kind: tNumber, text: lit, num: f})
			} else {
				return nil, fmt.Errorf("unexpected token: '%s'", lit)
			}
			i = j
		case r == '_' || r < utf8.RuneSelf && unicode.IsLetter(r):
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			toks = append(toks, token{kind: tIdent, text: s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected token: '%s'", string(r))
		}
	}
	return append(toks, token{kind: tEOF, text: "<EOF>"}), nil
}

// lexString decodes a quoted literal at the start of s; it returns the value and the
// number of bytes consumed.
func lexString(s string) (string, int, error) {
	var sb strings.Builder
	i := 1
	for {
		if i >= len(s) {
			return "", 0, fmt.Errorf("unterminated string literal")
		}
		c := s[i]
		switch c {
		case '\'':
			return sb.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, fmt.Errorf("unterminated string literal")
			}
			switch s[i+1] {
			case 'n', 'N':
				sb.WriteByte('\n')
			case 'r', 'R':
				sb.WriteByte('\r')
			case 't', 'T':
				sb.WriteByte('\t')
			case 'b', 'B':
				sb.WriteByte('\b')
			case 'f', 'F':
				sb.WriteByte('\f')
			case '"', '\'', '\\':
				sb.WriteByte(s[i+1])
			case 'u':
				if i+6 > len(s) {
					return "", 0, fmt.Errorf("invalid unicode escape")
				}
				n, err := strconv.ParseUint(s[i+2:i+6], 16, 32)
				if err != nil {
					return "", 0, fmt.Errorf("invalid unicode escape")
				}
				sb.WriteRune(rune(n))
				i += 4
			default:
				return "", 0, fmt.Errorf("Invalid string literal '%s'. Illegal character sequence '\\%c' in string literal.", s[:min(len(s), i+2)], s[i+1])
			}
			i += 2
		default:
			sb.WriteByte(c)
			i++
		}
	}
}

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

type soqlParser struct {
	toks []token
	i    int
	obj  *objectDef
}

// reserved words cannot be field names.
func reserved(s string) bool {
	switch strings.ToUpper(s) {
	case "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "ORDER", "BY", "LIMIT", "OFFSET", "ASC", "DESC", "NULLS", "NULL", "TRUE", "FALSE", "LIKE", "GROUP", "HAVING":
		return true
	}
	return false
}

func (p *soqlParser) peek() token { return p.toks[p.i] }

func (p *soqlParser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *soqlParser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *soqlParser) expectKeyword(kw string) error {
	if !p.isKeyword(kw) {
		return unexpected(p.peek())
	}
	p.next()
	return nil
}

func unexpected(t token) error {
	if t.kind == tEOF {
		return fmt.Errorf("unexpected end of query")
	}
	return fmt.Errorf("unexpected token: '%s'", t.text)
}

// parseSOQL parses q against the known objects.
func parseSOQL(q string, objects map[string]*objectDef) (*soqlQuery, error) {
	toks, err := lexSOQL(q)
	if err != nil {
		return nil, err
	}
	p := &soqlParser{toks: toks}
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	var names []string
	for {
		t := p.next()
		if t.kind != tIdent || reserved(t.text) {
			return nil, unexpected(t)
		}
		names = append(names, t.text)
		if p.peek().kind != tComma {
			break
		}
		p.next()
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	t := p.next()
	if t.kind != tIdent {
		return nil, unexpected(t)
	}
	obj := objects[strings.ToLower(t.text)]
	if obj == nil {
		return nil, &soqlError{"INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", t.text)}
	}
	p.obj = obj
	out := &soqlQuery{obj: obj, limit: -1}
	seen := map[string]bool{}
	for _, n := range names {
		f := obj.field(n)
		if f == nil {
			return nil, noSuchColumn(n, obj)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("duplicate field selected: %s", f.Name)
		}
		seen[f.Name] = true
		out.fields = append(out.fields, f)
	}
	if p.isKeyword("WHERE") {
		p.next()
		c, err := p.parseCond()
		if err != nil {
			return nil, err
		}
		out.where = c
	}
	if p.isKeyword("ORDER") {
		p.next()
		if err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		for {
			ft := p.next()
			if ft.kind != tIdent || reserved(ft.text) {
				return nil, unexpected(ft)
			}
			f := obj.field(ft.text)
			if f == nil {
				return nil, noSuchColumn(ft.text, obj)
			}
			term := orderTerm{f: f}
			if p.isKeyword("ASC") {
				p.next()
			} else if p.isKeyword("DESC") {
				p.next()
				term.desc = true
			}
			term.nullsLast = term.desc // Salesforce: ASC → NULLS FIRST, DESC → NULLS LAST
			if p.isKeyword("NULLS") {
				p.next()
				switch {
				case p.isKeyword("FIRST"):
					term.nullsLast = false
				case p.isKeyword("LAST"):
					term.nullsLast = true
				default:
					return nil, unexpected(p.peek())
				}
				p.next()
			}
			out.order = append(out.order, term)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
	}
	if p.isKeyword("LIMIT") {
		p.next()
		n, err := p.parseCount()
		if err != nil {
			return nil, err
		}
		out.limit = n
	}
	if p.isKeyword("OFFSET") {
		p.next()
		n, err := p.parseCount()
		if err != nil {
			return nil, err
		}
		out.offset = n
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, unexpected(t)
	}
	return out, nil
}

func (p *soqlParser) parseCount() (int, error) {
	t := p.next()
	if t.kind != tNumber || t.num < 0 || t.num != float64(int(t.num)) {
		return 0, unexpected(t)
	}
	return int(t.num), nil
}

func (p *soqlParser) parseCond() (cond, error) {
	first, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	parts := []cond{first}
	op := ""
	for {
		var kw string
		switch {
		case p.isKeyword("AND"):
			kw = "AND"
		case p.isKeyword("OR"):
			kw = "OR"
		default:
			if op == "" {
				return first, nil
			}
			return boolCond{and: op == "AND", parts: parts}, nil
		}
		if op != "" && kw != op {
			// SOQL refuses "a AND b OR c": the precedence must be made explicit.
			return nil, unexpected(p.peek())
		}
		op = kw
		p.next()
		c, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		parts = append(parts, c)
	}
}

func (p *soqlParser) parseTerm() (cond, error) {
	if p.isKeyword("NOT") {
		p.next()
		c, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		return notCond{c}, nil
	}
	if p.peek().kind == tLParen {
		p.next()
		c, err := p.parseCond()
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tRParen {
			return nil, unexpected(t)
		}
		return c, nil
	}
	ft := p.next()
	if ft.kind != tIdent || reserved(ft.text) {
		return nil, unexpected(ft)
	}
	f := p.obj.field(ft.text)
	if f == nil {
		return nil, noSuchColumn(ft.text, p.obj)
	}
	c := cmpCond{f: f}
	switch {
	case p.isKeyword("NOT"):
		p.next()
		if err := p.expectKeyword("IN"); err != nil {
			return nil, err
		}
		c.op, c.not = "IN", true
	case p.isKeyword("IN"):
		p.next()
		c.op = "IN"
	case p.peek().kind == tOp:
		c.op = p.next().text
	default:
		return nil, unexpected(p.peek())
	}
	if c.op == "IN" {
		if t := p.next(); t.kind != tLParen {
			return nil, unexpected(t)
		}
		for {
			v, err := p.parseLiteral(f, "=")
			if err != nil {
				return nil, err
			}
			c.vals = append(c.vals, v)
			t := p.next()
			if t.kind == tRParen {
				break
			}
			if t.kind != tComma {
				return nil, unexpected(t)
			}
		}
		return c, nil
	}
	v, err := p.parseLiteral(f, c.op)
	if err != nil {
		return nil, err
	}
	c.vals = []any{v}
	return c, nil
}

// parseLiteral reads a literal and checks it fits the field's type, like Salesforce does.
func (p *soqlParser) parseLiteral(f *fieldDef, op string) (any, error) {
	t := p.next()
	var v any
	switch {
	case t.kind == tString:
		v = t.text
	case t.kind == tNumber:
		v = t.num
	case t.kind == tDateTime:
		v = t.t
	case t.kind == tIdent && strings.EqualFold(t.text, "null"):
		v = nil
	case t.kind == tIdent && strings.EqualFold(t.text, "true"):
		v = true
	case t.kind == tIdent && strings.EqualFold(t.text, "false"):
		v = false
	default:
		return nil, unexpected(t)
	}
	ordering := op != "=" && op != "!="
	if v == nil {
		if ordering {
			return nil, fmt.Errorf("invalid operator on null: %s", op)
		}
		return nil, nil
	}
	switch f.Kind {
	case kString, kID:
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("value of filter criterion for field '%s' must be of type string and should be enclosed in quotes", f.Name)
		}
	case kBool:
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("value of filter criterion for field '%s' must be of type boolean and should not be enclosed in quotes", f.Name)
		}
		if ordering {
			return nil, fmt.Errorf("invalid operator on boolean field '%s': %s", f.Name, op)
		}
	case kDateTime:
		if _, ok := v.(time.Time); !ok {
			return nil, fmt.Errorf("value of filter criterion for field '%s' must be of type dateTime and should not be enclosed in quotes", f.Name)
		}
	}
	return v, nil
}

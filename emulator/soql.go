package emulator

import (
	"fmt"
	"strings"
	"time"
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

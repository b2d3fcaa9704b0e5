package emulator

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The SOQL lexer: a query into tokens, string literals with their escapes.

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

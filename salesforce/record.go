package salesforce

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record is one sObject as decoded JSON: field name → value, plus "attributes".
type Record map[string]any

// lookup finds field, following dotted relationship paths such as "Owner.Name".
func (r Record) lookup(field string) (any, bool) {
	if v, ok := r[field]; ok {
		return v, true
	}
	head, rest, ok := strings.Cut(field, ".")
	if !ok {
		return nil, false
	}
	sub, ok := r[head].(map[string]any)
	if !ok {
		return nil, false
	}
	return Record(sub).lookup(rest)
}

// String returns field as a string ("" when absent or null; numbers and booleans formatted).
func (r Record) String(field string) string {
	v, _ := r.lookup(field)
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// Bool returns field as a boolean (false when absent or null).
func (r Record) Bool(field string) bool {
	v, _ := r.lookup(field)
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, _ := strconv.ParseBool(x)
		return b
	}
	return false
}

// Time parses a datetime ("2024-01-02T03:04:05.000+0000") or date field; zero when absent or unparsable.
func (r Record) Time(field string) time.Time {
	s := r.String(field)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Type returns attributes.type, e.g. "Lead" or "Contact".
func (r Record) Type() string {
	attrs, _ := r["attributes"].(map[string]any)
	s, _ := attrs["type"].(string)
	return s
}

// SameID reports whether two record ids name the same record: either may be the
// 15-character case-sensitive form of the other's 18-character one.
func SameID(a, b string) bool {
	if len(a) < 15 || len(b) < 15 {
		return a == b
	}
	return a[:15] == b[:15]
}

package emulator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// parseWriteBody decodes a create/update body and checks field names and value types.
func parseWriteBody(obj *objectDef, body []byte) (record, *result) {
	m, keys, err := decodeObject(body)
	if errors.Is(err, errEmptyBody) {
		return nil, sfErrP(http.StatusBadRequest, "JSON_PARSER_ERROR", "The HTTP entity body is required, but this request has no entity body.")
	}
	if err != nil {
		return nil, sfErrP(http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error())
	}
	out := record{}
	for _, k := range keys {
		if k == "attributes" {
			continue
		}
		f := obj.field(k)
		if f == nil {
			return nil, sfErrP(http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, obj.Name), k)
		}
		if !f.Writable {
			return nil, sfErrP(http.StatusBadRequest, "INVALID_FIELD_FOR_INSERT_UPDATE",
				fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.Name), f.Name)
		}
		switch v := m[k].(type) {
		case nil:
			out[f.Name] = nil
		case string:
			if v == "" { // Salesforce stores an empty string as null
				out[f.Name] = nil
			} else {
				out[f.Name] = v
			}
		case json.Number, bool:
			out[f.Name] = fmt.Sprint(v)
		default:
			return nil, sfErrP(http.StatusBadRequest, "JSON_PARSER_ERROR", fmt.Sprintf("Cannot deserialize instance of string from %T value for field %s", v, f.Name), f.Name)
		}
	}
	return out, nil
}

// validate checks required fields, lengths, email syntax and references of a full record;
// touched limits the reference checks to the fields being written (nil = all).
func (e *Emulator) validate(ctx context.Context, tx *sql.Tx, obj *objectDef, rec record, touched map[string]bool) (*result, error) {
	var missing []string
	for _, f := range obj.Fields {
		if f.Required && rec[f.Name] == nil {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return sfErrP(http.StatusBadRequest, "REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")), missing...), nil
	}
	for _, f := range obj.Fields {
		s, ok := rec[f.Name].(string)
		if !ok || f.MaxLen == 0 || utf8.RuneCountInString(s) <= f.MaxLen {
			continue
		}
		shown := s
		if utf8.RuneCountInString(shown) > 40 {
			shown = string([]rune(shown)[:40]) + "..."
		}
		return sfErrP(http.StatusBadRequest, "STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.Name, shown, f.MaxLen), f.Name), nil
	}
	for _, f := range obj.Fields {
		if s, ok := rec[f.Name].(string); ok && f.Email && !validEmail(s) {
			return sfErrP(http.StatusBadRequest, "INVALID_EMAIL_ADDRESS", fmt.Sprintf("%s: invalid email address: %s", f.Name, s), f.Name), nil
		}
	}
	for _, f := range obj.Fields {
		s, ok := rec[f.Name].(string)
		if !ok || len(f.Refs) == 0 || (touched != nil && !touched[f.Name]) {
			continue
		}
		if !validIDSyntax(s) {
			return sfErrP(http.StatusBadRequest, "MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", f.Name, s), f.Name), nil
		}
		id := to18(s)
		rec[f.Name] = id
		allowed := false
		for _, p := range f.Refs {
			allowed = allowed || strings.HasPrefix(id, p)
		}
		if allowed {
			var err error
			if allowed, err = e.exists(ctx, tx, id); err != nil {
				return nil, err
			}
		}
		if !allowed {
			return sfErrP(http.StatusBadRequest, "INVALID_CROSS_REFERENCE_KEY", fmt.Sprintf("%s: invalid cross reference id", f.Name), f.Name), nil
		}
	}
	return nil, nil
}

// validEmail approximates Salesforce's email check: one @, a dotted domain, no spaces.
func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if strings.ContainsAny(s, " \t\r\n,;<>()[]\\\"") || strings.Contains(local, "@") {
		return false
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") {
		return false
	}
	return true
}

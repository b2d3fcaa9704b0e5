package prospect

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseFieldMapping checks SYNC_FIELD_MAPPING parsing on any text: it never panics; an
// error comes alone and with a message; every mapping returned has trimmed parts, a
// lower-case master and no ',' anywhere, and renders back (engagement=Salesforce:master@object)
// to the same mapping; and a mapping with an empty name, an unknown field, master or object,
// or a Salesforce field that is not an API name (a letter, then letters, digits and
// underscores: it is written into SOQL) is reported by Settings.Validate.
func FuzzParseFieldMapping(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseFieldMapping(s)
		if err != nil {
			if ms != nil || err.Error() == "" {
				t.Fatalf("ParseFieldMapping(%q) = %v, %q: an error comes alone and with a message", s, ms, err)
			}
			return
		}
		rendered := make([]string, len(ms))
		for i, m := range ms {
			for _, part := range []string{m.Engagement, m.Salesforce, m.Master, m.Object} {
				if strings.TrimSpace(part) != part || strings.Contains(part, ",") {
					t.Fatalf("ParseFieldMapping(%q): mapping %+v has an untrimmed part or a comma", s, m)
				}
			}
			if strings.ToLower(m.Master) != m.Master || strings.Contains(m.Master, ":") || strings.Contains(m.Object, "@") {
				t.Fatalf("ParseFieldMapping(%q): mapping %+v has a malformed master or object", s, m)
			}
			rendered[i] = m.Engagement + "=" + m.Salesforce + ":" + m.Master + "@" + m.Object

			settings := DefaultSettings()
			settings.FieldMapping = []FieldMapping{m}
			verr := settings.Validate()
			works := m.Engagement != "" && slices.Contains(MappableFields(), m.Engagement) && isAPIName(m.Salesforce) &&
				(m.Master == MasterEngagement || m.Master == MasterSalesforce) &&
				(m.Object == "" || m.Object == TypeLead || m.Object == TypeContact)
			if !works && verr == nil {
				t.Fatalf("ParseFieldMapping(%q): mapping %+v cannot work, but Validate accepts it", s, m)
			}
			if works && verr != nil {
				t.Fatalf("ParseFieldMapping(%q): mapping %+v refused by Validate: %v", s, m, verr)
			}
		}
		back, err := ParseFieldMapping(strings.Join(rendered, ","))
		if err != nil || !slices.Equal(back, ms) {
			t.Fatalf("ParseFieldMapping(%q) = %+v; rendered %q parses as %+v, %v", s, ms, strings.Join(rendered, ","), back, err)
		}
		settings := DefaultSettings()
		settings.FieldMapping = ms
		if verr := settings.Validate(); verr == nil {
			for _, typ := range []string{TypeLead, TypeContact} {
				for _, name := range MappedFields(settings, typ) {
					if !isAPIName(name) {
						t.Fatalf("ParseFieldMapping(%q): Validate accepts, and %s reads field %q", s, typ, name)
					}
				}
			}
		}
	})
}

// isAPIName is the test's own statement of a Salesforce field API name: an ASCII letter, then
// ASCII letters, digits and underscores.
func isAPIName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// TestParseFieldMappingFuzzFindings keeps what FuzzParseFieldMapping found: Validate accepted
// Salesforce fields that are no API name and went into SOQL as they were.
func TestParseFieldMappingFuzzFindings(t *testing.T) {
	for _, in := range []string{
		"firstName=First Name",
		"firstName=Title FROM Contact WHERE Email != null",
		"firstName=a@b@Lead",
		"firstName=Title:salesforce:engagement",
		`firstName="Title"`,
		"phone=1Phone",
		"company=Account.Name@Contact",
		"jobTitle=Titlé",
	} {
		ms, err := ParseFieldMapping(in)
		if err != nil {
			t.Fatalf("ParseFieldMapping(%q): %v", in, err)
		}
		s := DefaultSettings()
		s.FieldMapping = ms
		if err := s.Validate(); err == nil {
			t.Errorf("%q: Validate accepts %+v", in, ms)
		}
	}
	ms, err := ParseFieldMapping("firstName=FirstName,company=Company@Lead,phone=Phone:salesforce,jobTitle=Job_Title_2__c,lastName=ns__Last__c@Contact")
	if err != nil {
		t.Fatal(err)
	}
	s := DefaultSettings()
	s.FieldMapping = ms
	if err := s.Validate(); err != nil {
		t.Errorf("API names refused: %v", err)
	}
}

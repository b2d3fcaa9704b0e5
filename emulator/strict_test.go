package emulator_test

// Each test here pins one rule by which the emulator refuses what the real services
// refuse, with plain net/http requests (not our clients), so that a client that breaks
// the rule fails against the emulator before it fails in production.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

// jwtForm is a JWT bearer token request for alice with the given audience and expiry.
func jwtForm(t *testing.T, aud any, exp any) url.Values {
	t.Helper()
	claims := map[string]any{"iss": emulator.ClientID, "sub": "alice@emulator.local"}
	if aud != nil {
		claims["aud"] = aud
	}
	if exp != nil {
		claims["exp"] = exp
	}
	return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwtAssertion(t, "RS256", claims)}}
}

// wantToken asks for a token with form and checks the answer: a token when refusal is
// "", else 400 invalid_grant with refusal as its description.
func (e *env) wantToken(t *testing.T, form url.Values, refusal string) {
	t.Helper()
	r := e.postForm("/services/oauth2/token", form)
	if refusal == "" {
		if r.status != http.StatusOK {
			t.Fatalf("refused: %d %s", r.status, r.body)
		}
		return
	}
	var oe map[string]string
	r.decode(t, &oe)
	if r.status != http.StatusBadRequest || oe["error"] != "invalid_grant" || oe["error_description"] != refusal {
		t.Errorf("got %d %v, want 400 invalid_grant %q", r.status, oe, refusal)
	}
}

func TestJWTAudience(t *testing.T) {
	e := seeded(t)
	exp := testStart().Add(time.Minute).Unix()
	const refused = "audience is invalid"
	for _, c := range []struct {
		name    string
		aud     any
		refusal string
	}{
		{"production login", "https://login.salesforce.com", ""},
		{"sandbox login", "https://test.salesforce.com", ""},
		{"own My Domain", e.srv.URL, ""},
		{"own My Domain with slash", e.srv.URL + "/", ""},
		{"array holding login", []string{"https://example.com", "https://login.salesforce.com"}, ""},
		{"missing", nil, refused},
		{"other host", "https://example.com", refused},
		{"look-alike", "https://login.salesforce.com.example.com", refused},
		{"plain http login", "http://login.salesforce.com", refused},
		{"not a string", 42, refused},
	} {
		t.Run(c.name, func(t *testing.T) { e.wantToken(t, jwtForm(t, c.aud, exp), c.refusal) })
	}
}

func TestJWTExpiry(t *testing.T) {
	e := seeded(t)
	now := testStart()
	const refused = "expired authorization code"
	for _, c := range []struct {
		name    string
		exp     any
		refusal string
	}{
		{"in a minute", now.Add(time.Minute).Unix(), ""},
		{"in exactly 3 minutes", now.Add(3 * time.Minute).Unix(), ""},
		{"3 minutes and a second", now.Add(3*time.Minute + time.Second).Unix(), refused},
		{"in an hour", now.Add(time.Hour).Unix(), refused},
		{"now", now.Unix(), refused},
		{"a minute ago", now.Add(-time.Minute).Unix(), refused},
		{"missing", nil, refused},
	} {
		t.Run(c.name, func(t *testing.T) { e.wantToken(t, jwtForm(t, "https://login.salesforce.com", c.exp), c.refusal) })
	}
}

func TestAEInvalidProspectEmail(t *testing.T) {
	e := seeded(t)
	bad := []string{
		"not-an-email", "a@b", "a b@example.com", "a@@example.com", "@example.com", "a@example.c",
		strings.Repeat("l", 65) + "@example.com", // local part over 64
		"a@" + strings.Repeat("d", 250) + ".com", // over 255 in all
		"a@example." + strings.Repeat("t", 14),   // top-level domain over 13
	}
	for _, email := range bad {
		r := e.ae("POST", "/prospects?fields=id", map[string]any{"email": email, "lastName": "Bad"})
		if code, msg := r.aeError(t); r.status != http.StatusBadRequest || code != 4 || msg != "Invalid prospect email address" {
			t.Errorf("create %q: %d %s", email, r.status, r.body)
		}
		r = e.ae("PATCH", "/prospects/1002?fields=id", map[string]any{"email": email})
		if code, msg := r.aeError(t); r.status != http.StatusBadRequest || code != 4 || msg != "Invalid prospect email address" {
			t.Errorf("update %q: %d %s", email, r.status, r.body)
		}
	}
	if p, r := e.getProspect(emulator.ProspectMatchLead, ""); r.status != http.StatusOK || str(p.Email) != "match.lead@example.com" {
		t.Errorf("a refused update changed the email to %s (%d)", str(p.Email), r.status)
	}
	page := e.prospects(url.Values{"fields": {"id"}, "limit": {"1000"}})
	if len(page.Values) != 14 {
		t.Errorf("refused creates left prospects: %d", len(page.Values))
	}
	// The seed has o'neil+x@example.com already, and one prospect per email is the default.
	for _, email := range []string{"o'brien+y@example.com", "first.last@sub.example.co.uk", "x@y.io"} {
		if r := e.ae("POST", "/prospects?fields=id", map[string]any{"email": email}); r.status != http.StatusCreated {
			t.Errorf("create %q: %d %s", email, r.status, r.body)
		}
	}
	if r := e.ae("PATCH", "/prospects/1002", map[string]any{"email": "new.address@example.com"}); r.status != http.StatusNoContent {
		t.Errorf("valid update: %d %s", r.status, r.body)
	}
}

// TestAEUnknownFieldCodes pins the codes of the v5 error-code reference: 224 "Invalid
// fields for request type" for a name in fields that cannot be read, 180 "One or more
// of the specified fields are invalid" for a body property that cannot be written.
func TestAEUnknownFieldCodes(t *testing.T) {
	e := seeded(t)
	for _, path := range []string{"/prospects/1002?fields=id,bogus", "/prospects?fields=bogus", "/users/101?fields=id,nope"} {
		r := e.ae("GET", path, nil)
		if code, _ := r.aeError(t); r.status != http.StatusBadRequest || code != 224 {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	for _, c := range []struct{ method, path string }{{"POST", "/prospects?fields=id"}, {"PATCH", "/prospects/1002?fields=id"}} {
		r := e.ae(c.method, c.path, map[string]any{"email": "unknown.field@example.com", "Custom__c": "x"})
		if code, _ := r.aeError(t); r.status != http.StatusBadRequest || code != 180 {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
}

func TestSOQLErrorCodes(t *testing.T) {
	e := seeded(t)
	for _, c := range []struct{ soql, code string }{
		{`SELECT Nope FROM Lead`, "INVALID_FIELD"},
		{`SELECT Id FROM Lead WHERE Nope = 'x'`, "INVALID_FIELD"},
		{`SELECT Id FROM Lead ORDER BY Nope`, "INVALID_FIELD"},
		{`SELECT Id FROM Contact WHERE Company = 'x'`, "INVALID_FIELD"},
		{`SELECT Id FROM Opportunity`, "INVALID_TYPE"},
		{`SELECT Id FROM Lead WHERE Email LIKE 'a%'`, "MALFORMED_QUERY"},
	} {
		if code := e.queryError(c.soql); code != c.code {
			t.Errorf("%q: errorCode %s, want %s", c.soql, code, c.code)
		}
	}
}

// notFoundBody is Salesforce's answer for a resource (or API version) it does not have.
const notFoundBody = `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`

func TestAPIVersions(t *testing.T) {
	e := newEnv(t, emulator.Options{Seed: true, DailyAPILimit: 1})
	// The list needs no token and spends nothing of the daily allowance.
	r := e.do(e.newRequest("GET", "/services/data/", nil, "Authorization", ""))
	var list []map[string]string
	r.decode(t, &list)
	if r.status != http.StatusOK || len(list) != 67-31+1 {
		t.Fatalf("version list: %d %s", r.status, r.body)
	}
	if first, last := list[0], list[len(list)-1]; first["version"] != "31.0" || first["label"] != "Summer '14" ||
		last["version"] != "67.0" || last["label"] != "Summer '26" || last["url"] != "/services/data/v67.0" {
		t.Errorf("first %v, last %v", first, last)
	}
	labels := map[string]string{}
	for _, v := range list {
		labels[v["version"]] = v["label"]
	}
	for version, label := range map[string]string{"62.0": "Winter '25", "63.0": "Spring '25", "64.0": "Summer '25", "65.0": "Winter '26", "66.0": "Spring '26"} {
		if labels[version] != label {
			t.Errorf("%s labelled %q, want %q", version, labels[version], label)
		}
	}
	if !strings.Contains(string(r.body), `{"label":"Spring '26","url":"/services/data/v66.0","version":"66.0"}`) {
		t.Errorf("list not in Salesforce's shape: %s", r.body)
	}
	if r := e.do(e.newRequest("GET", "/services/data", nil, "Authorization", "")); r.status != http.StatusOK {
		t.Errorf("without the slash: %d", r.status)
	}
	if c := e.emu.Counters(); c.Salesforce.Total != 0 {
		t.Errorf("version list counted as an API call: %+v", c.Salesforce)
	}

	// A version the org does not offer is a resource that does not exist (this spends
	// the one call of the day, after which the list still answers).
	r = e.do(e.newRequest("GET", "/services/data/v68.0/sobjects/Lead/"+emulator.LeadMatchID, nil))
	if r.status != http.StatusNotFound || strings.TrimSpace(string(r.body)) != notFoundBody {
		t.Errorf("v68.0: %d %s", r.status, r.body)
	}
	if r := e.do(e.newRequest("GET", "/services/data/", nil, "Authorization", "")); r.status != http.StatusOK {
		t.Errorf("list after the daily limit: %d %s", r.status, r.body)
	}
}

func TestAPIVersionsConfigured(t *testing.T) {
	if _, err := emulator.New(emulator.Options{APIVersions: []string{"66"}}); err == nil {
		t.Error(`New accepted version "66"`)
	}
	e := newEnv(t, emulator.Options{Seed: true, APIVersions: []string{"v66.0", "62.0"}})
	r := e.do(e.newRequest("GET", "/services/data/", nil, "Authorization", ""))
	if want := `[{"label":"Winter '25","url":"/services/data/v62.0","version":"62.0"},{"label":"Spring '26","url":"/services/data/v66.0","version":"66.0"}]`; strings.TrimSpace(string(r.body)) != want {
		t.Errorf("list %s, want %s", r.body, want)
	}
	for version, want := range map[string]int{"v62.0": http.StatusOK, "v66.0": http.StatusOK, "v64.0": http.StatusNotFound, "v67.0": http.StatusNotFound} {
		r := e.do(e.newRequest("GET", "/services/data/"+version+"/sobjects/Lead/"+emulator.LeadMatchID, nil))
		if r.status != want {
			t.Errorf("%s: %d %s, want %d", version, r.status, r.body, want)
		}
	}
	// A composite subrequest is held to the same versions.
	r = e.sf("POST", "/composite", map[string]any{"compositeRequest": []map[string]any{
		{"method": "GET", "url": "/services/data/v64.0/sobjects/Lead/" + emulator.LeadMatchID, "referenceId": "old"},
	}})
	var out compositeReply
	r.decode(t, &out)
	if len(out.CompositeResponse) != 1 || out.CompositeResponse[0].HTTPStatusCode != http.StatusNotFound {
		t.Errorf("composite v64.0: %s", r.body)
	}
}

func TestAEUnencodedPlusRefused(t *testing.T) {
	e := seeded(t)
	cut := testStart().Add(-5 * time.Minute).In(time.FixedZone("", 2*3600)).Format(time.RFC3339) // "...+02:00"
	// Sent raw, the "+" arrives as a space: AE refuses the timestamp instead of guessing.
	for _, param := range []string{"updatedAtAfterOrEqualTo", "createdAtBefore"} {
		r := e.do(e.newRequest("GET", "/api/v5/objects/prospects?fields=id&"+param+"="+cut, nil, "Pardot-Business-Unit-Id", emulator.BusinessUnitID))
		code, msg := r.aeError(t)
		if r.status != http.StatusBadRequest || code != 7 || !strings.Contains(msg, "%2B") {
			t.Errorf("%s raw: %d %s", param, r.status, r.body)
		}
	}
	// URL-encoded, it is understood.
	page, r := e.queryProspects(url.Values{"fields": {"id"}, "updatedAtAfterOrEqualTo": {cut}})
	if r.status != http.StatusOK || len(page.Values) != 5 {
		t.Errorf("encoded: %d %s", r.status, r.body)
	}
}

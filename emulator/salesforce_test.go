package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

func jwtAssertion(t *testing.T, alg string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": alg, "typ": "JWT"}) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString([]byte("not-checked"))
}

func TestTokenEndpoint(t *testing.T) {
	e := seeded(t)
	r := e.postForm("/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {emulator.ClientID}, "client_secret": {emulator.ClientSecret},
	})
	if r.status != http.StatusOK {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	var tok map[string]string
	r.decode(t, &tok)
	if tok["access_token"] == "" || tok["token_type"] != "Bearer" || tok["instance_url"] != e.srv.URL || tok["id"] == "" || tok["signature"] == "" {
		t.Errorf("token response %v", tok)
	}
	if ms, err := strconv.ParseInt(tok["issued_at"], 10, 64); err != nil || ms != testStart().UnixMilli() {
		t.Errorf("issued_at %q", tok["issued_at"])
	}
	if !strings.HasSuffix(tok["id"], "/"+emulator.IntegrationUserID) {
		t.Errorf("id %q does not name the integration user", tok["id"])
	}

	exp := testStart().Add(2 * time.Minute).Unix()
	cases := []struct {
		name      string
		form      url.Values
		wantError string
	}{
		{"bad secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {emulator.ClientID}, "client_secret": {"nope"}}, "invalid_client"},
		{"unsupported grant", url.Values{"grant_type": {"password"}}, "unsupported_grant_type"},
		{"jwt ok", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwtAssertion(t, "RS256",
			map[string]any{"iss": emulator.ClientID, "sub": "alice@emulator.local", "aud": "https://login.salesforce.com", "exp": exp})}}, ""},
		{"jwt wrong issuer", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwtAssertion(t, "RS256",
			map[string]any{"iss": "other", "sub": "alice@emulator.local", "aud": "https://login.salesforce.com", "exp": exp})}}, "invalid_client"},
		{"jwt expired", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwtAssertion(t, "RS256",
			map[string]any{"iss": emulator.ClientID, "sub": "alice@emulator.local", "aud": "https://login.salesforce.com", "exp": testStart().Add(-time.Minute).Unix()})}}, "invalid_grant"},
		{"jwt unknown user", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwtAssertion(t, "RS256",
			map[string]any{"iss": emulator.ClientID, "sub": "mallory@emulator.local", "aud": "https://login.salesforce.com", "exp": exp})}}, "invalid_grant"},
		{"jwt wrong alg", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwtAssertion(t, "HS256",
			map[string]any{"iss": emulator.ClientID, "sub": "alice@emulator.local", "aud": "https://login.salesforce.com", "exp": exp})}}, "invalid_grant"},
		{"jwt garbage", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"a.b"}}, "invalid_grant"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.postForm("/services/oauth2/token", c.form)
			if c.wantError == "" {
				if r.status != http.StatusOK {
					t.Fatalf("status %d %s", r.status, r.body)
				}
				return
			}
			var oe map[string]string
			r.decode(t, &oe)
			if r.status != http.StatusBadRequest || oe["error"] != c.wantError || oe["error_description"] == "" {
				t.Errorf("got %d %v, want 400 %s", r.status, oe, c.wantError)
			}
		})
	}
}

func TestTokenExpiryAndAuth(t *testing.T) {
	e := newEnv(t, emulator.Options{Seed: true, TokenTTL: time.Hour})
	if r := e.sf("GET", "/query?q="+url.QueryEscape("SELECT Id FROM User"), nil); r.status != http.StatusOK {
		t.Fatalf("fresh token: %d %s", r.status, r.body)
	}
	e.clock.Advance(time.Hour)
	r := e.sf("GET", "/query?q="+url.QueryEscape("SELECT Id FROM User"), nil)
	if code, _ := r.sfError(t); r.status != http.StatusUnauthorized || code != "INVALID_SESSION_ID" {
		t.Errorf("expired token: %d %s", r.status, r.body)
	}
	if r.header.Get("Sforce-Limit-Info") == "" {
		t.Error("401 without Sforce-Limit-Info")
	}
	r = e.ae("GET", "/prospects/1001?fields=id", nil)
	if code, _ := r.aeError(t); r.status != http.StatusUnauthorized || code != 184 {
		t.Errorf("AE expired token: %d %s", r.status, r.body)
	}
	for _, auth := range []string{"", "Bearer nonsense"} {
		r = e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil, "Authorization", auth)
		if code, _ := r.sfError(t); r.status != http.StatusUnauthorized || code != "INVALID_SESSION_ID" {
			t.Errorf("auth %q: %d %s", auth, r.status, r.body)
		}
	}
	e.token = e.newToken()
	if r := e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil); r.status != http.StatusOK {
		t.Errorf("new token: %d %s", r.status, r.body)
	}
}

func TestLimitInfoAndDailyLimit(t *testing.T) {
	e := newEnv(t, emulator.Options{Seed: true, DailyAPILimit: 3})
	for i := 1; i <= 3; i++ {
		r := e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil)
		if r.status != http.StatusOK {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
		if got, want := r.header.Get("Sforce-Limit-Info"), fmt.Sprintf("api-usage=%d/3", i); got != want {
			t.Errorf("call %d: Sforce-Limit-Info %q, want %q", i, got, want)
		}
	}
	r := e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil)
	if code, _ := r.sfError(t); r.status != http.StatusForbidden || code != "REQUEST_LIMIT_EXCEEDED" {
		t.Errorf("over limit: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Sforce-Limit-Info"); got != "api-usage=3/3" {
		t.Errorf("over limit Sforce-Limit-Info %q", got)
	}
	// Raising the limit over HTTP lets calls through again.
	if r := e.control("PUT", "/limits", map[string]int{"dailyApiLimit": 10, "aeDailyLimit": 1}); r.status != http.StatusNoContent {
		t.Fatalf("PUT limits: %d %s", r.status, r.body)
	}
	if r := e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil); r.status != http.StatusOK || r.header.Get("Sforce-Limit-Info") != "api-usage=4/10" {
		t.Errorf("after raise: %d %q", r.status, r.header.Get("Sforce-Limit-Info"))
	}
	if r := e.ae("GET", "/prospects/1001?fields=id", nil); r.status != http.StatusOK {
		t.Errorf("first AE call: %d %s", r.status, r.body)
	}
	r = e.ae("GET", "/prospects/1001?fields=id", nil)
	if code, _ := r.aeError(t); r.status != http.StatusTooManyRequests || code != 122 {
		t.Errorf("AE over limit: %d %s", r.status, r.body)
	}
	// A new day brings a new allowance.
	e.clock.Advance(24 * time.Hour)
	e.token = e.newToken() // the old one expired meanwhile
	if r := e.ae("GET", "/prospects/1001?fields=id", nil); r.status != http.StatusOK {
		t.Errorf("next day: %d %s", r.status, r.body)
	}
}

func TestSOQL(t *testing.T) {
	e := seeded(t)
	quoteID := e.createLead(map[string]any{"Email": "o'neil+x@example.com", "LastName": `Back\slash "q"`, "Company": "Quote Co"}, "Sforce-Auto-Assign", "FALSE")

	cases := []struct {
		soql string
		want []string
	}{
		{`SELECT Id, Email FROM Lead WHERE Email = 'match.lead@example.com'`, []string{emulator.LeadMatchID}},
		{`select id from lead where EMAIL = 'MATCH.LEAD@EXAMPLE.COM'`, []string{emulator.LeadMatchID}},
		{`SELECT Id FROM Lead WHERE Email != 'both@example.com' ORDER BY Id`, []string{emulator.LeadMatchID, emulator.LeadConvertedID, emulator.LeadMatchUnassignedID, quoteID}},
		{`SELECT Id FROM Lead WHERE Email IN ('both@example.com', 'CONVERTED@example.com') ORDER BY Id`, []string{emulator.LeadMatchContactAndLeadID, emulator.LeadConvertedID}},
		{`SELECT Id FROM Lead WHERE Email NOT IN ('both@example.com', 'converted@example.com', 'o\'neil+x@example.com') ORDER BY Id`, []string{emulator.LeadMatchID, emulator.LeadMatchUnassignedID}},
		{`SELECT Id FROM Lead WHERE (Email = 'both@example.com' OR Email = 'converted@example.com') AND IsConverted = false`, []string{emulator.LeadMatchContactAndLeadID}},
		{`SELECT Id FROM Lead WHERE NOT (IsConverted = false)`, []string{emulator.LeadConvertedID}},
		{`SELECT Id FROM Lead WHERE Email = 'o\'neil+x@example.com'`, []string{quoteID}},
		{`SELECT Id FROM Lead WHERE LastName = 'back\\slash \"Q\"'`, []string{quoteID}},
		{`SELECT Id FROM Lead WHERE FirstName = 'ZOË' AND LastName = 'ångström'`, []string{emulator.LeadMatchID}},
		{`SELECT Id FROM Lead WHERE Company = 'M\u00fcller GmbH'`, []string{emulator.LeadMatchID}},
		{`SELECT Id FROM Lead WHERE ConvertedContactId != null`, []string{emulator.LeadConvertedID}},
		{`SELECT Id FROM Lead WHERE Id = '` + emulator.LeadMatchID[:15] + `'`, []string{emulator.LeadMatchID}},
		{`SELECT Id FROM Lead WHERE Email = 'nobody@example.com'`, []string{}},
		{`SELECT Id FROM Lead WHERE LastModifiedDate > 2024-05-05T00:00:00Z ORDER BY LastModifiedDate DESC LIMIT 2`, []string{quoteID, emulator.LeadMatchContactAndLeadID}},
		{`SELECT Id FROM Lead WHERE Email != null ORDER BY LastModifiedDate ASC LIMIT 2 OFFSET 1`, []string{emulator.LeadMatchID, emulator.LeadConvertedID}},
		{`SELECT Id FROM Contact WHERE Email = 'both@example.com'`, []string{emulator.ContactMatchContactAndLeadID}},
		{`SELECT Id FROM User WHERE IsActive = true AND Username != 'integration@emulator.local' ORDER BY Username DESC`, []string{emulator.UserCarolID, emulator.UserBobID, emulator.UserAliceID}},
		{`SELECT Id FROM Lead WHERE Title = null AND Email = 'both@example.com'`, []string{emulator.LeadMatchContactAndLeadID}},
	}
	for _, c := range cases {
		t.Run(c.soql, func(t *testing.T) {
			p := e.query(c.soql)
			got := ids(p.Records)
			if !slices.Equal(got, c.want) || p.TotalSize != len(c.want) || !p.Done {
				t.Errorf("got %v (totalSize %d, done %v), want %v", got, p.TotalSize, p.Done, c.want)
			}
		})
	}

	// Record shape: attributes first, selected fields only, Salesforce date format.
	p := e.query(`SELECT Id, Email, OwnerId, IsConverted, LastModifiedDate, Title FROM Lead WHERE Id = '` + emulator.LeadMatchID + `'`)
	rec := p.Records[0]
	attrs, _ := rec["attributes"].(map[string]any)
	if attrs["type"] != "Lead" || attrs["url"] != "/services/data/v62.0/sobjects/Lead/"+emulator.LeadMatchID {
		t.Errorf("attributes %v", attrs)
	}
	if rec["Email"] != "Match.Lead@Example.com" || rec["OwnerId"] != emulator.UserAliceID || rec["IsConverted"] != false || rec["Title"] != nil {
		t.Errorf("record %v", rec)
	}
	if _, ok := rec["Company"]; ok {
		t.Error("unselected field returned")
	}
	if d, _ := rec["LastModifiedDate"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`).MatchString(d) {
		t.Errorf("LastModifiedDate %q", d)
	}

	// Deleted records: hidden from query, visible to queryAll.
	soql := `SELECT Id, IsDeleted FROM Lead WHERE Email = 'crm.deleted@example.com'`
	if p := e.query(soql); p.TotalSize != 0 {
		t.Errorf("query sees deleted lead: %v", p.Records)
	}
	r := e.sf("GET", "/queryAll?q="+url.QueryEscape(soql), nil)
	var all queryPage
	r.decode(t, &all)
	if all.TotalSize != 1 || all.Records[0]["IsDeleted"] != true {
		t.Errorf("queryAll: %s", r.body)
	}

	for _, bad := range []string{
		`SELECT Id FROM Lead WHERE Email = 'a' AND LastName = 'b' OR Company = 'c'`, // mixing needs parentheses
		`SELECT Id FROM Lead WHERE Email = 'o'neil@example.com'`,                    // unescaped quote
		`SELECT Id FROM Lead WHERE Email = 'unterminated`,
		`SELECT Id FROM Lead WHERE Email = 'bad \q escape'`,
		`SELECT Id FROM Lead WHERE Email LIKE 'a%'`,
		`SELECT Id FROM Lead WHERE Email = 5`,
		`SELECT Id FROM Lead WHERE IsConverted = 'true'`,
		`SELECT Id FROM Lead WHERE LastModifiedDate > '2024-01-01'`,
		`SELECT Id, Id FROM Lead`,
		`SELECT Id FROM Lead LIMIT -1`,
		`SELECT Id FROM Lead WHERE`,
		`SELECT FROM Lead`,
		`SELECT Id FROM Lead WHERE Email IN ()`,
		`DELETE FROM Lead`,
		`SELECT COUNT() FROM Lead`,
		`SELECT Id FROM Lead extra`,
		``,
	} {
		if code := e.queryError(bad); code != "MALFORMED_QUERY" {
			t.Errorf("%q: errorCode %s", bad, code)
		}
	}
}

// pagedLeads is how many Leads the paging tests create: two full pages of Salesforce's
// smallest batch size (200) and one record more.
const pagedLeads = 401

func TestQueryPaging(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	var created []string
	for i := 0; i < pagedLeads; i++ {
		created = append(created, e.createLead(map[string]any{"LastName": fmt.Sprintf("Page %03d", i), "Company": "PageCo"}))
	}
	soql := `SELECT Id, LastName FROM Lead WHERE Company = 'pageco' ORDER BY LastName`
	got, sizes := e.queryAllPages(soql, "batchSize=200")
	if !slices.Equal(got, created) || !slices.Equal(sizes, []int{200, 200, 1}) {
		t.Errorf("paged ids %v (sizes %v), want %v", got, sizes, created)
	}
	r := e.sf("GET", "/query/01gNOPE-3", nil)
	if code, _ := r.sfError(t); r.status != http.StatusBadRequest || code != "INVALID_QUERY_LOCATOR" {
		t.Errorf("bad locator: %d %s", r.status, r.body)
	}
	// Without the header everything fits on one page.
	if p := e.query(soql); !p.Done || len(p.Records) != pagedLeads {
		t.Errorf("default batch: done=%v n=%d", p.Done, len(p.Records))
	}
	// batchSize is a preference within 200..2000: values outside are brought into range,
	// an unreadable one is ignored.
	for _, c := range []struct {
		option string
		sizes  []int
	}{
		{"batchSize=1", []int{200, 200, 1}},
		{"batchSize=199", []int{200, 200, 1}},
		{"batchSize=5000", []int{pagedLeads}},
		{"batchSize=lots", []int{pagedLeads}},
	} {
		if _, sizes := e.queryAllPages(soql, c.option); !slices.Equal(sizes, c.sizes) {
			t.Errorf("%s: page sizes %v, want %v", c.option, sizes, c.sizes)
		}
	}
}

// queryAllPages runs soql with the given Sforce-Query-Options and follows nextRecordsUrl,
// returning the ids and the size of each page.
func (e *env) queryAllPages(soql, option string) (got []string, sizes []int) {
	e.t.Helper()
	t := e.t
	p := e.query(soql, "Sforce-Query-Options", option)
	total := p.TotalSize
	for {
		if p.TotalSize != total {
			t.Fatalf("totalSize %d, then %d", total, p.TotalSize)
		}
		got = append(got, ids(p.Records)...)
		sizes = append(sizes, len(p.Records))
		if p.Done {
			if p.NextRecordsURL != "" {
				t.Errorf("done page with nextRecordsUrl %q", p.NextRecordsURL)
			}
			break
		}
		if !strings.HasPrefix(p.NextRecordsURL, "/services/data/v62.0/query/") {
			t.Fatalf("nextRecordsUrl %q", p.NextRecordsURL)
		}
		r := e.do(e.newRequest("GET", p.NextRecordsURL, nil))
		if r.status != http.StatusOK {
			t.Fatalf("next page: %d %s", r.status, r.body)
		}
		p = queryPage{}
		r.decode(t, &p)
	}
	return got, sizes
}

func TestSObjectLifecycle(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	r := e.sf("POST", "/sobjects/Lead/", map[string]any{"Email": "life@example.com", "LastName": "Cycle", "Company": "Life Inc", "FirstName": "Ann"}, "Sforce-Auto-Assign", "FALSE")
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created map[string]any
	r.decode(t, &created)
	id, _ := created["id"].(string)
	if created["success"] != true || len(id) != 18 || !strings.HasPrefix(id, "00Q") || fmt.Sprint(created["errors"]) != "[]" {
		t.Fatalf("create body %s", r.body)
	}
	if loc := r.header.Get("Location"); loc != "/services/data/v62.0/sobjects/Lead/"+id {
		t.Errorf("Location %q", loc)
	}
	rec := e.getRecord("Lead", id)
	if rec["Status"] != "Open - Not Contacted" || rec["OwnerId"] != emulator.IntegrationUserID || rec["IsConverted"] != false || rec["IsDeleted"] != false {
		t.Errorf("defaults: %v", rec)
	}
	if rec["CreatedDate"] != "2024-05-06T12:00:00.000+0000" || rec["LastModifiedDate"] != rec["CreatedDate"] {
		t.Errorf("dates %v %v", rec["CreatedDate"], rec["LastModifiedDate"])
	}
	// A 15-character id works too.
	if rec15 := e.getRecord("Lead", id[:15]); rec15["Id"] != id {
		t.Errorf("15-char get: %v", rec15["Id"])
	}
	r = e.sf("GET", "/sobjects/Lead/"+id+"?fields=Email,LastName", nil)
	var part map[string]any
	r.decode(t, &part)
	if len(part) != 3 || part["Email"] != "life@example.com" || part["LastName"] != "Cycle" {
		t.Errorf("fields param: %s", r.body)
	}

	e.clock.Advance(time.Minute)
	if r := e.sf("PATCH", "/sobjects/Lead/"+id, map[string]any{"Title": "CTO", "FirstName": nil}, "Sforce-Auto-Assign", "FALSE"); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	rec = e.getRecord("Lead", id)
	if rec["Title"] != "CTO" || rec["FirstName"] != nil || rec["Email"] != "life@example.com" {
		t.Errorf("after update: %v", rec)
	}
	if rec["LastModifiedDate"] != "2024-05-06T12:01:00.000+0000" || rec["CreatedDate"] != "2024-05-06T12:00:00.000+0000" {
		t.Errorf("dates after update %v %v", rec["CreatedDate"], rec["LastModifiedDate"])
	}

	if r := e.sf("DELETE", "/sobjects/Lead/"+id, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	r = e.sf("GET", "/sobjects/Lead/"+id, nil)
	if code, _ := r.sfError(t); r.status != http.StatusNotFound || code != "NOT_FOUND" {
		t.Errorf("get deleted: %d %s", r.status, r.body)
	}
	for _, method := range []string{"PATCH", "DELETE"} {
		r = e.sf(method, "/sobjects/Lead/"+id, map[string]any{"Title": "x"})
		if code, _ := r.sfError(t); r.status != http.StatusNotFound || code != "ENTITY_IS_DELETED" {
			t.Errorf("%s deleted: %d %s", method, r.status, r.body)
		}
	}

	// Contacts work the same way.
	r = e.sf("POST", "/sobjects/Contact", map[string]any{"Email": "c@example.com", "LastName": "Contact"})
	if r.status != http.StatusCreated {
		t.Fatalf("create contact: %d %s", r.status, r.body)
	}
	var c map[string]any
	r.decode(t, &c)
	if cid := c["id"].(string); !strings.HasPrefix(cid, "003") || e.getRecord("Contact", cid)["OwnerId"] != emulator.IntegrationUserID {
		t.Errorf("contact %v", c)
	}
}

func TestValidationErrors(t *testing.T) {
	e := seeded(t)
	long := strings.Repeat("x", 41)
	cases := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   string
		wantFields []string
	}{
		{"required", "POST", "/sobjects/Lead", map[string]any{"Email": "a@example.com"}, 400, "REQUIRED_FIELD_MISSING", []string{"LastName", "Company"}},
		{"empty string is missing", "POST", "/sobjects/Lead", map[string]any{"LastName": "", "Company": "C"}, 400, "REQUIRED_FIELD_MISSING", []string{"LastName"}},
		{"bad email", "POST", "/sobjects/Lead", map[string]any{"Email": "not-an-email", "LastName": "L", "Company": "C"}, 400, "INVALID_EMAIL_ADDRESS", []string{"Email"}},
		{"too long", "POST", "/sobjects/Lead", map[string]any{"FirstName": long, "LastName": "L", "Company": "C"}, 400, "STRING_TOO_LONG", []string{"FirstName"}},
		{"email too long", "POST", "/sobjects/Contact", map[string]any{"Email": strings.Repeat("a", 70) + "@example.com", "LastName": "L"}, 400, "STRING_TOO_LONG", []string{"Email"}},
		{"unknown field", "POST", "/sobjects/Lead", map[string]any{"Nope__c": "x", "LastName": "L", "Company": "C"}, 400, "INVALID_FIELD", []string{"Nope__c"}},
		{"read-only field", "POST", "/sobjects/Lead", map[string]any{"IsConverted": true, "LastName": "L", "Company": "C"}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", []string{"IsConverted"}},
		{"malformed owner", "POST", "/sobjects/Lead", map[string]any{"OwnerId": "bob", "LastName": "L", "Company": "C"}, 400, "MALFORMED_ID", []string{"OwnerId"}},
		{"unknown owner", "POST", "/sobjects/Lead", map[string]any{"OwnerId": "005000000000099AAA", "LastName": "L", "Company": "C"}, 400, "INVALID_CROSS_REFERENCE_KEY", []string{"OwnerId"}},
		{"queue owns no contact", "POST", "/sobjects/Contact", map[string]any{"OwnerId": emulator.QueueLeadsID, "LastName": "L"}, 400, "INVALID_CROSS_REFERENCE_KEY", []string{"OwnerId"}},
		{"not json", "POST", "/sobjects/Lead", "{nope", 400, "JSON_PARSER_ERROR", nil},
		{"malformed id", "GET", "/sobjects/Lead/xyz", nil, 400, "MALFORMED_ID", nil},
		{"malformed id patch", "PATCH", "/sobjects/Lead/00Q!!", map[string]any{"Title": "x"}, 400, "MALFORMED_ID", nil},
		{"wrong object id", "GET", "/sobjects/Lead/" + emulator.ContactMatchContactAndLeadID, nil, 404, "NOT_FOUND", nil},
		{"unknown id", "PATCH", "/sobjects/Lead/00Q000000000999EAA", map[string]any{"Title": "x"}, 404, "NOT_FOUND", nil},
		{"update bad email", "PATCH", "/sobjects/Lead/" + emulator.LeadMatchID, map[string]any{"Email": "a@b"}, 400, "INVALID_EMAIL_ADDRESS", []string{"Email"}},
		{"update clears required", "PATCH", "/sobjects/Lead/" + emulator.LeadMatchID, map[string]any{"Company": nil}, 400, "REQUIRED_FIELD_MISSING", []string{"Company"}},
		{"converted lead", "PATCH", "/sobjects/Lead/" + emulator.LeadConvertedID, map[string]any{"Title": "x"}, 400, "CANNOT_UPDATE_CONVERTED_LEAD", nil},
		{"unknown sobject", "POST", "/sobjects/Opportunity", map[string]any{"Name": "x"}, 404, "NOT_FOUND", nil},
		{"unknown fields param", "GET", "/sobjects/Lead/" + emulator.LeadMatchID + "?fields=Nope", nil, 400, "INVALID_FIELD", []string{"Nope"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.sf(c.method, c.path, c.body, "Sforce-Auto-Assign", "FALSE")
			code, fields := r.sfError(t)
			if r.status != c.wantStatus || code != c.wantCode || (c.wantFields != nil && !slices.Equal(fields, c.wantFields)) {
				t.Errorf("got %d %s %v, want %d %s %v (%s)", r.status, code, fields, c.wantStatus, c.wantCode, c.wantFields, r.body)
			}
		})
	}
	// Lengths count characters, not bytes.
	e.createLead(map[string]any{"FirstName": strings.Repeat("é", 40), "LastName": "L", "Company": "C"})
	// Nothing failing was written.
	if p := e.query(`SELECT Id FROM Lead WHERE Company = 'C'`); p.TotalSize != 1 {
		t.Errorf("failed creates left %d leads", p.TotalSize)
	}
}

func TestConvertLeadAndDeleteControl(t *testing.T) {
	e := seeded(t)
	contactID, err := e.emu.ConvertLead(t.Context(), emulator.LeadMatchID)
	if err != nil || !strings.HasPrefix(contactID, "003") {
		t.Fatalf("ConvertLead: %q %v", contactID, err)
	}
	lead := e.getRecord("Lead", emulator.LeadMatchID)
	if lead["IsConverted"] != true || lead["ConvertedContactId"] != contactID || !strings.HasPrefix(lead["ConvertedAccountId"].(string), "001") {
		t.Errorf("converted lead %v", lead)
	}
	contact := e.getRecord("Contact", contactID)
	if contact["Email"] != "Match.Lead@Example.com" || contact["LastName"] != "Ångström" || contact["AccountId"] != lead["ConvertedAccountId"] || contact["OwnerId"] != emulator.UserAliceID {
		t.Errorf("contact %v", contact)
	}
	r := e.sf("PATCH", "/sobjects/Lead/"+emulator.LeadMatchID, map[string]any{"Title": "x"})
	if code, _ := r.sfError(t); code != "CANNOT_UPDATE_CONVERTED_LEAD" {
		t.Errorf("update converted: %s", r.body)
	}
	if _, err := e.emu.ConvertLead(t.Context(), emulator.LeadMatchID); err == nil {
		t.Error("second conversion succeeded")
	}
	r = e.control("POST", "/leads/"+emulator.LeadMatchUnassignedID+"/convert", nil)
	var conv map[string]string
	r.decode(t, &conv)
	if r.status != http.StatusOK || !strings.HasPrefix(conv["contactId"], "003") || !strings.HasPrefix(conv["accountId"], "001") {
		t.Errorf("HTTP convert: %d %s", r.status, r.body)
	}
	if r := e.control("POST", "/leads/00Q000000000999EAA/convert", nil); r.status != http.StatusNotFound {
		t.Errorf("convert unknown: %d %s", r.status, r.body)
	}

	if r := e.control("DELETE", "/records/"+emulator.ContactMatchContactAndLeadID, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete control: %d %s", r.status, r.body)
	}
	r = e.sf("PATCH", "/sobjects/Contact/"+emulator.ContactMatchContactAndLeadID, map[string]any{"Title": "x"})
	if code, _ := r.sfError(t); r.status != http.StatusNotFound || code != "ENTITY_IS_DELETED" {
		t.Errorf("update deleted contact: %d %s", r.status, r.body)
	}
	if p := e.query(`SELECT Id FROM Contact WHERE Email = 'both@example.com'`); p.TotalSize != 0 {
		t.Errorf("deleted contact still queryable")
	}
	if r := e.control("DELETE", "/records/003000000000999AAA", nil); r.status != http.StatusNotFound {
		t.Errorf("delete unknown: %d", r.status)
	}
}

func TestUpsert(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	r := e.sf("PATCH", "/sobjects/Lead/Prospect_Id__c/P-1", map[string]any{"LastName": "Up", "Company": "Sert"}, "Sforce-Auto-Assign", "FALSE")
	var res map[string]any
	r.decode(t, &res)
	id, _ := res["id"].(string)
	if r.status != http.StatusCreated || res["created"] != true || res["success"] != true || id == "" {
		t.Fatalf("upsert create: %d %s", r.status, r.body)
	}
	if rec := e.getRecord("Lead", id); rec["Prospect_Id__c"] != "P-1" {
		t.Errorf("external id not stored: %v", rec)
	}
	r = e.sf("PATCH", "/sobjects/Lead/Prospect_Id__c/P-1", map[string]any{"Title": "Boss"}, "Sforce-Auto-Assign", "FALSE")
	res = nil
	r.decode(t, &res)
	if r.status != http.StatusOK || res["created"] != false || res["id"] != id {
		t.Fatalf("upsert update: %d %s", r.status, r.body)
	}
	if rec := e.getRecord("Lead", id); rec["Title"] != "Boss" || rec["LastName"] != "Up" {
		t.Errorf("after upsert update: %v", rec)
	}
	// A second record with the same key makes the key ambiguous.
	other := e.createLead(map[string]any{"LastName": "Two", "Company": "C", "Prospect_Id__c": "p-1"})
	r = e.sf("PATCH", "/sobjects/Lead/Prospect_Id__c/P-1", map[string]any{"Title": "x"})
	var urls []string
	r.decode(t, &urls)
	slices.Sort(urls)
	want := []string{"/services/data/v62.0/sobjects/Lead/" + id, "/services/data/v62.0/sobjects/Lead/" + other}
	slices.Sort(want)
	if r.status != http.StatusMultipleChoices || !slices.Equal(urls, want) {
		t.Errorf("ambiguous upsert: %d %s", r.status, r.body)
	}
	if rec := e.getRecord("Lead", id); rec["Title"] != "Boss" {
		t.Error("300 wrote data")
	}
	for _, field := range []string{"Email", "Nope__c"} {
		r = e.sf("PATCH", "/sobjects/Lead/"+field+"/x", map[string]any{"Title": "x"})
		if code, _ := r.sfError(t); r.status != http.StatusNotFound || code != "NOT_FOUND" {
			t.Errorf("upsert on %s: %d %s", field, r.status, r.body)
		}
	}
	// Upsert validates like create.
	r = e.sf("PATCH", "/sobjects/Contact/Prospect_Id__c/P-9", map[string]any{"Email": "bad"})
	if code, _ := r.sfError(t); code != "REQUIRED_FIELD_MISSING" {
		t.Errorf("upsert validation: %s", r.body)
	}
}

type compositeReply struct {
	CompositeResponse []struct {
		Body           json.RawMessage   `json:"body"`
		HTTPHeaders    map[string]string `json:"httpHeaders"`
		HTTPStatusCode int               `json:"httpStatusCode"`
		ReferenceID    string            `json:"referenceId"`
	} `json:"compositeResponse"`
}

func (e *env) composite(allOrNone bool, subs ...map[string]any) compositeReply {
	e.t.Helper()
	r := e.sf("POST", "/composite", map[string]any{"allOrNone": allOrNone, "compositeRequest": subs})
	if r.status != http.StatusOK {
		e.t.Fatalf("composite: %d %s", r.status, r.body)
	}
	var out compositeReply
	r.decode(e.t, &out)
	return out
}

func sub(method, url, ref string, body any) map[string]any {
	m := map[string]any{"method": method, "url": "/services/data/v62.0" + url, "referenceId": ref}
	if body != nil {
		m["body"] = body
	}
	return m
}

func TestComposite(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.emu.ResetCounters()
	out := e.composite(false,
		sub("POST", "/sobjects/Lead", "newLead", map[string]any{"LastName": "Comp", "Company": "Osite", "Email": "comp@example.com"}),
		sub("PATCH", "/sobjects/Lead/@{newLead.id}", "upd", map[string]any{"Title": "Ref @{newLead.id}"}),
		sub("GET", "/query?q="+url.QueryEscape("SELECT Id, Title FROM Lead WHERE Email = 'comp@example.com'"), "q", nil),
		sub("GET", "/sobjects/Lead/@{q.records[0].Id}?fields=Title", "get", nil),
	)
	statuses := []int{}
	for _, s := range out.CompositeResponse {
		statuses = append(statuses, s.HTTPStatusCode)
	}
	if !slices.Equal(statuses, []int{201, 204, 200, 200}) {
		t.Fatalf("statuses %v: %+v", statuses, out)
	}
	var created struct{ ID string }
	json.Unmarshal(out.CompositeResponse[0].Body, &created)
	if out.CompositeResponse[0].HTTPHeaders["Location"] == "" || out.CompositeResponse[0].ReferenceID != "newLead" {
		t.Errorf("sub response 0: %+v", out.CompositeResponse[0])
	}
	if rec := e.getRecord("Lead", created.ID); rec["Title"] != "Ref "+created.ID {
		t.Errorf("reference not substituted: %v", rec["Title"])
	}
	c := e.emu.Counters()
	if c.Salesforce.ByEndpoint["POST composite"] != 1 || c.Salesforce.ByEndpoint["POST sobjects/Lead"] != 0 {
		t.Errorf("composite must count once: %+v", c.Salesforce)
	}

	// allOrNone=false: the failure stays local, a reference to it halts its dependant.
	out = e.composite(false,
		sub("POST", "/sobjects/Lead", "ok1", map[string]any{"LastName": "Keep", "Company": "K"}),
		sub("POST", "/sobjects/Lead", "bad", map[string]any{"LastName": "NoCompany"}),
		sub("PATCH", "/sobjects/Lead/@{bad.id}", "dep", map[string]any{"Title": "x"}),
	)
	if got := []int{out.CompositeResponse[0].HTTPStatusCode, out.CompositeResponse[1].HTTPStatusCode, out.CompositeResponse[2].HTTPStatusCode}; !slices.Equal(got, []int{201, 400, 400}) {
		t.Errorf("partial statuses %v", got)
	}
	if !strings.Contains(string(out.CompositeResponse[1].Body), "REQUIRED_FIELD_MISSING") || !strings.Contains(string(out.CompositeResponse[2].Body), "PROCESSING_HALTED") {
		t.Errorf("partial bodies %s / %s", out.CompositeResponse[1].Body, out.CompositeResponse[2].Body)
	}
	if p := e.query(`SELECT Id FROM Lead WHERE LastName = 'Keep'`); p.TotalSize != 1 {
		t.Errorf("allOrNone=false lost the good record")
	}

	// allOrNone=true: everything is rolled back.
	out = e.composite(true,
		sub("POST", "/sobjects/Lead", "first", map[string]any{"LastName": "Rollback", "Company": "R"}),
		sub("POST", "/sobjects/Lead", "second", map[string]any{"LastName": "Rollback", "Email": "bad-email", "Company": "R"}),
		sub("POST", "/sobjects/Lead", "third", map[string]any{"LastName": "Rollback", "Company": "R"}),
	)
	wantCodes := []string{"PROCESSING_HALTED", "INVALID_EMAIL_ADDRESS", "PROCESSING_HALTED"}
	for i, s := range out.CompositeResponse {
		if s.HTTPStatusCode != 400 || !strings.Contains(string(s.Body), wantCodes[i]) {
			t.Errorf("allOrNone sub %d: %d %s", i, s.HTTPStatusCode, s.Body)
		}
	}
	if p := e.query(`SELECT Id FROM Lead WHERE LastName = 'Rollback'`); p.TotalSize != 0 {
		t.Errorf("allOrNone left %d records", p.TotalSize)
	}

	// Limits of the composite request itself.
	many := make([]map[string]any, 26)
	for i := range many {
		many[i] = sub("GET", "/sobjects/Lead/"+created.ID, fmt.Sprintf("r%d", i), nil)
	}
	r := e.sf("POST", "/composite", map[string]any{"compositeRequest": many})
	if r.status != http.StatusBadRequest {
		t.Errorf("26 subrequests: %d %s", r.status, r.body)
	}
	queries := make([]map[string]any, 6)
	for i := range queries {
		queries[i] = sub("GET", "/query?q=SELECT+Id+FROM+Lead", fmt.Sprintf("q%d", i), nil)
	}
	if r := e.sf("POST", "/composite", map[string]any{"compositeRequest": queries}); r.status != http.StatusBadRequest {
		t.Errorf("6 queries: %d %s", r.status, r.body)
	}
}

func TestAssignmentRules(t *testing.T) {
	e := seeded(t) // seed sets round-robin over Alice and Carol
	owner := func(id string) string { return e.getRecord("Lead", id)["OwnerId"].(string) }
	lead := func(extra map[string]any) map[string]any {
		m := map[string]any{"LastName": "Assign", "Company": "A"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	got := []string{
		owner(e.createLead(lead(nil))),                                             // header absent = TRUE
		owner(e.createLead(lead(nil), "Sforce-Auto-Assign", "TRUE")),               // explicit TRUE
		owner(e.createLead(lead(nil), "Sforce-Auto-Assign", "01Q000000000001AAA")), // a rule id
		owner(e.createLead(lead(map[string]any{"OwnerId": emulator.UserBobID}))),   // the rule overrides
	}
	want := []string{emulator.UserAliceID, emulator.UserCarolID, emulator.UserAliceID, emulator.UserCarolID}
	if !slices.Equal(got, want) {
		t.Errorf("round-robin owners %v, want %v", got, want)
	}
	if o := owner(e.createLead(lead(nil), "Sforce-Auto-Assign", "FALSE")); o != emulator.IntegrationUserID {
		t.Errorf("FALSE without owner: %s", o)
	}
	if o := owner(e.createLead(lead(map[string]any{"OwnerId": emulator.UserBobID}), "Sforce-Auto-Assign", "false")); o != emulator.UserBobID {
		t.Errorf("FALSE with owner: %s", o)
	}
	// Updates with auto-assign FALSE keep the owner.
	id := e.createLead(lead(map[string]any{"OwnerId": emulator.UserBobID}), "Sforce-Auto-Assign", "FALSE")
	e.sf("PATCH", "/sobjects/Lead/"+id, map[string]any{"Title": "t"}, "Sforce-Auto-Assign", "FALSE").want(t, http.StatusNoContent)
	if o := owner(id); o != emulator.UserBobID {
		t.Errorf("update with FALSE changed owner to %s", o)
	}

	if r := e.control("PUT", "/assignment-rule", emulator.AssignmentRule{Mode: "queue", QueueID: emulator.QueueLeadsID}); r.status != http.StatusNoContent {
		t.Fatalf("PUT rule: %d %s", r.status, r.body)
	}
	if o := owner(e.createLead(lead(nil))); o != emulator.QueueLeadsID {
		t.Errorf("queue rule: %s", o)
	}
	if r := e.control("PUT", "/assignment-rule", map[string]any{"mode": "bogus"}); r.status != http.StatusBadRequest {
		t.Errorf("bogus rule accepted: %d", r.status)
	}
	e.emu.SetAssignmentRule(emulator.AssignmentRule{Mode: "none"})
	if o := owner(e.createLead(lead(nil), "Sforce-Auto-Assign", "TRUE")); o != emulator.IntegrationUserID {
		t.Errorf("no rule: %s", o)
	}
	// Contacts never go through lead assignment.
	e.emu.SetAssignmentRule(emulator.AssignmentRule{Mode: "round-robin", UserIDs: []string{emulator.UserBobID}})
	r := e.sf("POST", "/sobjects/Contact", map[string]any{"LastName": "C"})
	var c struct{ ID string }
	r.decode(t, &c)
	if o := e.getRecord("Contact", c.ID)["OwnerId"]; o != emulator.IntegrationUserID {
		t.Errorf("contact owner %v", o)
	}
	var rule emulator.AssignmentRule
	e.control("GET", "/assignment-rule", nil).want(t, http.StatusOK).decode(t, &rule)
	if rule.Mode != "round-robin" || !slices.Equal(rule.UserIDs, []string{emulator.UserBobID}) {
		t.Errorf("GET rule %+v", rule)
	}
}

func TestDuplicateRule(t *testing.T) {
	e := seeded(t)
	fields := map[string]any{"Email": "MATCH.lead@example.com", "LastName": "Dup", "Company": "D"}
	e.createLead(fields, "Sforce-Auto-Assign", "FALSE") // rule off by default
	e.emu.SetDuplicateRule(emulator.DuplicateRule{LeadEmail: true})
	r := e.sf("POST", "/sobjects/Lead", fields, "Sforce-Auto-Assign", "FALSE")
	if code, _ := r.sfError(t); r.status != http.StatusBadRequest || code != "DUPLICATES_DETECTED" {
		t.Errorf("duplicate create: %d %s", r.status, r.body)
	}
	id := e.createLead(map[string]any{"Email": "unique@example.com", "LastName": "U", "Company": "U"}, "Sforce-Auto-Assign", "FALSE")
	r = e.sf("PATCH", "/sobjects/Lead/"+id, map[string]any{"Email": "both@example.com"}, "Sforce-Auto-Assign", "FALSE")
	if code, _ := r.sfError(t); code != "DUPLICATES_DETECTED" {
		t.Errorf("duplicate update: %d %s", r.status, r.body)
	}
	// Updating a lead without changing its email is not a duplicate of itself.
	if r := e.sf("PATCH", "/sobjects/Lead/"+id, map[string]any{"Email": "UNIQUE@example.com"}, "Sforce-Auto-Assign", "FALSE"); r.status != http.StatusNoContent {
		t.Errorf("self update: %d %s", r.status, r.body)
	}
	if r := e.control("PUT", "/duplicate-rule", emulator.DuplicateRule{LeadEmail: false}); r.status != http.StatusNoContent {
		t.Fatalf("PUT duplicate rule: %d", r.status)
	}
	e.createLead(fields, "Sforce-Auto-Assign", "FALSE")
}

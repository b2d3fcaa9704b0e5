package salesforce_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/internal/httperror"
	"github.com/prospect-sync/prospect-sync/internal/testclock"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// env is one emulator behind an httptest server plus a client for it.
type env struct {
	emu   *emulator.Emulator
	srv   *httptest.Server
	clock *testclock.Clock
	sf    *salesforce.Client
}

func newEnv(t *testing.T, mod ...func(*salesforce.Config)) *env {
	t.Helper()
	clk := testclock.New()
	emu, err := emulator.New(emulator.Options{Seed: true, TokenTTL: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := emu.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
	})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cfg := salesforce.Config{LoginURL: srv.URL, ClientID: emulator.ClientID, ClientSecret: emulator.ClientSecret,
		HTTPClient: srv.Client(), Now: clk.Now}
	for _, m := range mod {
		m(&cfg)
	}
	sf, err := salesforce.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, srv: srv, clock: clk, sf: sf}
}

// control calls an /emulator/... HTTP control.
func (e *env) control(t *testing.T, method, path string, body any) {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, path, res.StatusCode)
	}
}

func newLead(email string) map[string]any {
	return map[string]any{"Email": email, "LastName": "Tester", "Company": "Acme"}
}

func TestCRUDAndAutoAssign(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	// Seed leaves a round-robin assignment rule active; Create must send
	// Sforce-Auto-Assign: FALSE, so the owner stays the integration user.
	id, err := e.sf.Create(ctx, "Lead", newLead("crud@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "00Q") || len(id) != 18 {
		t.Fatalf("lead id %q", id)
	}
	rec, err := e.sf.Get(ctx, "Lead", id, "Id", "OwnerId", "Email", "Status")
	if err != nil {
		t.Fatal(err)
	}
	if rec.String("OwnerId") != emulator.IntegrationUserID || rec.String("Email") != "crud@example.com" || rec.Type() != "Lead" {
		t.Fatalf("record %v", rec)
	}

	// With auto-assign on, the active rule (round-robin Alice, Carol) owns it: its first pick,
	// as the create above ran without the rule.
	aarID, err := e.sf.Create(ctx, "Lead", newLead("aar@example.com"), salesforce.AutoAssign(true))
	if err != nil {
		t.Fatal(err)
	}
	rec, err = e.sf.Get(ctx, "Lead", aarID, "OwnerId")
	if err != nil {
		t.Fatal(err)
	}
	if o := rec.String("OwnerId"); o != emulator.UserAliceID {
		t.Fatalf("AAR owner %q, want the round-robin's first pick, Alice %s", o, emulator.UserAliceID)
	}

	// An explicit OwnerId with the default header survives an update.
	if err := e.sf.Update(ctx, "Lead", id, map[string]any{"Title": "CTO", "OwnerId": emulator.UserBobID}); err != nil {
		t.Fatal(err)
	}
	rec, err = e.sf.Get(ctx, "Lead", id, "Title", "OwnerId", "LastModifiedDate")
	if err != nil {
		t.Fatal(err)
	}
	if rec.String("Title") != "CTO" || rec.String("OwnerId") != emulator.UserBobID || rec.Time("LastModifiedDate").IsZero() {
		t.Fatalf("after update %v", rec)
	}

	// Upsert on the external id: created, then updated.
	res, err := e.sf.Upsert(ctx, "Contact", "Prospect_Id__c", "990001", map[string]any{"LastName": "Ext", "Email": "ext@example.com"})
	if err != nil || !res.Created || !strings.HasPrefix(res.ID, "003") {
		t.Fatalf("upsert create %+v %v", res, err)
	}
	res2, err := e.sf.Upsert(ctx, "Contact", "Prospect_Id__c", "990001", map[string]any{"Title": "VP"})
	// 200 with the id, as the API has answered an upsert's update since v46.
	if err != nil || res2.Created || res2.ID != res.ID {
		t.Fatalf("upsert update %+v %v", res2, err)
	}

	// Two Leads carrying the same external id: 300, nothing written.
	for _, em := range []string{"dup1@example.com", "dup2@example.com"} {
		l := newLead(em)
		l["Prospect_Id__c"] = "990002"
		if _, err := e.sf.Create(ctx, "Lead", l); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.sf.Upsert(ctx, "Lead", "Prospect_Id__c", "990002", map[string]any{"Title": "x"})
	var ae *salesforce.APIError
	if !errors.As(err, &ae) || ae.Status != 300 || ae.Code != salesforce.CodeMultipleChoices {
		t.Fatalf("multiple match: %v", err)
	}

	// Delete, then the record is gone.
	if err := e.sf.Delete(ctx, "Lead", id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sf.Get(ctx, "Lead", id); httperror.KindOf(err) != httperror.Gone {
		t.Fatalf("get after delete: %v", err)
	}
	// Sforce-Limit-Info of the last answer: every API call so far, of the emulator's default
	// daily limit (100,000).
	if u := e.sf.Usage(); u.Used != e.emu.Counters().Salesforce.Total || u.Limit != 100000 || u.At.IsZero() {
		t.Fatalf("Usage() = %+v after %d calls, want %d/100000 and when", u, e.emu.Counters().Salesforce.Total, e.emu.Counters().Salesforce.Total)
	}
}

func TestErrorClassificationAgainstEmulator(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	leadID, err := e.sf.Create(ctx, "Lead", newLead("cls@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	update := func() error { return e.sf.Update(ctx, "Lead", leadID, map[string]any{"Title": "x"}) }

	faultCases := []struct {
		name   string
		faults emulator.Faults
		check  func(error) bool
		code   string
	}{
		{"500", emulator.Faults{Next500: 1}, retryable, ""},
		{"503", emulator.Faults{Next503: 1}, retryable, "SERVER_UNAVAILABLE"},
		{"lock row", emulator.Faults{NextLockRow: 1}, retryable, "UNABLE_TO_LOCK_ROW"},
		{"rate limit", emulator.Faults{NextRateLimit: 1}, func(err error) bool {
			// No Retry-After from the emulator: the client's default wait.
			d, ok := httperror.RetryDelay(err)
			return ok && d == salesforce.DefaultRateLimitDelay && retryable(err)
		}, "REQUEST_LIMIT_EXCEEDED"},
		{"drop", emulator.Faults{NextDrop: 1}, retryable, ""},
	}
	for _, tc := range faultCases {
		if err := update(); err != nil { // warm: token cached, so the fault hits the API call
			t.Fatalf("%s warm-up: %v", tc.name, err)
		}
		e.emu.SetFaults(tc.faults)
		err := update()
		if err == nil || !tc.check(err) || httperror.KindOf(err) == httperror.Data {
			t.Errorf("%s: err %v misclassified", tc.name, err)
		}
		var ae *salesforce.APIError
		if tc.code != "" && (!errors.As(err, &ae) || ae.Code != tc.code) {
			t.Errorf("%s: code of %v, want %s", tc.name, err, tc.code)
		}
		if err := update(); err != nil {
			t.Errorf("%s: the fault must hit only the next request: %v", tc.name, err)
		}
	}
	e.emu.SetFaults(emulator.Faults{})

	dataCases := []struct {
		name   string
		fields map[string]any
		code   string
		field  string
	}{
		{"required", map[string]any{"Email": "req@example.com", "Company": "Acme"}, "REQUIRED_FIELD_MISSING", "LastName"},
		{"bad email", map[string]any{"Email": "not-an-email", "LastName": "X", "Company": "Acme"}, "INVALID_EMAIL_ADDRESS", "Email"},
		{"too long", map[string]any{"Email": "long@example.com", "FirstName": strings.Repeat("a", 41), "LastName": "X", "Company": "Acme"}, "STRING_TOO_LONG", "FirstName"},
		{"unknown field", map[string]any{"Email": "f@example.com", "LastName": "X", "Company": "Acme", "NoSuch__c": "1"}, "INVALID_FIELD", ""},
	}
	for _, tc := range dataCases {
		_, err := e.sf.Create(ctx, "Lead", tc.fields)
		var ae *salesforce.APIError
		if !errors.As(err, &ae) || ae.Code != tc.code || ae.Status != 400 || httperror.KindOf(err) != httperror.Data || retryable(err) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.field != "" && !contains(ae.Fields, tc.field) {
			t.Errorf("%s: fields %v lack %s", tc.name, ae.Fields, tc.field)
		}
	}
	if _, err := e.sf.Get(ctx, "Lead", "bogus"); !isCode(err, "MALFORMED_ID") {
		t.Errorf("malformed id: %v", err)
	}
	if _, err := e.sf.Query(ctx, "SELECT Id FROM Lead WHERE"); !isCode(err, "MALFORMED_QUERY") {
		t.Errorf("bad SOQL: %v", err)
	}

	// Converted lead: updates fail with CANNOT_UPDATE_CONVERTED_LEAD.
	conv, err := e.sf.Create(ctx, "Lead", newLead("conv@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	contactID, err := e.emu.ConvertLead(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	err = e.sf.Update(ctx, "Lead", conv, map[string]any{"Title": "x"})
	if httperror.KindOf(err) != httperror.Converted || retryable(err) {
		t.Fatalf("converted lead: %v", err)
	}
	rec, err := e.sf.Get(ctx, "Lead", conv, "IsConverted", "ConvertedContactId")
	if err != nil || !rec.Bool("IsConverted") || rec.String("ConvertedContactId") != contactID {
		t.Fatalf("converted lead record %v %v", rec, err)
	}

	// Deleted in Salesforce by a user: NOT_FOUND / ENTITY_IS_DELETED.
	gone, err := e.sf.Create(ctx, "Lead", newLead("gone@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	e.control(t, http.MethodDelete, "/emulator/records/"+gone, nil)
	if err := e.sf.Update(ctx, "Lead", gone, map[string]any{"Title": "x"}); httperror.KindOf(err) != httperror.Gone || httperror.KindOf(err) == httperror.Data {
		t.Fatalf("deleted record: %v", err)
	}

	// Daily limit spent: REQUEST_LIMIT_EXCEEDED on every call.
	e.control(t, http.MethodPut, "/emulator/limits", map[string]int{"dailyApiLimit": 1, "aeDailyLimit": 100000})
	_, err = e.sf.Query(ctx, "SELECT Id FROM User")
	if d, ok := httperror.RetryDelay(err); !ok || d != salesforce.DefaultRateLimitDelay || !isCode(err, "REQUEST_LIMIT_EXCEEDED") {
		t.Fatalf("daily limit: %v (delay %v, want %v)", err, d, salesforce.DefaultRateLimitDelay)
	}
}

func TestBadCredentials(t *testing.T) {
	e := newEnv(t, func(c *salesforce.Config) { c.ClientSecret = "wrong" })
	_, err := e.sf.Query(context.Background(), "SELECT Id FROM User")
	var ae *salesforce.APIError
	if !errors.As(err, &ae) || ae.Code != "invalid_client" || httperror.KindOf(err) != httperror.Auth || retryable(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestTokenExpiresMidRun(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	q := "SELECT Id, Username FROM User WHERE Id = " + salesforce.Quote(emulator.IntegrationUserID)
	if recs, err := e.sf.Query(ctx, q); err != nil || len(recs) != 1 {
		t.Fatalf("%v %v", recs, err)
	}
	tok1, _, err := e.sf.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour) // past the emulator's 1 h TokenTTL
	if recs, err := e.sf.Query(ctx, q); err != nil || len(recs) != 1 {
		t.Fatalf("after expiry: %v %v", recs, err)
	}
	tok2, _, err := e.sf.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok1 == tok2 {
		t.Fatal("token was not refreshed")
	}
	if n := e.emu.Counters().Token; n != 2 {
		t.Fatalf("token requests = %d, want 2", n)
	}
}

// TestConcurrentRefreshSingleFlight: many goroutines hit an expired token at once;
// only one of them may go back to the token endpoint.
func TestConcurrentRefreshSingleFlight(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.sf.Query(ctx, "SELECT Id FROM User"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	e.emu.ResetCounters()
	const n = 32
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var err error
			if i%2 == 0 {
				_, err = e.sf.Query(ctx, "SELECT Id FROM User")
			} else {
				_, err = e.sf.Get(ctx, "User", emulator.UserAliceID, "Id")
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.emu.Counters().Token; got != 1 {
		t.Fatalf("token requests = %d, want exactly 1", got)
	}
}

func TestQueryPaging(t *testing.T) {
	// Salesforce pages no smaller than 200 records: two full pages and one record more.
	const n = 401
	e := newEnv(t, func(c *salesforce.Config) { c.QueryBatchSize = 200 })
	ctx := context.Background()
	want := map[string]bool{}
	for i := range n {
		l := newLead(fmt.Sprintf("page%03d@example.com", i))
		l["Company"] = "PagingCo"
		id, err := e.sf.Create(ctx, "Lead", l)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	e.emu.ResetCounters()
	recs, err := e.sf.Query(ctx, "SELECT Id, Email FROM Lead WHERE Company = 'PagingCo' ORDER BY Email")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("got %d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		if !want[r.String("Id")] {
			t.Fatalf("unexpected or duplicate record %v", r)
		}
		delete(want, r.String("Id"))
		if r.String("Email") != fmt.Sprintf("page%03d@example.com", i) {
			t.Fatalf("order broken at %d: %v", i, r)
		}
	}
	if got := e.emu.Counters().Salesforce.Total; got != 3 {
		t.Fatalf("API calls = %d, want 3 pages of at most 200", got)
	}
}

func TestSOQLEscaping(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	values := []struct{ email, last string }{
		{"o'neil+x@example.com", "O'Neil"},
		{"back@example.com", `Back\slash`},
		{"uni@example.com", "Zoë 日本語"},
		{"quote@example.com", `Say "hi"`},
	}
	ids := map[string]string{}
	for _, v := range values {
		id, err := e.sf.Create(ctx, "Lead", map[string]any{"Email": v.email, "LastName": v.last, "Company": "EscCo"})
		if err != nil {
			t.Fatal(err)
		}
		ids[v.email] = id
	}
	for _, v := range values {
		for _, q := range []string{
			"SELECT Id, LastName FROM Lead WHERE Email = " + salesforce.Quote(v.email),
			"SELECT Id, LastName FROM Lead WHERE LastName = " + salesforce.Quote(v.last) + " AND Company = 'EscCo'",
			// Salesforce matches email case-insensitively.
			"SELECT Id, LastName FROM Lead WHERE Email = " + salesforce.Quote(strings.ToUpper(v.email)),
		} {
			recs, err := e.sf.Query(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if len(recs) != 1 || recs[0].String("Id") != ids[v.email] || recs[0].String("LastName") != v.last {
				t.Fatalf("%s: %v", q, recs)
			}
		}
	}
	// Injection attempts stay inside the literal: no rows, no syntax error.
	for _, evil := range []string{"x' OR Company = 'EscCo", `x\' OR Company = \'EscCo`, "x\\' OR Company != null OR Email = '"} {
		recs, err := e.sf.Query(ctx, "SELECT Id FROM Lead WHERE Email = "+salesforce.Quote(evil))
		if err != nil || len(recs) != 0 {
			t.Fatalf("injection %q: %d records, err %v", evil, len(recs), err)
		}
	}
	// Composite query paths encode the same way.
	subs, err := e.sf.Composite(ctx, salesforce.CompositeRequest{Requests: []salesforce.SubRequest{{
		Method: "GET", URL: e.sf.QueryPath("SELECT Id FROM Lead WHERE Email = " + salesforce.Quote("o'neil+x@example.com")), ReferenceID: "q",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := subs[0].Records()
	if err != nil || len(recs) != 1 || recs[0].String("Id") != ids["o'neil+x@example.com"] {
		t.Fatalf("composite query: %v %v", recs, err)
	}
}

func TestComposite(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.emu.ResetCounters()
	subs, err := e.sf.Composite(ctx, salesforce.CompositeRequest{AllOrNone: true, Requests: []salesforce.SubRequest{
		{Method: "POST", URL: e.sf.SObjectPath("Lead"), ReferenceID: "newLead", Body: newLead("comp@example.com")},
		{Method: "GET", URL: e.sf.SObjectPath("Lead", "@{newLead.id}") + "?fields=Id,OwnerId", ReferenceID: "read"},
		{Method: "GET", URL: e.sf.QueryPath("SELECT Id FROM Lead WHERE Email = 'comp@example.com'"), ReferenceID: "q"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 3 {
		t.Fatalf("%d subresponses", len(subs))
	}
	for _, s := range subs {
		if s.Err() != nil {
			for _, x := range subs {
				t.Logf("%s %d %s", x.ReferenceID, x.HTTPStatusCode, x.Body)
			}
			t.Fatalf("%s: %v", s.ReferenceID, s.Err())
		}
	}
	id := subs[0].ID()
	var read salesforce.Record
	if err := json.Unmarshal(subs[1].Body, &read); err != nil {
		t.Fatalf("read-back subresponse %s: %v", subs[1].Body, err)
	}
	recs, err := subs[2].Records()
	if err != nil {
		t.Fatal(err)
	}
	if id == "" || read.String("Id") != id || len(recs) != 1 || recs[0].String("Id") != id {
		t.Fatalf("id %q read %v recs %v", id, read, recs)
	}
	// The composite Lead write carried Sforce-Auto-Assign: FALSE despite the active rule.
	if read.String("OwnerId") != emulator.IntegrationUserID {
		t.Fatalf("composite lead owner %q, want integration user", read.String("OwnerId"))
	}
	if c := e.emu.Counters().Salesforce.Total; c != 1 {
		t.Fatalf("composite counted as %d calls, want 1", c)
	}

	// allOrNone: a failing subrequest rolls back the earlier one.
	subs, err = e.sf.Composite(ctx, salesforce.CompositeRequest{AllOrNone: true, Requests: []salesforce.SubRequest{
		{Method: "POST", URL: e.sf.SObjectPath("Lead"), ReferenceID: "ok", Body: newLead("rollback@example.com")},
		{Method: "POST", URL: e.sf.SObjectPath("Lead"), ReferenceID: "bad", Body: map[string]any{"Email": "bad@example.com"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if httperror.KindOf(subs[1].Err()) != httperror.Data {
		t.Fatalf("bad subrequest: %v", subs[1].Err())
	}
	if recs, err := e.sf.Query(ctx, "SELECT Id FROM Lead WHERE Email = 'rollback@example.com'"); err != nil || len(recs) != 0 {
		t.Fatalf("allOrNone did not roll back: %v %v", recs, err)
	}
}

func TestJWTBearerFlow(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *salesforce.Config) {
		c.ClientSecret = ""
		c.Username = "integration@emulator.local"
		c.PrivateKey = key
	})
	recs, err := e.sf.Query(context.Background(), "SELECT Id, Username FROM User WHERE Username = 'integration@emulator.local'")
	if err != nil || len(recs) != 1 || recs[0].String("Id") != emulator.IntegrationUserID {
		t.Fatalf("%v %v", recs, err)
	}

	bad := newEnv(t, func(c *salesforce.Config) {
		c.ClientSecret = ""
		c.Username = "nobody@emulator.local"
		c.PrivateKey = key
	})
	_, err = bad.sf.Query(context.Background(), "SELECT Id FROM User")
	if httperror.KindOf(err) != httperror.Auth || !isCode(err, "invalid_grant") {
		t.Fatalf("unknown user: %v", err)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func isCode(err error, code string) bool {
	var ae *salesforce.APIError
	return errors.As(err, &ae) && ae.Code == code
}

// The org's version list (GET /services/data/) tells whether the configured version works.
func TestCheckVersion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.sf.CheckVersion(ctx); err != nil {
		t.Fatalf("default version %s: %v", salesforce.DefaultAPIVersion, err)
	}
	versions, err := e.sf.Versions(ctx)
	if err != nil || len(versions) == 0 || versions[len(versions)-1].Version != salesforce.DefaultAPIVersion {
		t.Fatalf("versions %v (%v): want the default %s offered, last", versions, err, salesforce.DefaultAPIVersion)
	}
	before := e.emu.Counters().Salesforce.Total
	old, err := salesforce.New(salesforce.Config{LoginURL: e.srv.URL, ClientID: emulator.ClientID, ClientSecret: emulator.ClientSecret, APIVersion: "99.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.CheckVersion(ctx); !errors.Is(err, salesforce.ErrVersionNotOffered) || !strings.Contains(err.Error(), "99.0") {
		t.Fatalf("version 99.0: err = %v, want ErrVersionNotOffered naming it", err)
	}
	if n := e.emu.Counters().Salesforce.Total - before; n != 0 {
		t.Errorf("the version list cost %d API calls, want 0", n)
	}
}

// The change-feed resources against the emulator: a created Lead shows as updated, a deleted
// one as deleted, each read one API call.
func TestUpdatedAndDeletedAgainstEmulator(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	start := e.clock.Now().Add(-10 * time.Minute)
	id, err := e.sf.Create(ctx, "Lead", map[string]any{"Email": "feed@example.com", "LastName": "Feed", "Company": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	before := e.emu.Counters().Salesforce.Total
	up, err := e.sf.Updated(ctx, "Lead", start, e.clock.Now())
	if err != nil || !slices.Contains(up.IDs, id) || up.LatestDateCovered.After(e.clock.Now()) {
		t.Fatalf("Updated = %+v, %v: want %s, covered up to now at most", up, err, id)
	}
	if err := e.sf.Delete(ctx, "Lead", id); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	del, err := e.sf.Deleted(ctx, "Lead", start, e.clock.Now())
	if err != nil || len(del.Records) != 1 || del.Records[0].ID != id {
		t.Fatalf("Deleted = %+v, %v: want %s", del, err, id)
	}
	if n := e.emu.Counters().Salesforce.Total - before; n != 3 {
		t.Errorf("%d API calls for updated, delete and deleted, want 3", n)
	}
}

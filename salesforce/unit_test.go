package salesforce_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/internal/httperror"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// fakeOrg is a hand-written Salesforce stand-in for cases the emulator cannot produce.
type fakeOrg struct {
	srv    *httptest.Server
	tokens atomic.Int32 // token requests served
	// api handles /services/data/...; token is the bearer token of the request.
	api func(w http.ResponseWriter, r *http.Request, token string)
}

func newFakeOrg(t *testing.T, api func(w http.ResponseWriter, r *http.Request, token string)) *fakeOrg {
	t.Helper()
	f := &fakeOrg{api: api}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/oauth2/token" {
			n := f.tokens.Add(1)
			writeJSON(t, w, http.StatusOK, map[string]string{
				"access_token": "tok" + string(rune('0'+n)), "instance_url": f.srv.URL,
				"token_type": "Bearer", "issued_at": "1700000000000", "id": "x",
			})
			return
		}
		f.api(w, r, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOrg) client(t *testing.T, mod ...func(*salesforce.Config)) *salesforce.Client {
	t.Helper()
	cfg := salesforce.Config{LoginURL: f.srv.URL, ClientID: "id", ClientSecret: "secret", HTTPClient: f.srv.Client()}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := salesforce.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeJSON answers with v; t.Errorf, not t.Fatal: it runs on the server's goroutine.
func writeJSON(t testing.TB, w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Errorf("write %d response: %v", status, err)
	}
}

func sfErr(code, msg string, fields ...string) []map[string]any {
	if fields == nil {
		fields = []string{}
	}
	return []map[string]any{{"errorCode": code, "message": msg, "fields": fields}}
}

func TestRateLimitRetryAfterHeader(t *testing.T) {
	retryAfter := ""
	f := newFakeOrg(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeJSON(t, w, 403, sfErr("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
	})
	c := f.client(t)
	ctx := context.Background()

	retryAfter = "120"
	_, err := c.Get(ctx, "Lead", "00Q000000000001AAA")
	if d, ok := httperror.RetryDelay(err); !ok || d != 120*time.Second {
		t.Fatalf("RateLimitDelay = %v, %v; want 2m, true (err %v)", d, ok, err)
	}
	if !retryable(err) || httperror.KindOf(err) == httperror.Data || httperror.KindOf(err) == httperror.Auth {
		t.Fatalf("classification of %v wrong", err)
	}
	retryAfter = ""
	_, err = c.Get(ctx, "Lead", "00Q000000000001AAA")
	if d, ok := httperror.RetryDelay(err); !ok || d != salesforce.DefaultRateLimitDelay {
		t.Fatalf("RateLimitDelay without header = %v, %v", d, ok)
	}
	var ae *salesforce.APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Code != "REQUEST_LIMIT_EXCEEDED" {
		t.Fatalf("err = %#v", err)
	}
}

func TestUpsertStatuses(t *testing.T) {
	var status int
	f := newFakeOrg(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		if r.Method != http.MethodPatch || r.URL.EscapedPath() != "/services/data/v"+salesforce.DefaultAPIVersion+"/sobjects/Lead/Prospect_Id__c/1001" {
			t.Errorf("unexpected %s %s", r.Method, r.URL.EscapedPath())
		}
		switch status {
		case 201:
			writeJSON(t, w, 201, map[string]any{"id": "00Q000000000009AAA", "success": true, "errors": []any{}, "created": true})
		case 200:
			writeJSON(t, w, 200, map[string]any{"id": "00Q000000000008AAA", "success": true, "errors": []any{}, "created": false})
		case 204:
			w.WriteHeader(204)
		case 300:
			writeJSON(t, w, 300, []string{"/services/data/v" + salesforce.DefaultAPIVersion + "/sobjects/Lead/00Q000000000001AAA", "/services/data/v" + salesforce.DefaultAPIVersion + "/sobjects/Lead/00Q000000000002AAA"})
		}
	})
	c := f.client(t)
	ctx := context.Background()
	fields := map[string]any{"LastName": "X", "Company": "Y"}

	status = 201
	res, err := c.Upsert(ctx, "Lead", "Prospect_Id__c", "1001", fields)
	if err != nil || res != (salesforce.UpsertResult{ID: "00Q000000000009AAA", Created: true}) {
		t.Fatalf("201: %+v %v", res, err)
	}
	status = 200
	res, err = c.Upsert(ctx, "Lead", "Prospect_Id__c", "1001", fields)
	if err != nil || res != (salesforce.UpsertResult{ID: "00Q000000000008AAA"}) {
		t.Fatalf("200: %+v %v", res, err)
	}
	status = 204
	res, err = c.Upsert(ctx, "Lead", "Prospect_Id__c", "1001", fields)
	if err != nil || res.Created {
		t.Fatalf("204: %+v %v", res, err)
	}
	status = 300
	_, err = c.Upsert(ctx, "Lead", "Prospect_Id__c", "1001", fields)
	var ae *salesforce.APIError
	if !errors.As(err, &ae) || ae.Status != 300 || ae.Code != "MULTIPLE_CHOICES" || !strings.Contains(ae.Message, "00Q000000000002AAA") {
		t.Fatalf("300: %v", err)
	}
	if httperror.KindOf(err) != httperror.Data || retryable(err) {
		t.Fatalf("300 classification wrong")
	}
}

func TestAutoAssignHeader(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // "METHOD path" → header value ("<absent>" if missing)
	var compositeBody map[string]any
	f := newFakeOrg(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		v, ok := r.Header["Sforce-Auto-Assign"]
		val := "<absent>"
		if ok {
			val = v[0]
		}
		mu.Lock()
		got[r.Method+" "+r.URL.Path] = val
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/composite"):
			if err := json.NewDecoder(r.Body).Decode(&compositeBody); err != nil {
				t.Errorf("composite body: %v", err)
			}
			writeJSON(t, w, 200, map[string]any{"compositeResponse": []any{}})
		case r.Method == http.MethodPost:
			writeJSON(t, w, 201, map[string]any{"id": "00Q000000000009AAA", "success": true, "errors": []any{}})
		default:
			w.WriteHeader(204)
		}
	})
	c := f.client(t)
	ctx := context.Background()
	lead := map[string]any{"LastName": "X", "Company": "Y"}
	cases := []struct {
		name string
		run  func() error
		key  string
		want string
	}{
		{"create lead default", func() error { _, err := c.Create(ctx, "Lead", lead); return err }, "POST /services/data/v" + salesforce.DefaultAPIVersion + "/sobjects/Lead/", "FALSE"},
		{"create lead AAR", func() error { _, err := c.Create(ctx, "Lead", lead, salesforce.AutoAssign(true)); return err }, "POST /services/data/v" + salesforce.DefaultAPIVersion + "/sobjects/Lead/", "TRUE"},
		{"create lead rule id", func() error {
			_, err := c.Create(ctx, "Lead", lead, salesforce.AssignmentRuleID("01Q000000000001AAA"))
			return err
		}, "POST /services/data/v" + salesforce.DefaultAPIVersion + "/sobjects/Lead/", "01Q000000000001AAA"},
		{"update lead default", func() error { return c.Update(ctx, "Lead", "00Q000000000009AAA", lead) }, "PATCH /services/data/v" + salesforce.DefaultAPIVersion + "/sobjects/Lead/00Q000000000009AAA", "FALSE"},
		{"upsert lead explicit false", func() error {
			_, err := c.Upsert(ctx, "Lead", "Prospect_Id__c", "7", lead, salesforce.AutoAssign(false))
			return err
		}, "PATCH /services/data/v" + salesforce.DefaultAPIVersion + "/sobjects/Lead/Prospect_Id__c/7", "FALSE"},
		{"create contact", func() error { _, err := c.Create(ctx, "Contact", lead); return err }, "POST /services/data/v" + salesforce.DefaultAPIVersion + "/sobjects/Contact/", "<absent>"},
		{"composite with lead write", func() error {
			_, err := c.Composite(ctx, salesforce.CompositeRequest{Requests: []salesforce.SubRequest{
				{Method: "POST", URL: c.SObjectPath("Lead"), ReferenceID: "newLead", Body: lead},
			}})
			return err
		}, "POST /services/data/v" + salesforce.DefaultAPIVersion + "/composite", "FALSE"},
	}
	for _, tc := range cases {
		if err := tc.run(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		mu.Lock()
		v := got[tc.key]
		delete(got, tc.key)
		mu.Unlock()
		if v != tc.want {
			t.Errorf("%s: Sforce-Auto-Assign = %q, want %q", tc.name, v, tc.want)
		}
	}
	subs := compositeBody["compositeRequest"].([]any)
	hh, _ := subs[0].(map[string]any)["httpHeaders"].(map[string]any)
	if hh["Sforce-Auto-Assign"] != "FALSE" {
		t.Errorf("composite subrequest httpHeaders = %v, want Sforce-Auto-Assign FALSE", hh)
	}
}

func TestQueryEncodingAndPaging(t *testing.T) {
	soql := "SELECT Id FROM Lead WHERE Email = " + salesforce.Quote("o'neil+x@example.com") + " AND LastName = " + salesforce.Quote(`a\b "c" é`)
	var gotQ []string
	var batch []string
	f := newFakeOrg(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		w.Header().Set("Sforce-Limit-Info", "api-usage=42/15000")
		batch = append(batch, r.Header.Get("Sforce-Query-Options"))
		switch r.URL.Path {
		case "/services/data/v" + salesforce.DefaultAPIVersion + "/query":
			gotQ = append(gotQ, r.URL.Query().Get("q"))
			writeJSON(t, w, 200, map[string]any{"totalSize": 3, "done": false, "nextRecordsUrl": "/services/data/v" + salesforce.DefaultAPIVersion + "/query/01gX-2",
				"records": []any{map[string]any{"attributes": map[string]any{"type": "Lead"}, "Id": "1"}, map[string]any{"Id": "2"}}})
		case "/services/data/v" + salesforce.DefaultAPIVersion + "/query/01gX-2":
			writeJSON(t, w, 200, map[string]any{"totalSize": 3, "done": true, "records": []any{map[string]any{"Id": "3"}}})
		default:
			t.Errorf("unexpected path %s", r.URL.Path)
		}
	})
	c := f.client(t, func(cfg *salesforce.Config) { cfg.QueryBatchSize = 2 })
	recs, err := c.Query(context.Background(), soql)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[2].String("Id") != "3" || recs[0].Type() != "Lead" {
		t.Fatalf("records = %v", recs)
	}
	if len(gotQ) != 1 || gotQ[0] != soql {
		t.Fatalf("server decoded q = %q, want %q", gotQ, soql)
	}
	for _, b := range batch {
		if b != "batchSize=2" {
			t.Fatalf("Sforce-Query-Options = %q", b)
		}
	}
	if u := c.Usage(); u.Used != 42 || u.Limit != 15000 {
		t.Fatalf("Usage = %+v", u)
	}
	if p := c.QueryPath("SELECT Id FROM Lead WHERE Email = 'a+b@x.com'"); strings.Contains(p, "+") || !strings.HasPrefix(p, "/services/data/v"+salesforce.DefaultAPIVersion+"/query?q=SELECT%20Id") {
		t.Fatalf("QueryPath = %q: a literal + must be percent-encoded and spaces must not become +", p)
	}
	if p := c.SObjectPath("Lead", "@{newLead.id}"); p != "/services/data/v"+salesforce.DefaultAPIVersion+"/sobjects/Lead/@{newLead.id}" {
		t.Fatalf("composite reference escaped: %q", p)
	}
	if p := c.SObjectPath("Lead", "Prospect_Id__c", "a/b c"); p != "/services/data/v"+salesforce.DefaultAPIVersion+"/sobjects/Lead/Prospect_Id__c/a%2Fb%20c" {
		t.Fatalf("SObjectPath = %q", p)
	}
}

func TestQuote(t *testing.T) {
	cases := map[string]string{
		"o'neil+x@example.com": `'o\'neil+x@example.com'`,
		`back\slash`:           `'back\\slash'`,
		`say "hi"`:             `'say \"hi\"'`,
		"line\nbreak\ttab\r":   `'line\nbreak\ttab\r'`,
		"ünïcødé 日本":           "'ünïcødé 日本'",
		`\'`:                   `'\\\''`,
		"":                     "''",
	}
	for in, want := range cases {
		if got := salesforce.Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestReauthenticatesOnceOn401(t *testing.T) {
	var calls atomic.Int32
	validToken := "tok2"
	f := newFakeOrg(t, func(w http.ResponseWriter, r *http.Request, token string) {
		calls.Add(1)
		if token != validToken {
			writeJSON(t, w, 401, sfErr("INVALID_SESSION_ID", "Session expired or invalid"))
			return
		}
		writeJSON(t, w, 200, map[string]any{"Id": "00Q000000000001AAA"})
	})
	c := f.client(t)
	ctx := context.Background()
	// First call: tok1 is rejected, tok2 works: one retry, two token requests.
	if _, err := c.Get(ctx, "Lead", "00Q000000000001AAA"); err != nil {
		t.Fatal(err)
	}
	if f.tokens.Load() != 2 || calls.Load() != 2 {
		t.Fatalf("tokens=%d calls=%d, want 2 and 2", f.tokens.Load(), calls.Load())
	}
	// The server now rejects every token: exactly one re-auth and one retry, then IsAuth.
	validToken = "never"
	calls.Store(0)
	_, err := c.Get(ctx, "Lead", "00Q000000000001AAA")
	if httperror.KindOf(err) != httperror.Auth || retryable(err) {
		t.Fatalf("err = %v, want auth error", err)
	}
	if f.tokens.Load() != 3 || calls.Load() != 2 {
		t.Fatalf("tokens=%d calls=%d, want 3 and 2", f.tokens.Load(), calls.Load())
	}
}

func TestCancelledCallerDoesNotFailSharedRefresh(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var tokens atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens.Add(1)
		close(entered)
		<-release
		writeJSON(t, w, 200, map[string]string{"access_token": "t", "instance_url": srv.URL})
	}))
	defer srv.Close()
	c, err := salesforce.New(salesforce.Config{LoginURL: srv.URL, ClientID: "id", ClientSecret: "s", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() { _, _, err := c.AccessToken(leaderCtx); leaderErr <- err }()
	<-entered
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader err = %v", err)
	}
	type answer struct {
		tok string
		err error
	}
	follower := make(chan answer, 1)
	go func() { tok, _, err := c.AccessToken(context.Background()); follower <- answer{tok, err} }()
	close(release)
	if got := <-follower; got.err != nil || got.tok != "t" {
		t.Fatalf("follower token = %q, %v", got.tok, got.err)
	}
	if tokens.Load() != 1 {
		t.Fatalf("token requests = %d, want 1", tokens.Load())
	}
}

func TestOAuthErrorParsed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(t, w, 400, map[string]string{"error": "invalid_client", "error_description": "invalid client credentials"})
	}))
	defer srv.Close()
	c, err := salesforce.New(salesforce.Config{LoginURL: srv.URL, ClientID: "id", ClientSecret: "bad", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Query(context.Background(), "SELECT Id FROM Lead")
	var ae *salesforce.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "invalid_client" || ae.Message != "invalid client credentials" {
		t.Fatalf("err = %#v", err)
	}
	if httperror.KindOf(err) != httperror.Auth || retryable(err) || httperror.KindOf(err) == httperror.Data {
		t.Fatal("invalid_client must be an auth error only")
	}
}

func TestErrorShapes(t *testing.T) {
	var status int
	var body string
	f := newFakeOrg(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		w.WriteHeader(status)
		if _, err := io.WriteString(w, body); err != nil {
			t.Errorf("write %d response: %v", status, err)
		}
	})
	c := f.client(t)
	cases := []struct {
		status                                      int
		body                                        string
		code                                        string
		transient, data, notFound, converted, authE bool
	}{
		{502, "<html>Bad gateway</html>", "", true, false, false, false, false},
		{400, `[{"message":"a","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName","Company"]},{"message":"b","errorCode":"STRING_TOO_LONG","fields":["Title"]}]`, "REQUIRED_FIELD_MISSING", false, true, false, false, false},
		{400, `[{"message":"locked","errorCode":"UNABLE_TO_LOCK_ROW"}]`, "UNABLE_TO_LOCK_ROW", true, false, false, false, false},
		{404, `[{"message":"gone","errorCode":"ENTITY_IS_DELETED"}]`, "ENTITY_IS_DELETED", false, false, true, false, false},
		{400, `[{"message":"conv","errorCode":"CANNOT_UPDATE_CONVERTED_LEAD"}]`, "CANNOT_UPDATE_CONVERTED_LEAD", false, false, false, true, false},
		{503, `[{"message":"down","errorCode":"SERVER_UNAVAILABLE"}]`, "SERVER_UNAVAILABLE", true, false, false, false, false},
	}
	for _, tc := range cases {
		status, body = tc.status, tc.body
		err := c.Update(context.Background(), "Lead", "00Q000000000001AAA", map[string]any{"Title": "x"})
		var ae *salesforce.APIError
		if !errors.As(err, &ae) || ae.Status != tc.status || ae.Code != tc.code {
			t.Fatalf("%d %s: err = %#v", tc.status, tc.code, err)
		}
		if retryable(err) != tc.transient || httperror.KindOf(err) == httperror.Data != tc.data ||
			httperror.KindOf(err) == httperror.Gone != tc.notFound || httperror.KindOf(err) == httperror.Converted != tc.converted || httperror.KindOf(err) == httperror.Auth != tc.authE {
			t.Errorf("%d %s: classification wrong for %v", tc.status, tc.code, err)
		}
	}
	// Both messages and the first error's fields survive.
	status, body = 400, cases[1].body
	err := c.Update(context.Background(), "Lead", "00Q000000000001AAA", nil)
	var ae *salesforce.APIError
	errors.As(err, &ae)
	if !strings.Contains(ae.Message, "a; b") || strings.Join(ae.Fields, ",") != "LastName,Company" {
		t.Fatalf("err = %#v", ae)
	}
}

func TestNetworkErrorIsTransient(t *testing.T) {
	f := newFakeOrg(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	c := f.client(t)
	_, err := c.Get(context.Background(), "Lead", "00Q000000000001AAA")
	if err == nil || !retryable(err) {
		t.Fatalf("err = %v, want transient", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "Lead", "x"); retryable(err) {
		t.Fatalf("caller cancellation must not be transient: %v", err)
	}
}

func TestJWTAssertion(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			t.Errorf("grant_type = %q", g)
		}
		// t.Errorf and return, not t.Fatal: this runs on the server's goroutine.
		parts := strings.Split(r.PostForm.Get("assertion"), ".")
		if len(parts) != 3 {
			t.Errorf("assertion has %d parts", len(parts))
			return
		}
		var hdr map[string]string
		var claims struct {
			Iss, Sub, Aud string
			Exp           int64
		}
		var dec [3][]byte
		for i, part := range parts {
			b, err := base64.RawURLEncoding.DecodeString(part)
			if err != nil {
				t.Errorf("assertion part %d: %v", i, err)
				return
			}
			dec[i] = b
		}
		hb, cb, sig := dec[0], dec[1], dec[2]
		if err := json.Unmarshal(hb, &hdr); err != nil {
			t.Errorf("assertion header: %v", err)
		}
		if err := json.Unmarshal(cb, &claims); err != nil {
			t.Errorf("assertion claims: %v", err)
		}
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			t.Errorf("signature: %v", err)
		}
		// exp: within the 3 minutes Salesforce allows, from the client's clock, with a margin.
		if hdr["alg"] != "RS256" || claims.Iss != "cid" || claims.Sub != "integration@example.com" || claims.Aud != srv.URL ||
			claims.Exp != now.Add(2*time.Minute).Unix() {
			t.Errorf("header %v claims %+v", hdr, claims)
		}
		writeJSON(t, w, 200, map[string]string{"access_token": "jwt-token", "instance_url": "https://na1.example.com/"})
	}))
	defer srv.Close()
	c, err := salesforce.New(salesforce.Config{LoginURL: srv.URL + "/", ClientID: "cid", Username: "integration@example.com",
		PrivateKey: key, HTTPClient: srv.Client(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok, inst, err := c.AccessToken(context.Background())
	if err != nil || tok != "jwt-token" || inst != "https://na1.example.com" {
		t.Fatalf("AccessToken = %q %q %v", tok, inst, err)
	}
}

func TestLoadPrivateKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, block := range map[string]*pem.Block{
		"pkcs1.pem": {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)},
		"pkcs8.pem": {Type: "PRIVATE KEY", Bytes: pkcs8},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := salesforce.LoadPrivateKey(p)
		if err != nil || !got.Equal(key) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := salesforce.LoadPrivateKey(bad); err == nil {
		t.Fatal("want error for non-PEM file")
	}
}

func TestRecordHelpers(t *testing.T) {
	var r salesforce.Record
	if err := json.Unmarshal([]byte(`{"attributes":{"type":"Contact"},"Id":"003","IsConverted":true,"Title":null,
		"LastModifiedDate":"2024-01-02T03:04:05.000+0000","Owner":{"Name":"Alice"},"NumberOfEmployees":12}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.Type() != "Contact" || r.String("Id") != "003" || !r.Bool("IsConverted") || r.String("Title") != "" ||
		r.String("Owner.Name") != "Alice" || r.String("NumberOfEmployees") != "12" {
		t.Fatalf("helpers wrong: %v", r)
	}
	if got := r.Time("LastModifiedDate"); !got.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("Time = %v", got)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []salesforce.Config{
		{},
		{ClientID: "x"},
		{ClientID: "x", Username: "u"},
		{ClientID: "x", ClientSecret: "y", LoginURL: "::bad"},
	} {
		if _, err := salesforce.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

// retryable reports whether a client error is worth retrying unchanged.
func retryable(err error) bool { return httperror.KindOf(err).Retryable() }

// The client-credentials flow is refused at the generic login hosts: the client says so at
// construction, naming what to use instead, not as an OAuth failure on the first call.
func TestClientCredentialsNeedMyDomain(t *testing.T) {
	for _, login := range []string{"", "https://login.salesforce.com", "https://test.salesforce.com/"} {
		_, err := salesforce.New(salesforce.Config{LoginURL: login, ClientID: "id", ClientSecret: "s"})
		if err == nil || !strings.Contains(err.Error(), "My Domain") {
			t.Errorf("client credentials at %q: err = %v, want a My Domain error", login, err)
		}
	}
	if _, err := salesforce.New(salesforce.Config{LoginURL: "https://acme.my.salesforce.com", ClientID: "id", ClientSecret: "s"}); err != nil {
		t.Errorf("My Domain: %v", err)
	}
}

// The change-feed resources (docs/salesforce.md "The change feed"): the span travels URL-encoded with its
// offset, the answers' dates in Salesforce's format are read, and each is one call.
func TestUpdatedAndDeleted(t *testing.T) {
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	end := start.Add(30 * time.Minute)
	var queries []string
	f := newFakeOrg(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		queries = append(queries, r.URL.RawQuery)
		switch r.URL.Path {
		case "/services/data/v" + salesforce.DefaultAPIVersion + "/sobjects/Lead/updated/":
			writeJSON(t, w, 200, map[string]any{"ids": []string{"00Q1", "00Q2"}, "latestDateCovered": "2026-11-30T10:29:00.000+0000"})
		case "/services/data/v" + salesforce.DefaultAPIVersion + "/sobjects/Contact/deleted/":
			writeJSON(t, w, 200, map[string]any{"deletedRecords": []map[string]string{{"id": "0031", "deletedDate": "2026-11-30T10:05:00.000+0000"}},
				"earliestDateAvailable": "2026-11-16T00:00:00.000+0000", "latestDateCovered": "2026-11-30T10:29:00.000+0000"})
		default:
			t.Errorf("unexpected %s", r.URL.Path)
			w.WriteHeader(404)
		}
	})
	c := f.client(t)
	up, err := c.Updated(context.Background(), "Lead", start, end)
	if err != nil || len(up.IDs) != 2 || !up.LatestDateCovered.Equal(start.Add(29*time.Minute)) {
		t.Fatalf("Updated = %+v, %v", up, err)
	}
	del, err := c.Deleted(context.Background(), "Contact", start, end)
	if err != nil || len(del.Records) != 1 || del.Records[0].ID != "0031" || !del.EarliestDateAvailable.Equal(time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("Deleted = %+v, %v", del, err)
	}
	want := "end=2026-11-30T10%3A30%3A00.000%2B0000&start=2026-11-30T10%3A00%3A00.000%2B0000"
	if len(queries) != 2 || queries[0] != want || queries[1] != want {
		t.Errorf("queries %q, want both %q (the offset's + encoded)", queries, want)
	}
}

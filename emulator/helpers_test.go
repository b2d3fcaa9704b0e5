package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/internal/testclock"
)

// testStart is the fake clock's initial time.
func testStart() time.Time { return time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC) }

type env struct {
	t     *testing.T
	emu   *emulator.Emulator
	srv   *httptest.Server
	clock *testclock.Clock
	token string
}

// newEnv starts an emulator (with a fake clock unless opts.Now is set) behind an
// httptest server and fetches a token.
func newEnv(t *testing.T, opts emulator.Options) *env {
	t.Helper()
	c := testclock.At(testStart())
	if opts.Now == nil {
		opts.Now = c.Now
	}
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		srv.Close()
		if err := emu.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	e := &env{t: t, emu: emu, srv: srv, clock: c}
	e.token = e.newToken()
	return e
}

func seeded(t *testing.T) *env { return newEnv(t, emulator.Options{Seed: true}) }

func (e *env) newToken() string {
	e.t.Helper()
	r := e.postForm("/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {emulator.ClientID}, "client_secret": {emulator.ClientSecret},
	})
	if r.status != http.StatusOK {
		e.t.Fatalf("token: %d %s", r.status, r.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(e.t, &tok)
	return tok.AccessToken
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// want fails the test unless the reply has the status; it returns r to decode.
func (r reply) want(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// sfError returns the first errorCode and its fields of a Salesforce error array.
func (r reply) sfError(t *testing.T) (string, []string) {
	t.Helper()
	var errs []struct {
		Message   string   `json:"message"`
		ErrorCode string   `json:"errorCode"`
		Fields    []string `json:"fields"`
	}
	r.decode(t, &errs)
	if len(errs) == 0 {
		t.Fatalf("empty error array: %s", r.body)
	}
	if errs[0].Message == "" {
		t.Errorf("error without message: %s", r.body)
	}
	return errs[0].ErrorCode, errs[0].Fields
}

// aeError returns the code of an AE error body.
func (r reply) aeError(t *testing.T) (int, string) {
	t.Helper()
	var er struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	r.decode(t, &er)
	if er.Code == nil {
		t.Fatalf("AE error without code: %s", r.body)
	}
	return *er.Code, er.Message
}

func (e *env) postForm(path string, form url.Values) reply {
	e.t.Helper()
	resp, err := http.Post(e.srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	return readReply(e.t, resp)
}

func readReply(t *testing.T, resp *http.Response) reply {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// newRequest builds a request; body may be nil, a string (sent raw) or a JSON value.
func (e *env) newRequest(method, path string, body any, hdr ...string) *http.Request {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	return req
}

func (e *env) do(req *http.Request) reply {
	e.t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return readReply(e.t, resp)
}

// sf calls the Salesforce data API; path is relative to /services/data/v62.0.
func (e *env) sf(method, path string, body any, hdr ...string) reply {
	e.t.Helper()
	return e.do(e.newRequest(method, "/services/data/v62.0"+path, body, hdr...))
}

// ae calls the AE API; path is relative to /api/v5/objects.
func (e *env) ae(method, path string, body any, hdr ...string) reply {
	e.t.Helper()
	hdr = append([]string{"Pardot-Business-Unit-Id", emulator.BusinessUnitID}, hdr...)
	return e.do(e.newRequest(method, "/api/v5/objects"+path, body, hdr...))
}

// control calls /emulator/...
func (e *env) control(method, path string, body any) reply {
	e.t.Helper()
	return e.do(e.newRequest(method, "/emulator"+path, body))
}

type queryPage struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

// query runs SOQL and returns the first page (failing the test on an error).
func (e *env) query(soql string, hdr ...string) queryPage {
	e.t.Helper()
	r := e.sf("GET", "/query?q="+url.QueryEscape(soql), nil, hdr...)
	if r.status != http.StatusOK {
		e.t.Fatalf("query %q: %d %s", soql, r.status, r.body)
	}
	var p queryPage
	r.decode(e.t, &p)
	return p
}

func (e *env) queryError(soql string) string {
	e.t.Helper()
	r := e.sf("GET", "/query?q="+url.QueryEscape(soql), nil)
	if r.status != http.StatusBadRequest {
		e.t.Fatalf("query %q: want 400, got %d %s", soql, r.status, r.body)
	}
	code, _ := r.sfError(e.t)
	return code
}

// createLead creates a Lead and returns its id.
func (e *env) createLead(fields map[string]any, hdr ...string) string {
	e.t.Helper()
	r := e.sf("POST", "/sobjects/Lead/", fields, hdr...)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create lead: %d %s", r.status, r.body)
	}
	var out struct {
		ID      string `json:"id"`
		Success bool   `json:"success"`
	}
	r.decode(e.t, &out)
	if !out.Success || len(out.ID) != 18 {
		e.t.Fatalf("create lead: %s", r.body)
	}
	return out.ID
}

func (e *env) getRecord(sobject, id string) map[string]any {
	e.t.Helper()
	r := e.sf("GET", "/sobjects/"+sobject+"/"+id, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("get %s %s: %d %s", sobject, id, r.status, r.body)
	}
	var rec map[string]any
	r.decode(e.t, &rec)
	return rec
}

func ids(recs []map[string]any) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i], _ = r["Id"].(string)
	}
	return out
}

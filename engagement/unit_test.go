package engagement_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/httperror"
)

// staticTokens is a TokenSource that hands out tok1, tok2, … and records invalidations.
type staticTokens struct {
	mu          sync.Mutex
	n           int
	current     string
	invalidated []string
}

func (s *staticTokens) AccessToken(context.Context) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == "" {
		s.n++
		s.current = "tok" + string(rune('0'+s.n))
	}
	return s.current, "https://instance.example.com", nil
}

func (s *staticTokens) InvalidateToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated = append(s.invalidated, tok)
	if s.current == tok {
		s.current = ""
	}
}

func newAE(t *testing.T, h http.HandlerFunc, mod ...func(*engagement.Config)) (*engagement.Client, *staticTokens) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ts := &staticTokens{}
	cfg := engagement.Config{BaseURL: srv.URL, BusinessUnitID: "0Uv000000000001AAA", Tokens: ts, HTTPClient: srv.Client()}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := engagement.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, ts
}

// writeJSON answers with v; t.Errorf, not t.Fatal: it runs on the server's goroutine.
func writeJSON(t testing.TB, w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Errorf("write %d response: %v", status, err)
	}
}

func TestRateLimitCodes(t *testing.T) {
	var code int
	var retryAfter string
	c, _ := newAE(t, func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeJSON(t, w, 429, map[string]any{"code": code, "message": "limit"})
	})
	ctx := context.Background()

	code = engagement.CodeTooManyConcurrent
	_, err := c.GetProspect(ctx, 1)
	if d, ok := httperror.RetryDelay(err); !ok || d != time.Second || !retryable(err) || httperror.KindOf(err) == httperror.Data {
		t.Fatalf("66: delay %v %v transient %v (%v)", d, ok, retryable(err), err)
	}
	code = engagement.CodeDailyLimit
	_, err = c.GetProspect(ctx, 1)
	if d, ok := httperror.RetryDelay(err); !ok || d < time.Minute || d > time.Hour {
		t.Fatalf("122: delay %v %v", d, ok)
	}
	var ae *engagement.APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.Code != 122 || ae.Message != "limit" {
		t.Fatalf("err = %#v", err)
	}
	retryAfter = "7"
	_, err = c.GetProspect(ctx, 1)
	if d, _ := httperror.RetryDelay(err); d != 7*time.Second {
		t.Fatalf("Retry-After ignored: %v", d)
	}
}

func TestQueryParams(t *testing.T) {
	var got []url.Values
	c, _ := newAE(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v5/objects/prospects" {
			t.Errorf("path %s", r.URL.Path)
		}
		got = append(got, r.URL.Query())
		next := any("tokenB")
		if r.URL.Query().Get("nextPageToken") != "" {
			next = nil
		}
		writeJSON(t, w, 200, map[string]any{"values": []any{map[string]any{"id": 1001, "email": "a@x.com",
			"updatedAt": "2024-01-02T03:04:05-05:00", "createdAt": "2024-01-01T00:00:00Z", "assignedToId": nil, "jobTitle": nil}},
			"nextPageToken": next, "nextPageUrl": nil})
	})
	since := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 2*3600))
	page, err := c.QueryProspects(context.Background(), engagement.ProspectQuery{UpdatedAfter: since, Limit: 5000, IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	first := got[0]
	if first.Get("orderBy") != "updatedAt" || first.Get("limit") != "1000" || first.Get("deleted") != "all" ||
		first.Get("updatedAtAfterOrEqualTo") != "2024-01-02T03:04:05+02:00" || first.Get("fields") != strings.Join(engagement.ProspectFields, ",") {
		t.Fatalf("first page params = %v", first)
	}
	p := page.Prospects[0]
	if page.NextPageToken != "tokenB" || p.ID != 1001 || p.AssignedToID != 0 || p.JobTitle != "" ||
		!p.UpdatedAt.Equal(time.Date(2024, 1, 2, 8, 4, 5, 0, time.UTC)) || !p.CreatedAt.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("page = %+v", page)
	}
	page, err = c.QueryProspects(context.Background(), engagement.ProspectQuery{UpdatedAfter: since, Limit: 5, PageToken: "tokenB"})
	if err != nil || page.NextPageToken != "" {
		t.Fatalf("page 2: %+v %v", page, err)
	}
	var keys []string
	for k := range got[1] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "fields,nextPageToken" || got[1].Get("nextPageToken") != "tokenB" {
		t.Fatalf("page-token request params = %v, want only fields and nextPageToken", got[1])
	}
}

func TestUpdateSendsOnlyGivenFields(t *testing.T) {
	var body map[string]any
	var method, path, fields, bu string
	c, _ := newAE(t, func(w http.ResponseWriter, r *http.Request) {
		method, path, fields, bu = r.Method, r.URL.Path, r.URL.Query().Get("fields"), r.Header.Get("Pardot-Business-Unit-Id")
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("request body: %v", err)
		}
		writeJSON(t, w, 200, map[string]any{"id": 1001, "salesforceLeadId": "00Q000000000001AAA"})
	})
	p, err := c.UpdateProspect(context.Background(), 1001, map[string]any{"salesforceLeadId": "00Q000000000001AAA", "assignedToId": 0})
	if err != nil || p.SalesforceLeadID != "00Q000000000001AAA" {
		t.Fatalf("%+v %v", p, err)
	}
	if method != http.MethodPatch || path != "/api/v5/objects/prospects/1001" || fields == "" || bu != "0Uv000000000001AAA" {
		t.Fatalf("%s %s fields=%q bu=%q", method, path, fields, bu)
	}
	if len(body) != 2 || body["salesforceLeadId"] != "00Q000000000001AAA" {
		t.Fatalf("body = %v", body)
	}
	if v, ok := body["assignedToId"]; !ok || v != nil {
		t.Fatalf("assignedToId 0 must be sent as null, got %v (present %v)", v, ok)
	}
}

func TestReauthOnce(t *testing.T) {
	var calls atomic.Int32
	valid := "tok2"
	c, ts := newAE(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+valid {
			writeJSON(t, w, 401, map[string]any{"code": 184, "message": "access_token is invalid, unknown, or malformed"})
			return
		}
		writeJSON(t, w, 200, map[string]any{"id": 7, "email": "u@x.com", "salesforceId": "005000000000001AAA"})
	})
	u, err := c.GetUser(context.Background(), 7)
	if err != nil || u.SalesforceID != "005000000000001AAA" || calls.Load() != 2 || len(ts.invalidated) != 1 || ts.invalidated[0] != "tok1" {
		t.Fatalf("user %+v err %v calls %d invalidated %v", u, err, calls.Load(), ts.invalidated)
	}
	valid = "none"
	calls.Store(0)
	_, err = c.GetUser(context.Background(), 7)
	if httperror.KindOf(err) != httperror.Auth || retryable(err) || calls.Load() != 2 {
		t.Fatalf("err %v calls %d", err, calls.Load())
	}
}

// TestConcurrencyLimit holds every request in the handler and releases them one
// at a time only once the client has as many in flight as it may; a client
// without the semaphore would pile all 20 requests into the handler.
func TestConcurrencyLimit(t *testing.T) {
	const total = 20
	var inflight, peak atomic.Int32
	release := make(chan struct{})
	entered := make(chan struct{}, total)
	c, _ := newAE(t, func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		entered <- struct{}{}
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inflight.Add(-1)
		writeJSON(t, w, 200, map[string]any{"id": 1})
	})
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.GetProspect(context.Background(), 1)
			errs <- err
		}()
	}
	// Release one request only once as many as allowed (or all that remain) are held.
	entries := 0
	for released := 0; released < total; released++ {
		for entries-released < min(total-released, engagement.DefaultMaxConcurrent) {
			<-entered
			entries++
		}
		release <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p != engagement.DefaultMaxConcurrent {
		t.Fatalf("peak in flight = %d, want %d", p, engagement.DefaultMaxConcurrent)
	}
}

func TestSemaphoreHonoursContext(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	c, _ := newAE(t, func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		writeJSON(t, w, 200, map[string]any{"id": 1})
	}, func(cfg *engagement.Config) { cfg.MaxConcurrent = 1 })
	done := make(chan error, 1)
	go func() { _, err := c.GetProspect(context.Background(), 1); done <- err }()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.GetProspect(ctx, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting for a slot must end with the context: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestErrorClassification(t *testing.T) {
	var status int
	var body string
	c, _ := newAE(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		if _, err := io.WriteString(w, body); err != nil {
			t.Errorf("write %d response: %v", status, err)
		}
	})
	cases := []struct {
		status                  int
		body                    string
		transient, nf, data, au bool
	}{
		{404, `{"code":3,"message":"Invalid prospect ID"}`, false, true, false, false},
		{400, `{"code":4,"message":"Invalid email"}`, false, false, true, false},
		{500, `oops`, true, false, false, false},
		{503, ``, true, false, false, false},
		{409, `{"code":62,"message":"conflict"}`, true, false, false, false},
		{400, `{"code":181,"message":"A required header is missing: Pardot-Business-Unit-Id"}`, false, false, false, true},
	}
	for _, tc := range cases {
		status, body = tc.status, tc.body
		_, err := c.GetProspect(context.Background(), 1)
		if retryable(err) != tc.transient || httperror.KindOf(err) == httperror.Gone != tc.nf ||
			httperror.KindOf(err) == httperror.Data != tc.data || httperror.KindOf(err) == httperror.Auth != tc.au {
			t.Errorf("%d %s: classification wrong for %v", tc.status, tc.body, err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []engagement.Config{{}, {BusinessUnitID: "x"}, {BusinessUnitID: "x", Tokens: &staticTokens{}, BaseURL: "nope"}} {
		if _, err := engagement.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

// retryable reports whether a client error is worth retrying unchanged.
func retryable(err error) bool { return httperror.KindOf(err).Retryable() }

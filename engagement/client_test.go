package engagement_test

import (
	"bytes"
	"context"
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
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/httperror"
	"github.com/prospect-sync/prospect-sync/internal/testclock"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// probe wraps the emulator: it records the business-unit header and query of every AE
// request.
type probe struct {
	next    http.Handler
	mu      sync.Mutex
	bu      []string
	queries []string
}

func (p *probe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/v5/") {
		p.mu.Lock()
		p.bu = append(p.bu, r.Header.Get("Pardot-Business-Unit-Id"))
		p.queries = append(p.queries, r.URL.RawQuery)
		p.mu.Unlock()
	}
	p.next.ServeHTTP(w, r)
}

type aeEnv struct {
	emu   *emulator.Emulator
	srv   *httptest.Server
	probe *probe
	clock *testclock.Clock
	sf    *salesforce.Client
	ae    *engagement.Client
}

func newAEEnv(t *testing.T, mod ...func(*engagement.Config)) *aeEnv {
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
	p := &probe{next: emu}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	sf, err := salesforce.New(salesforce.Config{LoginURL: srv.URL, ClientID: emulator.ClientID, ClientSecret: emulator.ClientSecret,
		HTTPClient: srv.Client(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := engagement.Config{BaseURL: srv.URL, BusinessUnitID: emulator.BusinessUnitID, Tokens: sf, HTTPClient: srv.Client()}
	for _, m := range mod {
		m(&cfg)
	}
	ae, err := engagement.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &aeEnv{emu: emu, srv: srv, probe: p, clock: clk, sf: sf, ae: ae}
}

func (e *aeEnv) control(t *testing.T, method, path string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
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

func TestReadSeededProspectsAndUsers(t *testing.T) {
	e := newAEEnv(t)
	ctx := context.Background()
	p, err := e.ae.GetProspect(ctx, emulator.ProspectMatchLead)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != emulator.ProspectMatchLead || p.Email == "" || p.AssignedToID != emulator.AEUserAlice || p.UpdatedAt.IsZero() || p.CreatedAt.IsZero() {
		t.Fatalf("prospect %+v", p)
	}
	// Every request asks for the day's usage (X-Return-Api-Usage: 1): one call of the
	// emulator's default allocation so far.
	if u := e.ae.Usage(); u.Used != 1 || u.Limit <= 0 || u.At.IsZero() {
		t.Fatalf("Usage() = %+v after one call, want 1 of the daily limit", u)
	}
	q, err := e.ae.GetProspect(ctx, emulator.ProspectQuoteEmail)
	if err != nil || q.Email != "o'neil+x@example.com" || q.AssignedToID != emulator.AEUserBob {
		t.Fatalf("quote prospect %+v %v", q, err)
	}
	dns, err := e.ae.GetProspect(ctx, emulator.ProspectDoNotSync)
	if err != nil || dns.SalesforceID != "[[crm_ignore_prospect]]" {
		t.Fatalf("do-not-sync prospect %+v %v", dns, err)
	}
	un, err := e.ae.GetProspect(ctx, emulator.ProspectUnassignedNoMatch)
	if err != nil || un.AssignedToID != 0 {
		t.Fatalf("unassigned prospect %+v %v", un, err)
	}
	if _, err := e.ae.GetProspect(ctx, 987654321); httperror.KindOf(err) != httperror.Gone || retryable(err) {
		t.Fatalf("unknown prospect: %v", err)
	}

	alice, err := e.ae.GetUser(ctx, emulator.AEUserAlice)
	if err != nil || alice.ID != emulator.AEUserAlice || alice.SalesforceID != emulator.UserAliceID {
		t.Fatalf("alice %+v %v", alice, err)
	}
	unmapped, err := e.ae.GetUser(ctx, emulator.AEUserNoMapping)
	if err != nil || unmapped.SalesforceID != "" {
		t.Fatalf("unmapped user %+v %v", unmapped, err)
	}
	users, err := e.ae.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bySF := map[string]int64{}
	for _, u := range users {
		bySF[u.SalesforceID] = u.ID
	}
	if bySF[emulator.UserBobID] != emulator.AEUserBob || bySF[emulator.UserAliceID] != emulator.AEUserAlice {
		t.Fatalf("ListUsers = %+v", users)
	}
	// Every AE request carried the business unit: 5 prospect reads, 2 user reads and one
	// page of users (3 seeded, well under a page).
	e.probe.mu.Lock()
	defer e.probe.mu.Unlock()
	if len(e.probe.bu) != 8 {
		t.Fatalf("saw %d AE requests, want 8", len(e.probe.bu))
	}
	for _, bu := range e.probe.bu {
		if bu != emulator.BusinessUnitID {
			t.Fatalf("Pardot-Business-Unit-Id = %q", bu)
		}
	}
}

func TestWrongBusinessUnitRejected(t *testing.T) {
	e := newAEEnv(t, func(c *engagement.Config) { c.BusinessUnitID = "0Uv000000000999AAA" })
	_, err := e.ae.GetProspect(context.Background(), emulator.ProspectMatchLead)
	var ae *engagement.APIError
	if !errors.As(err, &ae) || ae.Status < 400 || retryable(err) || httperror.KindOf(err) == httperror.Data || httperror.KindOf(err) != httperror.Auth {
		t.Fatalf("wrong business unit must be a configuration (auth) error: %v", err)
	}
}

func TestCreateUpdateDelete(t *testing.T) {
	e := newAEEnv(t)
	ctx := context.Background()
	p, err := e.ae.CreateProspect(ctx, map[string]any{"email": "new@example.com", "firstName": "Nia", "company": "Acme", "assignedToId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == 0 || p.Email != "new@example.com" || p.AssignedToID != emulator.AEUserBob {
		t.Fatalf("created %+v", p)
	}
	e.clock.Advance(time.Minute)
	u, err := e.ae.UpdateProspect(ctx, p.ID, map[string]any{"jobTitle": "CFO", "assignedToId": 0})
	if err != nil {
		t.Fatal(err)
	}
	// Only the sent fields changed; the rest is as created.
	if u.JobTitle != "CFO" || u.AssignedToID != 0 || u.FirstName != "Nia" || u.Company != "Acme" ||
		u.Email != "new@example.com" || !u.UpdatedAt.After(p.UpdatedAt) {
		t.Fatalf("updated %+v (was %+v)", u, p)
	}
	got, err := e.ae.GetProspect(ctx, p.ID)
	if err != nil || got.JobTitle != "CFO" || got.FirstName != "Nia" {
		t.Fatalf("re-read %+v %v", got, err)
	}
	if _, err := e.ae.CreateProspect(ctx, map[string]any{"firstName": "NoEmail"}); httperror.KindOf(err) != httperror.Data {
		t.Fatalf("create without email: %v", err)
	}

	if err := e.ae.DeleteProspect(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ae.GetProspect(ctx, p.ID); httperror.KindOf(err) != httperror.Gone {
		t.Fatalf("get deleted: %v", err)
	}
	page, err := e.ae.QueryProspects(ctx, engagement.ProspectQuery{UpdatedAfter: e.clock.Now().Add(-time.Second), IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range page.Prospects {
		found = found || (x.ID == p.ID && x.IsDeleted)
	}
	if !found {
		t.Fatalf("deleted prospect missing from deleted=all query: %+v", page.Prospects)
	}
}

func TestQueryPagingAndCursor(t *testing.T) {
	e := newAEEnv(t)
	ctx := context.Background()
	// The 14 seeded prospects (ids ProspectDoNotSync..ProspectQuoteEmail) in pages of 3: 3, 3, 3, 3, 2.
	seeded := map[int64]bool{}
	var sizes []int
	for page, token := 0, ""; ; page++ {
		res, err := e.ae.QueryProspects(ctx, engagement.ProspectQuery{Limit: 3, PageToken: token})
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		sizes = append(sizes, len(res.Prospects))
		for _, p := range res.Prospects {
			if seeded[p.ID] {
				t.Fatalf("prospect %d on two pages", p.ID)
			}
			seeded[p.ID] = true
		}
		if token = res.NextPageToken; token == "" {
			break
		}
		if page == 5 { // one past the 5 expected: a token that never ends
			t.Fatalf("paging does not end: page sizes %v", sizes)
		}
	}
	if !slices.Equal(sizes, []int{3, 3, 3, 3, 2}) {
		t.Errorf("page sizes %v, want [3 3 3 3 2]", sizes)
	}
	for id := int64(emulator.ProspectDoNotSync); id <= emulator.ProspectQuoteEmail; id++ {
		if !seeded[id] {
			t.Errorf("seed prospect %d missing from paged query", id)
		}
	}
	if len(seeded) != 14 {
		t.Errorf("%d prospects, want the 14 seeded", len(seeded))
	}
	// Page-token requests carried nothing but fields and the token.
	e.probe.mu.Lock()
	for _, raw := range e.probe.queries {
		if strings.Contains(raw, "nextPageToken=") && (strings.Contains(raw, "orderBy") || strings.Contains(raw, "limit")) {
			t.Errorf("page-token request carried filters: %s", raw)
		}
	}
	e.probe.mu.Unlock()

	// Cursor: only prospects changed at or after the cursor come back, oldest first.
	e.clock.Advance(time.Hour)
	cursor := e.clock.Now()
	for i, id := range []int64{emulator.ProspectAssignedNoMatch, emulator.ProspectMatchUnassigned} {
		e.clock.Advance(time.Second)
		if _, err := e.ae.UpdateProspect(ctx, id, map[string]any{"jobTitle": fmt.Sprintf("T%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.ae.QueryProspects(ctx, engagement.ProspectQuery{UpdatedAfter: cursor, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Prospects) != 2 || res.Prospects[0].ID != emulator.ProspectAssignedNoMatch || res.Prospects[1].ID != emulator.ProspectMatchUnassigned ||
		res.Prospects[0].UpdatedAt.After(res.Prospects[1].UpdatedAt) {
		t.Fatalf("changed since cursor: %+v", res.Prospects)
	}
	// Inclusive: a cursor equal to the last change still returns it.
	last := res.Prospects[1].UpdatedAt
	res, err = e.ae.QueryProspects(ctx, engagement.ProspectQuery{UpdatedAfter: last})
	if err != nil || len(res.Prospects) != 1 || res.Prospects[0].ID != emulator.ProspectMatchUnassigned {
		t.Fatalf("inclusive cursor: %+v %v", res.Prospects, err)
	}
}

// getConcurrently reads one prospect from n goroutines at once and fails on any error.
func getConcurrently(t *testing.T, e *aeEnv, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.ae.GetProspect(context.Background(), emulator.ProspectMatchLead)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAEErrorClassification(t *testing.T) {
	e := newAEEnv(t)
	ctx := context.Background()
	// A PATCH, because net/http silently retries an idempotent GET whose reused
	// connection was closed before any response, which would hide the drop.
	get := func() error {
		_, err := e.ae.UpdateProspect(ctx, emulator.ProspectMatchLead, map[string]any{"jobTitle": "Buyer"})
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		faults emulator.Faults
		check  func(error) bool
	}{
		{"500", emulator.Faults{Next500: 1}, retryable},
		{"503", emulator.Faults{Next503: 1}, retryable},
		{"drop", emulator.Faults{NextDrop: 1}, retryable},
		{"lock conflict", emulator.Faults{NextLockRow: 1}, retryable},
		{"too many concurrent", emulator.Faults{NextRateLimit: 1}, func(err error) bool {
			var ae *engagement.APIError
			d, ok := httperror.RetryDelay(err)
			return errors.As(err, &ae) && ae.Code == engagement.CodeTooManyConcurrent && ok && d == engagement.ConcurrentLimitDelay && retryable(err)
		}},
	}
	for _, tc := range cases {
		e.emu.SetFaults(tc.faults)
		err := get()
		if err == nil || !tc.check(err) || httperror.KindOf(err) == httperror.Data || httperror.KindOf(err) == httperror.Gone {
			t.Errorf("%s: %v misclassified", tc.name, err)
		}
		if err := get(); err != nil {
			t.Errorf("%s: fault outlived one request: %v", tc.name, err)
		}
	}
	e.emu.SetFaults(emulator.Faults{})

	// Daily AE limit: code 122 with a long wait.
	e.control(t, http.MethodPut, "/emulator/limits", map[string]int{"dailyApiLimit": 100000, "aeDailyLimit": 1})
	err := get()
	var ae *engagement.APIError
	d, ok := httperror.RetryDelay(err)
	// Until the next UTC midnight by the wall clock (not the emulator's), held to 1 min..1 h.
	if !errors.As(err, &ae) || ae.Code != engagement.CodeDailyLimit || !ok || d < time.Minute || d > time.Hour {
		t.Fatalf("daily limit: %v (delay %v, want 1m..1h)", err, d)
	}
}

func TestTokenExpiryMidRunReauthenticates(t *testing.T) {
	e := newAEEnv(t)
	ctx := context.Background()
	if _, err := e.ae.GetProspect(ctx, emulator.ProspectMatchLead); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	e.emu.ResetCounters()
	const n = 12
	getConcurrently(t, e, n)
	if c := e.emu.Counters().Token; c != 1 {
		t.Fatalf("token requests = %d, want 1", c)
	}
}

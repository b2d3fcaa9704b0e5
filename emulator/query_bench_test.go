package emulator

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// benchLeads is the table size at which full scans used to dominate a sync's queries.
const benchLeads = 20000

// newInternalEmulator returns an in-memory emulator without seed data and a valid
// token; the limits are lifted so any b.N fits.
func newInternalEmulator(tb testing.TB) (*Emulator, string) {
	tb.Helper()
	e, err := New(Options{DailyAPILimit: 1 << 30, AEDailyLimit: 1 << 30})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {ClientID}, "client_secret": {ClientSecret}}
	req := httptest.NewRequest(http.MethodPost, "/services/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		tb.Fatalf("token: %d %s", w.Code, w.Body)
	}
	return e, tok.AccessToken
}

// insertLeads writes Leads directly (no validation, rules or ids drawn), in one
// transaction; fields missing from a record are null/false.
func insertLeads(tb testing.TB, e *Emulator, leads ...record) {
	tb.Helper()
	ctx := context.Background()
	err := e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		for _, l := range leads {
			if err := e.insertRecord(ctx, tx, e.lead, fill(e.lead, l), false); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// newBenchEmulator returns an emulator holding n Leads (lead%05d@example.com, every
// third one's email upper-cased) and a valid token.
func newBenchEmulator(tb testing.TB, n int) (*Emulator, string) {
	tb.Helper()
	e, token := newInternalEmulator(tb)
	now := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	leads := make([]record, n)
	for i := range leads {
		email := fmt.Sprintf("lead%05d@example.com", i)
		if i%3 == 0 {
			email = strings.ToUpper(email)
		}
		leads[i] = record{
			"Id": to18(fmt.Sprintf("00Q%012d", firstGeneratedID+i)), "Email": email,
			"LastName": fmt.Sprintf("Last%05d", i), "Company": "BenchCo", "Status": leadStatusOpen,
			"OwnerId": IntegrationUserID, "CreatedDate": now, "LastModifiedDate": now,
		}
	}
	insertLeads(tb, e, leads...)
	return e, token
}

// benchQuery runs one SOQL query through the handler and checks it found want rows.
func benchQuery(tb testing.TB, e *Emulator, token, soql string, want int) {
	req := httptest.NewRequest(http.MethodGet, "/services/data/v62.0/query?q="+url.QueryEscape(soql), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	var page struct {
		TotalSize int `json:"totalSize"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &page) != nil || page.TotalSize != want {
		tb.Fatalf("query %q: %d %s", soql, w.Code, w.Body)
	}
}

// BenchmarkQueryByEmail measures the per-query cost of the sync's Lead lookup by email
// among benchLeads Leads (ns/op). Two references are timed outside the benchmark clock in
// the same run: the same lookup by LastName (pushed down to SQL, but no index) and by
// LastName OR'ed with an impossible name, which cannot be pushed down and so loads every
// row into Go as all queries did before (scan-ns/op; speedup = scan-ns/op ÷ ns/op).
func BenchmarkQueryByEmail(b *testing.B) {
	e, token := newBenchEmulator(b, benchLeads)
	const target = 12345 // an upper-cased email (12345 % 3 == 0), queried in lower case
	const sel = "SELECT Id, Email, OwnerId FROM Lead WHERE "
	const tail = " AND IsConverted = false ORDER BY CreatedDate DESC LIMIT 10"
	byEmail := fmt.Sprintf(sel+"Email = 'lead%05d@example.com'"+tail, target)
	byLastName := fmt.Sprintf(sel+"LastName = 'last%05d'"+tail, target)
	scanned := fmt.Sprintf(sel+"(LastName = 'last%05d' OR LastName = 'nobody')"+tail, target)
	for _, q := range []string{byEmail, byLastName, scanned} {
		benchQuery(b, e, token, q, 1) // warm up and check each finds the row
	}

	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		benchQuery(b, e, token, byEmail, 1)
	}
	b.StopTimer()
	indexed := float64(b.Elapsed().Nanoseconds()) / float64(b.N)

	// The references are slow; a bounded number of repetitions gives a stable mean.
	mean := func(soql string) float64 {
		reps := min(b.N, 50)
		start := time.Now()
		for range reps {
			benchQuery(b, e, token, soql, 1)
		}
		return float64(time.Since(start).Nanoseconds()) / float64(reps)
	}
	b.ReportMetric(mean(byLastName), "lastname-ns/op")
	scan := mean(scanned)
	b.ReportMetric(scan, "scan-ns/op")
	b.ReportMetric(scan/indexed, "speedup")
}

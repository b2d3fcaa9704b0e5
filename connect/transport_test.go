package connect

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/scrape"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// recorder is an APIObserver that keeps what it was told.
type recorder struct {
	mu    sync.Mutex
	calls map[string]int // "api kind status"
}

func (r *recorder) APICall(api, kind, status string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[api+" "+kind+" "+status]++
}

// observedEmulatorClients are clients of a fresh emulator whose requests rec is told of.
func observedEmulatorClients(t *testing.T, url string, rec *recorder) (*salesforce.Client, *engagement.Client) {
	t.Helper()
	s := ServicesFromEnv(envOf(map[string]string{
		"SALESFORCE_CLIENT_ID": EmulatorClientID, "SALESFORCE_CLIENT_SECRET": EmulatorClientSecret,
		"SALESFORCE_LOGIN_URL": url, "ACCOUNT_ENGAGEMENT_URL": url, "ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID": EmulatorBusinessUnitID,
	}))
	sf, ae, err := s.ObservedClients("", rec)
	if err != nil {
		t.Fatal(err)
	}
	return sf, ae
}

// Every kind of request the real clients send, against the emulator, is counted once under
// its kind and status class.
func TestObservedClientsCountEachRequestByKind(t *testing.T) {
	emu, err := emulator.New(emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	rec := &recorder{calls: map[string]int{}}
	sf, ae := observedEmulatorClients(t, srv.URL, rec)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	must(sf.CheckVersion(ctx))
	_, err = sf.Query(ctx, "SELECT Id FROM Lead LIMIT 1")
	must(err)
	id, err := sf.Create(ctx, "Lead", map[string]any{"LastName": "Kind", "Company": "Acme", "Email": "kind@example.com"})
	must(err)
	_, err = sf.Get(ctx, "Lead", id, "Id")
	must(err)
	must(sf.Update(ctx, "Lead", id, map[string]any{"Title": "CTO"}))
	_, err = sf.Upsert(ctx, "Lead", "Prospect_Id__c", "77", map[string]any{"LastName": "Up", "Company": "Acme"})
	must(err)
	_, err = sf.SelectMany(ctx, salesforce.Select{Object: "Lead", Fields: []string{"Id"}}, salesforce.Select{Object: "Contact", Fields: []string{"Id"}})
	must(err)
	_, err = sf.CreateMany(ctx, []salesforce.Row{{Type: "Lead", Fields: map[string]any{"LastName": "Many", "Company": "Acme"}}})
	must(err)
	_, err = sf.Updated(ctx, "Lead", time.Now().Add(-time.Hour), time.Now())
	must(err)
	must(sf.Delete(ctx, "Lead", id))
	if _, err := sf.Get(ctx, "Lead", id, "Id"); err == nil {
		t.Fatal("read a deleted Lead")
	}

	p, err := ae.CreateProspect(ctx, map[string]any{"email": "kind@example.com"})
	must(err)
	_, err = ae.GetProspect(ctx, p.ID)
	must(err)
	_, err = ae.UpdateProspect(ctx, p.ID, map[string]any{"jobTitle": "CTO"})
	must(err)
	_, err = ae.QueryProspects(ctx, engagement.ProspectQuery{UpdatedAfter: time.Now().Add(-time.Hour), Limit: 10})
	must(err)
	_, err = ae.ListUsers(ctx)
	must(err)
	must(ae.DeleteProspect(ctx, p.ID))

	sfc, aec := metrics.APISalesforce+" ", metrics.APIEngagement+" "
	want := map[string]int{
		sfc + "token 2xx": 1, sfc + "versions 2xx": 1, sfc + "query 2xx": 1, sfc + "create 2xx": 1,
		sfc + "read 2xx": 1, sfc + "read 4xx": 1, sfc + "update 2xx": 1, sfc + "upsert 2xx": 1,
		sfc + "composite 2xx": 1, sfc + "collections 2xx": 1, sfc + "replication 2xx": 1, sfc + "delete 2xx": 1,
		aec + "create 2xx": 1, aec + "read 2xx": 1, aec + "update 2xx": 1, aec + "query 2xx": 1,
		aec + "users 2xx": 1, aec + "delete 2xx": 1,
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for k, n := range want {
		if rec.calls[k] != n {
			t.Errorf("%s: %d, want %d", k, rec.calls[k], n)
		}
	}
	for k, n := range rec.calls {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s: %d", k, n)
		}
	}
}

// A request that gets no response is counted with the status "error".
func TestObservedClientsCountFailedRequests(t *testing.T) {
	url := "http://" + scrape.ClosedAddress(t)
	rec := &recorder{calls: map[string]int{}}
	sf, _ := observedEmulatorClients(t, url, rec)
	if err := sf.CheckVersion(context.Background()); err == nil {
		t.Fatal("no error from a closed port")
	}
	if n := rec.calls[metrics.APISalesforce+" "+metrics.KindToken+" "+metrics.StatusError]; n < 1 {
		t.Errorf("calls %v: want the failed token request counted as an error", rec.calls)
	}
}

// Paths the emulator does not produce, or that the clients send only on some paths.
func TestKinds(t *testing.T) {
	for _, tc := range []struct{ method, path, sf, ae string }{
		{"GET", "/services/data/v67.0/query/01gD0000002HU6KIAW-2000", metrics.KindQuery, metrics.KindOther},
		{"GET", "/services/data/v67.0/queryAll", metrics.KindQuery, metrics.KindOther},
		{"PATCH", "/services/data/v67.0/composite/sobjects/Lead/Prospect_Id__c", metrics.KindCollections, metrics.KindOther},
		{"GET", "/services/data/v67.0/sobjects/Lead/deleted/", metrics.KindReplication, metrics.KindOther},
		{"GET", "/services/data/v67.0/sobjects/Lead/Prospect_Id__c/42", metrics.KindRead, metrics.KindOther},
		{"GET", "/services/data/v67.0/limits", metrics.KindOther, metrics.KindOther},
		{"GET", "/services/data/v67.0", metrics.KindVersions, metrics.KindOther},
		{"GET", "/api/v5/objects/users/5", metrics.KindOther, metrics.KindUsers},
		{"GET", "/api/v5/objects/emails/5", metrics.KindOther, metrics.KindOther},
		{"POST", "/api/v5/objects/prospects/5/do/assign", metrics.KindOther, metrics.KindOther},
	} {
		if got := SalesforceKind(tc.method, tc.path); got != tc.sf {
			t.Errorf("SalesforceKind(%s %s) = %s, want %s", tc.method, tc.path, got, tc.sf)
		}
		if got := EngagementKind(tc.method, tc.path); got != tc.ae {
			t.Errorf("EngagementKind(%s %s) = %s, want %s", tc.method, tc.path, got, tc.ae)
		}
	}
}

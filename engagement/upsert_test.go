package engagement_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/httperror"
)

// The wire format: POST .../prospects/do/upsertLatestByEmail with matchEmail, the prospect's
// fields (the email added when not given, an assignedToId of 0 as null), every field this
// client reads, and secondaryDeletedSearch; no fields query parameter.
func TestUpsertLatestByEmailRequest(t *testing.T) {
	var body map[string]json.RawMessage
	var method, path, query, bu string
	c, _ := newAE(t, func(w http.ResponseWriter, r *http.Request) {
		method, path, query, bu = r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Pardot-Business-Unit-Id")
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("request body: %v", err)
		}
		writeJSON(t, w, 200, map[string]any{"id": 1001, "email": "a@example.com", "createdAt": "2026-05-06T07:00:00-05:00", "updatedAt": "2026-05-06T07:00:00-05:00"})
	})
	p, err := c.UpsertLatestByEmail(context.Background(), "a@example.com", map[string]any{"firstName": "Ann", "userId": 102, "assignedToId": 0})
	if err != nil || p.ID != 1001 || !p.CreatedAt.Equal(time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v %v", p, err)
	}
	if method != http.MethodPost || path != "/api/v5/objects/prospects/do/upsertLatestByEmail" || query != "" || bu != "0Uv000000000001AAA" {
		t.Fatalf("%s %s ?%s bu=%q", method, path, query, bu)
	}
	var match string
	var prospect map[string]any
	var fields []string
	var deleted bool
	for k, v := range map[string]any{"matchEmail": &match, "prospect": &prospect, "fields": &fields, "secondaryDeletedSearch": &deleted} {
		if err := json.Unmarshal(body[k], v); err != nil {
			t.Fatalf("%s: %v in %s", k, err, body[k])
		}
	}
	if len(body) != 4 || match != "a@example.com" || !deleted || !slices.Equal(fields, engagement.ProspectFields) {
		t.Fatalf("body %s", body)
	}
	if len(prospect) != 4 || prospect["email"] != "a@example.com" || prospect["firstName"] != "Ann" || prospect["userId"] != float64(102) {
		t.Fatalf("prospect %v", prospect)
	}
	if v, ok := prospect["assignedToId"]; !ok || v != nil {
		t.Fatalf("assignedToId 0 must be sent as null, got %v (present %v)", v, ok)
	}
}

// Against the emulator: the first call makes the prospect, a repeat (a retried activity)
// finds it; CreatedAt tells the two apart; refusals are data errors.
func TestUpsertLatestByEmail(t *testing.T) {
	e := newAEEnv(t)
	ctx := context.Background()
	before := e.clock.Now().Truncate(time.Second)
	p, err := e.ae.UpsertLatestByEmail(ctx, "Upsert@Example.com", map[string]any{"lastName": "Up", "company": "Acme", "userId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == 0 || p.Email != "Upsert@Example.com" || p.LastName != "Up" || p.AssignedToID != emulator.AEUserBob || p.CreatedAt.Before(before) {
		t.Fatalf("created %+v", p)
	}
	e.clock.Advance(time.Minute)
	again, err := e.ae.UpsertLatestByEmail(ctx, "upsert@example.com", map[string]any{"lastName": "Up"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != p.ID || !again.CreatedAt.Equal(p.CreatedAt) || !again.UpdatedAt.After(p.UpdatedAt) {
		t.Fatalf("again %+v, first %+v: want the same prospect, found", again, p)
	}
	page, err := e.ae.QueryProspects(ctx, engagement.ProspectQuery{Email: "upsert@example.com"})
	if err != nil || len(page.Prospects) != 1 {
		t.Fatalf("prospects with the email: %+v %v, want one", page.Prospects, err)
	}
	if _, err := e.ae.UpsertLatestByEmail(ctx, "not an email", nil); httperror.KindOf(err) != httperror.Data {
		t.Fatalf("invalid email: %v, want a data error", err)
	}
	if _, err := e.ae.UpsertLatestByEmail(ctx, "other@example.com", map[string]any{"userId": 999}); httperror.KindOf(err) != httperror.Data {
		t.Fatalf("unknown user: %v, want a data error", err)
	}
}

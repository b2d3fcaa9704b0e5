package emulator_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

// engagementSettings reads /emulator/engagement-settings.
func (e *env) engagementSettings() emulator.EngagementSettings {
	e.t.Helper()
	var s emulator.EngagementSettings
	e.control("GET", "/engagement-settings", nil).want(e.t, http.StatusOK).decode(e.t, &s)
	return s
}

// wantAEError fails unless r is the AE error status/code/message.
func wantAEError(t *testing.T, what string, r reply, status, code int, msg string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: %d %s, want %d code %d", what, r.status, r.body, status, code)
		return
	}
	if c, m := r.aeError(t); c != code || m != msg {
		t.Errorf("%s: code %d %q, want %d %q", what, c, m, code, msg)
	}
}

func (e *env) liveProspectCount() int {
	e.t.Helper()
	return len(e.prospects(url.Values{"fields": {"id"}, "limit": {"1000"}}).Values)
}

// A business unit without AMPSEA (the default): one live prospect per email, compared
// trimmed and without case; a create of a taken email is code 9, an email change to one
// code 54, both HTTP 400, and nothing is written.
func TestAEOneProspectPerEmail(t *testing.T) {
	e := seeded(t)
	if s := e.engagementSettings(); s.AllowMultipleProspectsPerEmail {
		t.Fatalf("default settings %+v, want one prospect per email", s)
	}
	before := e.liveProspectCount()
	for _, email := range []string{"match.lead@example.com", "MATCH.Lead@Example.COM", "\tmatch.lead@example.com\n"} {
		r := e.ae("POST", "/prospects?fields=id", map[string]any{"email": email, "lastName": "Twin"})
		wantAEError(t, "create "+strconv.Quote(email), r, http.StatusBadRequest, 9, "A prospect with the specified email address already exists")
	}
	r := e.ae("PATCH", "/prospects/"+strconv.Itoa(emulator.ProspectMatchContactAndLead), map[string]any{"email": "Match.Lead@example.com"})
	wantAEError(t, "update to a taken email", r, http.StatusBadRequest, 54, "Email address is already in use")
	if p, _ := e.getProspect(emulator.ProspectMatchContactAndLead, ""); str(p.Email) != "both@example.com" {
		t.Errorf("refused update wrote the email: %s", str(p.Email))
	}
	if n := e.liveProspectCount(); n != before {
		t.Errorf("refused creates left %d prospects, want %d", n, before)
	}
	// Its own email (in another case) is no conflict; nor is an email no one has.
	e.ae("PATCH", "/prospects/"+strconv.Itoa(emulator.ProspectMatchLead), map[string]any{"email": "Match.Lead@Example.com"}).want(t, http.StatusNoContent)
	e.ae("POST", "/prospects?fields=id", map[string]any{"email": "fresh@example.com"}).want(t, http.StatusCreated)

	// AMPSEA on: duplicates are allowed.
	e.control("PUT", "/engagement-settings", map[string]any{"allowMultipleProspectsPerEmail": true}).want(t, http.StatusNoContent)
	if !e.engagementSettings().AllowMultipleProspectsPerEmail {
		t.Fatal("setting not kept")
	}
	var twin prospect
	e.ae("POST", "/prospects?fields=id", map[string]any{"email": "match.lead@example.com"}).want(t, http.StatusCreated).decode(t, &twin)
	if twin.ID == emulator.ProspectMatchLead {
		t.Errorf("AMPSEA create reused prospect %d", twin.ID)
	}
	e.ae("PATCH", "/prospects/"+strconv.Itoa(emulator.ProspectMatchContactAndLead), map[string]any{"email": "match.lead@example.com"}).want(t, http.StatusNoContent)

	// Reset restores the default, as the Go setter can.
	e.control("POST", "/reset", nil).want(t, http.StatusNoContent)
	if e.engagementSettings().AllowMultipleProspectsPerEmail {
		t.Error("reset kept AMPSEA on")
	}
	e.emu.SetEngagementSettings(emulator.EngagementSettings{AllowMultipleProspectsPerEmail: true})
	if !e.engagementSettings().AllowMultipleProspectsPerEmail {
		t.Error("SetEngagementSettings not applied")
	}
	if r := e.control("PUT", "/engagement-settings", "{"); r.status != http.StatusBadRequest {
		t.Errorf("bad JSON: %d %s", r.status, r.body)
	}
}

// Without AMPSEA, a prospect in the recycle bin keeps its email: a create of it restores
// that prospect (with the values sent) instead of making a second one.
func TestAECreateRestoresRecycledProspect(t *testing.T) {
	e := seeded(t)
	id := strconv.Itoa(emulator.ProspectUnassignedNoMatch)
	e.ae("DELETE", "/prospects/"+id, nil).want(t, http.StatusNoContent)
	before := e.liveProspectCount()
	e.clock.Advance(time.Minute)

	var p prospect
	e.ae("POST", "/prospects?fields="+allFields, map[string]any{"email": "Unassigned.One@example.com", "firstName": "Olga"}).
		want(t, http.StatusCreated).decode(t, &p)
	if p.ID != emulator.ProspectUnassignedNoMatch || p.IsDeleted || str(p.FirstName) != "Olga" || str(p.LastName) != "One" ||
		str(p.Email) != "Unassigned.One@example.com" {
		t.Errorf("create over the recycle bin = %+v", p)
	}
	if ts, _ := time.Parse(time.RFC3339, p.UpdatedAt); !ts.Equal(testStart().Add(time.Minute)) {
		t.Errorf("updatedAt %s did not move", p.UpdatedAt)
	}
	if n := e.liveProspectCount(); n != before+1 {
		t.Errorf("%d live prospects, want %d", n, before+1)
	}

	// An email change to a recycled prospect's email is allowed; restoring that prospect
	// then would make two, and is refused.
	e.ae("DELETE", "/prospects/"+id, nil).want(t, http.StatusNoContent)
	e.ae("PATCH", "/prospects/"+strconv.Itoa(emulator.ProspectUnassignedNoMatch2), map[string]any{"email": "unassigned.one@example.com"}).want(t, http.StatusNoContent)
	r := e.ae("POST", "/prospects/do/undelete", map[string]any{"email": "unassigned.one@example.com"})
	wantAEError(t, "undelete of a taken email", r, http.StatusBadRequest, 54, "Email address is already in use")
}

// POST /api/v5/objects/prospects/do/undelete (prospect-v5): the prospect in the recycle
// bin with that email is live again and its updatedAt moves.
func TestAEProspectUndelete(t *testing.T) {
	e := seeded(t)
	id := strconv.Itoa(emulator.ProspectMatchLead)
	e.ae("DELETE", "/prospects/"+id, nil).want(t, http.StatusNoContent)
	e.clock.Advance(2 * time.Minute)

	var p prospect
	e.ae("POST", "/prospects/do/undelete?fields=id,email,isDeleted,updatedAt", map[string]any{"email": "MATCH.LEAD@example.com"}).
		want(t, http.StatusOK).decode(t, &p)
	if p.ID != emulator.ProspectMatchLead || p.IsDeleted || str(p.Email) != "match.lead@example.com" {
		t.Errorf("undelete = %+v", p)
	}
	if ts, _ := time.Parse(time.RFC3339, p.UpdatedAt); !ts.Equal(testStart().Add(2 * time.Minute)) {
		t.Errorf("updatedAt %s did not move", p.UpdatedAt)
	}
	e.getProspect(emulator.ProspectMatchLead, "")
	if c := e.emu.Counters(); c.Engagement.ByEndpoint["POST prospects do/undelete"] != 1 {
		t.Errorf("counters %v", c.Engagement.ByEndpoint)
	}

	wantAEError(t, "nothing to restore", e.ae("POST", "/prospects/do/undelete", map[string]any{"email": "match.lead@example.com"}),
		http.StatusNotFound, 4, "Invalid prospect email address")
	wantAEError(t, "unknown email", e.ae("POST", "/prospects/do/undelete", map[string]any{"email": "nobody@example.com"}),
		http.StatusNotFound, 4, "Invalid prospect email address")
	for _, tc := range []struct {
		name, method, path string
		body               any
		status, code       int
		msg                string
	}{
		{"empty body", "POST", "/prospects/do/undelete", nil, 400, 152, "Request body can't be empty"},
		{"bad JSON", "POST", "/prospects/do/undelete", "{", 400, 150, "Input needs to be valid JSON"},
		{"no email", "POST", "/prospects/do/undelete", map[string]any{}, 400, 207, "Missing required action argument: email"},
		{"number", "POST", "/prospects/do/undelete", map[string]any{"email": 5}, 400, 206, "Invalid action argument value: email"},
		{"unknown argument", "POST", "/prospects/do/undelete", map[string]any{"email": "a@example.com", "id": 1002}, 400, 208, "Unknown action argument: id"},
		{"by id", "POST", "/prospects/" + id + "/do/undelete", map[string]any{}, 400, 205, "Action name is either missing or incorrect"},
		{"other action", "POST", "/prospects/do/restore", map[string]any{"email": "a@example.com"}, 400, 205, "Action name is either missing or incorrect"},
		{"users", "POST", "/users/do/undelete", map[string]any{"email": "a@example.com"}, 400, 205, "Action name is either missing or incorrect"},
		{"GET", "GET", "/prospects/do/undelete", nil, 405, 60, "Invalid HTTP request method"},
	} {
		wantAEError(t, tc.name, e.ae(tc.method, tc.path, tc.body), tc.status, tc.code, tc.msg)
	}

	// With AMPSEA several deleted prospects may share the email: the latest updated returns.
	e.emu.SetEngagementSettings(emulator.EngagementSettings{AllowMultipleProspectsPerEmail: true})
	var a, b prospect
	e.ae("POST", "/prospects?fields=id", map[string]any{"email": "pair@example.com"}).want(t, http.StatusCreated).decode(t, &a)
	e.ae("POST", "/prospects?fields=id", map[string]any{"email": "pair@example.com"}).want(t, http.StatusCreated).decode(t, &b)
	e.ae("DELETE", "/prospects/"+strconv.FormatInt(b.ID, 10), nil).want(t, http.StatusNoContent)
	e.clock.Advance(time.Second)
	e.ae("DELETE", "/prospects/"+strconv.FormatInt(a.ID, 10), nil).want(t, http.StatusNoContent)
	var got prospect
	e.ae("POST", "/prospects/do/undelete?fields=id", map[string]any{"email": "pair@example.com"}).want(t, http.StatusOK).decode(t, &got)
	if got.ID != a.ID {
		t.Errorf("restored %d, want the latest updated %d", got.ID, a.ID)
	}
	// Without fields the answer is the id, as a create's.
	if r := e.ae("POST", "/prospects/do/undelete", map[string]any{"email": "pair@example.com"}).want(t, http.StatusOK); string(r.body) != `{"id":`+strconv.FormatInt(b.ID, 10)+`}` {
		t.Errorf("bare answer %s", r.body)
	}
}

// The v5 query's email filter (which a sync uses to find the holder of an email AE refused)
// compares as the one-per-email rule does, and pages keep it.
func TestAEQueryByEmail(t *testing.T) {
	e := seeded(t)
	e.emu.SetEngagementSettings(emulator.EngagementSettings{AllowMultipleProspectsPerEmail: true})
	for range 3 {
		e.ae("POST", "/prospects?fields=id", map[string]any{"email": "Match.Lead@example.com"}).want(t, http.StatusCreated)
	}
	e.ae("DELETE", "/prospects/"+strconv.Itoa(emulator.ProspectMatchLead), nil).want(t, http.StatusNoContent)
	page := e.prospects(url.Values{"fields": {"id,email"}, "email": {"MATCH.LEAD@EXAMPLE.COM"}, "limit": {"2"}})
	var got []int64
	for {
		for _, p := range page.Values {
			got = append(got, p.ID)
		}
		if page.NextPageToken == nil {
			break
		}
		page = e.prospects(url.Values{"fields": {"id"}, "nextPageToken": {*page.NextPageToken}})
	}
	if len(got) != 3 {
		t.Errorf("live prospects of the email: %v, want the 3 created", got)
	}
	all := e.prospects(url.Values{"fields": {"id"}, "email": {"match.lead@example.com"}, "deleted": {"all"}})
	if len(all.Values) != 4 || all.Values[0].ID != emulator.ProspectMatchLead {
		t.Errorf("deleted=all: %+v", all.Values)
	}
	if none := e.prospects(url.Values{"fields": {"id"}, "email": {"nobody@example.com"}}); len(none.Values) != 0 {
		t.Errorf("unknown email: %+v", none.Values)
	}
}

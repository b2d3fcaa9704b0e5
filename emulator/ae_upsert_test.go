package emulator_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

const upsertPath = "/prospects/do/upsertLatestByEmail"

// upsert sends POST .../prospects/do/upsertLatestByEmail and decodes a 200 answer.
func (e *env) upsert(body map[string]any) prospect {
	e.t.Helper()
	var p prospect
	e.ae("POST", upsertPath, body).want(e.t, http.StatusOK).decode(e.t, &p)
	return p
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return ts
}

var upsertFields = []string{"id", "email", "firstName", "lastName", "assignedToId", "createdAt", "updatedAt", "isDeleted"}

// POST /api/v5/objects/prospects/do/upsertLatestByEmail (prospect-v5, "Transitioning to V5?"):
// a new email makes a prospect; the same call again updates that prospect, so a retry never
// makes a second one; emails compare as the one-per-email rule compares them.
func TestAEUpsertLatestByEmail(t *testing.T) {
	e := seeded(t)
	before := e.liveProspectCount()

	p := e.upsert(map[string]any{"matchEmail": "New.One@example.com",
		"prospect": map[string]any{"firstName": "Nia", "lastName": "One", "userId": emulator.AEUserBob}, "fields": upsertFields})
	if p.ID == 0 || str(p.Email) != "New.One@example.com" || str(p.FirstName) != "Nia" || p.AssignedToID == nil || *p.AssignedToID != emulator.AEUserBob {
		t.Fatalf("created %+v: want matchEmail as its email, the names and Bob assigned", p)
	}
	if !at(t, p.CreatedAt).Equal(testStart()) || p.CreatedAt != p.UpdatedAt {
		t.Errorf("created at %s, updated %s: want both now", p.CreatedAt, p.UpdatedAt)
	}
	if n := e.liveProspectCount(); n != before+1 {
		t.Fatalf("%d live prospects, want %d", n, before+1)
	}

	e.clock.Advance(time.Minute)
	again := e.upsert(map[string]any{"matchEmail": " new.one@EXAMPLE.com ", "prospect": map[string]any{"lastName": "Two"}, "fields": upsertFields})
	if again.ID != p.ID || str(again.LastName) != "Two" || str(again.FirstName) != "Nia" || again.CreatedAt != p.CreatedAt ||
		!at(t, again.UpdatedAt).Equal(testStart().Add(time.Minute)) {
		t.Errorf("again %+v: want the same prospect, lastName written, createdAt kept, updatedAt moved", again)
	}
	if n := e.liveProspectCount(); n != before+1 {
		t.Errorf("%d live prospects after the second upsert, want %d", n, before+1)
	}

	// A seeded prospect is found by its email and updated; without fields the answer is its id.
	r := e.ae("POST", upsertPath, map[string]any{"matchEmail": "match.lead@example.com", "prospect": map[string]any{"jobTitle": "CFO"}}).want(t, http.StatusOK)
	if string(r.body) != `{"id":`+strconv.Itoa(emulator.ProspectMatchLead)+`}` {
		t.Errorf("bare answer %s", r.body)
	}
	if got, _ := e.getProspect(emulator.ProspectMatchLead, ""); str(got.JobTitle) != "CFO" {
		t.Errorf("seeded prospect not updated: %+v", got)
	}
	if c := e.emu.Counters(); c.Engagement.ByEndpoint["POST prospects do/upsertLatestByEmail"] != 3 {
		t.Errorf("counters %v", c.Engagement.ByEndpoint)
	}

	// An email in prospect is the found prospect's new email, refused when another has it.
	moved := e.upsert(map[string]any{"matchEmail": "new.one@example.com", "prospect": map[string]any{"email": "new.two@example.com"}, "fields": []string{"id", "email"}})
	if moved.ID != p.ID || str(moved.Email) != "new.two@example.com" {
		t.Errorf("email change %+v", moved)
	}
	wantAEError(t, "email of another prospect", e.ae("POST", upsertPath, map[string]any{"matchEmail": "new.two@example.com",
		"prospect": map[string]any{"email": "match.lead@example.com"}}), http.StatusBadRequest, 54, "Email address is already in use")
	// The same for a create: the email given is taken (code 9), nothing is made.
	wantAEError(t, "create with a taken email", e.ae("POST", upsertPath, map[string]any{"matchEmail": "nobody.yet@example.com",
		"prospect": map[string]any{"email": "Match.Lead@example.com"}}), http.StatusBadRequest, 9, "A prospect with the specified email address already exists")
	if n := e.liveProspectCount(); n != before+1 {
		t.Errorf("%d live prospects after the refusals, want %d", n, before+1)
	}
}

// The prospect in the recycle bin: without AMPSEA it keeps its email, so the upsert restores
// it (as a create of its email does); with AMPSEA only when secondaryDeletedSearch (default
// true) asks for it, and otherwise a new prospect is made.
func TestAEUpsertLatestByEmailDeleted(t *testing.T) {
	e := seeded(t)
	id := strconv.Itoa(emulator.ProspectUnassignedNoMatch)
	e.ae("DELETE", "/prospects/"+id, nil).want(t, http.StatusNoContent)
	for _, search := range []bool{false, true} {
		p := e.upsert(map[string]any{"matchEmail": "unassigned.one@example.com", "prospect": map[string]any{"firstName": "Una"},
			"secondaryDeletedSearch": search, "fields": upsertFields})
		if p.ID != emulator.ProspectUnassignedNoMatch || p.IsDeleted || str(p.FirstName) != "Una" {
			t.Errorf("without AMPSEA, secondaryDeletedSearch %v: %+v, want the deleted prospect restored", search, p)
		}
		e.ae("DELETE", "/prospects/"+id, nil).want(t, http.StatusNoContent)
	}

	e.emu.SetEngagementSettings(emulator.EngagementSettings{AllowMultipleProspectsPerEmail: true})
	e.clock.Advance(time.Second)
	fresh := e.upsert(map[string]any{"matchEmail": "unassigned.one@example.com", "prospect": map[string]any{}, "secondaryDeletedSearch": false, "fields": upsertFields})
	if fresh.ID == emulator.ProspectUnassignedNoMatch || fresh.IsDeleted {
		t.Errorf("AMPSEA, no deleted search: %+v, want a new prospect", fresh)
	}
	e.ae("DELETE", "/prospects/"+strconv.FormatInt(fresh.ID, 10), nil).want(t, http.StatusNoContent)
	restored := e.upsert(map[string]any{"matchEmail": "unassigned.one@example.com", "prospect": map[string]any{}, "fields": upsertFields})
	if restored.ID != fresh.ID || restored.IsDeleted {
		t.Errorf("AMPSEA, deleted search by default: %+v, want the latest updated deleted one (%d) restored", restored, fresh.ID)
	}

	// With AMPSEA several live prospects may share the email: the most recently updated is written.
	e.clock.Advance(time.Second)
	var second prospect
	e.ae("POST", "/prospects?fields=id", map[string]any{"email": "unassigned.one@example.com"}).want(t, http.StatusCreated).decode(t, &second)
	e.clock.Advance(time.Second)
	if got := e.upsert(map[string]any{"matchEmail": "unassigned.one@example.com", "prospect": map[string]any{"lastName": "Latest"}, "fields": upsertFields}); got.ID != second.ID {
		t.Errorf("updated %d, want the most recently updated %d", got.ID, second.ID)
	}
	if got := e.upsert(map[string]any{"matchEmail": "unassigned.one@example.com", "prospect": map[string]any{}, "fields": upsertFields}); got.ID != second.ID {
		t.Errorf("updated %d, want %d again", got.ID, second.ID)
	}
}

func TestAEUpsertLatestByEmailRefusals(t *testing.T) {
	e := seeded(t)
	before := e.liveProspectCount()
	ok := map[string]any{}
	for _, tc := range []struct {
		name, method, path string
		body               any
		status, code       int
		msg                string
	}{
		{"empty body", "POST", upsertPath, nil, 400, 152, "Request body can't be empty"},
		{"bad JSON", "POST", upsertPath, "{", 400, 150, "Input needs to be valid JSON"},
		{"no matchEmail", "POST", upsertPath, map[string]any{"prospect": ok}, 400, 207, "Missing required action argument: matchEmail"},
		{"empty matchEmail", "POST", upsertPath, map[string]any{"matchEmail": " ", "prospect": ok}, 400, 207, "Missing required action argument: matchEmail"},
		{"number matchEmail", "POST", upsertPath, map[string]any{"matchEmail": 5, "prospect": ok}, 400, 206, "Invalid action argument value: matchEmail"},
		{"invalid matchEmail", "POST", upsertPath, map[string]any{"matchEmail": "not-an-email", "prospect": ok}, 400, 4, "Invalid prospect email address"},
		{"no prospect", "POST", upsertPath, map[string]any{"matchEmail": "a@example.com"}, 400, 207, "Missing required action argument: prospect"},
		{"prospect not an object", "POST", upsertPath, map[string]any{"matchEmail": "a@example.com", "prospect": "x"}, 400, 206, "Invalid action argument value: prospect"},
		{"unknown argument", "POST", upsertPath, map[string]any{"matchEmail": "a@example.com", "prospect": ok, "email": "a@example.com"}, 400, 208, "Unknown action argument: email"},
		{"fields not a list", "POST", upsertPath, map[string]any{"matchEmail": "a@example.com", "prospect": ok, "fields": "id,email"}, 400, 206, "Invalid action argument value: fields"},
		{"unknown field", "POST", upsertPath, map[string]any{"matchEmail": "a@example.com", "prospect": ok, "fields": []string{"id", "nope"}}, 400, 224, "Invalid fields for request type: nope"},
		{"deleted search not a bool", "POST", upsertPath, map[string]any{"matchEmail": "a@example.com", "prospect": ok, "secondaryDeletedSearch": "yes"}, 400, 206, "Invalid action argument value: secondaryDeletedSearch"},
		{"read-only field", "POST", upsertPath, map[string]any{"matchEmail": "a@example.com", "prospect": map[string]any{"salesforceLeadId": "00Q000000000001AAA"}}, 400, 180, "One or more of the specified fields are invalid: salesforceLeadId"},
		{"invalid email", "POST", upsertPath, map[string]any{"matchEmail": "a@example.com", "prospect": map[string]any{"email": "a@b"}}, 400, 4, "Invalid prospect email address"},
		{"unknown user", "POST", upsertPath, map[string]any{"matchEmail": "a@example.com", "prospect": map[string]any{"userId": 999}}, 400, 10, "Invalid user ID"},
		{"two assignments", "POST", upsertPath, map[string]any{"matchEmail": "a@example.com", "prospect": map[string]any{"userId": emulator.AEUserBob, "salesforceOwnerId": emulator.UserBobID}},
			400, 154, "Invalid property in request: assign through one of userId, salesforceOwnerId per request"},
		{"by id", "POST", "/prospects/" + strconv.Itoa(emulator.ProspectMatchLead) + "/do/upsertLatestByEmail", map[string]any{"matchEmail": "a@example.com", "prospect": ok}, 400, 205, "Action name is either missing or incorrect"},
		{"users", "POST", "/users/do/upsertLatestByEmail", map[string]any{"matchEmail": "a@example.com", "prospect": ok}, 400, 205, "Action name is either missing or incorrect"},
		{"GET", "GET", upsertPath, nil, 405, 60, "Invalid HTTP request method"},
	} {
		wantAEError(t, tc.name, e.ae(tc.method, tc.path, tc.body), tc.status, tc.code, tc.msg)
	}
	if n := e.liveProspectCount(); n != before {
		t.Errorf("%d live prospects after refusals, want %d: nothing written", n, before)
	}
}

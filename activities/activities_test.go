package activities

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

type fixture struct {
	emu  *emulator.Emulator
	acts *Activities
	env  *testsuite.TestActivityEnvironment
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureVia(t, func(h http.Handler) http.Handler { return h })
}

// newFixtureVia is newFixture with the emulator behind a handler of the test's (a spy).
func newFixtureVia(t *testing.T, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	emu, err := emulator.New(emulator.Options{Seed: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wrap(emu))
	t.Cleanup(func() {
		srv.Close()
		if err := emu.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
	})
	sf, err := salesforce.New(salesforce.Config{LoginURL: srv.URL, ClientID: emulator.ClientID, ClientSecret: emulator.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	ae, err := engagement.New(engagement.Config{BaseURL: srv.URL, BusinessUnitID: emulator.BusinessUnitID, Tokens: sf})
	if err != nil {
		t.Fatal(err)
	}
	acts := New(sf, ae, nil)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &fixture{emu: emu, acts: acts, env: env}
}

// get decodes an activity's result into a fresh T, failing the test if it cannot.
func get[T any](t *testing.T, v converter.EncodedValue) T {
	t.Helper()
	var out T
	if err := v.Get(&out); err != nil {
		t.Fatalf("decode %T: %v", out, err)
	}
	return out
}

func TestFetchProspectResolvesAssignedUser(t *testing.T) {
	f := newFixture(t)
	v, err := f.env.ExecuteActivity(f.acts.FetchProspect, FetchProspectInput{ProspectID: emulator.ProspectMatchLead})
	if err != nil {
		t.Fatal(err)
	}
	var res FetchProspectResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if !res.Found || res.Prospect.AssignedUserID != emulator.AEUserAlice || res.Prospect.AssignedUserSalesforceID != emulator.UserAliceID {
		t.Fatalf("prospect %+v: want assigned to Alice with her Salesforce id", res)
	}
	v, err = f.env.ExecuteActivity(f.acts.FetchProspect, FetchProspectInput{ProspectID: 424242})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&res); err != nil || res.Found {
		t.Fatalf("unknown prospect: %+v, %v: want Found=false", res, err)
	}
}

func TestFindMatchesIsOneSalesforceCall(t *testing.T) {
	f := newFixture(t)
	p, err := f.acts.AE.GetProspect(context.Background(), emulator.ProspectMatchContactAndLead)
	if err != nil {
		t.Fatal(err)
	}
	f.emu.ResetCounters()
	v, err := f.env.ExecuteActivity(f.acts.FindMatches, FindMatchesInput{Email: p.Email, LinkedType: prospect.TypeLead, LinkedID: emulator.LeadMatchContactAndLeadID,
		LeadFields: []string{"FirstName", "LastName", "Company"}, ContactFields: []string{"FirstName", "LastName"}})
	if err != nil {
		t.Fatal(err)
	}
	var res FindMatchesResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	m := res.Matches
	if len(m.Leads) != 1 || len(m.Contacts) != 1 || m.Linked == nil || m.Linked.ID != emulator.LeadMatchContactAndLeadID || m.LinkedGone {
		t.Fatalf("matches %+v: want one Lead, one Contact and the linked Lead", m)
	}
	if _, ok := m.Contacts[0].Fields["Company"]; ok {
		t.Error("Contact carries a Company field it does not have")
	}
	if n := f.emu.Counters().Salesforce.Total; n != 1 {
		t.Errorf("%d Salesforce calls, want 1 composite", n)
	}
}

func TestFindMatchesFollowsConversionAndDeletion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, err := f.acts.AE.GetProspect(ctx, emulator.ProspectConvertedLead)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.env.ExecuteActivity(f.acts.FindMatches, FindMatchesInput{Email: p.Email})
	if err != nil {
		t.Fatal(err)
	}
	res := get[FindMatchesResult](t, v)
	found := false
	for _, c := range res.Matches.Contacts {
		found = found || c.ID == emulator.ContactConvertedID
	}
	if !found {
		t.Fatalf("contacts %+v: want the converted Lead's Contact %s", res.Matches.Contacts, emulator.ContactConvertedID)
	}
	v, err = f.env.ExecuteActivity(f.acts.FindMatches, FindMatchesInput{Email: "gone@example.com", LinkedType: prospect.TypeLead, LinkedID: emulator.LeadCRMDeletedID})
	if err != nil {
		t.Fatal(err)
	}
	res = get[FindMatchesResult](t, v)
	if !res.Matches.LinkedGone {
		t.Fatalf("deleted linked Lead not reported gone: %+v", res.Matches)
	}
}

func TestCreateLeadOwnersAndRetryLookup(t *testing.T) {
	f := newFixture(t)
	in := CreateLeadInput{ProspectID: 1, Email: "new.lead@example.com", Fields: map[string]string{"Email": "new.lead@example.com", "LastName": "New", "Company": "Acme"},
		OwnerID: emulator.UserBobID, ReadFields: []string{"LastName", "Company"}}
	v, err := f.env.ExecuteActivity(f.acts.CreateLead, in)
	if err != nil {
		t.Fatal(err)
	}
	res := get[CreateLeadResult](t, v)
	if res.Record.OwnerID != emulator.UserBobID || res.Existing {
		t.Fatalf("created %+v: want a new Lead owned by Bob despite the active rule", res)
	}
	// What a retried attempt does first: find the Lead the first attempt stored.
	existing, err := f.acts.existingLead(context.Background(), in)
	if err != nil || existing == nil || existing.ID != res.Record.ID {
		t.Fatalf("existingLead = %+v, %v: want %s", existing, err, res.Record.ID)
	}

	rule := CreateLeadInput{ProspectID: 2, Email: "rule.lead@example.com", Fields: map[string]string{"Email": "rule.lead@example.com", "LastName": "R", "Company": "Acme"}, UseAssignmentRule: true}
	v, err = f.env.ExecuteActivity(f.acts.CreateLead, rule)
	if err != nil {
		t.Fatal(err)
	}
	res = get[CreateLeadResult](t, v)
	// The seeded round-robin rule cycles Alice, Carol; the Lead owned by Bob above was created
	// with the rule off, so this is its first pick.
	if res.Record.OwnerID != emulator.UserAliceID {
		t.Fatalf("rule owner %q: want the round-robin's first pick, Alice %s", res.Record.OwnerID, emulator.UserAliceID)
	}
	unmapped := CreateLeadInput{ProspectID: 3, Email: "unmapped.lead@example.com", Fields: map[string]string{"Email": "unmapped.lead@example.com", "LastName": "U", "Company": "Acme"}}
	v, err = f.env.ExecuteActivity(f.acts.CreateLead, unmapped)
	if err != nil {
		t.Fatal(err)
	}
	res = get[CreateLeadResult](t, v)
	if res.Record.OwnerID != emulator.IntegrationUserID {
		t.Fatalf("owner %q: want the integration user", res.Record.OwnerID)
	}
}

func TestCreateLeadDataErrorIsNotRetried(t *testing.T) {
	f := newFixture(t)
	_, err := f.env.ExecuteActivity(f.acts.CreateLead, CreateLeadInput{ProspectID: 1, Email: "x@example.com",
		Fields: map[string]string{"Email": "x@example.com", "LastName": string(make([]byte, 81)), "Company": "Acme"}, OwnerID: emulator.UserBobID})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeDataError || !appErr.NonRetryable() {
		t.Fatalf("err = %v: want a non-retryable DataError", err)
	}
	var d prospect.SyncError
	if err := appErr.Details(&d); err != nil || d.Code != "STRING_TOO_LONG" {
		t.Fatalf("details %+v (%v): want STRING_TOO_LONG", d, err)
	}
}

func TestWriteBackAssignsOwnersUser(t *testing.T) {
	f := newFixture(t)
	v, err := f.env.ExecuteActivity(f.acts.WriteBack, WriteBackInput{ProspectID: emulator.ProspectUnassignedNoMatch,
		Fields: map[string]string{"jobTitle": "VP"}, AssignOwnerID: emulator.UserBobID})
	if err != nil {
		t.Fatal(err)
	}
	res := get[WriteBackResult](t, v)
	if res.AssignedUserID != emulator.AEUserBob || res.Prospect.JobTitle != "VP" {
		t.Fatalf("assigned %d, prospect %+v: want Bob's Account Engagement user %d and the field written", res.AssignedUserID, res.Prospect, emulator.AEUserBob)
	}
	// A queue or an unknown owner leaves the prospect as it is, without a write.
	f.emu.ResetCounters()
	v, err = f.env.ExecuteActivity(f.acts.WriteBack, WriteBackInput{ProspectID: emulator.ProspectUnassignedNoMatch, AssignOwnerID: emulator.UserCarolID, CurrentAssignedUserID: emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	res = get[WriteBackResult](t, v)
	if res.AssignedUserID != emulator.AEUserBob || f.emu.Counters().Engagement.ByEndpoint["PATCH prospects"] != 0 {
		t.Fatalf("unmapped owner: assigned %d, counters %+v: want no change and no write", res.AssignedUserID, f.emu.Counters().Engagement)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err       error
		typ       string
		retryable bool
		delay     time.Duration
	}{
		{&salesforce.APIError{Status: 400, Code: "REQUIRED_FIELD_MISSING"}, ErrTypeDataError, false, 0},
		{&salesforce.APIError{Status: 404, Code: "ENTITY_IS_DELETED"}, ErrTypeRecordGone, false, 0},
		{&salesforce.APIError{Status: 400, Code: "CANNOT_UPDATE_CONVERTED_LEAD"}, ErrTypeConvertedLead, false, 0},
		{&salesforce.APIError{Status: 403, Code: "REQUEST_LIMIT_EXCEEDED", RetryAfter: 7 * time.Minute}, ErrTypeRateLimited, true, 7 * time.Minute},
		{&salesforce.APIError{Status: 503, Code: "SERVER_UNAVAILABLE"}, ErrTypeTransient, true, 0},
		{&salesforce.APIError{Status: 400, Code: "UNABLE_TO_LOCK_ROW"}, ErrTypeTransient, true, 0},
		{&salesforce.APIError{Status: 401, Code: "INVALID_SESSION_ID"}, ErrTypeAuth, true, 0},
		{&engagement.APIError{Status: 429, Code: engagement.CodeTooManyConcurrent, RetryAfter: time.Second}, ErrTypeRateLimited, true, time.Second},
		{&salesforce.APIError{Status: 400, Code: "INACTIVE_OWNER_OR_USER"}, ErrTypeDataError, false, 0},
		{&salesforce.APIError{Status: 403, Code: "INSUFFICIENT_ACCESS_OR_READONLY"}, ErrTypeDataError, false, 0},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, ErrTypeTransient, true, 0},
	}
	for _, tt := range tests {
		var appErr *temporal.ApplicationError
		if !errors.As(classify(tt.err), &appErr) {
			t.Fatalf("classify(%v) is not an application error", tt.err)
		}
		if appErr.Type() != tt.typ || appErr.NonRetryable() == tt.retryable || (tt.delay != 0 && appErr.NextRetryDelay() != tt.delay) {
			t.Errorf("classify(%v) = %s retryable=%v delay=%v, want %s retryable=%v delay=%v", tt.err, appErr.Type(), !appErr.NonRetryable(), appErr.NextRetryDelay(), tt.typ, tt.retryable, tt.delay)
		}
	}
	if err := classify(context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancellation wrapped: %v", err)
	}
}

func TestCreateLeadUpsertOnProspectIDIsIdempotent(t *testing.T) {
	f := newFixture(t)
	f.acts.ProspectIDField = "Prospect_Id__c"
	for _, rule := range []bool{false, true} {
		in := CreateLeadInput{ProspectID: 4242, Email: "upsert@example.com", Fields: map[string]string{"Email": "upsert@example.com", "LastName": "U", "Company": "Acme"},
			OwnerID: emulator.UserBobID, UseAssignmentRule: rule}
		if rule {
			in.OwnerID, in.ProspectID = "", 4343
		}
		var ids []string
		// Two attempts, as when the first one's response was lost or it is still in flight.
		for range 2 {
			v, err := f.env.ExecuteActivity(f.acts.CreateLead, in)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, get[CreateLeadResult](t, v).Record.ID)
		}
		recs, err := f.acts.SF.Query(context.Background(), "SELECT Id FROM Lead WHERE Prospect_Id__c = '"+strconv.FormatInt(in.ProspectID, 10)+"'")
		if err != nil {
			t.Fatal(err)
		}
		if ids[0] == "" || ids[0] != ids[1] || len(recs) != 1 {
			t.Fatalf("rule=%v: attempts made %v, %d Leads carry the prospect id: want one", rule, ids, len(recs))
		}
	}
}

// A field the domain reads from Account Engagement (its `ae` tag) must come through from the
// client's prospect, or the sync would decide on a zero value.
func TestFromEngagementCopiesEveryField(t *testing.T) {
	src := engagement.Prospect{ID: 1, Email: "e@x.io", FirstName: "f", LastName: "l", Company: "c", JobTitle: "j", Phone: "p",
		AssignedToID: 2, SalesforceID: "s", SalesforceLeadID: "sl", SalesforceContactID: "sc", SalesforceOwnerID: "so",
		CreatedAt: time.Unix(4, 0), UpdatedAt: time.Unix(5, 0), IsDeleted: true}
	got := reflect.ValueOf(fromEngagement(src))
	for i := range got.NumField() {
		if f := got.Type().Field(i); f.Tag.Get("ae") != "" && got.Field(i).IsZero() {
			t.Errorf("prospect.Prospect.%s (ae %q) not copied from engagement.Prospect", f.Name, f.Tag.Get("ae"))
		}
	}
}

package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

type prospect struct {
	ID                  int64   `json:"id"`
	Email               *string `json:"email"`
	FirstName           *string `json:"firstName"`
	LastName            *string `json:"lastName"`
	Company             *string `json:"company"`
	JobTitle            *string `json:"jobTitle"`
	AssignedToID        *int64  `json:"assignedToId"`
	SalesforceID        *string `json:"salesforceId"`
	SalesforceLeadID    *string `json:"salesforceLeadId"`
	SalesforceContactID *string `json:"salesforceContactId"`
	UpdatedAt           string  `json:"updatedAt"`
	CreatedAt           string  `json:"createdAt"`
	IsDeleted           bool    `json:"isDeleted"`
}

type prospectPage struct {
	Values        []prospect `json:"values"`
	NextPageToken *string    `json:"nextPageToken"`
	NextPageURL   *string    `json:"nextPageUrl"`
}

const allFields = "id,email,firstName,lastName,company,jobTitle,phone,assignedToId,salesforceId,salesforceLeadId,salesforceContactId,salesforceOwnerId,createdAt,updatedAt,isDeleted"

func (e *env) getProspect(id int64, extra string) (prospect, reply) {
	e.t.Helper()
	r := e.ae("GET", "/prospects/"+strconv.FormatInt(id, 10)+"?fields="+allFields+extra, nil)
	var p prospect
	if r.status == http.StatusOK {
		r.decode(e.t, &p)
	}
	return p, r
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestAEProspectReadWrite(t *testing.T) {
	e := seeded(t)

	r := e.ae("GET", "/prospects/1002", nil)
	if code, msg := r.aeError(t); r.status != http.StatusBadRequest || !strings.Contains(msg, "fields") {
		t.Errorf("missing fields: %d %d %s", r.status, code, msg)
	}
	r = e.ae("GET", "/prospects/1002?fields=id,bogus", nil)
	if r.status != http.StatusBadRequest {
		t.Errorf("unknown field: %d %s", r.status, r.body)
	}
	r = e.ae("GET", "/prospects/1002?fields=email,id,assignedToId,updatedAt", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(string(r.body), `{"email":"match.lead@example.com","id":1002,"assignedToId":101,"updatedAt":"`) {
		t.Errorf("read: %d %s", r.status, r.body)
	}
	p, r := e.getProspect(emulator.ProspectMatchLead, "")
	r.want(t, http.StatusOK)
	if ts, err := time.Parse(time.RFC3339, p.UpdatedAt); err != nil || !strings.HasSuffix(p.UpdatedAt, "-05:00") || !ts.Equal(testStart().Add(-13*time.Minute)) {
		t.Errorf("updatedAt %q (%v)", p.UpdatedAt, err)
	}

	for _, c := range []struct {
		path       string
		wantStatus int
		wantCode   int
	}{
		{"/prospects/999?fields=id", 404, 3},
		{"/prospects/abc?fields=id", 400, 16},
		{"/users/999?fields=id", 404, 10},
		{"/visitors?fields=id", 404, 198},
	} {
		r := e.ae("GET", c.path, nil)
		if code, _ := r.aeError(t); r.status != c.wantStatus || code != c.wantCode {
			t.Errorf("%s: %d %s", c.path, r.status, r.body)
		}
	}

	// Business unit header.
	r = e.ae("GET", "/prospects/1002?fields=id", nil, "Pardot-Business-Unit-Id", "")
	if code, _ := r.aeError(t); r.status != http.StatusBadRequest || code != 181 {
		t.Errorf("missing BU: %d %s", r.status, r.body)
	}
	r = e.ae("GET", "/prospects/1002?fields=id", nil, "Pardot-Business-Unit-Id", "0Uv000000000002AAA")
	if code, _ := r.aeError(t); r.status != http.StatusBadRequest || code != 201 {
		t.Errorf("wrong BU: %d %s", r.status, r.body)
	}

	// PATCH changes only the sent fields and moves updatedAt.
	e.clock.Advance(time.Minute)
	r = e.ae("PATCH", "/prospects/1002?fields="+allFields, map[string]any{"jobTitle": "CTO", "assignedToId": nil})
	var after prospect
	r.decode(t, &after)
	if r.status != http.StatusOK || after.AssignedToID != nil ||
		str(after.Email) != "match.lead@example.com" || str(after.LastName) != "Ångström" || after.CreatedAt != p.CreatedAt {
		t.Errorf("patch: %d %s", r.status, r.body)
	}
	if ts, _ := time.Parse(time.RFC3339, after.UpdatedAt); !ts.Equal(testStart().Add(time.Minute)) {
		t.Errorf("updatedAt after patch %q", after.UpdatedAt)
	}
	if r := e.ae("PATCH", "/prospects/1002", map[string]any{"assignedToId": emulator.AEUserBob}); r.status != http.StatusNoContent {
		t.Errorf("patch without fields: %d %s", r.status, r.body)
	}
	// The documented ways to assign: userId, or salesforceOwnerId (the AE user of that Salesforce user).
	if r := e.ae("PATCH", "/prospects/1002?fields=id,assignedToId", map[string]any{"userId": emulator.AEUserAlice}); r.status != http.StatusOK ||
		string(r.body) != fmt.Sprintf(`{"id":1002,"assignedToId":%d}`, emulator.AEUserAlice) {
		t.Errorf("assign by userId: %d %s", r.status, r.body)
	}
	if r := e.ae("PATCH", "/prospects/1002?fields=id,assignedToId,salesforceOwnerId", map[string]any{"salesforceOwnerId": emulator.UserBobID}); r.status != http.StatusOK ||
		string(r.body) != fmt.Sprintf(`{"id":1002,"assignedToId":%d,"salesforceOwnerId":"%s"}`, emulator.AEUserBob, emulator.UserBobID) {
		t.Errorf("assign by salesforceOwnerId: %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		body     map[string]any
		wantCode int
	}{
		{map[string]any{"assignedToId": 999}, 10},
		{map[string]any{"id": 5}, 180},
		{map[string]any{"bogus": "x"}, 180},
		{map[string]any{"assignedToId": "101"}, 154},
		{map[string]any{"email": nil}, 4},
		// Read-only: Account Engagement's own connector sets the CRM ids (docs/engagement.md).
		{map[string]any{"salesforceId": emulator.LeadMatchID}, 180},
		{map[string]any{"salesforceLeadId": emulator.LeadMatchID}, 180},
		{map[string]any{"salesforceContactId": "003000000000001AAA"}, 180},
		// One assignment per request.
		{map[string]any{"userId": emulator.AEUserBob, "salesforceOwnerId": emulator.UserBobID}, 154},
		{map[string]any{"userId": "bob"}, 154},
		{map[string]any{"userId": 999}, 10},
		{map[string]any{"salesforceOwnerId": "005000000000999AAA"}, 10},
	} {
		r := e.ae("PATCH", "/prospects/1002?fields=id", c.body)
		if code, _ := r.aeError(t); r.status != http.StatusBadRequest || code != c.wantCode {
			t.Errorf("patch %v: %d %s", c.body, r.status, r.body)
		}
	}

	// Create, delete, deleted reads.
	r = e.ae("POST", "/prospects?fields=id,email,assignedToId,isDeleted", map[string]any{"email": "new@example.com", "assignedToId": emulator.AEUserAlice})
	var created prospect
	r.decode(t, &created)
	if r.status != http.StatusCreated || created.ID < 100001 || str(created.Email) != "new@example.com" || created.AssignedToID == nil || *created.AssignedToID != emulator.AEUserAlice {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.ae("POST", "/prospects?fields=id", map[string]any{"firstName": "NoMail"}); r.status != http.StatusBadRequest {
		t.Errorf("create without email: %d %s", r.status, r.body)
	}
	id := strconv.FormatInt(created.ID, 10)
	if r := e.ae("DELETE", "/prospects/"+id, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if _, r := e.getProspect(created.ID, ""); r.status != http.StatusNotFound {
		t.Errorf("get deleted: %d", r.status)
	}
	if p, r := e.getProspect(created.ID, "&deleted=true"); r.status != http.StatusOK || !p.IsDeleted {
		t.Errorf("get deleted=true: %d %s", r.status, r.body)
	}
	if r := e.ae("PATCH", "/prospects/"+id, map[string]any{"firstName": "x"}); r.status != http.StatusNotFound {
		t.Errorf("patch deleted: %d", r.status)
	}

	// Users.
	r = e.ae("GET", "/users/101?fields=id,email,salesforceId", nil)
	if string(r.body) != `{"id":101,"email":"alice@example.com","salesforceId":"`+emulator.UserAliceID+`"}` {
		t.Errorf("user: %s", r.body)
	}
	r = e.ae("GET", "/users/103?fields=id,salesforceId", nil)
	if string(r.body) != `{"id":103,"salesforceId":null}` {
		t.Errorf("unmapped user: %s", r.body)
	}
	var users struct {
		Values []struct {
			ID int64 `json:"id"`
		} `json:"values"`
	}
	e.ae("GET", "/users?fields=id", nil).want(t, http.StatusOK).decode(t, &users)
	if len(users.Values) != 3 {
		t.Errorf("users query: %+v", users)
	}
}

func (e *env) queryProspects(params url.Values) (prospectPage, reply) {
	e.t.Helper()
	r := e.ae("GET", "/prospects?"+params.Encode(), nil)
	var p prospectPage
	if r.status == http.StatusOK {
		r.decode(e.t, &p)
	}
	return p, r
}

// prospects is queryProspects for a query that must succeed.
func (e *env) prospects(params url.Values) prospectPage {
	e.t.Helper()
	p, r := e.queryProspects(params)
	r.want(e.t, http.StatusOK)
	return p
}

func TestAEQueryPaging(t *testing.T) {
	e := seeded(t)
	params := url.Values{"fields": {"id,updatedAt"}, "orderBy": {"updatedAt ASC"}, "limit": {"5"}}
	var got []int64
	var sizes []int
	page, r := e.queryProspects(params)
	for {
		if r.status != http.StatusOK {
			t.Fatalf("page: %d %s", r.status, r.body)
		}
		sizes = append(sizes, len(page.Values))
		for _, v := range page.Values {
			got = append(got, v.ID)
		}
		if page.NextPageToken == nil {
			if page.NextPageURL != nil {
				t.Errorf("last page has nextPageUrl")
			}
			break
		}
		// Only fields may accompany the token.
		bad := url.Values{"fields": {"id"}, "nextPageToken": {*page.NextPageToken}, "limit": {"5"}}
		if _, r := e.queryProspects(bad); r.status != http.StatusBadRequest {
			t.Errorf("token with limit: %d", r.status)
		}
		// nextPageUrl is directly usable.
		r = e.do(e.newRequest("GET", strings.TrimPrefix(*page.NextPageURL, e.srv.URL), nil, "Pardot-Business-Unit-Id", emulator.BusinessUnitID))
		page = prospectPage{}
		if r.status == http.StatusOK {
			r.decode(t, &page)
		}
	}
	want := []int64{}
	for id := int64(emulator.ProspectDoNotSync); id <= emulator.ProspectQuoteEmail; id++ {
		want = append(want, id)
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{5, 5, 4}) {
		t.Errorf("paged %v sizes %v", got, sizes)
	}

	// updatedAt filters: seed updatedAt values are testStart()-14m ... testStart()-1m.
	cut := testStart().Add(-5 * time.Minute).In(time.FixedZone("", 2*3600)).Format(time.RFC3339)
	page = e.prospects(url.Values{"fields": {"id"}, "orderBy": {"updatedAt"}, "updatedAtAfter": {cut}})
	if n := len(page.Values); n != 4 {
		t.Errorf("updatedAtAfter: %d values", n)
	}
	page = e.prospects(url.Values{"fields": {"id"}, "orderBy": {"updatedAt"}, "updatedAtAfterOrEqualTo": {cut}})
	if n := len(page.Values); n != 5 {
		t.Errorf("updatedAtAfterOrEqualTo: %d values", n)
	}
	// A change made while paging moves the prospect to the end of the updatedAt order.
	page = e.prospects(url.Values{"fields": {"id"}, "orderBy": {"updatedAt"}, "limit": {"3"}})
	e.clock.Advance(time.Minute)
	e.ae("PATCH", "/prospects/1001", map[string]any{"phone": "123"}).want(t, http.StatusNoContent) // no fields asked: no body
	var rest []int64
	for tok := page.NextPageToken; tok != nil; {
		p, r := e.queryProspects(url.Values{"fields": {"id"}, "nextPageToken": {*tok}})
		if r.status != http.StatusOK {
			t.Fatalf("next: %d %s", r.status, r.body)
		}
		for _, v := range p.Values {
			rest = append(rest, v.ID)
		}
		tok = p.NextPageToken
	}
	// The first page held 1001..1003 (seeded in updatedAt order); the rest is 1004..1014, then
	// 1001 again, now the most recently updated.
	wantRest := []int64{}
	for id := int64(emulator.ProspectConvertedLead); id <= emulator.ProspectQuoteEmail; id++ {
		wantRest = append(wantRest, id)
	}
	wantRest = append(wantRest, emulator.ProspectDoNotSync)
	if !slices.Equal(rest, wantRest) {
		t.Errorf("after the first page %v, want %v: the updated prospect last", rest, wantRest)
	}

	// DESC order, deleted filter, id filter, bad parameters.
	page = e.prospects(url.Values{"fields": {"id"}, "orderBy": {"id DESC"}, "limit": {"2"}})
	if len(page.Values) != 2 || page.Values[0].ID != emulator.ProspectQuoteEmail {
		t.Errorf("DESC: %+v", page.Values)
	}
	e.ae("DELETE", "/prospects/1005", nil).want(t, http.StatusNoContent)
	page = e.prospects(url.Values{"fields": {"id,isDeleted"}, "deleted": {"true"}})
	if len(page.Values) != 1 || page.Values[0].ID != 1005 || !page.Values[0].IsDeleted {
		t.Errorf("deleted=true: %+v", page.Values)
	}
	page = e.prospects(url.Values{"fields": {"id"}})
	if len(page.Values) != 13 {
		t.Errorf("default excludes deleted: %d", len(page.Values))
	}
	page = e.prospects(url.Values{"fields": {"id"}, "idGreaterThan": {"1012"}, "deleted": {"all"}})
	if len(page.Values) != 2 || page.Values[0].ID != emulator.ProspectCRMDeleted || page.Values[1].ID != emulator.ProspectQuoteEmail {
		t.Errorf("idGreaterThan: %+v, want 1013, 1014", page.Values)
	}
	for _, bad := range []url.Values{
		{"orderBy": {"updatedAt"}},                  // no fields
		{"fields": {"id"}, "limit": {"1001"}},       // limit too big
		{"fields": {"id"}, "orderBy": {"email"}},    // not sortable
		{"fields": {"id"}, "updatedAtAfter": {"x"}}, // bad time
		{"fields": {"id"}, "bogus": {"1"}},          // unknown parameter
		{"fields": {"id"}, "nextPageToken": {"garbage"}},
	} {
		if _, r := e.queryProspects(bad); r.status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", bad, r.status, r.body)
		}
	}
	// Page tokens expire after 4 hours.
	page = e.prospects(url.Values{"fields": {"id"}, "limit": {"1"}})
	e.clock.Advance(5 * time.Hour)
	e.token = e.newToken()
	_, r = e.queryProspects(url.Values{"fields": {"id"}, "nextPageToken": {*page.NextPageToken}})
	if code, _ := r.aeError(t); code != 210 {
		t.Errorf("expired token: %d %s", r.status, r.body)
	}
}

func TestAEConcurrencyLimit(t *testing.T) {
	e := seeded(t)
	// Latency keeps requests in flight; they are cancelled once the 6th is refused.
	e.emu.SetFaults(emulator.Faults{Match: "/api/v5", Latency: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type res struct {
		status int
		code   int
		err    error
	}
	results := make(chan res, 6)
	for i := 0; i < 6; i++ {
		go func() {
			req := e.newRequest("GET", "/api/v5/objects/prospects/1001?fields=id", nil, "Pardot-Business-Unit-Id", emulator.BusinessUnitID).WithContext(ctx)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				results <- res{err: err}
				return
			}
			defer resp.Body.Close()
			var body struct{ Code int }
			// Not readReply: it would call t.Fatal off the test goroutine.
			err = json.NewDecoder(resp.Body).Decode(&body)
			results <- res{status: resp.StatusCode, code: body.Code, err: err}
		}()
	}
	select {
	case got := <-results:
		if got.err != nil || got.status != http.StatusTooManyRequests || got.code != 66 {
			t.Errorf("first answer: %+v, want 429 code 66", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no request was refused")
	}
	cancel()
	e.emu.SetFaults(emulator.Faults{})
	// The cancelled requests free their slots asynchronously; wait for that.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.ae("GET", "/prospects/1001?fields=id", nil)
		if r.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slots never freed: %d %s", r.status, r.body)
		}
		// A refused request is instant, so this loop is bounded by the deadline, not a sleep.
	}
}

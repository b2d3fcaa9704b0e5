package emulator_test

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

func TestFaultKinds(t *testing.T) {
	e := seeded(t)
	lead := map[string]any{"LastName": "Faulty", "Company": "F"}
	cases := []struct {
		faults     emulator.Faults
		wantStatus int
		wantCode   string
	}{
		{emulator.Faults{Match: "POST /sobjects/Lead", Next500: 1}, 500, "UNKNOWN_EXCEPTION"},
		{emulator.Faults{Match: "POST /sobjects/Lead", Next503: 1}, 503, "SERVER_UNAVAILABLE"},
		{emulator.Faults{Match: "POST /sobjects/Lead", NextLockRow: 1}, 400, "UNABLE_TO_LOCK_ROW"},
		{emulator.Faults{Match: "POST /sobjects/Lead", NextRateLimit: 1}, 403, "REQUEST_LIMIT_EXCEEDED"},
		{emulator.Faults{Match: "/sobjects/Lead", Rate500: 1}, 500, "UNKNOWN_EXCEPTION"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c.faults), func(t *testing.T) {
			e.emu.SetFaults(c.faults)
			// A non-matching request is untouched.
			if r := e.sf("GET", "/query?q="+url.QueryEscape("SELECT Id FROM User"), nil); r.status != http.StatusOK {
				t.Errorf("non-matching request: %d", r.status)
			}
			r := e.sf("POST", "/sobjects/Lead", lead)
			if code, _ := r.sfError(t); r.status != c.wantStatus || code != c.wantCode {
				t.Errorf("got %d %s", r.status, r.body)
			}
			if r.header.Get("Sforce-Limit-Info") == "" {
				t.Error("fault response without Sforce-Limit-Info")
			}
			e.emu.SetFaults(emulator.Faults{})
			if r := e.sf("POST", "/sobjects/Lead", lead); r.status != http.StatusCreated {
				t.Errorf("after faults: %d %s", r.status, r.body)
			}
		})
	}
	// The Next* counters are exact: two failures, then success.
	e.emu.SetFaults(emulator.Faults{Next503: 2})
	var got []int
	for i := 0; i < 3; i++ {
		got = append(got, e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).status)
	}
	if fmt.Sprint(got) != "[503 503 200]" {
		t.Errorf("Next503=2 gave %v", got)
	}

	// AE mapping of the fault kinds.
	for _, c := range []struct {
		faults     emulator.Faults
		wantStatus int
		wantCode   int
	}{
		{emulator.Faults{NextRateLimit: 1}, 429, 66},
		{emulator.Faults{Next500: 1}, 500, 183},
		{emulator.Faults{Next503: 1}, 503, 183},
		{emulator.Faults{NextLockRow: 1}, 409, 62},
	} {
		e.emu.SetFaults(c.faults)
		r := e.ae("GET", "/prospects/1001?fields=id", nil)
		if code, _ := r.aeError(t); r.status != c.wantStatus || code != c.wantCode {
			t.Errorf("AE %+v: %d %s", c.faults, r.status, r.body)
		}
	}
	e.emu.SetFaults(emulator.Faults{})
}

func TestFaultScope(t *testing.T) {
	e := seeded(t)
	e.emu.SetFaults(emulator.Faults{Next500: 1})
	// Neither the token endpoint nor the controls consume the fault.
	e.token = e.newToken()
	if r := e.control("GET", "/counters", nil); r.status != http.StatusOK {
		t.Errorf("control faulted: %d", r.status)
	}
	if r := e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil); r.status != http.StatusInternalServerError {
		t.Errorf("first API call: %d", r.status)
	}
	// A Match naming the token endpoint does fault it.
	e.emu.SetFaults(emulator.Faults{Match: "/services/oauth2/token", Next503: 1})
	r := e.postForm("/services/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {emulator.ClientID}, "client_secret": {emulator.ClientSecret}})
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("token fault: %d %s", r.status, r.body)
	}
	e.emu.SetFaults(emulator.Faults{})

	// Faults over HTTP: latency as a string or as nanoseconds; GET shows remaining counters.
	if r := e.control("PUT", "/faults", `{"match":"/api/v5","latency":"1ms","next500":3}`); r.status != http.StatusNoContent {
		t.Fatalf("PUT faults: %d %s", r.status, r.body)
	}
	e.ae("GET", "/prospects/1001?fields=id", nil).want(t, http.StatusInternalServerError) // the first of the three
	var f emulator.Faults
	e.control("GET", "/faults", nil).want(t, http.StatusOK).decode(t, &f)
	if f.Latency != time.Millisecond || f.Next500 != 2 || f.Match != "/api/v5" {
		t.Errorf("GET faults %+v", f)
	}
	if r := e.control("PUT", "/faults", `{"latency":2000000}`); r.status != http.StatusNoContent {
		t.Fatalf("PUT faults ns: %d", r.status)
	}
	f = emulator.Faults{}
	e.control("GET", "/faults", nil).want(t, http.StatusOK).decode(t, &f)
	if f.Latency != 2*time.Millisecond || f.Next500 != 0 {
		t.Errorf("GET faults after ns %+v", f)
	}
	if r := e.control("PUT", "/faults", `{"latency":"soon"}`); r.status != http.StatusBadRequest {
		t.Errorf("bad latency accepted: %d", r.status)
	}
	e.emu.SetFaults(emulator.Faults{})
}

func TestFaultDrops(t *testing.T) {
	e := seeded(t)
	// Fresh connections, so a dropped one is never silently retried by the transport.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	create := func(lastName string) error {
		req := e.newRequest("POST", "/services/data/v62.0/sobjects/Lead", map[string]any{"LastName": lastName, "Company": "Drop"})
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	count := func(lastName string) int {
		return e.query(`SELECT Id FROM Lead WHERE LastName = '` + lastName + `'`).TotalSize
	}

	e.emu.SetFaults(emulator.Faults{Match: "POST /sobjects/Lead", NextDrop: 1})
	if err := create("DropBefore"); err == nil {
		t.Error("drop before: request succeeded")
	}
	if n := count("DropBefore"); n != 0 {
		t.Errorf("drop before processing wrote %d records", n)
	}

	e.emu.SetFaults(emulator.Faults{Match: "POST /sobjects/Lead", NextDropAfter: 1})
	if err := create("DropAfter"); err == nil {
		t.Error("drop after: request succeeded")
	}
	if n := count("DropAfter"); n != 1 {
		t.Errorf("drop after commit: %d records, want 1", n)
	}

	// AE drop-after commits the PATCH.
	e.emu.SetFaults(emulator.Faults{Match: "PATCH /api/v5", NextDropAfter: 1})
	req := e.newRequest("PATCH", "/api/v5/objects/prospects/1006", map[string]any{"jobTitle": "Dropped but kept"}, "Pardot-Business-Unit-Id", emulator.BusinessUnitID)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Error("AE drop after: request succeeded")
	}
	e.emu.SetFaults(emulator.Faults{})
	if p, r := e.getProspect(emulator.ProspectAssignedNoMatch, ""); r.status != http.StatusOK || str(p.JobTitle) != "Dropped but kept" {
		t.Errorf("AE drop after did not commit: %d %+v", r.status, p)
	}
	if c := e.emu.Counters(); c.Salesforce.ByEndpoint["POST sobjects/Lead"] != 2 {
		t.Errorf("dropped requests are still counted: %+v", c.Salesforce.ByEndpoint)
	}
}

func TestCounters(t *testing.T) {
	e := seeded(t)
	e.newToken()
	e.query(`SELECT Id FROM Lead`)
	id := e.createLead(map[string]any{"LastName": "Count", "Company": "C"})
	e.sf("PATCH", "/sobjects/Lead/"+id, map[string]any{"Title": "t"}).want(t, http.StatusNoContent)
	e.composite(false, sub("GET", "/sobjects/Lead/"+id, "g", nil))
	e.ae("GET", "/prospects?fields=id", nil).want(t, http.StatusOK)
	e.ae("PATCH", "/prospects/1001", map[string]any{"phone": "1"}).want(t, http.StatusNoContent)
	e.ae("GET", "/users/101?fields=id", nil).want(t, http.StatusOK)

	var c emulator.Counters
	e.control("GET", "/counters", nil).want(t, http.StatusOK).decode(t, &c)
	wantSF := map[string]int{"GET query": 1, "POST sobjects/Lead": 1, "PATCH sobjects/Lead": 1, "POST composite": 1}
	wantAE := map[string]int{"GET prospects": 1, "PATCH prospects": 1, "GET users": 1}
	if c.Token != 2 || c.Salesforce.Total != 4 || c.Engagement.Total != 3 || fmt.Sprint(c.Salesforce.ByEndpoint) != fmt.Sprint(wantSF) || fmt.Sprint(c.Engagement.ByEndpoint) != fmt.Sprint(wantAE) {
		t.Errorf("counters %+v", c)
	}
	if r := e.control("POST", "/counters/reset", nil); r.status != http.StatusNoContent {
		t.Fatalf("reset counters: %d", r.status)
	}
	c = e.emu.Counters()
	if c.Token != 0 || c.Salesforce.Total != 0 || len(c.Engagement.ByEndpoint) != 0 || c.Salesforce.ByEndpoint == nil {
		t.Errorf("after reset %+v", c)
	}
	if r := e.sf("GET", "/sobjects/Lead/"+id, nil); r.header.Get("Sforce-Limit-Info") != "api-usage=1/100000" {
		t.Errorf("usage after reset: %q", r.header.Get("Sforce-Limit-Info"))
	}
}

// checksum is Salesforce's 15→18 id suffix, implemented independently of the emulator.
func checksum(id15 string) string {
	out := ""
	for chunk := 0; chunk < 3; chunk++ {
		n := 0
		for i := 0; i < 5; i++ {
			if c := id15[chunk*5+i]; c >= 'A' && c <= 'Z' {
				n += 1 << i
			}
		}
		out += string("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[n])
	}
	return out
}

func TestSeedContent(t *testing.T) {
	e := seeded(t)
	for _, id := range []string{
		emulator.IntegrationUserID, emulator.UserAliceID, emulator.UserBobID, emulator.UserCarolID, emulator.QueueLeadsID,
		emulator.LeadMatchID, emulator.LeadMatchContactAndLeadID, emulator.LeadConvertedID, emulator.LeadMatchUnassignedID,
		emulator.LeadCRMDeletedID, emulator.ContactMatchContactAndLeadID, emulator.ContactConvertedID,
		emulator.AccountMatchContactID, emulator.AccountConvertedID,
	} {
		if len(id) != 18 || checksum(id[:15]) != id[15:] {
			t.Errorf("id %s has a wrong checksum", id)
		}
	}

	type want struct {
		id       int64
		email    string
		assigned int64 // 0 = none
		sfID     string
	}
	for _, w := range []want{
		{emulator.ProspectDoNotSync, "donotsync@example.com", emulator.AEUserAlice, "[[crm_ignore_prospect]]"},
		{emulator.ProspectMatchLead, "match.lead@example.com", emulator.AEUserAlice, ""},
		{emulator.ProspectMatchContactAndLead, "both@example.com", emulator.AEUserAlice, ""},
		{emulator.ProspectConvertedLead, "converted@example.com", emulator.AEUserBob, ""},
		{emulator.ProspectMatchUnassigned, "unassigned.match@example.com", 0, ""},
		{emulator.ProspectAssignedNoMatch, "assigned.nomatch@example.com", emulator.AEUserBob, ""},
		{emulator.ProspectAssignedUnmapped, "assigned.unmapped@example.com", emulator.AEUserNoMapping, ""},
		{emulator.ProspectUnassignedNoMatch, "unassigned.one@example.com", 0, ""},
		{emulator.ProspectUnassignedNoMatch2, "unassigned.two@example.com", 0, ""},
		{emulator.ProspectNoEmail, "", emulator.AEUserAlice, ""},
		{emulator.ProspectBadEmail, "not-an-email", emulator.AEUserAlice, ""},
		{emulator.ProspectMissingNames, "missing.names@example.com", emulator.AEUserAlice, ""},
		{emulator.ProspectCRMDeleted, "crm.deleted@example.com", emulator.AEUserAlice, "[[crm_deleted]]"},
		{emulator.ProspectQuoteEmail, "o'neil+x@example.com", emulator.AEUserBob, ""},
	} {
		p, r := e.getProspect(w.id, "")
		if r.status != http.StatusOK {
			t.Errorf("prospect %d: %d", w.id, r.status)
			continue
		}
		var assigned int64
		if p.AssignedToID != nil {
			assigned = *p.AssignedToID
		}
		email := ""
		if p.Email != nil {
			email = *p.Email
		}
		sfID := ""
		if p.SalesforceID != nil {
			sfID = *p.SalesforceID
		}
		if email != w.email || assigned != w.assigned || sfID != w.sfID {
			t.Errorf("prospect %d: email %q assigned %d sfId %q", w.id, email, assigned, sfID)
		}
	}
	if p, r := e.getProspect(emulator.ProspectMissingNames, ""); r.status != http.StatusOK || p.LastName != nil || p.Company != nil {
		t.Errorf("missing names prospect: %d %+v, want it read, without names", r.status, p)
	}
	// Matching Salesforce records, found the way the sync will look for them.
	matches := func(sobject, email string) []string {
		return ids(e.query(`SELECT Id FROM ` + sobject + ` WHERE Email = '` + strings.ReplaceAll(email, "'", `\'`) + `' ORDER BY Id`).Records)
	}
	for _, c := range []struct{ sobject, email, want string }{
		{"Lead", "match.lead@example.com", emulator.LeadMatchID},
		{"Lead", "both@example.com", emulator.LeadMatchContactAndLeadID},
		{"Contact", "both@example.com", emulator.ContactMatchContactAndLeadID},
		{"Lead", "converted@example.com", emulator.LeadConvertedID},
		{"Contact", "converted@example.com", emulator.ContactConvertedID},
		{"Lead", "unassigned.match@example.com", emulator.LeadMatchUnassignedID},
		{"Lead", "assigned.nomatch@example.com", ""},
		{"Contact", "assigned.nomatch@example.com", ""},
		{"Lead", "o'neil+x@example.com", ""},
		{"Lead", "crm.deleted@example.com", ""},
	} {
		if got := strings.Join(matches(c.sobject, c.email), ","); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.sobject, c.email, got, c.want)
		}
	}
	conv := e.getRecord("Lead", emulator.LeadConvertedID)
	if conv["IsConverted"] != true || conv["ConvertedContactId"] != emulator.ContactConvertedID {
		t.Errorf("converted lead %v", conv)
	}
	if p := e.query(`SELECT Id FROM User WHERE Username = 'integration@emulator.local'`); ids(p.Records)[0] != emulator.IntegrationUserID {
		t.Errorf("integration user %v", p.Records)
	}
	var rule emulator.AssignmentRule
	e.control("GET", "/assignment-rule", nil).want(t, http.StatusOK).decode(t, &rule)
	if rule.Mode != "round-robin" || strings.Join(rule.UserIDs, ",") != emulator.UserAliceID+","+emulator.UserCarolID {
		t.Errorf("seed rule %+v", rule)
	}

	// Reset wipes everything except the integration user; Seed restores, repeatably.
	e.emu.SetFaults(emulator.Faults{Match: "/nothing", Next500: 5})
	if r := e.control("POST", "/reset", nil); r.status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	if _, r := e.getProspect(emulator.ProspectMatchLead, ""); r.status != http.StatusNotFound {
		t.Errorf("prospect survived reset: %d", r.status)
	}
	if p := e.query(`SELECT Id FROM User`); p.TotalSize != 1 {
		t.Errorf("users after reset: %v", ids(p.Records))
	}
	var f emulator.Faults
	e.control("GET", "/faults", nil).want(t, http.StatusOK).decode(t, &f)
	rule = emulator.AssignmentRule{}
	e.control("GET", "/assignment-rule", nil).want(t, http.StatusOK).decode(t, &rule)
	if f.Next500 != 0 || rule.Mode != "none" {
		t.Errorf("reset kept faults %+v or rule %+v", f, rule)
	}
	for i := 0; i < 2; i++ {
		if r := e.control("POST", "/seed", nil); r.status != http.StatusNoContent {
			t.Fatalf("seed: %d %s", r.status, r.body)
		}
	}
	if p := e.query(`SELECT Id FROM Lead`); p.TotalSize != 4 {
		t.Errorf("live leads after reseed: %d", p.TotalSize)
	}
	var page prospectPage
	e.ae("GET", "/prospects?fields=id", nil).want(t, http.StatusOK).decode(t, &page)
	if len(page.Values) != 14 {
		t.Errorf("prospects after reseed: %d", len(page.Values))
	}
}

func TestConcurrentWrites(t *testing.T) {
	e := seeded(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan string, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			req := e.newRequest("POST", "/services/data/v62.0/sobjects/Lead", map[string]any{
				"LastName": fmt.Sprintf("Concurrent %d", i), "Company": "Parallel", "Email": fmt.Sprintf("c%d@example.com", i)})
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				errs <- fmt.Sprintf("create %d: status %d", i, resp.StatusCode)
			}
		}()
		go func() {
			defer wg.Done()
			req := e.newRequest("GET", "/services/data/v62.0/query?q="+url.QueryEscape("SELECT Id, OwnerId FROM Lead WHERE Company = 'Parallel'"), nil)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Sprintf("query: status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	p := e.query(`SELECT Id, OwnerId FROM Lead WHERE Company = 'Parallel'`)
	owners := map[string]int{}
	seen := map[string]bool{}
	for _, r := range p.Records {
		owners[r["OwnerId"].(string)]++
		seen[r["Id"].(string)] = true
	}
	// Round-robin is transactional, so 50 concurrent creates split exactly in half.
	if p.TotalSize != n || len(seen) != n || owners[emulator.UserAliceID] != n/2 || owners[emulator.UserCarolID] != n/2 {
		t.Errorf("total %d distinct %d owners %v", p.TotalSize, len(seen), owners)
	}
	if c := e.emu.Counters(); c.Salesforce.Total != 2*n+1 {
		t.Errorf("counted %d requests", c.Salesforce.Total)
	}
}

func TestFileDatabasePersists(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "emulator.db")
	emu, err := emulator.New(emulator.Options{DSN: dsn, Seed: true})
	if err != nil {
		t.Fatal(err)
	}
	emu.SetAssignmentRule(emulator.AssignmentRule{Mode: "queue", QueueID: emulator.QueueLeadsID})
	contactID, err := emu.ConvertLead(t.Context(), emulator.LeadMatchUnassignedID)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening keeps the data; Seed is skipped because the database is not empty.
	e := newEnv(t, emulator.Options{DSN: dsn, Seed: true})
	if rec := e.getRecord("Contact", contactID); rec["AccountId"] == nil {
		t.Errorf("contact lost: %v", rec)
	}
	if lead := e.getRecord("Lead", emulator.LeadMatchUnassignedID); lead["IsConverted"] != true {
		t.Errorf("conversion lost: %v", lead)
	}
	id := e.createLead(map[string]any{"LastName": "Persist", "Company": "P"})
	if owner := e.getRecord("Lead", id)["OwnerId"]; owner != emulator.QueueLeadsID {
		t.Errorf("rule lost: owner %v", owner)
	}
}

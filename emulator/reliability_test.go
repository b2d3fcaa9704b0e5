package emulator_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

// Controls the reliability suite (issue 11) drives: fault rules, fault counters, the token
// lifetime, the daily limits and AE's connector-only CRM fields, all over HTTP.

// putFaults sets the faults over HTTP from a raw JSON body.
func (e *env) putFaults(body string) {
	e.t.Helper()
	e.control("PUT", "/faults", body).want(e.t, http.StatusNoContent)
}

func (e *env) faultCounters() map[string]int {
	e.t.Helper()
	var c emulator.Counters
	e.control("GET", "/counters", nil).want(e.t, http.StatusOK).decode(e.t, &c)
	return c.Faults
}

func TestFaultRulesOrder(t *testing.T) {
	e := seeded(t)
	e.putFaults(`{"rules":[
		{"match":"/api/v5","next503":1},
		{"match":"POST /sobjects/Lead","nextLockRow":1},
		{"next500":1,"rules":[{"match":"/query","nextRateLimit":1}]}]}`)
	lead := map[string]any{"LastName": "Rules", "Company": "R"}
	got := []string{}
	note := func(r reply) { got = append(got, strconv.Itoa(r.status)) }
	note(e.ae("GET", "/prospects/1001?fields=id", nil))    // rule 1
	note(e.ae("GET", "/prospects/1001?fields=id", nil))    // rule 1 spent: rule 3
	note(e.sf("POST", "/sobjects/Lead", lead))             // rule 2
	note(e.sf("POST", "/sobjects/Lead", lead))             // rules 2 and 3 spent
	note(e.sf("GET", "/query?q=SELECT+Id+FROM+User", nil)) // rule 4, nested in rule 3
	note(e.sf("GET", "/query?q=SELECT+Id+FROM+User", nil))
	if want := "503 500 400 201 403 200"; fmt.Sprint(got) != "["+want+"]" {
		t.Errorf("statuses %v, want [%s]", got, want)
	}
	// GET shows every rule with what is left of its counters.
	var f emulator.Faults
	e.control("GET", "/faults", nil).want(t, http.StatusOK).decode(t, &f)
	if len(f.Rules) != 3 || f.Rules[0].Match != "/api/v5" || f.Rules[0].Next503 != 0 || len(f.Rules[2].Rules) != 1 || f.Rules[2].Rules[0].Match != "/query" {
		t.Errorf("GET faults %+v", f)
	}
	want := map[string]int{"engagement 503": 1, "engagement 500": 1, "salesforce lock-row": 1, "salesforce rate-limit": 1}
	if c := e.faultCounters(); !maps.Equal(c, want) {
		t.Errorf("fault counters %v, want %v", c, want)
	}
	// The counters reset with the others; SetFaults keeps its own copy of the rules.
	e.control("POST", "/counters/reset", nil).want(t, http.StatusNoContent)
	if c := e.faultCounters(); c == nil || len(c) != 0 {
		t.Errorf("fault counters after reset: %v", c)
	}
	rules := []emulator.Faults{{Match: "/api/v5", Next503: 1}}
	e.emu.SetFaults(emulator.Faults{Rules: rules})
	e.ae("GET", "/prospects/1001?fields=id", nil).want(t, http.StatusServiceUnavailable)
	if rules[0].Next503 != 1 {
		t.Error("SetFaults counted down the caller's rule")
	}
	if f := e.emu.Faults(); f.Rules[0].Next503 != 0 {
		t.Errorf("Faults() %+v", f)
	}
}

func TestFaultRulesNested(t *testing.T) {
	e := seeded(t)
	create := sub("POST", "/sobjects/Lead", "lead", map[string]any{"LastName": "Nested", "Company": "N"})
	read := sub("GET", "/sobjects/Lead/"+emulator.LeadMatchID, "read", nil)
	compositeStatus := func(subs ...map[string]any) reply {
		return e.sf("POST", "/composite", map[string]any{"allOrNone": false, "compositeRequest": subs})
	}

	// Without nested, a composite request is only its own path.
	e.putFaults(`{"match":"POST /sobjects/Lead","next503":1}`)
	compositeStatus(read, create).want(t, http.StatusOK)
	// Nested: a composite request carrying a Lead create takes the fault, as a whole.
	e.putFaults(`{"match":"POST /sobjects/Lead","nested":true,"next503":2}`)
	out := e.composite(false, read) // no Lead create: untouched, its body intact
	if len(out.CompositeResponse) != 1 || out.CompositeResponse[0].HTTPStatusCode != http.StatusOK {
		t.Errorf("composite without a Lead create: %+v", out)
	}
	r := compositeStatus(read, create).want(t, http.StatusServiceUnavailable)
	if code, _ := r.sfError(t); code != "SERVER_UNAVAILABLE" {
		t.Errorf("nested fault: %s", r.body)
	}
	r = e.sf("POST", "/sobjects/Lead", map[string]any{"LastName": "Direct", "Company": "N"}).want(t, http.StatusServiceUnavailable)
	if code, _ := r.sfError(t); code != "SERVER_UNAVAILABLE" {
		t.Errorf("direct create under a nested rule: %s", r.body)
	}
	out = e.composite(false, create) // both spent: the create runs
	if out.CompositeResponse[0].HTTPStatusCode != http.StatusCreated {
		t.Errorf("composite create after the faults: %+v", out)
	}

	// sObject Collections: each record counts as its own create; the request takes the fault.
	e.putFaults(`{"match":"POST /sobjects/Lead","nested":true,"next503":5}`)
	collection := func(method, path, typ string) int {
		body := map[string]any{"records": []map[string]any{{"attributes": map[string]any{"type": typ}, "LastName": "C", "Prospect_Id__c": "P-1"}}}
		return e.sf(method, path, body).status
	}
	if s := collection("POST", "/composite/sobjects", "Contact"); s == http.StatusServiceUnavailable {
		t.Error("a Contact collection create took the Lead fault")
	}
	if s := collection("POST", "/composite/sobjects", "Lead"); s != http.StatusServiceUnavailable {
		t.Errorf("Lead collection create: %d", s)
	}
	e.putFaults(`{"match":"PATCH /sobjects/Lead/Prospect_Id__c/P-1","nested":true,"next503":1}`)
	if s := collection("PATCH", "/composite/sobjects/Lead/Prospect_Id__c", ""); s != http.StatusServiceUnavailable {
		t.Errorf("Lead collection upsert: %d", s)
	}

	// The suite's case: a Lead create through composite is committed, then the connection drops.
	e.putFaults(`{"match":"POST /sobjects/Lead","nested":true,"nextDropAfter":1}`)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req := e.newRequest("POST", "/services/data/v62.0/composite", map[string]any{"compositeRequest": []map[string]any{
		sub("POST", "/sobjects/Lead", "lead", map[string]any{"LastName": "DroppedComposite", "Company": "N"})}})
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Error("composite drop-after: the request succeeded")
	}
	if n := e.query(`SELECT Id FROM Lead WHERE LastName = 'DroppedComposite'`).TotalSize; n != 1 {
		t.Errorf("composite drop-after committed %d Leads, want 1", n)
	}
	want := map[string]int{"salesforce 503": 4, "salesforce drop-after": 1}
	if c := e.faultCounters(); !maps.Equal(c, want) {
		t.Errorf("fault counters %v, want %v", c, want)
	}
}

// TestFaultRatesSeeded runs the suite's mix on both APIs: every kind shows up near its
// rate, the counters agree with what the client saw, and the same seed repeats the run.
func TestFaultRatesSeeded(t *testing.T) {
	e := seeded(t)
	const n = 400
	mix := `{"rate503":0.10,"rateLockRow":0.05,"rate500":0.02,"dropRate":0.02,"rateLimitRate":0.03,"spikeRate":0.05,"spike":"1us"}`
	faults := `{"seed":42,"rules":[{"match":"POST /sobjects/Lead","nested":true,"dropAfterRate":0.03},` + mix + `]}`
	// Fresh connections, so that no dropped request is retried by the transport.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	run := func() ([]string, map[string]int) {
		e.putFaults(faults)
		e.control("POST", "/counters/reset", nil).want(t, http.StatusNoContent)
		var seen []string
		for i := range n {
			var req *http.Request
			if i%2 == 0 {
				req = e.newRequest("GET", "/services/data/v62.0/sobjects/Lead/"+emulator.LeadMatchID, nil)
			} else {
				req = e.newRequest("GET", "/api/v5/objects/prospects/1001?fields=id", nil, "Pardot-Business-Unit-Id", emulator.BusinessUnitID)
			}
			resp, err := client.Do(req)
			if err != nil {
				seen = append(seen, "drop")
				continue
			}
			resp.Body.Close()
			seen = append(seen, strconv.Itoa(resp.StatusCode))
		}
		return seen, e.faultCounters()
	}
	first, counters := run()
	tally := map[string]int{}
	for _, s := range first {
		tally[s]++
	}
	// What the client saw is what the counters say (AE's lock-row is a 409, its rate limit
	// a 429; Salesforce's a 400 and a 403).
	sum := func(keys ...string) int {
		total := 0
		for _, k := range keys {
			total += counters[k]
		}
		return total
	}
	checks := []struct {
		seen    string
		counted int
		rate    float64
	}{
		{"503", sum("salesforce 503", "engagement 503"), 0.10},
		{"400", sum("salesforce lock-row"), 0.05 / 2},
		{"409", sum("engagement lock-row"), 0.05 / 2},
		{"500", sum("salesforce 500", "engagement 500"), 0.02},
		{"drop", sum("salesforce drop", "engagement drop"), 0.02},
		{"403", sum("salesforce rate-limit"), 0.03 / 2},
		{"429", sum("engagement rate-limit"), 0.03 / 2},
	}
	for _, c := range checks {
		if tally[c.seen] != c.counted {
			t.Errorf("%s: client saw %d, counters say %d (%v)", c.seen, tally[c.seen], c.counted, counters)
		}
		if want := c.rate * n; float64(c.counted) < want/3 || float64(c.counted) > want*3 {
			t.Errorf("%s: %d of %d requests, expected about %.0f", c.seen, c.counted, n, want)
		}
	}
	if spikes := sum("salesforce spike", "engagement spike"); spikes == 0 || counters["salesforce drop-after"] != 0 {
		t.Errorf("spikes %d, drop-after on reads %d", spikes, counters["salesforce drop-after"])
	}
	// The same seed and the same requests meet the same faults.
	second, again := run()
	if !slices.Equal(first, second) || !maps.Equal(counters, again) {
		t.Errorf("seed 42 did not repeat:\n%v\n%v", first, second)
	}
}

func TestFaultSpikeAndRateLimit(t *testing.T) {
	e := seeded(t)
	e.putFaults(`{"match":"/api/v5","spikeRate":1,"spike":"40ms","rateLimitRate":1}`)
	start := time.Now()
	r := e.ae("GET", "/prospects/1001?fields=id", nil).want(t, http.StatusTooManyRequests)
	if code, _ := r.aeError(t); code != 66 {
		t.Errorf("AE rate limit fault: %s", r.body)
	}
	if took := time.Since(start); took < 40*time.Millisecond {
		t.Errorf("spike of 40ms took %v", took)
	}
	e.putFaults(`{"match":"/sobjects/","rateLimitRate":1}`)
	r = e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusForbidden)
	if code, _ := r.sfError(t); code != "REQUEST_LIMIT_EXCEEDED" {
		t.Errorf("Salesforce rate limit fault: %s", r.body)
	}
	want := map[string]int{"engagement spike": 1, "engagement rate-limit": 1, "salesforce rate-limit": 1}
	if c := e.faultCounters(); !maps.Equal(c, want) {
		t.Errorf("fault counters %v, want %v", c, want)
	}
	e.control("PUT", "/faults", `{"spike":"soon"}`).want(t, http.StatusBadRequest)
	var f emulator.Faults
	e.control("GET", "/faults", nil).want(t, http.StatusOK).decode(t, &f)
	if f.Spike != 0 || f.Match != "/sobjects/" {
		t.Errorf("a refused PUT changed the faults: %+v", f)
	}
}

func TestTokenTTLControl(t *testing.T) {
	e := seeded(t)
	old := e.token
	var ttl struct {
		TTL string `json:"ttl"`
	}
	e.control("GET", "/token-ttl", nil).want(t, http.StatusOK).decode(t, &ttl)
	if ttl.TTL != "2h0m0s" {
		t.Errorf("default ttl %q", ttl.TTL)
	}
	e.control("PUT", "/token-ttl", `{"ttl":"3s"}`).want(t, http.StatusNoContent)
	e.control("GET", "/token-ttl", nil).want(t, http.StatusOK).decode(t, &ttl)
	if ttl.TTL != "3s" || e.emu.TokenTTL() != 3*time.Second {
		t.Errorf("ttl after PUT %q", ttl.TTL)
	}
	e.control("POST", "/counters/reset", nil).want(t, http.StatusNoContent)
	e.token = e.newToken()
	e.clock.Advance(2 * time.Second)
	e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusOK)
	e.clock.Advance(time.Second)
	r := e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusUnauthorized)
	if code, _ := r.sfError(t); code != "INVALID_SESSION_ID" {
		t.Errorf("expired token: %s", r.body)
	}
	if code, _ := e.ae("GET", "/prospects/1001?fields=id", nil).want(t, http.StatusUnauthorized).aeError(t); code != 184 {
		t.Errorf("expired token on AE: code %d", code)
	}
	// A token issued before keeps its own expiry (2h).
	e.token = old
	e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusOK)
	e.newToken()
	if c := e.emu.Counters(); c.Token != 2 {
		t.Errorf("token requests %d, want 2", c.Token)
	}

	e.control("PUT", "/token-ttl", `{"ttl":5000000000}`).want(t, http.StatusNoContent)
	if d := e.emu.TokenTTL(); d != 5*time.Second {
		t.Errorf("ttl from nanoseconds %v", d)
	}
	e.control("PUT", "/token-ttl", `{}`).want(t, http.StatusBadRequest)
	e.control("PUT", "/token-ttl", `{"ttl":"soon"}`).want(t, http.StatusBadRequest)
	e.control("PUT", "/token-ttl", `{"ttl":0}`).want(t, http.StatusNoContent) // back to Options.TokenTTL
	if d := e.emu.TokenTTL(); d != 2*time.Hour {
		t.Errorf("ttl 0 gave %v", d)
	}
	e.emu.SetTokenTTL(time.Minute)
	e.control("POST", "/reset", nil).want(t, http.StatusNoContent)
	if d := e.emu.TokenTTL(); d != 2*time.Hour {
		t.Errorf("ttl after reset %v", d)
	}
}

func TestDailyLimitsMidRun(t *testing.T) {
	e := seeded(t)
	e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusOK)
	e.ae("GET", "/prospects/1001?fields=id", nil).want(t, http.StatusOK)
	var l emulator.Limits
	e.control("GET", "/limits", nil).want(t, http.StatusOK).decode(t, &l)
	if l != (emulator.Limits{DailyAPILimit: 100000, AEDailyLimit: 100000, APIUsed: 1, AEUsed: 1}) {
		t.Errorf("limits %+v", l)
	}
	// Lowered to today's usage: the next calls are refused, as each API refuses them.
	e.control("PUT", "/limits", `{"dailyApiLimit":1,"aeDailyLimit":1}`).want(t, http.StatusNoContent)
	r := e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusForbidden)
	if code, _ := r.sfError(t); code != "REQUEST_LIMIT_EXCEEDED" || r.header.Get("Sforce-Limit-Info") != "api-usage=1/1" {
		t.Errorf("Salesforce over the limit: %s %q", r.body, r.header.Get("Sforce-Limit-Info"))
	}
	if code, _ := e.ae("GET", "/prospects/1001?fields=id", nil).want(t, http.StatusTooManyRequests).aeError(t); code != 122 {
		t.Errorf("AE over the limit: code %d", code)
	}
	// Raised again: the calls pass.
	e.control("PUT", "/limits", `{"dailyApiLimit":3,"aeDailyLimit":3}`).want(t, http.StatusNoContent)
	e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusOK)
	e.ae("GET", "/prospects/1001?fields=id", nil).want(t, http.StatusOK)
	// Or the usage starts again, as on a new day, and the request counters stay.
	e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusOK)
	e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusForbidden)
	before := e.emu.Counters()
	e.control("PUT", "/limits", `{"apiUsed":0,"aeUsed":0}`).want(t, http.StatusNoContent)
	e.control("GET", "/limits", nil).want(t, http.StatusOK).decode(t, &l)
	if l != (emulator.Limits{DailyAPILimit: 3, AEDailyLimit: 3, APIUsed: 0, AEUsed: 0}) {
		t.Errorf("limits after resetting usage %+v", l)
	}
	if after := e.emu.Counters(); after.Salesforce.Total != before.Salesforce.Total || after.Engagement.Total != before.Engagement.Total {
		t.Errorf("resetting usage changed the counters: %+v → %+v", before, after)
	}
	r = e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusOK)
	if got := r.header.Get("Sforce-Limit-Info"); got != "api-usage=1/3" {
		t.Errorf("Sforce-Limit-Info %q", got)
	}
	e.emu.SetLimits(emulator.LimitsChange{DailyAPILimit: new(int)})
	if l := e.emu.Limits(); l.DailyAPILimit != 0 || l.AEDailyLimit != 3 {
		t.Errorf("SetLimits %+v", l)
	}
}

func TestProspectCRMControl(t *testing.T) {
	e := seeded(t)
	var created struct {
		ID int64 `json:"id"`
	}
	e.ae("POST", "/prospects", map[string]any{"email": "ignored@example.com", "lastName": "Ignored"}).want(t, http.StatusCreated).decode(t, &created)
	// The API refuses the field; the control writes it as AE's connector would.
	if code, _ := e.ae("PATCH", "/prospects/"+strconv.FormatInt(created.ID, 10), map[string]any{"salesforceId": "[[crm_ignore_prospect]]"}).want(t, http.StatusBadRequest).aeError(t); code != 180 {
		t.Errorf("API write of salesforceId: code %d", code)
	}
	before, _ := e.getProspect(created.ID, "")
	e.clock.Advance(time.Minute)
	crm := "/prospects/" + strconv.FormatInt(created.ID, 10) + "/crm"
	e.control("PUT", crm, `{"salesforceId":"[[crm_ignore_prospect]]","salesforceLeadId":"`+emulator.LeadMatchID+`"}`).want(t, http.StatusNoContent)
	p, _ := e.getProspect(created.ID, "")
	if str(p.SalesforceID) != "[[crm_ignore_prospect]]" || str(p.SalesforceLeadID) != emulator.LeadMatchID || p.SalesforceContactID != nil || p.UpdatedAt == before.UpdatedAt {
		t.Errorf("after the control: %+v (updatedAt before %s)", p, before.UpdatedAt)
	}
	// Absent fields stay, "" clears.
	e.control("PUT", crm, `{"salesforceLeadId":""}`).want(t, http.StatusNoContent)
	if p, _ := e.getProspect(created.ID, ""); str(p.SalesforceID) != "[[crm_ignore_prospect]]" || p.SalesforceLeadID != nil {
		t.Errorf("after clearing the Lead id: %+v", p)
	}
	e.control("PUT", crm, `{}`).want(t, http.StatusBadRequest)
	e.control("PUT", "/prospects/x/crm", `{"salesforceId":""}`).want(t, http.StatusBadRequest)
	e.control("PUT", "/prospects/999999/crm", `{"salesforceId":""}`).want(t, http.StatusNotFound)
	e.ae("DELETE", "/prospects/"+strconv.FormatInt(created.ID, 10), nil).want(t, http.StatusNoContent)
	e.control("PUT", crm, `{"salesforceId":""}`).want(t, http.StatusNotFound)
	// In Go.
	marker := "[[crm_deleted]]"
	if err := e.emu.SetProspectCRM(t.Context(), emulator.ProspectMatchLead, emulator.ProspectCRM{SalesforceContactID: &marker}); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.getProspect(emulator.ProspectMatchLead, ""); str(p.SalesforceContactID) != marker {
		t.Errorf("SetProspectCRM: %+v", p)
	}
}

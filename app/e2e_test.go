//go:build !nodev

package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/prospect-sync/prospect-sync/codec"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/sftest"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// One embedded Temporal server + emulator + worker for the whole package: starting the server
// costs about a second, building it minutes, so tests share it and use distinct prospects.
var (
	testMu  sync.Mutex
	testApp *App
	testCfg Config
	testSF  *salesforce.Client
	// testPerson acts as Alice: changes meant as a person's, which the feed must not take
	// for the integration's own writes.
	testPerson *salesforce.Client
	testAE     *engagement.Client
	testLog    = zerolog.New(io.Discard)
	startErr   error
	// testKeys is the shared app's key ring: every e2e sync runs with its payloads encrypted.
	testKeys []codec.Key
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// The fast tier (go test -short ./...) runs the unit, emulator and time-skipping tests.
		fmt.Println("app: skipped under -short: the end-to-end tests run the embedded Temporal server and the emulator (go test ./app/)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "prospect-sync-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if os.Getenv("E2E_LOG") != "" {
		testLog = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.DebugLevel)
	}
	testKeys = []codec.Key{{ID: "e2e-1", Secret: make([]byte, codec.KeySize)}}
	if _, err := rand.Read(testKeys[0].Secret); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env := map[string]string{
		"SYNC_ACTIVITY_TIMEOUT": "3s", // attempts lost with a stopped worker retry sooner
		// The tests start the feeds they need, with their own intervals and cursors.
		"PROSPECT_SYNC_START_FEEDS": "false",
		// A sync held back for API budget probes again this often (production: 1m).
		"SALESFORCE_LIMIT_RETRY": "1s",
		// The default mapping with one field under "most recently updated", which
		// TestFieldEditedOnBothSidesUnderRecent edits on both sides.
		"SYNC_FIELD_MAPPING":      "firstName=FirstName,lastName=LastName,company=Company@Lead,jobTitle=Title:recent,phone=Phone",
		connect.EnvEncryptionKeys: testKeys[0].ID + "=" + base64.StdEncoding.EncodeToString(testKeys[0].Secret),
		connect.EnvCodecAddress:   "127.0.0.1:0",
	}
	testCfg, err = LoadConfig([]string{"-data-dir", dir, "-temporal-port", "0", "-ui-port", "0", "-emulator-port", "0", "-http-address", "127.0.0.1:0"}, func(k string) string { return env[k] })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCfg.EngagementShareEvery = 100 * time.Millisecond // workers joining are seen at once
	// A fresh database, so one partition per queue strands nothing; the versioning test reads
	// a queue's routing from its one partition (setCurrentVersion).
	testCfg.TaskQueuePartitions = 1
	restartApp(nil)
	code := 1
	if startErr == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, "start app:", startErr)
	}
	if testApp != nil {
		testApp.Stop()
	}
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "remove the test data:", err)
	}
	os.Exit(code)
}

// restartApp stops the shared app (if any) and starts it again on the same data, as a
// restarted worker process would. The emulator keeps its port so clients stay valid.
func restartApp(t *testing.T) {
	testMu.Lock()
	defer testMu.Unlock()
	cfg := testCfg
	if testApp != nil {
		var errT, errE error
		cfg.TemporalPort, errT = portOf(testApp.TemporalAddress)
		cfg.EmulatorPort, errE = portOf(testApp.EmulatorURL)
		testApp.Stop()
		if startErr = errors.Join(errT, errE); startErr != nil {
			if t != nil {
				t.Fatalf("restart: %v", startErr)
			}
			return
		}
	}
	testApp, startErr = Start(context.Background(), cfg, testLog)
	if startErr != nil {
		if t != nil {
			t.Fatalf("restart: %v", startErr)
		}
		return
	}
	testSF, startErr = salesforce.New(salesforce.Config{LoginURL: testApp.EmulatorURL, ClientID: emulator.ClientID, ClientSecret: emulator.ClientSecret})
	if startErr == nil {
		testAE, startErr = engagement.New(engagement.Config{BaseURL: testApp.EmulatorURL, BusinessUnitID: emulator.BusinessUnitID, Tokens: testSF})
	}
	if startErr == nil {
		testPerson, startErr = sftest.Person(testApp.EmulatorURL)
	}
}

// runSeq makes the emails of prospects a test creates unique per run, so tests can repeat
// (-count=N) against the one shared emulator.
var runSeq atomic.Int64

// unique turns "name@domain" into "name.<n>@domain", new on every call.
func unique(email string) string {
	local, domain, _ := strings.Cut(email, "@")
	return fmt.Sprintf("%s.%d.%d@%s", local, time.Now().UnixNano()%1e9, runSeq.Add(1), domain)
}

// portOf is the port of "host:port" or "scheme://host:port".
func portOf(addr string) (int, error) {
	port, err := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
	if err != nil || port <= 0 {
		return 0, fmt.Errorf("no port in %q", addr)
	}
	return port, nil
}

func app() *App {
	testMu.Lock()
	defer testMu.Unlock()
	return testApp
}

// waitStatus polls the sync-state query until ok holds, failing the test at the deadline.
func waitStatus(t *testing.T, id int64, ok func(workflows.SyncStatus) bool) workflows.SyncStatus {
	t.Helper()
	return waitStatusOf(t, func() client.Client { return app().Client() }, id, ok)
}

// waitStatusOf is waitStatus through the client c returns (asked again at each poll, since a
// test may restart the app).
func waitStatusOf(t *testing.T, c func() client.Client, id int64, ok func(workflows.SyncStatus) bool) workflows.SyncStatus {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	var last workflows.SyncStatus
	var lastErr error
	for time.Now().Before(deadline) {
		last, lastErr = workflows.QueryStatus(ctx, c(), id)
		if lastErr == nil && ok(last) {
			return last
		}
		time.Sleep(25 * time.Millisecond) // polling interval, not a wait for an outcome
	}
	t.Fatalf("prospect %d: condition not met within 60s; last status %+v, err %v", id, last, lastErr)
	return last
}

func inState(s prospect.SyncState) func(workflows.SyncStatus) bool {
	return func(st workflows.SyncStatus) bool { return st.State == s }
}

func startSync(t *testing.T, signal string, ids ...int64) {
	t.Helper()
	ch := make(chan int64, len(ids))
	for _, id := range ids {
		ch <- id
	}
	close(ch)
	if failures := workflows.SignalMany(context.Background(), app().Client(), ch, signal, nil, 8, nil); len(failures) > 0 {
		t.Fatalf("start syncs: %v", failures[0].Err)
	}
}

func leadsByEmail(t *testing.T, email string) []salesforce.Record {
	t.Helper()
	recs, err := testSF.Query(context.Background(), "SELECT Id, OwnerId, LastName, Company FROM Lead WHERE Email = "+salesforce.Quote(email))
	if err != nil {
		t.Fatalf("SOQL: %v", err)
	}
	return recs
}

func prospectOf(t *testing.T, id int64) engagement.Prospect {
	t.Helper()
	p, err := testAE.GetProspect(context.Background(), id)
	if err != nil {
		t.Fatalf("read prospect %d: %v", id, err)
	}
	return p
}

// searchAttr reads a workflow's Keyword search attribute as the Temporal UI would.
func searchAttr(t *testing.T, id int64, name string) string {
	t.Helper()
	resp, err := app().Client().DescribeWorkflowExecution(context.Background(), workflows.ProspectWorkflowID(id), "")
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	p, ok := resp.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[name]
	if !ok {
		return ""
	}
	var v string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return v
}

// TestAPICallsPerProspect counts, with the emulator's counters, the Salesforce and Account
// Engagement API calls one prospect costs on each path, and wants exactly the figures of
// docs/api-budget.md "What a lone sync costs"
// (warm caches: the first prospect of each path warms them; the fewest calls of the next three
// count, since syncs of other tests may run at the same time and the counters are global, so
// they can only add calls).
//
// Salesforce: one composite lookup (Leads + Contacts + the linked record) and one write (the
// create, the update, or R5's create-and-read-back composite). Account Engagement: the read of
// the prospect only; the link stays in the sync's state (AE's CRM ids are read-only), and a
// write happens only when something flows back (a Salesforce-mastered field, or an owner that
// is not the assigned user: R5's round-robin gives Alice, who is assigned back, or Carol, who
// has no AE user; the fewest of three counts Carol's). The user lookups are cached by then.
func TestAPICallsPerProspect(t *testing.T) {
	ctx := context.Background()
	type path struct {
		name   string
		state  prospect.SyncState
		signal string
		make   func(i int) int64
		sf, ae int // calls per prospect
	}
	newProspect := func(fields map[string]any) int64 {
		p, err := testAE.CreateProspect(ctx, fields)
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	paths := []path{
		{name: "R4 create Lead (owner set)", state: prospect.StateSynced, sf: 2, ae: 1, make: func(i int) int64 {
			return newProspect(map[string]any{"email": unique(fmt.Sprintf("calls.create%d@example.com", i)), "lastName": "C", "company": "Acme", "assignedToId": emulator.AEUserBob})
		}},
		{name: "R2 update matching Lead", state: prospect.StateSynced, sf: 2, ae: 1, make: func(i int) int64 {
			email := unique(fmt.Sprintf("calls.update%d@example.com", i))
			if _, err := testSF.Create(ctx, "Lead", map[string]any{"Email": email, "LastName": "Old", "Company": "Acme"}); err != nil {
				t.Fatal(err)
			}
			return newProspect(map[string]any{"email": email, "lastName": "New", "company": "Acme", "assignedToId": emulator.AEUserAlice})
		}},
		{name: "R5 create through assignment rule", state: prospect.StateSynced, signal: workflows.SignalUseActiveAssignmentRule, sf: 2, ae: 1, make: func(i int) int64 {
			return newProspect(map[string]any{"email": unique(fmt.Sprintf("calls.rule%d@example.com", i)), "lastName": "R", "company": "Acme"})
		}},
		{name: "R6 wait for assignment", state: prospect.StateWaitingForAssignment, sf: 0, ae: 1, make: func(i int) int64 {
			return newProspect(map[string]any{"email": unique(fmt.Sprintf("calls.wait%d@example.com", i)), "lastName": "W", "company": "Acme"})
		}},
		{name: "invalid email", state: prospect.StateSyncError, sf: 0, ae: 1, make: func(i int) int64 {
			return newProspect(map[string]any{"email": fmt.Sprintf("calls.bad,%d@example.com", i), "lastName": "B", "company": "Acme", "assignedToId": emulator.AEUserBob})
		}},
	}
	emu := app().Emulator()
	t.Logf("%-36s %10s %10s", "path", "Salesforce", "AE")
	for _, p := range paths {
		sf, ae := 1<<30, 1<<30
		for i := range 4 {
			id := p.make(i)
			before := emu.Counters()
			signal := p.signal
			if signal == "" {
				signal = workflows.SignalProspectChanged
			}
			startSync(t, signal, id)
			waitStatus(t, id, inState(p.state))
			after := emu.Counters()
			if i > 0 {
				sf = min(sf, after.Salesforce.Total-before.Salesforce.Total)
				ae = min(ae, after.Engagement.Total-before.Engagement.Total)
			}
		}
		t.Logf("%-36s %10d %10d", p.name, sf, ae)
		if sf != p.sf || ae != p.ae {
			t.Errorf("%s: %d Salesforce and %d Account Engagement calls, want %d and %d", p.name, sf, ae, p.sf, p.ae)
		}
	}
}

func TestRulesEndToEnd(t *testing.T) {
	tests := []struct {
		name   string
		id     int64
		state  prospect.SyncState
		check  func(t *testing.T, st workflows.SyncStatus, p engagement.Prospect)
		errorC string
	}{
		{name: "R1 do not sync", id: emulator.ProspectDoNotSync, state: prospect.StateDoNotSync, check: func(t *testing.T, _ workflows.SyncStatus, p engagement.Prospect) {
			if n := len(leadsByEmail(t, p.Email)); n != 0 {
				t.Errorf("%d leads for a do-not-sync prospect", n)
			}
		}},
		{name: "R2 matching lead", id: emulator.ProspectMatchLead, state: prospect.StateSynced, check: func(t *testing.T, st workflows.SyncStatus, p engagement.Prospect) {
			if st.CRMRecordID != emulator.LeadMatchID || searchAttr(t, p.ID, workflows.AttrCRMRecordID.GetName()) != emulator.LeadMatchID {
				t.Errorf("linked %s, want %s in the state and the CrmRecordId attribute", st.CRMRecordID, emulator.LeadMatchID)
			}
			if n := len(leadsByEmail(t, p.Email)); n != 1 {
				t.Errorf("%d leads, want the 1 matched", n)
			}
		}},
		{name: "R2 contact wins over lead", id: emulator.ProspectMatchContactAndLead, state: prospect.StateSynced, check: func(t *testing.T, st workflows.SyncStatus, p engagement.Prospect) {
			if st.CRMRecordType != "Contact" || st.CRMRecordID != emulator.ContactMatchContactAndLeadID {
				t.Errorf("linked %s %s, want Contact %s", st.CRMRecordType, st.CRMRecordID, emulator.ContactMatchContactAndLeadID)
			}
		}},
		{name: "R2 converted lead follows contact", id: emulator.ProspectConvertedLead, state: prospect.StateSynced, check: func(t *testing.T, st workflows.SyncStatus, _ engagement.Prospect) {
			if st.CRMRecordID != emulator.ContactConvertedID {
				t.Errorf("linked %s, want the converted Contact %s", st.CRMRecordID, emulator.ContactConvertedID)
			}
		}},
		{name: "R3 match without assigned user waits", id: emulator.ProspectMatchUnassigned, state: prospect.StateWaitingForAssignment, check: func(t *testing.T, st workflows.SyncStatus, p engagement.Prospect) {
			if st.CRMRecordID != "" {
				t.Errorf("unassigned prospect was linked to %s", st.CRMRecordID)
			}
		}},
		{name: "R4 create lead owned by assigned user", id: emulator.ProspectAssignedNoMatch, state: prospect.StateSynced, check: func(t *testing.T, st workflows.SyncStatus, p engagement.Prospect) {
			leads := leadsByEmail(t, p.Email)
			if len(leads) != 1 || leads[0].String("OwnerId") != emulator.UserBobID || st.CRMRecordID != leads[0].String("Id") {
				t.Errorf("leads %v, linked %s: want one Lead owned by Bob, linked", leads, st.CRMRecordID)
			}
			if searchAttr(t, p.ID, workflows.AttrCRMCreatedAt.GetName()) == "" {
				t.Error("CrmCreatedAt not set on a created Lead")
			}
		}},
		{name: "R4 unmapped user: integration user owns", id: emulator.ProspectAssignedUnmapped, state: prospect.StateSynced, check: func(t *testing.T, st workflows.SyncStatus, p engagement.Prospect) {
			leads := leadsByEmail(t, p.Email)
			if len(leads) != 1 || leads[0].String("OwnerId") != emulator.IntegrationUserID {
				t.Errorf("leads %v: want one Lead owned by the integration user", leads)
			}
		}},
		{name: "R6 no assigned user no match waits", id: emulator.ProspectUnassignedNoMatch2, state: prospect.StateWaitingForAssignment, check: func(t *testing.T, st workflows.SyncStatus, p engagement.Prospect) {
			if n := len(leadsByEmail(t, p.Email)); n != 0 {
				t.Errorf("%d leads created for an unassigned prospect", n)
			}
		}},
		{name: "missing email", id: emulator.ProspectNoEmail, state: prospect.StateSyncError, errorC: prospect.CodeMissingEmail},
		{name: "invalid email", id: emulator.ProspectBadEmail, state: prospect.StateSyncError, errorC: prospect.CodeInvalidEmail},
		{name: "missing names get placeholders", id: emulator.ProspectMissingNames, state: prospect.StateSynced, check: func(t *testing.T, st workflows.SyncStatus, p engagement.Prospect) {
			leads := leadsByEmail(t, p.Email)
			if len(leads) != 1 || leads[0].String("LastName") != prospect.DefaultPlaceholder || leads[0].String("Company") != prospect.DefaultPlaceholder {
				t.Errorf("leads %v: want one Lead with placeholder LastName and Company", leads)
			}
		}},
		{name: "crm deleted flag", id: emulator.ProspectCRMDeleted, state: prospect.StateCRMDeleted},
		{name: "email with quote and plus", id: emulator.ProspectQuoteEmail, state: prospect.StateSynced, check: func(t *testing.T, st workflows.SyncStatus, p engagement.Prospect) {
			if n := len(leadsByEmail(t, p.Email)); n != 1 {
				t.Errorf("%d leads for %q, want 1", n, p.Email)
			}
		}},
	}
	ids := make([]int64, 0, len(tests))
	for _, tt := range tests {
		ids = append(ids, tt.id)
	}
	startSync(t, workflows.SignalProspectChanged, ids...)
	// Starting again never makes a second workflow or a second record.
	startSync(t, workflows.SignalProspectChanged, ids...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := waitStatus(t, tt.id, func(st workflows.SyncStatus) bool {
				return st.State == tt.state && (tt.state != prospect.StateSynced || st.CRMRecordID != "")
			})
			if got := searchAttr(t, tt.id, workflows.AttrSyncState.GetName()); got != string(tt.state) {
				t.Errorf("SyncState search attribute = %q, want %q", got, tt.state)
			}
			if tt.errorC != "" {
				if st.LastError == nil || st.LastError.Code != tt.errorC {
					t.Errorf("lastError = %+v, want %s", st.LastError, tt.errorC)
				}
				if got := searchAttr(t, tt.id, workflows.AttrSyncErrorCode.GetName()); got != tt.errorC {
					t.Errorf("SyncErrorCode = %q, want %q", got, tt.errorC)
				}
			}
			if len(st.History) == 0 {
				t.Error("no history in the sync-state query")
			}
			if tt.check != nil {
				tt.check(t, st, prospectOf(t, tt.id))
			}
		})
	}
}

func TestWaitingProspectAssignedThenSynced(t *testing.T) {
	created, err := testAE.CreateProspect(context.Background(), map[string]any{"email": unique("waiting.e2e@example.com"), "lastName": "Waiting", "company": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	startSync(t, workflows.SignalProspectChanged, id)
	waitStatus(t, id, inState(prospect.StateWaitingForAssignment))
	if _, err := testAE.UpdateProspect(context.Background(), id, map[string]any{"userId": emulator.AEUserAlice}); err != nil {
		t.Fatal(err)
	}
	startSync(t, workflows.SignalProspectChanged, id)
	st := waitStatus(t, id, inState(prospect.StateSynced))
	p := prospectOf(t, id)
	leads := leadsByEmail(t, p.Email)
	if st.OwnerID != emulator.UserAliceID || len(leads) != 1 || leads[0].String("OwnerId") != emulator.UserAliceID || st.CRMRecordID != leads[0].String("Id") {
		t.Fatalf("status %+v, leads %v, prospect %+v: want one Lead owned by Alice, linked", st, leads, p)
	}
	if got := searchAttr(t, id, workflows.AttrAssignedUserID.GetName()); got != fmt.Sprint(emulator.AEUserAlice) {
		t.Errorf("AssignedUserId = %q, want %d", got, emulator.AEUserAlice)
	}
	// What the Temporal UI shows: the static summary and the current details.
	ctx := context.Background()
	desc, err := app().Client().DescribeWorkflowExecution(ctx, workflows.ProspectWorkflowID(id), "")
	if err != nil {
		t.Fatal(err)
	}
	var summary string
	if err := appConverter().FromPayload(desc.GetExecutionConfig().GetUserMetadata().GetSummary(), &summary); err != nil || !strings.Contains(summary, fmt.Sprint(id)) {
		t.Errorf("static summary %q (%v): want the prospect id", summary, err)
	}
	if d := details(t, id); !strings.Contains(d, string(prospect.StateSynced)) || !strings.Contains(d, st.CRMRecordID) {
		t.Errorf("current details %q: want the state and the Lead id", d)
	}
}

func TestActiveAssignmentRuleEndToEnd(t *testing.T) {
	p, err := testAE.CreateProspect(context.Background(), map[string]any{"email": unique("rule.e2e@example.com"), "lastName": "Rule", "company": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	startSync(t, workflows.SignalUseActiveAssignmentRule, p.ID)
	st := waitStatus(t, p.ID, inState(prospect.StateSynced))
	leads := leadsByEmail(t, p.Email)
	if len(leads) != 1 || st.OwnerID == "" || leads[0].String("OwnerId") != st.OwnerID {
		t.Fatalf("status %+v, leads %v: want one Lead owned by the rule's pick", st, leads)
	}
	// The rule's owner flows back as the assigned user when it is a mapped user. Which of the
	// round-robin's two users it picks depends on the Leads other tests made through the rule.
	got := prospectOf(t, p.ID)
	switch st.OwnerID {
	case emulator.UserAliceID:
		if got.AssignedToID != emulator.AEUserAlice {
			t.Errorf("owner Alice did not flow back: assignedToId = %d, want %d", got.AssignedToID, emulator.AEUserAlice)
		}
	case emulator.UserCarolID: // no Account Engagement user maps to Carol
		if got.AssignedToID != 0 {
			t.Errorf("owner Carol has no AE user, yet assignedToId = %d, want 0", got.AssignedToID)
		}
	default:
		t.Errorf("owner %s, want the round-robin's Alice or Carol", st.OwnerID)
	}
}

// A person deletes the linked Lead in Salesforce and asks for a re-sync: although the prospect
// is unchanged in Account Engagement, the sync reads Salesforce again and shows CrmDeleted; a
// second request allows the record to be recreated.
func TestExplicitResyncSeesDeletedRecord(t *testing.T) {
	ctx := context.Background()
	email := unique("resync@example.com")
	p, err := testAE.CreateProspect(ctx, map[string]any{"email": email, "lastName": "R", "company": "Acme", "assignedToId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	startSync(t, workflows.SignalProspectChanged, p.ID)
	st := waitStatus(t, p.ID, func(st workflows.SyncStatus) bool { return st.State == prospect.StateSynced && st.CRMRecordID != "" })
	if err := app().Emulator().DeleteRecord(ctx, st.CRMRecordID); err != nil {
		t.Fatal(err)
	}
	// The change feed's signal (no request) for an unchanged prospect costs nothing...
	startSync(t, workflows.SignalProspectChanged, p.ID)
	// ...a person's re-sync reads both sides.
	request(t, p.ID, workflows.ChangeRequest{Resync: true})
	deleted := waitStatus(t, p.ID, inState(prospect.StateCRMDeleted))
	if deleted.CRMRecordID != st.CRMRecordID || len(leadsByEmail(t, email)) != 0 {
		t.Fatalf("status %+v: want CrmDeleted naming the deleted %s, and no new Lead", deleted, st.CRMRecordID)
	}
	request(t, p.ID, workflows.ChangeRequest{AllowRecreate: true})
	again := waitStatus(t, p.ID, func(st workflows.SyncStatus) bool { return st.State == prospect.StateSynced && st.CRMRecordID != "" })
	if leads := leadsByEmail(t, email); len(leads) != 1 || leads[0].String("Id") != again.CRMRecordID || again.CRMRecordID == st.CRMRecordID {
		t.Fatalf("status %+v, leads %v: want one new Lead after allow-recreate", again, leads)
	}
}

// details are a sync's current details, the Markdown the Temporal UI shows.
func details(t *testing.T, id int64) string {
	t.Helper()
	v, err := app().Client().QueryWorkflow(context.Background(), workflows.ProspectWorkflowID(id), "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := v.Get(&meta); err != nil {
		t.Fatal(err)
	}
	return meta.GetCurrentDetails()
}

// errNotYet is a condition that does not hold yet, for eventually.
var errNotYet = errors.New("not yet")

// request signals a prospect's sync with what a person asks for.
func request(t *testing.T, id int64, req workflows.ChangeRequest) {
	t.Helper()
	if _, err := workflows.SignalSync(context.Background(), app().Client(), id, workflows.SignalProspectChanged, &req); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownProspectEndsClearly(t *testing.T) {
	const id = 987654321
	startSync(t, workflows.SignalProspectChanged, id)
	ctx := context.Background()
	run := app().Client().GetWorkflow(ctx, workflows.ProspectWorkflowID(id), "")
	var res workflows.ProspectSyncResult
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	if res.Status.State != prospect.StateSyncError || res.Status.LastError == nil || res.Status.LastError.Code != prospect.CodeProspectNotFound {
		t.Fatalf("result %+v, want SyncError PROSPECT_NOT_FOUND", res.Status)
	}
}

func TestLostCreateResponseMakesOneLead(t *testing.T) {
	ctx := context.Background()
	p, err := testAE.CreateProspect(ctx, map[string]any{"email": unique("lost.response@example.com"), "lastName": "Lost", "company": "Acme", "assignedToId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	// Salesforce stores the Lead, then the connection drops before the response.
	app().Emulator().SetFaults(emulator.Faults{Match: "POST /sobjects/Lead", NextDropAfter: 1})
	defer app().Emulator().SetFaults(emulator.Faults{})
	startSync(t, workflows.SignalProspectChanged, p.ID)
	st := waitStatus(t, p.ID, inState(prospect.StateSynced))
	leads := leadsByEmail(t, p.Email)
	if len(leads) != 1 || leads[0].String("Id") != st.CRMRecordID {
		t.Fatalf("leads %v, status %+v: want exactly one Lead, linked", leads, st)
	}
	if !strings.Contains(st.History[len(st.History)-1].Reason, "earlier attempt") {
		t.Errorf("history %+v: want the retry to have found the earlier attempt's Lead", st.History)
	}
}

func TestRestartMidBatchLeavesNoDuplicates(t *testing.T) {
	ctx := context.Background()
	const n = 60
	ids := make([]int64, 0, n)
	emails := map[int64]string{}
	for i := range n {
		email := unique(fmt.Sprintf("batch%03d@restart.example.com", i))
		p, err := testAE.CreateProspect(ctx, map[string]any{"email": email, "lastName": "Batch", "company": "Acme", "assignedToId": emulator.AEUserBob})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
		emails[p.ID] = email
	}
	startSync(t, workflows.SignalProspectChanged, ids...)
	// Restart once some, not all, are done.
	waitStatus(t, ids[5], inState(prospect.StateSynced))
	restartApp(t)
	for _, id := range ids {
		st := waitStatus(t, id, inState(prospect.StateSynced))
		if leads := leadsByEmail(t, emails[id]); len(leads) != 1 || leads[0].String("Id") != st.CRMRecordID {
			t.Fatalf("prospect %d: leads %v, status %+v: want exactly one Lead, linked", id, leads, st)
		}
	}
}

// envRecordHistories names the directory TestRecordHistories and TestRecordHistoriesOfFeeds
// (-run TestRecordHistories runs both) keep their histories in (workflows/testdata/histories);
// unset, they only replay them.
const envRecordHistories = "RECORD_HISTORIES"

// TestRecordHistories records the histories of real runs and replays them against the current
// workflow code. With RECORD_HISTORIES naming a directory (workflows/testdata/histories) it
// also keeps them as the replay fixtures of workflows/replay_test.go.
func TestRecordHistories(t *testing.T) {
	dir := historiesDir(t)
	sealed, plain := historyReplayers(t)
	for _, id := range []int64{emulator.ProspectAssignedNoMatch, emulator.ProspectMatchLead, emulator.ProspectUnassignedNoMatch, emulator.ProspectBadEmail} {
		startSync(t, workflows.SignalProspectChanged, id)
		waitStatus(t, id, func(st workflows.SyncStatus) bool { return st.State != prospect.StateEvaluating })
		keepHistory(t, sealed, plain, workflows.ProspectWorkflowID(id), filepath.Join(dir, fmt.Sprintf("prospect-%d.json", id)))
	}
	// Both sides: a person's email edit in Salesforce followed, and one to another prospect's
	// email, which stops the sync and signals the other's.
	ctx := context.Background()
	followed, st := syncedWithLead(t, unique("record.followed@example.com"), nil)
	if err := testPerson.Update(ctx, prospect.TypeLead, st.CRMRecordID, map[string]any{"Email": unique("record.fixed@example.com")}); err != nil {
		t.Fatal(err)
	}
	crmChanged(t, followed)
	waitStatus(t, followed, func(s workflows.SyncStatus) bool { return s.Base != nil && s.Base.Email != st.Base.Email })
	keepHistory(t, sealed, plain, workflows.ProspectWorkflowID(followed), filepath.Join(dir, "prospect-email-followed.json"))

	stopped, st := syncedWithLead(t, unique("record.mine@example.com"), nil)
	theirs := unique("record.theirs@example.com")
	if _, err := testAE.CreateProspect(ctx, map[string]any{"email": theirs, "lastName": "Theirs", "company": "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := testPerson.Update(ctx, prospect.TypeLead, st.CRMRecordID, map[string]any{"Email": theirs}); err != nil {
		t.Fatal(err)
	}
	crmChanged(t, stopped)
	waitStatus(t, stopped, inState(prospect.StateCRMDeleted))
	keepHistory(t, sealed, plain, workflows.ProspectWorkflowID(stopped), filepath.Join(dir, "prospect-email-taken.json"))

	// A sync held at its create by a pause, then resumed; and the control workflow itself.
	held, err := testAE.CreateProspect(ctx, map[string]any{"email": unique("record.paused@example.com"), "lastName": "Held", "company": "Acme", "userId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	pauseSync(t, "recording a held sync")
	startSync(t, workflows.SignalProspectChanged, held.ID)
	waitStatus(t, held.ID, func(s workflows.SyncStatus) bool { return s.Paused != "" })
	resumeSync(t)
	waitStatus(t, held.ID, inState(prospect.StateSynced))
	keepHistory(t, sealed, plain, workflows.ProspectWorkflowID(held.ID), filepath.Join(dir, "prospect-paused.json"))
	keepHistory(t, sealed, plain, workflows.SyncControlWorkflowID, filepath.Join(dir, "control.json"))
}

// historiesDir is where the recorded histories go: RECORD_HISTORIES, or a temporary directory.
func historiesDir(t *testing.T) string {
	if dir := os.Getenv(envRecordHistories); dir != "" {
		return dir
	}
	return t.TempDir()
}

// historyReplayers are two replayers with every workflow under its contract name: sealed reads
// the server's encrypted histories as the worker does; plain reads the decoded fixtures as
// workflows/replay_test.go does, with the default converter.
func historyReplayers(t *testing.T) (sealed, plain worker.WorkflowReplayer) {
	t.Helper()
	var copts client.Options
	testCfg.Encryption.Apply(&copts)
	sealed, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: copts.DataConverter, FailureConverter: copts.FailureConverter})
	if err != nil {
		t.Fatal(err)
	}
	plain = worker.NewWorkflowReplayer()
	for _, r := range []worker.WorkflowReplayer{sealed, plain} {
		r.RegisterWorkflowWithOptions(workflows.ProspectSync, workflow.RegisterOptions{Name: workflows.ProspectSyncWorkflow})
		r.RegisterWorkflowWithOptions(workflows.ChangeFeed, workflow.RegisterOptions{Name: workflows.ChangeFeedWorkflow})
		r.RegisterWorkflowWithOptions(workflows.CrmChangeFeed, workflow.RegisterOptions{Name: workflows.CrmChangeFeedWorkflow})
		r.RegisterWorkflowWithOptions(workflows.SyncControl, workflow.RegisterOptions{Name: workflows.SyncControlWorkflow})
	}
	return sealed, plain
}

// keepHistory replays workflow id's (latest run's) encrypted history, writes it decoded to path
// and replays the file written; it returns the decoded events.
func keepHistory(t *testing.T, sealed, plain worker.WorkflowReplayer, id, path string) []*historypb.HistoryEvent {
	t.Helper()
	events := history(t, id)
	if err := sealed.ReplayWorkflowHistory(nil, &historypb.History{Events: events}); err != nil {
		t.Errorf("replay the encrypted history of %s: %v", id, err)
	}
	events = decodeHistory(t, events)
	writeHistory(t, path, events)
	if err := plain.ReplayWorkflowHistoryFromJSONFile(nil, path); err != nil {
		t.Errorf("replay the recorded history of %s: %v", id, err)
	}
	return events
}

func writeHistory(t *testing.T, path string, events []*historypb.HistoryEvent) {
	t.Helper()
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestChangeFeedResumesAssignedProspect(t *testing.T) {
	ctx := context.Background()
	p, err := testAE.CreateProspect(ctx, map[string]any{"email": unique("feed.e2e@example.com"), "lastName": "Feed", "company": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	startSync(t, workflows.SignalProspectChanged, p.ID)
	waitStatus(t, p.ID, inState(prospect.StateWaitingForAssignment))
	in := workflows.ChangeFeedInput{Cursor: time.Now().Add(-time.Minute), Interval: time.Second, Overlap: workflows.DefaultFeedOverlap}
	started, err := workflows.StartChangeFeed(ctx, app().Client(), in)
	if err != nil || !started {
		t.Fatalf("start feed: %v, started %v", err, started)
	}
	if again, err := workflows.StartChangeFeed(ctx, app().Client(), in); err != nil || again {
		t.Fatalf("second start: %v, started %v: want the running feed left alone", err, again)
	}
	defer func() {
		if err := app().Client().TerminateWorkflow(ctx, workflows.ChangeFeedWorkflowID, "", "test done"); err != nil {
			t.Errorf("terminate the change feed: %v", err)
		}
	}()
	// Assign in Account Engagement only: no signal from the test, the feed must notice.
	if _, err := testAE.UpdateProspect(ctx, p.ID, map[string]any{"assignedToId": emulator.AEUserBob}); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, p.ID, inState(prospect.StateSynced))
	if st.OwnerID != emulator.UserBobID {
		t.Fatalf("status %+v: want a Lead owned by Bob", st)
	}
}

// A first load through the change feed: one page read and one page-wide lookup carry every
// prospect, each sync acts on its hand-off (no read of its own, no lookup of its own), and the
// creates share collections calls. Counted at the emulator.
func TestFeedFirstLoadSharesCalls(t *testing.T) {
	ctx := context.Background()
	cursor := time.Now().UTC().Truncate(time.Second)
	const n = 20
	ids := make([]int64, n)
	for i := range n {
		p, err := testAE.CreateProspect(ctx, map[string]any{"email": unique(fmt.Sprintf("load%d@example.com", i)), "lastName": "Load", "company": "Acme", "userId": emulator.AEUserBob})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = p.ID
	}
	// Only this test's feed runs: another test's feeds would move the counts.
	for _, id := range []string{workflows.ChangeFeedWorkflowID, workflows.CrmChangeFeedWorkflowID} {
		_ = app().Client().TerminateWorkflow(ctx, id, "", "a test of the first load counts calls") // not running: nothing to end
	}
	emu := app().Emulator()
	emu.ResetCounters()
	in := workflows.ChangeFeedInput{Cursor: cursor, Interval: time.Hour, Polls: 1}
	if started, err := workflows.StartChangeFeed(ctx, app().Client(), in); err != nil || !started {
		t.Fatalf("start the feed: %v, started %v", err, started)
	}
	for _, id := range ids {
		st := waitStatus(t, id, inState(prospect.StateSynced))
		if st.OwnerID != emulator.UserBobID {
			t.Fatalf("prospect %d: %+v, want a Lead owned by Bob", id, st)
		}
	}
	c := emu.Counters()
	// The counts include what the suite's earlier syncs still do, so they are logged; what
	// each of these syncs did is in its history.
	t.Logf("%d prospects: %d Salesforce calls (%v), %d Account Engagement calls (%v)", n, c.Salesforce.Total, c.Salesforce.ByEndpoint, c.Engagement.Total, c.Engagement.ByEndpoint)
	for _, id := range ids {
		if got := activityTypes(history(t, workflows.ProspectWorkflowID(id))); !slices.Equal(got, []string{"CreateLead"}) {
			t.Errorf("prospect %d ran %v: want only CreateLead, the read and the lookup handed over", id, got)
		}
	}
	if c.Salesforce.ByEndpoint["POST composite/sobjects"] == 0 {
		t.Errorf("Salesforce calls %v: want creates sharing a collections call", c.Salesforce.ByEndpoint)
	}
}

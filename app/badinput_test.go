//go:build !nodev

package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// corpusSeed is what one case of the bad input corpus seeded, and what its checks need.
type corpusSeed struct {
	id    int64
	email string // the prospect's email, as seeded in Account Engagement
	// decoyID is a Lead whose email a wildcard or an injected condition would match: it must
	// never be linked nor written.
	decoyID string
	// sfMessage is Salesforce's own message for the data error the case provokes, learned by
	// making the same write directly.
	sfMessage string
	// contactID is the Contact a converted Lead became (set mid-sync).
	contactID string
}

// corpusCase is one bad input: how to seed it, what may happen to it mid-sync, and the final
// state, error code and number of Leads its email has in Salesforce that the rules give.
type corpusCase struct {
	name string
	seed func(t *testing.T) corpusSeed
	// Once the sync reaches midState, mid changes something under it (in Account Engagement
	// or Salesforce) and signals it; the final state is due after that.
	midState prospect.SyncState
	mid      func(t *testing.T, s *corpusSeed, st workflows.SyncStatus)
	// settled tells the final status from one before it; nil: any state but Evaluating
	// (Synced with its record).
	settled func(s corpusSeed, st workflows.SyncStatus) bool
	state   prospect.SyncState
	code    string // lastError.code and SyncErrorCode; "" = no error
	leads   int    // Leads with the prospect's email in Salesforce
	// noSalesforce: decided without any Salesforce activity, so without a Salesforce call.
	noSalesforce bool
	ended        bool // the workflow completes (else it keeps waiting for a change)
	check        func(t *testing.T, s corpusSeed, st workflows.SyncStatus)
}

// The activities that call Salesforce; the others call Account Engagement only.
var corpusSalesforceActivities = []string{"FindMatches", "CreateLead", "UpdateRecord"}

const corpusDecoyName = "Decoy"

// TestBadInputCorpus is issue 11's scenario 6: every bad input a prospect can carry through
// the standard APIs ends in its documented state and error code, with exactly the Leads due
// (1 where one is created or matched, 0 otherwise), no panic (no failed workflow task) and no
// stuck workflow (each settles within waitStatus's deadline, with no activity left retrying).
//
// Not in the table, because the v5 API cannot seed them:
//   - An empty or whitespace-only email: Account Engagement requires a valid email on create
//     and refuses "" (code 4) on update. The seeded emulator.ProspectNoEmail covers
//     MISSING_EMAIL in TestRulesEndToEnd, so it is not repeated here.
//   - An unknown assigned user: Account Engagement checks userId (and assignedToId) against
//     its users and refuses an unknown one ("Invalid user ID").
//   - A deleted assigned user: the v5 users object is read-only and the emulator has no
//     control that deletes an Account Engagement user.
func TestBadInputCorpus(t *testing.T) {
	ctx := context.Background()
	create := func(t *testing.T, fields map[string]any) int64 {
		t.Helper()
		p, err := testAE.CreateProspect(ctx, fields)
		if err != nil {
			t.Fatalf("Account Engagement refused the prospect %q: %v", fields, err)
		}
		return p.ID
	}
	// assigned seeds a prospect assigned to Bob (a mapped user): with no match the rules
	// create a Lead (R4), with a match they link it (R2).
	assigned := func(email string, extra map[string]any) func(t *testing.T) corpusSeed {
		return func(t *testing.T) corpusSeed {
			fields := map[string]any{"email": email, "firstName": "Bad", "lastName": "Input", "company": "Acme", "userId": emulator.AEUserBob}
			for k, v := range extra {
				fields[k] = v
			}
			return corpusSeed{id: create(t, fields), email: email}
		}
	}
	// withDecoy seeds an assigned prospect and, first, a Lead with decoyEmail: the lookup for
	// the prospect's email must not find it.
	withDecoy := func(email, decoyEmail string) func(t *testing.T) corpusSeed {
		return func(t *testing.T) corpusSeed {
			t.Helper()
			id, err := testSF.Create(ctx, "Lead", map[string]any{"Email": decoyEmail, "LastName": corpusDecoyName, "Company": "Decoy Co"})
			if err != nil {
				t.Fatalf("seed the decoy Lead %q: %v", decoyEmail, err)
			}
			s := assigned(email, nil)(t)
			s.decoyID = id
			return s
		}
	}
	// tooLong seeds an assigned prospect with one field longer than Salesforce allows, and
	// learns Salesforce's message for it by making the same create directly.
	tooLong := func(aeField, sfField string, value string) func(t *testing.T) corpusSeed {
		return func(t *testing.T) corpusSeed {
			t.Helper()
			_, err := testSF.Create(ctx, "Lead", map[string]any{"Email": unique("probe@example.com"), "LastName": "Probe", "Company": "Acme", sfField: value})
			apiErr, ok := errors.AsType[*salesforce.APIError](err)
			if !ok || apiErr.Code != "STRING_TOO_LONG" || apiErr.Message == "" {
				t.Fatalf("Salesforce took a %s of %d characters: %v; want STRING_TOO_LONG", sfField, len(value), err)
			}
			s := assigned(unique("toolong@example.com"), map[string]any{aeField: value})(t)
			s.sfMessage = apiErr.Message
			return s
		}
	}
	deleteAndSignal := func(t *testing.T, s *corpusSeed, _ workflows.SyncStatus) {
		if err := testAE.DeleteProspect(ctx, s.id); err != nil {
			t.Fatalf("delete prospect %d: %v", s.id, err)
		}
		startSync(t, workflows.SignalProspectChanged, s.id)
	}
	isSyncError := func(_ corpusSeed, st workflows.SyncStatus) bool { return st.State == prospect.StateSyncError }
	placeholders := func(t *testing.T, s corpusSeed, _ workflows.SyncStatus) {
		leads := leadsByEmail(t, s.email)
		if len(leads) == 1 && (leads[0].String("LastName") != prospect.DefaultPlaceholder || leads[0].String("Company") != prospect.DefaultPlaceholder) {
			t.Errorf("Lead %v: want LastName and Company %q", leads[0], prospect.DefaultPlaceholder)
		}
	}
	message := func(t *testing.T, s corpusSeed, st workflows.SyncStatus) {
		if st.LastError == nil || !strings.Contains(st.LastError.Message, s.sfMessage) {
			t.Errorf("lastError %+v: want Salesforce's own message %q", st.LastError, s.sfMessage)
		}
	}

	cases := []corpusCase{
		// Salesforce's Email holds 80 characters: 80 syncs, 81 and more (Account Engagement
		// takes up to 255) are refused before any Salesforce call.
		{name: "email of 80 characters", seed: func(t *testing.T) corpusSeed {
			return assigned(corpusEmail(t, 80, "len80", "boundary-test.example.com"), nil)(t)
		}, state: prospect.StateSynced, leads: 1},
		{name: "email of 81 characters", seed: func(t *testing.T) corpusSeed {
			return assigned(corpusEmail(t, 81, "len81", "boundary-test.example.com"), nil)(t)
		}, state: prospect.StateSyncError, code: prospect.CodeInvalidEmail, noSalesforce: true},
		{name: "email of 120 characters", seed: func(t *testing.T) corpusSeed {
			return assigned(corpusEmail(t, 120, "len120", "a-rather-long-subdomain-name-for-the-bad-input-corpus.example.com"), nil)(t)
		}, state: prospect.StateSyncError, code: prospect.CodeInvalidEmail, noSalesforce: true},

		// Unicode and IDN. What the rules give: prospect.ValidEmail parses with net/mail, which
		// takes UTF-8 in the local part and the domain (RFC 6532), and these are under 80
		// bytes, so the sync looks them up and creates a Lead; the emulator's Salesforce stores
		// them (as Salesforce does with Email Address Internationalization enabled, up to 80
		// characters). Without EAI, Salesforce refuses non-ASCII with INVALID_EMAIL_ADDRESS,
		// which the sync would show as a SyncError with Salesforce's message (not modelled by
		// the emulator). Salesforce documents that Account Engagement itself cannot add,
		// update or sync a prospect with a non-ASCII email (EAI considerations), so in
		// production these two prospects cannot exist; the emulator's Account Engagement takes
		// them. The punycode form of an IDN is plain ASCII and syncs everywhere.
		{name: "unicode local part", seed: assigned(unique("josé.müller@example.com"), nil), state: prospect.StateSynced, leads: 1},
		{name: "IDN domain in unicode", seed: assigned(unique("idn@bücher.example"), nil), state: prospect.StateSynced, leads: 1},
		{name: "IDN domain in punycode", seed: assigned(unique("idn@xn--bcher-kva.example"), nil), state: prospect.StateSynced, leads: 1},

		// Quotes and SOQL specials: each email matches only itself. The decoy Lead has the
		// email an unescaped quote, a LIKE wildcard or a stripped character would match; the
		// prospect must get its own Lead instead.
		{name: "apostrophe", seed: func(t *testing.T) corpusSeed {
			email := unique("o'brien@example.com")
			return withDecoy(email, strings.ReplaceAll(email, "'", ""))(t)
		}, state: prospect.StateSynced, leads: 1},
		{name: "SOQL injection", seed: func(t *testing.T) corpusSeed {
			// Unescaped, the lookup would read Email = 'x' + OR + Email != '…': every other Lead.
			return withDecoy(unique("x'+OR+Email!='inj@example.com"), unique("decoy.inj@example.com"))(t)
		}, state: prospect.StateSynced, leads: 1},
		{name: "percent", seed: func(t *testing.T) corpusSeed {
			email := unique("pct%sign@example.com")
			return withDecoy(email, strings.Replace(email, "%", "QQQ", 1))(t)
		}, state: prospect.StateSynced, leads: 1},
		{name: "underscore", seed: func(t *testing.T) corpusSeed {
			email := unique("under_score@example.com")
			return withDecoy(email, strings.Replace(email, "_", "Q", 1))(t)
		}, state: prospect.StateSynced, leads: 1},
		// Salesforce refuses backslashes and double quotes in an email (outside a quoted local
		// part net/mail refuses the backslash too; a quoted local part parses to another
		// address): INVALID_EMAIL before any call. Account Engagement takes both.
		{name: "backslash", seed: func(t *testing.T) corpusSeed {
			email := unique(`back\slash@example.com`)
			return withDecoy(email, strings.ReplaceAll(email, `\`, ""))(t)
		}, state: prospect.StateSyncError, code: prospect.CodeInvalidEmail, noSalesforce: true},
		{name: "quoted local part", seed: func(t *testing.T) corpusSeed {
			local, domain, _ := strings.Cut(unique("quoted@example.com"), "@")
			return withDecoy(`"`+local+`"@`+domain, local+"@"+domain)(t)
		}, state: prospect.StateSyncError, code: prospect.CodeInvalidEmail, noSalesforce: true},

		// Missing LastName and Company get Web-to-Lead's placeholder.
		{name: "missing last name and company", seed: func(t *testing.T) corpusSeed {
			email := unique("nonames@example.com")
			return corpusSeed{id: create(t, map[string]any{"email": email, "userId": emulator.AEUserAlice}), email: email}
		}, state: prospect.StateSynced, leads: 1, check: placeholders},
		{name: "blank last name and company", seed: func(t *testing.T) corpusSeed {
			email := unique("blanknames@example.com")
			return corpusSeed{id: create(t, map[string]any{"email": email, "lastName": "   ", "company": "\t", "userId": emulator.AEUserAlice}), email: email}
		}, state: prospect.StateSynced, leads: 1, check: placeholders},

		// An assigned user with no Salesforce user: the integration user owns the Lead, and
		// the prospect keeps its assigned user (the integration user has no AE user to flow
		// back as).
		{name: "assigned user without Salesforce user", seed: func(t *testing.T) corpusSeed {
			email := unique("unmapped@example.com")
			return corpusSeed{id: create(t, map[string]any{"email": email, "lastName": "Unmapped", "company": "Acme", "userId": emulator.AEUserNoMapping}), email: email}
		}, state: prospect.StateSynced, leads: 1, check: func(t *testing.T, s corpusSeed, st workflows.SyncStatus) {
			leads := leadsByEmail(t, s.email)
			if st.OwnerID != emulator.IntegrationUserID || len(leads) != 1 || leads[0].String("OwnerId") != emulator.IntegrationUserID {
				t.Errorf("owner %s, leads %v: want the integration user %s", st.OwnerID, leads, emulator.IntegrationUserID)
			}
			if p := prospectOf(t, s.id); p.AssignedToID != emulator.AEUserNoMapping {
				t.Errorf("assignedToId = %d, want %d kept", p.AssignedToID, emulator.AEUserNoMapping)
			}
		}},

		// Values longer than Salesforce allows (Account Engagement takes 255): Salesforce's
		// STRING_TOO_LONG with its message, no Lead, nothing retried.
		{name: "last name of 100 characters", seed: tooLong("lastName", "LastName", strings.Repeat("L", 100)),
			state: prospect.StateSyncError, code: "STRING_TOO_LONG", check: message},
		{name: "job title of 200 characters", seed: tooLong("jobTitle", "Title", strings.Repeat("T", 200)),
			state: prospect.StateSyncError, code: "STRING_TOO_LONG", check: message},

		// Deleted in Account Engagement mid-sync: the sync ends with PROSPECT_DELETED.
		{name: "prospect deleted while waiting", seed: func(t *testing.T) corpusSeed {
			email := unique("deleted.waiting@example.com")
			return corpusSeed{id: create(t, map[string]any{"email": email, "lastName": "Deleted", "company": "Acme"}), email: email}
		}, midState: prospect.StateWaitingForAssignment, mid: deleteAndSignal, settled: isSyncError,
			state: prospect.StateSyncError, code: prospect.CodeProspectDeleted, ended: true},
		{name: "prospect deleted after its Lead was made", seed: assigned(unique("deleted.synced@example.com"), nil),
			midState: prospect.StateSynced, mid: deleteAndSignal, settled: isSyncError,
			state: prospect.StateSyncError, code: prospect.CodeProspectDeleted, leads: 1, ended: true},

		// The Lead converted mid-sync: a re-sync follows it to its Contact. The converted Lead
		// stays in Salesforce, so the email keeps exactly one Lead.
		{name: "Lead converted mid-sync", seed: assigned(unique("converted@example.com"), nil),
			midState: prospect.StateSynced, mid: func(t *testing.T, s *corpusSeed, st workflows.SyncStatus) {
				contactID, err := app().Emulator().ConvertLead(ctx, st.CRMRecordID)
				if err != nil {
					t.Fatalf("convert Lead %s: %v", st.CRMRecordID, err)
				}
				s.contactID = contactID
				request(t, s.id, workflows.ChangeRequest{Resync: true})
			}, settled: func(s corpusSeed, st workflows.SyncStatus) bool { return st.CRMRecordID == s.contactID },
			state: prospect.StateSynced, leads: 1, check: func(t *testing.T, s corpusSeed, st workflows.SyncStatus) {
				if st.CRMRecordType != prospect.TypeContact || st.OwnerID != emulator.UserBobID {
					t.Errorf("linked %s %s owned by %s: want Contact %s owned by Bob", st.CRMRecordType, st.CRMRecordID, st.OwnerID, s.contactID)
				}
				if got := searchAttr(t, s.id, workflows.AttrCRMRecordID.GetName()); got != s.contactID {
					t.Errorf("CrmRecordId = %q, want the Contact %s", got, s.contactID)
				}
			}},
	}

	seeds := make([]corpusSeed, len(cases))
	ids := make([]int64, len(cases))
	for i, c := range cases {
		seeds[i] = c.seed(t)
		ids[i] = seeds[i].id
	}
	startSync(t, workflows.SignalProspectChanged, ids...)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &seeds[i]
			t.Logf("prospect %d, email %q", s.id, s.email)
			if c.mid != nil {
				st := waitStatus(t, s.id, func(st workflows.SyncStatus) bool {
					return st.State == c.midState && (st.State != prospect.StateSynced || st.CRMRecordID != "")
				})
				c.mid(t, s, st)
			}
			settled := c.settled
			if settled == nil {
				settled = func(_ corpusSeed, st workflows.SyncStatus) bool {
					return st.State != prospect.StateEvaluating && (st.State != prospect.StateSynced || st.CRMRecordID != "")
				}
			}
			st := waitStatus(t, s.id, func(st workflows.SyncStatus) bool { return settled(*s, st) })

			if st.State != c.state {
				t.Errorf("state %s, want %s; status %+v", st.State, c.state, st)
			}
			switch {
			case c.code == "" && st.LastError != nil:
				t.Errorf("lastError %+v, want none", st.LastError)
			case c.code != "" && (st.LastError == nil || st.LastError.Code != c.code):
				t.Errorf("lastError %+v, want code %s", st.LastError, c.code)
			}
			if got := searchAttr(t, s.id, workflows.AttrSyncState.GetName()); got != string(c.state) {
				t.Errorf("SyncState = %q, want %q", got, c.state)
			}
			if got := searchAttr(t, s.id, workflows.AttrSyncErrorCode.GetName()); got != c.code {
				t.Errorf("SyncErrorCode = %q, want %q", got, c.code)
			}

			leads := leadsByEmail(t, s.email)
			if len(leads) != c.leads {
				t.Errorf("%d Leads with %q, want %d: %v", len(leads), s.email, c.leads, leads)
			}
			if st.State == prospect.StateSynced && st.CRMRecordType == prospect.TypeLead &&
				(len(leads) != 1 || leads[0].String("Id") != st.CRMRecordID) {
				t.Errorf("linked Lead %s, want the one Lead of %q: %v", st.CRMRecordID, s.email, leads)
			}
			if s.decoyID != "" {
				if st.CRMRecordID == s.decoyID {
					t.Errorf("linked the decoy Lead %s", s.decoyID)
				}
				decoy, err := testSF.Get(ctx, "Lead", s.decoyID, "LastName")
				if err != nil || decoy.String("LastName") != corpusDecoyName {
					t.Errorf("decoy Lead %s: %v, %v: want it untouched", s.decoyID, decoy, err)
				}
			}

			corpusCheckRun(t, s.id, c.noSalesforce, c.ended)
			if c.check != nil {
				c.check(t, *s, st)
			}
		})
	}
}

// corpusEmail is a unique email of exactly n characters: tag made unique, padded with x's.
func corpusEmail(t *testing.T, n int, tag, domain string) string {
	t.Helper()
	local, _, _ := strings.Cut(unique(tag+"@"+domain), "@")
	pad := n - len(local) - 1 - len(domain)
	if pad < 0 {
		t.Fatalf("%s@%s is longer than %d characters", local, domain, n)
	}
	local += strings.Repeat("x", pad)
	if len(local) > 64 {
		t.Fatalf("local part of %d characters: Account Engagement takes at most 64", len(local))
	}
	return local + "@" + domain
}

// corpusCheckRun reads a settled sync's workflow: no failed workflow task (a panic in workflow
// code), no activity pending (retrying for ever is a stuck sync), the expected run status,
// and with noSalesforce no Salesforce activity at all.
func corpusCheckRun(t *testing.T, id int64, noSalesforce, ended bool) {
	t.Helper()
	ctx := context.Background()
	desc, err := app().Client().DescribeWorkflowExecution(ctx, workflows.ProspectWorkflowID(id), "")
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	for _, pa := range desc.GetPendingActivities() {
		t.Errorf("activity %s pending (attempt %d, last failure %v)", pa.GetActivityType().GetName(), pa.GetAttempt(), pa.GetLastFailure())
	}
	want := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	if ended {
		want = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}
	if got := desc.GetWorkflowExecutionInfo().GetStatus(); got != want {
		t.Errorf("workflow status %s, want %s", got, want)
	}

	iter := app().Client().GetWorkflowHistory(ctx, workflows.ProspectWorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		events = append(events, e)
	}
	fetched := false
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			t.Errorf("workflow task failed: %v", e.GetWorkflowTaskFailedEventAttributes().GetFailure())
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			name := e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			fetched = fetched || name == "FetchProspect"
			for _, sf := range corpusSalesforceActivities {
				if noSalesforce && name == sf {
					t.Errorf("Salesforce activity %s scheduled; want the email refused without a Salesforce call", name)
				}
			}
		}
	}
	if noSalesforce && !fetched {
		t.Errorf("no FetchProspect in %d history events: the sync never read the prospect", len(events))
	}
}

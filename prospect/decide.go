package prospect

import (
	"cmp"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode"
)

// Action is what a Decision asks the workflow to do.
type Action string

// The actions Decide can name.
const (
	// ActionLookup: read matching records from Salesforce, then decide again.
	ActionLookup Action = "lookup"
	// ActionLink: sync with an existing record (R2): update it and write the link back.
	ActionLink Action = "link"
	// ActionCreateLead: create a Lead (R4, or R5 through the active assignment rule).
	ActionCreateLead Action = "create-lead"
	// ActionMarkDeleted: the linked record is gone; flag the prospect, never recreate.
	ActionMarkDeleted Action = "mark-crm-deleted"
	// ActionWait: nothing can sync yet; wait for a change.
	ActionWait Action = "wait"
	// ActionNone: nothing to do, by rule (R1, a prospect already flagged deleted in CRM).
	ActionNone Action = "none"
	// ActionError: the prospect's data cannot sync; wait for it to change.
	ActionError Action = "error"
	// ActionEnd: the prospect no longer exists in Account Engagement; the workflow ends.
	ActionEnd Action = "end"
)

// maxEmailLength is Salesforce's limit on the Email field.
const maxEmailLength = 80

// LeadSpec is the Lead a CreateLead decision asks for.
type LeadSpec struct {
	Fields map[string]string
	// OwnerID is the owning Salesforce user; "" leaves the owner to Salesforce (the
	// integration user, or the active rule when UseAssignmentRule is set).
	OwnerID           string
	UseAssignmentRule bool
}

// Decision is Decide's verdict: the action, the resulting state and everything the action needs.
type Decision struct {
	Action Action
	State  SyncState
	Reason string
	// Record is the record to link (ActionLink).
	Record *Record
	// RecordUpdates are Salesforce fields to write on Record (ActionLink).
	RecordUpdates map[string]string
	// ProspectUpdates are Account Engagement fields to write (ActionLink, ActionMarkDeleted).
	ProspectUpdates map[string]string
	// AssignOwner is a Salesforce user whose Account Engagement user becomes the prospect's
	// assigned user: Salesforce is the master of the owner (ActionLink).
	AssignOwner string
	// Lead is the Lead to create (ActionCreateLead).
	Lead *LeadSpec
	// Error explains ActionError and ActionEnd.
	Error *SyncError
	// WaitingFor says what a waiting prospect waits for, for people reading the UI.
	WaitingFor string
}

// NormalizeEmail trims and lower-cases an address the way Salesforce compares them.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidEmail reports whether a normalized address is one Salesforce would accept.
func ValidEmail(email string) bool {
	if email == "" || len(email) > maxEmailLength || strings.ContainsAny(email, " \t\r\n<>,;()[]\\\"") || strings.ContainsFunc(email, invisible) {
		return false
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email {
		return false
	}
	local, domain, ok := strings.Cut(email, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// invisible reports a space, control or format character (NO-BREAK SPACE, LINE SEPARATOR,
// ZERO WIDTH SPACE, …): net/mail lets any non-ASCII character through, but no usable
// address holds one of these. The characters refused above are those the emulator's
// approximation of Salesforce's check refuses (a domain literal, a@[1.2.3.4], among them).
func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// Decide applies rules R1–R6 (docs/domain.md §1) to a prospect. matches is nil until a lookup
// has run; Decide asks for one (ActionLookup) only when the answer could depend on Salesforce.
// It is pure: no I/O, no clock, no randomness.
func Decide(p Prospect, matches *Matches, s Settings) Decision {
	if p.Deleted {
		return Deleted(p.ID)
	}
	if p.HasMarker(MarkerDoNotSync) {
		return Decision{Action: ActionNone, State: StateDoNotSync, Reason: "R1: flagged Do not sync with CRM"}
	}
	if p.Link.Deleted {
		return Decision{Action: ActionNone, State: StateCRMDeleted, Reason: "CRM record was deleted in Salesforce; never recreated until a person allows it",
			WaitingFor: "an explicit allow-recreate request"}
	}
	if p.HasMarker(MarkerCRMDeleted) {
		// Account Engagement's own connector flagged it; only its "allow deleted CRM record to
		// recreate" action clears that flag.
		return Decision{Action: ActionNone, State: StateCRMDeleted, Reason: "flagged [[crm_deleted]] in Account Engagement; never recreated until the flag is cleared there",
			WaitingFor: "the flag cleared in Account Engagement"}
	}
	email := NormalizeEmail(p.Email)
	if email == "" {
		return errorDecision(CodeMissingEmail, "an email address is required to sync")
	}
	if !ValidEmail(email) {
		return errorDecision(CodeInvalidEmail, fmt.Sprintf("email %q is not a valid address", p.Email))
	}
	assigned := p.AssignedUserID != 0
	linkedID := p.Link.ID

	if matches == nil {
		if !assigned && linkedID == "" && !s.SyncUnassignedMatches && !s.UseActiveAssignmentRules {
			// R3 and R6 both wait for an assigned user; Salesforce cannot change that.
			return waitDecision("R3/R6: no assigned user")
		}
		return Decision{Action: ActionLookup, State: StateEvaluating, Reason: "look up Leads and Contacts by email"}
	}
	if matches.LinkedGone {
		return markDeleted(fmt.Sprintf("linked record %s was deleted in Salesforce; never recreated", linkedID), s)
	}

	var rec *Record
	linked := false
	if matches.Linked != nil && NormalizeEmail(matches.Linked.Email) == email {
		// The linked record still has the prospect's email: stay with it (after a conversion,
		// with the Contact it became).
		rec = followConversion(*matches.Linked, matches)
		linked = rec != nil
		if rec == nil {
			// Converted, and the Contact it became is gone: that record was deleted.
			return markDeleted(fmt.Sprintf("linked Lead %s was converted to Contact %s, which no longer exists; never recreated",
				matches.Linked.ID, matches.Linked.ConvertedContactID), s)
		}
	}
	if rec == nil {
		rec = BestMatch(*matches, s.MatchOrder)
	}
	if rec != nil {
		if !assigned && !linked && !s.SyncUnassignedMatches {
			return waitDecision(fmt.Sprintf("R3: matching %s %s, no assigned user", rec.Type, rec.ID))
		}
		recUpdates, wb, assignOwner := LinkUpdates(p, *rec, s)
		reason := fmt.Sprintf("R2: sync with matching %s %s", rec.Type, rec.ID)
		if linked {
			reason = fmt.Sprintf("keep linked %s %s in step", rec.Type, rec.ID)
		}
		return Decision{Action: ActionLink, State: StateSynced, Reason: reason, Record: rec,
			RecordUpdates: recUpdates, ProspectUpdates: wb, AssignOwner: assignOwner}
	}

	if assigned {
		owner := p.AssignedUserSalesforceID
		reason := "R4: assigned user, no match: create a Lead"
		if owner == "" {
			reason = "R4: assigned user has no Salesforce user: create a Lead owned by the integration user"
		}
		return Decision{Action: ActionCreateLead, State: StateSynced, Reason: reason,
			Lead: &LeadSpec{Fields: LeadFields(p, s), OwnerID: owner}}
	}
	if s.UseActiveAssignmentRules {
		return Decision{Action: ActionCreateLead, State: StateSynced, Reason: "R5: no assigned user, no match: create a Lead through the active assignment rule",
			Lead: &LeadSpec{Fields: LeadFields(p, s), UseAssignmentRule: true}}
	}
	return waitDecision("R6: no assigned user, no match")
}

// errorDecision is Decide's own error: the message alone is reason enough.
func errorDecision(code, msg string) Decision {
	d := ErrorDecision(SyncError{Code: code, Message: msg})
	d.Reason = msg
	return d
}

// ErrorDecision shows a reason the prospect cannot sync and waits for it to change.
func ErrorDecision(se SyncError) Decision {
	return Decision{Action: ActionError, State: StateSyncError, Reason: se.Code + ": " + se.Message, Error: &se,
		WaitingFor: "a change to the prospect"}
}

func waitDecision(reason string) Decision {
	return Decision{Action: ActionWait, State: StateWaitingForAssignment, Reason: reason, WaitingFor: "an assigned user"}
}

// markDeleted flags a prospect whose record is gone: never recreated until a person allows it.
// The flag is the sync's own (Link.Deleted); only the legacy link wrote markers to Account
// Engagement.
func markDeleted(reason string, s Settings) Decision {
	d := Decision{Action: ActionMarkDeleted, State: StateCRMDeleted, Reason: reason, WaitingFor: "an explicit allow-recreate request"}
	if s.LegacyLinkFields {
		d.ProspectUpdates = markAll(MarkerCRMDeleted)
	}
	return d
}

// Deleted ends the sync of a prospect deleted in Account Engagement.
func Deleted(id int64) Decision {
	return Decision{Action: ActionEnd, State: StateSyncError, Reason: "prospect deleted in Account Engagement",
		Error: &SyncError{Code: CodeProspectDeleted, Message: fmt.Sprintf("prospect %d was deleted in Account Engagement", id)}}
}

// NotFound ends the sync of a prospect Account Engagement does not know.
func NotFound(id int64) Decision {
	return Decision{Action: ActionEnd, State: StateSyncError, Reason: "prospect not found in Account Engagement",
		Error: &SyncError{Code: CodeProspectNotFound, Message: fmt.Sprintf("Account Engagement has no prospect %d", id)}}
}

// followConversion swaps a converted Lead for the Contact it became; nil when that Contact is unknown.
func followConversion(r Record, m *Matches) *Record {
	if r.Type != TypeLead || !r.IsConverted {
		return &r
	}
	for _, c := range m.Contacts {
		if c.ID == r.ConvertedContactID {
			return &c
		}
	}
	return nil
}

// BestMatch picks the record a prospect syncs to among several (our rule, docs/domain.md §1):
// converted Leads give way to their Contacts, then the type earlier in order wins, then the
// most recently modified, then the smallest id so that the choice is stable.
func BestMatch(m Matches, order []string) *Record {
	var candidates []Record
	candidates = append(candidates, m.Contacts...)
	for _, l := range m.Leads {
		if l.IsConverted {
			continue // its ConvertedContactId is among the Contacts (the lookup fetches it)
		}
		candidates = append(candidates, l)
	}
	if len(candidates) == 0 {
		return nil
	}
	rank := func(t string) int {
		if i := slices.Index(order, t); i >= 0 {
			return i
		}
		return len(order)
	}
	best := slices.MinFunc(candidates, func(a, b Record) int {
		return cmp.Or(
			cmp.Compare(rank(a.Type), rank(b.Type)),
			b.LastModified.Compare(a.LastModified),
			cmp.Compare(a.ID, b.ID),
		)
	})
	return &best
}

// LeadFields are the fields of a new Lead: the mapped prospect values, the email, and the
// placeholder where Salesforce requires a value the prospect lacks.
func LeadFields(p Prospect, s Settings) map[string]string {
	f := map[string]string{"Email": strings.TrimSpace(p.Email)}
	for _, m := range s.FieldMapping {
		if !m.AppliesTo(TypeLead) {
			continue
		}
		if v := strings.TrimSpace(p.Field(m.Engagement)); v != "" {
			f[m.Salesforce] = v
		}
	}
	for _, required := range []string{"LastName", "Company"} {
		if strings.TrimSpace(f[required]) == "" {
			f[required] = s.Placeholder
		}
	}
	return f
}

// LinkUpdates computes what keeps a prospect and its record in step: Salesforce fields to
// write, Account Engagement fields to write (link ids, owner, fields where Salesforce wins),
// and the Salesforce owner to flow back as the assigned user. Only differences are returned,
// so an in-step pair costs no write.
func LinkUpdates(p Prospect, rec Record, s Settings) (recordUpdates, prospectUpdates map[string]string, assignOwner string) {
	recordUpdates, prospectUpdates = map[string]string{}, map[string]string{}
	for _, m := range s.FieldMapping {
		if !m.AppliesTo(rec.Type) {
			continue
		}
		sfValue, ok := rec.Fields[m.Salesforce]
		if !ok {
			continue // the object has no such field
		}
		ae, sf := strings.TrimSpace(p.Field(m.Engagement)), strings.TrimSpace(sfValue)
		if sf == s.Placeholder {
			sf = "" // our own filler is no value: a real one from Account Engagement replaces it
		}
		if ae == sf {
			continue
		}
		// A non-empty value always beats an empty one; otherwise the master's value wins.
		takeAE := sf == "" || (ae != "" && m.Master == MasterEngagement)
		if takeAE {
			recordUpdates[m.Salesforce] = ae
		} else {
			prospectUpdates[m.Engagement] = sf
		}
	}
	if s.LegacyLinkFields {
		legacyLinkFields(p, rec, prospectUpdates)
	}
	// A queue owns the record: the prospect stays unassigned until a user takes it. An assigned
	// user without a Salesforce user can't own the record (the integration user does); that
	// owner is no reason to reassign the prospect, unless someone changed it in Salesforce.
	unmappedOwner := p.AssignedUserID != 0 && p.AssignedUserSalesforceID == "" && (p.Link.OwnerID == "" || p.Link.OwnerID == rec.OwnerID)
	if rec.OwnerID != "" && !rec.OwnerIsQueue() && rec.OwnerID != p.AssignedUserSalesforceID && !unmappedOwner {
		assignOwner = rec.OwnerID
	}
	if len(recordUpdates) == 0 {
		recordUpdates = nil
	}
	if len(prospectUpdates) == 0 {
		prospectUpdates = nil
	}
	return recordUpdates, prospectUpdates, assignOwner
}

// legacyLinkFields adds what versions before the sync kept its own link wrote to Account
// Engagement: the CRM ids and owner, which the real API refuses (read-only, docs/domain.md §5.6).
// Only replays of those versions' histories use it.
func legacyLinkFields(p Prospect, rec Record, prospectUpdates map[string]string) {
	set := func(field, current, want string) {
		if current != want {
			prospectUpdates[field] = want
		}
	}
	set("salesforceId", p.CRMID, rec.ID)
	if rec.Type == TypeContact {
		set("salesforceContactId", p.CRMContactID, rec.ID)
	} else {
		set("salesforceLeadId", p.CRMLeadID, rec.ID)
		// A Contact linked before (say, before an email change) is no longer this prospect's.
		if isRecordID(p.CRMContactID) {
			prospectUpdates["salesforceContactId"] = ""
		}
	}
	if rec.OwnerID != "" {
		set("salesforceOwnerId", p.CRMOwnerID, rec.OwnerID)
	}
}

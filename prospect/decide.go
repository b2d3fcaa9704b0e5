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
	// ActionStop: stop syncing with the linked record (its email or a merge made it another
	// prospect's, or the settings say so) and match or create none until a person allows it,
	// as the connector flags such prospects.
	ActionStop Action = "stop-syncing"
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
	// Fields are the decisions about mapped fields whose values differed (ActionLink): which
	// side won and why, for the history and the UI.
	Fields []FieldNote
	// Flag says why an ActionStop stops syncing (FlagEmailTaken, FlagUnlinked, FlagMerged).
	Flag string
	// Archive sends the prospect to Account Engagement's recycle bin (ActionMarkDeleted with
	// SYNC_SALESFORCE_DELETES=archive); Unarchive brings it back before the link is written
	// (ActionLink, its record restored).
	Archive, Unarchive bool
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

// Decide applies rules R1–R6 (docs/rules.md) to a prospect. matches is nil until a lookup
// has run; Decide asks for one (ActionLookup) only when the answer could depend on Salesforce.
// It is pure: no I/O, no clock, no randomness.
func Decide(p Prospect, matches *Matches, s Settings) Decision {
	if p.Deleted && !(p.Link.Deleted && p.Link.Archived) {
		return Deleted(p.ID)
	}
	// Archived by the sync when its record was deleted: it waits in the recycle bin for the
	// record's restore.
	if p.HasMarker(MarkerDoNotSync) {
		return Decision{Action: ActionNone, State: StateDoNotSync, Reason: "R1: flagged Do not sync with CRM"}
	}
	if p.Link.Deleted && !restored(p.Link, matches) {
		return Decision{Action: ActionNone, State: StateCRMDeleted, Reason: stoppedReason(p.Link),
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
		if matches.MergedInto != nil && p.Link.Base != nil {
			return mergedDecision(p, *matches, s)
		}
		return markDeleted(fmt.Sprintf("linked record %s was deleted in Salesforce; never recreated", linkedID), s)
	}

	var rec *Record
	linked := false
	if matches.Linked != nil {
		cur := followConversion(*matches.Linked, matches)
		if cur == nil && NormalizeEmail(matches.Linked.Email) == email {
			// Converted, and the Contact it became is gone: that record was deleted.
			return markDeleted(fmt.Sprintf("linked Lead %s was converted to Contact %s, which no longer exists; never recreated",
				matches.Linked.ID, matches.Linked.ConvertedContactID), s)
		}
		switch {
		case cur != nil && NormalizeEmail(cur.Email) == email:
			// The linked record still has the prospect's email: stay with it (after a conversion,
			// with the Contact it became).
			rec, linked = cur, true
		case cur != nil && p.Link.Base != nil:
			if d, ok := emailEdited(p, *cur, s); ok {
				return d
			}
		}
	}
	if rec == nil {
		rec = BestMatch(*matches, s.MatchOrder)
	}
	if rec != nil {
		if !assigned && !linked && !s.SyncUnassignedMatches {
			return waitDecision(fmt.Sprintf("R3: matching %s %s, no assigned user", rec.Type, rec.ID))
		}
		reason := fmt.Sprintf("R2: sync with matching %s %s", rec.Type, rec.ID)
		if linked {
			reason = fmt.Sprintf("keep linked %s %s in step", rec.Type, rec.ID)
			if p.Link.Deleted {
				reason = fmt.Sprintf("linked %s %s was restored in Salesforce: synced again", rec.Type, rec.ID)
			}
		}
		d := linkDecision(p, *rec, s, reason)
		if linked && p.Link.Deleted && p.Link.Archived {
			d.Unarchive = true
			d.Reason += ", the prospect brought back from Account Engagement's recycle bin"
		}
		return d
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

// restored reports whether the lookup found the record of a sync stopped by its deletion alive
// again: restored from Salesforce's recycle bin.
func restored(l Link, m *Matches) bool {
	return m != nil && l.Restorable() && m.Linked != nil && m.Linked.ID == l.ID
}

// stoppedReason is why a stopped sync stays stopped.
func stoppedReason(l Link) string {
	switch l.Flag {
	case FlagEmailTaken:
		return "stopped syncing: the record's email changed in Salesforce to one another prospect has; never recreated until a person allows it"
	case FlagUnlinked:
		return "stopped syncing: the record's email changed in Salesforce (SYNC_SALESFORCE_EMAIL_CHANGES=unlink); never recreated until a person allows it"
	case FlagMerged:
		return "stopped syncing: the record was merged into one another prospect syncs with; never recreated until a person allows it"
	}
	return "CRM record was deleted in Salesforce; never recreated until a person allows it"
}

// emailEdited decides for a linked record whose email differs from the prospect's, by which
// side changed since the base (docs/rules.md "Email edits"). ok is false when the edit was made
// in Account Engagement alone: then, as the connector does, the new email is matched or a
// record created for it, which is what Decide does next.
func emailEdited(p Prospect, rec Record, s Settings) (d Decision, ok bool) {
	b := p.Link.Base
	aeChanged := NormalizeEmail(p.Email) != NormalizeEmail(b.Email)
	sfChanged := NormalizeEmail(rec.Email) != NormalizeEmail(b.RecordEmail)
	switch {
	case aeChanged && !sfChanged:
		return Decision{}, false
	case sfChanged && !aeChanged:
		if s.SalesforceEmailChanges == EmailUnlink {
			return Decision{Action: ActionStop, State: StateCRMDeleted, Flag: FlagUnlinked,
				Reason: fmt.Sprintf("email of %s %s changed in Salesforce from %s to %s; SYNC_SALESFORCE_EMAIL_CHANGES=unlink: stopped syncing with it, never recreated until a person allows it",
					rec.Type, rec.ID, b.RecordEmail, rec.Email),
				WaitingFor: "an explicit allow-recreate request"}, true
		}
		d := linkDecision(p, rec, s, fmt.Sprintf("email of linked %s %s changed in Salesforce from %s to %s: the prospect's email follows",
			rec.Type, rec.ID, b.RecordEmail, rec.Email))
		if d.ProspectUpdates == nil {
			d.ProspectUpdates = map[string]string{}
		}
		d.ProspectUpdates["email"] = strings.TrimSpace(rec.Email)
		return d, true
	}
	// Both changed, or (a base taken from a read that already differed) neither: nobody can
	// tell which address is right, so nothing is written until a person makes them agree.
	return errorDecision(CodeEmailConflict, fmt.Sprintf("email changed on both sides since the last sync: %s in Account Engagement, %s in %s %s (last synced: %s); make them agree on either side",
		strings.TrimSpace(p.Email), strings.TrimSpace(rec.Email), rec.Type, rec.ID, b.Email)), true
}

// mergedDecision follows a linked record merged away in Salesforce to its survivor, as the
// connector repoints the merged-away prospect: the prospect syncs with the survivor and takes its
// email; if another prospect already syncs with the survivor, this one stops syncing.
func mergedDecision(p Prospect, m Matches, s Settings) Decision {
	win := *m.MergedInto
	if m.SurvivorSyncedBy != 0 {
		return Decision{Action: ActionStop, State: StateCRMDeleted, Flag: FlagMerged,
			Reason: fmt.Sprintf("linked %s %s was merged into %s %s, which syncs with prospect %d: stopped syncing, never recreated until a person allows it",
				p.Link.Type, p.Link.ID, win.Type, win.ID, m.SurvivorSyncedBy),
			WaitingFor: "an explicit allow-recreate request"}
	}
	d := linkDecision(p, win, s, fmt.Sprintf("linked %s %s was merged into %s %s in Salesforce: synced with the survivor", p.Link.Type, p.Link.ID, win.Type, win.ID))
	if NormalizeEmail(win.Email) != NormalizeEmail(p.Email) {
		if d.ProspectUpdates == nil {
			d.ProspectUpdates = map[string]string{}
		}
		d.ProspectUpdates["email"] = strings.TrimSpace(win.Email)
	}
	return d
}

// linkDecision syncs the prospect with rec (R2, or the linked record kept in step).
func linkDecision(p Prospect, rec Record, s Settings, reason string) Decision {
	u := reconcile(p, rec, s)
	return Decision{Action: ActionLink, State: StateSynced, Reason: reason, Record: &rec,
		RecordUpdates: u.record, ProspectUpdates: u.prospect, AssignOwner: u.owner, Fields: u.notes}
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
	if s.SalesforceDeletes == DeletesArchive {
		d.Archive = true
		d.Reason += "; the prospect goes to Account Engagement's recycle bin until the record is restored (SYNC_SALESFORCE_DELETES=archive)"
		d.WaitingFor = "the record's restore in Salesforce, or an explicit allow-recreate request"
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

// BestMatch picks the record a prospect syncs to among several (our rule, docs/rules.md):
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
	u := reconcile(p, rec, s)
	return u.record, u.prospect, u.owner
}

// updates is what reconcile finds.
type updates struct {
	record, prospect map[string]string
	owner            string
	notes            []FieldNote
}

// reconcile is LinkUpdates with the reasons: each mapped field whose values differ takes the
// side resolveField picks from what changed since the base and the field's behaviour.
func reconcile(p Prospect, rec Record, s Settings) updates {
	u := updates{record: map[string]string{}, prospect: map[string]string{}}
	var base *Base
	if p.Link.ID == rec.ID {
		base = p.Link.Base // a base describes the record it was synced with, no other
	}
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
		winner, why := resolveField(m, ae, sf, changedSince(base, m, ae, sf, s.Placeholder), p.UpdatedAt, rec.LastModified, rec.FieldChanged[m.Salesforce])
		if winner == MasterEngagement {
			u.record[m.Salesforce] = ae
		} else {
			u.prospect[m.Engagement] = sf
		}
		u.notes = append(u.notes, FieldNote{Field: m.Engagement + "/" + m.Salesforce, Engagement: ae, Salesforce: sf, Winner: winner, Why: why})
	}
	// A queue owns the record: the prospect stays unassigned until a user takes it. An assigned
	// user without a Salesforce user can't own the record (the integration user does); that
	// owner is no reason to reassign the prospect, unless someone changed it in Salesforce.
	unmappedOwner := p.AssignedUserID != 0 && p.AssignedUserSalesforceID == "" && (p.Link.OwnerID == "" || p.Link.OwnerID == rec.OwnerID)
	if rec.OwnerID != "" && !rec.OwnerIsQueue() && rec.OwnerID != p.AssignedUserSalesforceID && !unmappedOwner {
		u.owner = rec.OwnerID
	}
	if len(u.record) == 0 {
		u.record = nil
	}
	if len(u.prospect) == 0 {
		u.prospect = nil
	}
	return u
}

package workflows

import (
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// What a sync shows: its state and history in the sync-state query, its search attributes and
// the Markdown the Temporal UI shows as its current details.

// linked records a successful sync with rec, and what was synced as the base of the next
// decision.
func (s *syncer) linked(ctx workflow.Context, d prospect.Decision, rec prospect.Record, assignedUserID int64, base *prospect.Base) {
	st := &s.carry.Status
	st.CRMRecordType, st.CRMRecordID, st.OwnerID, st.AssignedUserID = rec.Type, rec.ID, rec.OwnerID, assignedUserID
	s.carry.Link = prospect.Link{Type: rec.Type, ID: rec.ID, OwnerID: rec.OwnerID}
	if s.baseOn {
		s.carry.Link.Base = base
	}
	s.record(ctx, d)
}

// record makes a decision visible: query state, history, search attributes, UI details.
func (s *syncer) record(ctx workflow.Context, d prospect.Decision) {
	if d.Action == prospect.ActionEnd {
		s.ended = true
	}
	st := &s.carry.Status
	countDecision(ctx, st.State, d)
	now := workflow.Now(ctx)
	// Idle time counts from the last real change, not from rechecks that found nothing to do.
	if st.State != d.State || d.Action == prospect.ActionCreateLead || d.RecordUpdates != nil || d.ProspectUpdates != nil {
		s.carry.LastChange = now
	}
	st.State, st.LastError, st.WaitingFor = d.State, d.Error, d.WaitingFor
	if d.State == prospect.StateSynced {
		st.LastError = nil
	}
	last := len(st.History) - 1
	if last >= 0 && st.History[last].Action == d.Action && st.History[last].Reason == d.Reason {
		st.History[last].Time, st.History[last].Fields = now, d.Fields // the same decision again: refresh, don't flood
	} else {
		st.History = append(st.History, HistoryEntry{Time: now, State: d.State, Action: d.Action, Reason: d.Reason, Fields: d.Fields})
		if len(st.History) > maxHistoryEntries {
			st.History = st.History[len(st.History)-maxHistoryEntries:]
		}
	}
	s.upsertAttrs(ctx)
	workflow.SetCurrentDetails(ctx, s.details())
}

// upsertAttrs writes the search attributes that changed since the last upsert.
func (s *syncer) upsertAttrs(ctx workflow.Context) {
	st := s.carry.Status
	assigned := ""
	if st.AssignedUserID != 0 {
		assigned = strconv.FormatInt(st.AssignedUserID, 10)
	}
	code := ""
	if st.LastError != nil {
		code = st.LastError.Code
	}
	var updates []temporal.SearchAttributeUpdate
	for _, kv := range []struct {
		key   temporal.SearchAttributeKeyKeyword
		value string
	}{
		{AttrSyncState, string(st.State)},
		{AttrProspectID, strconv.FormatInt(s.id, 10)},
		{AttrCRMRecordID, st.CRMRecordID},
		{AttrAssignedUserID, assigned},
		{AttrSyncErrorCode, code},
	} {
		name := kv.key.GetName()
		if old, ok := s.attrs[name]; ok && old == kv.value {
			continue
		}
		s.attrs[name] = kv.value
		if kv.value == "" {
			updates = append(updates, kv.key.ValueUnset())
		} else {
			updates = append(updates, kv.key.ValueSet(kv.value))
		}
	}
	if len(updates) > 0 && !s.createdAt.IsZero() {
		// In the same upsert as the new CrmRecordId: one command, as before the attribute existed.
		updates = append(updates, AttrCRMCreatedAt.ValueSet(s.createdAt))
		s.createdAt = time.Time{}
	}
	if len(updates) > 0 {
		// Upsert fails only on invalid keys, which are constants here.
		_ = workflow.UpsertTypedSearchAttributes(ctx, updates...)
	}
}

// details is the Markdown the Temporal UI shows as the workflow's current details.
func (s *syncer) details() string {
	st := s.carry.Status
	out := fmt.Sprintf("**%s**", st.State)
	if st.Paused != "" {
		out += "\n\n" + st.Paused + " (held before its next write)"
	}
	if st.CRMRecordID != "" {
		out += fmt.Sprintf(" · %s `%s` owned by `%s`", st.CRMRecordType, st.CRMRecordID, st.OwnerID)
	}
	if st.WaitingFor != "" {
		out += "\n\nWaiting for " + st.WaitingFor
	}
	if st.LastError != nil {
		out += fmt.Sprintf("\n\nLast error `%s`: %s", st.LastError.Code, st.LastError.Message)
	}
	if n := len(st.History); n > 0 {
		last := st.History[n-1]
		out += "\n\n" + last.Reason
		for _, f := range last.Fields {
			out += "\n- " + f.String()
		}
	}
	return out
}

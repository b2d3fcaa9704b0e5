package activities

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/prospect-sync/prospect-sync/internal/batch"
	"github.com/prospect-sync/prospect-sync/internal/httperror"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// DefaultBatchLinger is how long a Salesforce lookup or write waits for others to share its
// call while requests keep arriving. At the ~25 syncs a second one worker runs, 3 s gathers
// about 35 writes of a kind a call; a lone sync on an idle worker never waits (internal/batch).
const DefaultBatchLinger = 3 * time.Second

// EnableBatching turns on shared Salesforce calls across the syncs a worker runs: lookups share
// one composite of `Email IN (...)` queries, creates and updates share sObject Collections
// calls. linger 0 leaves every call to its own sync. (A function, not a method: every exported
// method of Activities is registered as an activity.)
func EnableBatching(a *Activities, linger time.Duration) {
	if linger <= 0 {
		a.lookups, a.writes = nil, nil
		return
	}
	opts := batch.Options{Linger: linger, Timeout: 2 * time.Minute}
	lookups := opts
	// One composite carries 5 queries of up to 100,000 characters: ~1,000 emails of 40
	// characters fit in one Lead and one Contact query.
	lookups.Max = 1000
	lookups.Observe = a.batchSent(metrics.BatchLookup)
	a.lookups = batch.New(lookups, a.lookupBatch)
	writes := opts
	writes.Max = salesforce.MaxCollectionRecords
	writes.Observe = a.batchSent(metrics.BatchWrite)
	a.writes = batch.New(writes, a.writeBatch)
}

// lookupOutcome is one prospect's share of a batched lookup.
type lookupOutcome struct {
	matches prospect.Matches
	// alone: the shared call could not answer for this prospect (its linked record's id was
	// refused): it looks up on its own.
	alone bool
}

// lookupBatch is one batched lookup call; the key holds the mapped fields, equal across it.
func (a *Activities) lookupBatch(ctx context.Context, _ string, ins []FindMatchesInput) ([]lookupOutcome, error) {
	if len(ins) == 1 {
		// Alone: its own composite costs the same one call and reads only its own records.
		return []lookupOutcome{{alone: true}}, nil
	}
	return a.lookupMany(ctx, ins)
}

// maxInChars bounds the IN list of one query, well inside SOQL's 100,000 characters (§5.4).
const maxInChars = 90000

// lookupMany finds many prospects' matches in as few calls as SOQL's limits allow: one
// composite carries a Lead and a Contact query by `Email IN (...)` and the linked records by
// `Id IN (...)`, for about a thousand prospects, and the field history of the linked records'
// :recent fields (RecentFields, equal across the batch like the mapped fields); past five
// queries a composite, the rest go in another. Conversions are followed with one more query
// for all, only where a converted Lead's Contact was not found by email.
func (a *Activities) lookupMany(ctx context.Context, ins []FindMatchesInput) ([]lookupOutcome, error) {
	if len(ins) == 0 {
		return nil, nil
	}
	leadFields, contactFields, recent := ins[0].LeadFields, ins[0].ContactFields, ins[0].RecentFields
	var emails, leadIDs, contactIDs []string
	for _, in := range ins {
		if e := prospect.NormalizeEmail(in.Email); e != "" && !slices.Contains(emails, e) {
			emails = append(emails, e)
		}
		switch {
		case in.LinkedID == "":
		case in.LinkedType == prospect.TypeContact:
			contactIDs = append(contactIDs, in.LinkedID)
		default:
			leadIDs = append(leadIDs, in.LinkedID)
		}
	}
	type query struct {
		sel     salesforce.Select
		typ     string
		byID    bool
		history bool
		fields  []string
	}
	var queries []query
	for _, chunk := range chunkByChars(emails) {
		queries = append(queries,
			query{salesforce.Select{Object: prospect.TypeLead, Fields: fieldsOf(prospect.TypeLead, leadFields),
				Where: []salesforce.Cond{salesforce.In("Email", chunk...)}, OrderBy: "LastModifiedDate DESC"}, prospect.TypeLead, false, false, leadFields},
			query{salesforce.Select{Object: prospect.TypeContact, Fields: fieldsOf(prospect.TypeContact, contactFields),
				Where: []salesforce.Cond{salesforce.In("Email", chunk...)}, OrderBy: "LastModifiedDate DESC"}, prospect.TypeContact, false, false, contactFields})
	}
	for _, chunk := range chunkByChars(leadIDs) {
		queries = append(queries, query{linkedSelect(prospect.TypeLead, leadFields, chunk...), prospect.TypeLead, true, false, leadFields})
	}
	for _, chunk := range chunkByChars(contactIDs) {
		queries = append(queries, query{linkedSelect(prospect.TypeContact, contactFields, chunk...), prospect.TypeContact, true, false, contactFields})
	}
	for _, linked := range []struct {
		typ string
		ids []string
	}{{prospect.TypeLead, leadIDs}, {prospect.TypeContact, contactIDs}} {
		if len(recent[linked.typ]) == 0 {
			continue
		}
		for _, chunk := range chunkByChars(linked.ids) {
			queries = append(queries, query{historySelect(linked.typ, recent[linked.typ], chunk...), linked.typ, false, true, recent[linked.typ]})
		}
	}

	byEmail := map[string]*prospect.Matches{}
	byID := map[string]prospect.Record{}
	gone := map[string]string{}                  // linked records deleted → the record each was merged into
	refused := map[string]bool{}                 // record types whose id query was refused (a malformed id)
	changes := map[string]map[string]time.Time{} // linked record id → :recent field → last change
	for group := range slices.Chunk(queries, salesforce.MaxCompositeQueries) {
		sels := make([]salesforce.Select, len(group))
		for i, q := range group {
			sels[i] = q.sel
		}
		results, err := a.SF.SelectMany(ctx, sels...)
		if err != nil {
			return nil, classify(err)
		}
		for i, q := range group {
			r := results[i]
			if q.history {
				if r.Err != nil {
					if refused[q.typ] {
						continue // a malformed linked id, refused by both queries: those go alone
					}
					if err := historyUsable(ctx, a, q.typ, r.Err); err != nil {
						return nil, err
					}
					continue
				}
				fieldChanges(r.Records, q.typ, q.fields, changes)
				continue
			}
			if r.Err != nil {
				if q.byID && httperror.KindOf(r.Err) == httperror.Data {
					refused[q.typ] = true
					continue
				}
				return nil, classify(r.Err)
			}
			if q.byID {
				linkedRecords(r.Records, q.typ, q.fields, byID, gone)
				continue
			}
			for _, rec := range toRecords(r.Records, q.typ, q.fields) {
				m := byEmail[prospect.NormalizeEmail(rec.Email)]
				if m == nil {
					m = &prospect.Matches{}
					byEmail[prospect.NormalizeEmail(rec.Email)] = m
				}
				if q.typ == prospect.TypeLead && len(m.Leads) < maxMatches {
					m.Leads = append(m.Leads, rec)
				} else if q.typ == prospect.TypeContact && len(m.Contacts) < maxMatches {
					m.Contacts = append(m.Contacts, rec)
				}
			}
		}
	}

	out := make([]lookupOutcome, len(ins))
	for i, in := range ins {
		if in.LinkedID != "" && refused[linkedType(in)] {
			out[i].alone = true
			continue
		}
		var m prospect.Matches
		if found := byEmail[prospect.NormalizeEmail(in.Email)]; found != nil {
			m.Leads, m.Contacts = slices.Clone(found.Leads), slices.Clone(found.Contacts)
		}
		if in.LinkedID != "" {
			if rec, ok := byID[in.LinkedID]; ok {
				rec = withHistory(rec, changes)
				m.Linked = &rec
			} else {
				m.LinkedGone = true
			}
		}
		out[i].matches = m
	}
	ms := make([]*prospect.Matches, 0, len(out))
	var mins []FindMatchesInput
	for i := range out {
		if !out[i].alone {
			ms = append(ms, &out[i].matches)
			mins = append(mins, ins[i])
		}
	}
	if err := a.followAllConversions(ctx, ms, contactFields); err != nil {
		return nil, err
	}
	if err := a.followMerges(ctx, ms, mins, gone); err != nil {
		return nil, err
	}
	return out, nil
}

// linkedType is the record type of a lookup's linked record (a Lead unless it says Contact).
func linkedType(in FindMatchesInput) string {
	if in.LinkedType == prospect.TypeContact {
		return prospect.TypeContact
	}
	return prospect.TypeLead
}

// chunkByChars splits values into IN lists that each stay within maxInChars when quoted.
func chunkByChars(values []string) [][]string {
	var out [][]string
	size := 0
	for _, v := range values {
		n := len(salesforce.Quote(v)) + 2
		if len(out) == 0 || size+n > maxInChars {
			out = append(out, nil)
			size = 0
		}
		out[len(out)-1] = append(out[len(out)-1], v)
		size += n
	}
	return out
}

// writeOp is one sync's write in a shared collections call: a create or an update.
type writeOp struct {
	create *CreateLeadInput
	update *UpdateRecordInput
}

// writeOutcome is one write's outcome: the record as written (a created Lead, read back when
// Salesforce picked its owner), or its own rejection.
type writeOutcome struct {
	record prospect.Record
	err    error
}

// Write batch keys: records sharing a call share its Sforce-Auto-Assign header and operation.
const (
	keyUpdate       = "update"
	keyCreateOwned  = "create owned"   // OwnerId set: FALSE
	keyCreateRule   = "create rule"    // the active assignment rule picks the owner: TRUE, read back
	keyCreateIntegr = "create default" // no owner, no rule: FALSE (the integration user), read back
)

// writeBatch is one shared collections call (and, for creates whose owner Salesforce picked,
// one query reading them back for the whole batch). A lone write takes the single-record path:
// as few calls, and the same requests as without batching.
func (a *Activities) writeBatch(ctx context.Context, key string, ops []writeOp) ([]writeOutcome, error) {
	// The pause is checked again as the shared call leaves: writes that joined the batch before
	// the pause was seen do not go out after it.
	if err := a.paused(); err != nil {
		return nil, err
	}
	if len(ops) == 1 {
		var out writeOutcome
		if u := ops[0].update; u != nil {
			out.err = a.SF.Update(ctx, u.Type, u.ID, anyMap(u.Fields))
		} else {
			out.record, out.err = a.createOne(ctx, *ops[0].create)
		}
		return []writeOutcome{out}, nil
	}
	rows := make([]salesforce.Row, len(ops))
	var read []string
	for i, op := range ops {
		if u := op.update; u != nil {
			rows[i] = salesforce.Row{Type: u.Type, ID: u.ID, Fields: anyMap(u.Fields)}
			continue
		}
		c := op.create
		fields := anyMap(c.Fields)
		if key == keyCreateOwned {
			fields["OwnerId"] = c.OwnerID
		}
		if a.ProspectIDField != "" {
			fields[a.ProspectIDField] = strconv.FormatInt(c.ProspectID, 10)
		}
		rows[i] = salesforce.Row{Type: prospect.TypeLead, Fields: fields}
		for _, f := range c.ReadFields {
			if !slices.Contains(read, f) {
				read = append(read, f)
			}
		}
	}
	var results []salesforce.SaveResult
	var err error
	rule := salesforce.AutoAssign(key == keyCreateRule)
	switch {
	case key == keyUpdate:
		results, err = a.SF.UpdateMany(ctx, rows)
	case a.ProspectIDField != "":
		results, err = a.SF.UpsertMany(ctx, prospect.TypeLead, a.ProspectIDField, rows, rule)
	default:
		results, err = a.SF.CreateMany(ctx, rows, rule)
	}
	if err != nil {
		return nil, err
	}
	out := make([]writeOutcome, len(ops))
	var readIDs []string
	for i, r := range results {
		out[i].err = r.Err
		switch {
		case r.Err != nil || key == keyUpdate:
		case key == keyCreateOwned:
			out[i].record = ownedLead(*ops[i].create, r.ID)
		default:
			readIDs = append(readIDs, r.ID)
		}
	}
	if len(readIDs) == 0 {
		return out, nil
	}
	// The owners Salesforce picked, for the whole batch in one query. Should it fail, the
	// creates stand: each sync's retry finds its Lead (CreateLead looks before creating again).
	recs, err := a.SF.Select(ctx, salesforce.Select{Object: prospect.TypeLead, Fields: fieldsOf(prospect.TypeLead, read),
		Where: []salesforce.Cond{salesforce.In("Id", readIDs...)}})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]salesforce.Record, len(recs))
	for _, r := range recs {
		byID[r.String("Id")] = r
	}
	for i, r := range results {
		if rec, ok := byID[r.ID]; ok && out[i].err == nil {
			out[i].record = toRecords([]salesforce.Record{rec}, prospect.TypeLead, ops[i].create.ReadFields)[0]
		}
	}
	return out, nil
}

// LookupMany is the page-wide lookup for callers outside a sync (`starter plan`): the same
// batched composite calls as the change feed's hand-offs, about a thousand prospects a call,
// with linked records, conversions and merges followed. A lookup the batch could not serve (a
// malformed linked id) is made alone.
func (a *Activities) LookupMany(ctx context.Context, ins []FindMatchesInput) ([]prospect.Matches, error) {
	out := make([]prospect.Matches, len(ins))
	for start := 0; start < len(ins); start += maxPlanBatch {
		chunk := ins[start:min(start+maxPlanBatch, len(ins))]
		found, err := a.lookupMany(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for i, f := range found {
			if !f.alone {
				out[start+i] = f.matches
				continue
			}
			one, err := a.findMatches(ctx, chunk[i])
			if err != nil {
				return nil, err
			}
			out[start+i] = one.Matches
		}
	}
	return out, nil
}

// maxPlanBatch is how many lookups LookupMany hands lookupMany at once: a page of the feed.
const maxPlanBatch = 1000

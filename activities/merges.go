package activities

import (
	"context"
	"maps"
	"slices"

	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// maxMergeHops bounds how far a chain of merges is followed (a survivor merged away later):
// each hop is one call, and a record merged three times over in the time between two syncs
// is better left to the next change.
const maxMergeHops = 3

// followMerges finds, for the lookups whose linked record is gone, the record it was merged
// into: Salesforce deletes a merged-away record and points its MasterRecordId at the
// survivor, visible only through queryAll (docs/salesforce.md "Merges and restores"). The
// lookup's own queryAll of the linked records brought each one's MasterRecordId (masters, by
// gone id); one call reads the survivors, only when there are any, and one more per further
// hop of a chain of merges. It also names a prospect whose sync already links the survivor,
// through the same visibility lookup the Salesforce change feed uses.
func (a *Activities) followMerges(ctx context.Context, ms []*prospect.Matches, ins []FindMatchesInput, masters map[string]string) error {
	gone := map[string][]int{} // record id → indexes into ms
	for i, m := range ms {
		if m.LinkedGone && ins[i].LinkedID != "" {
			gone[ins[i].LinkedID] = append(gone[ins[i].LinkedID], i)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	survivor := map[string]string{} // gone id → the id it was merged into, as far as followed
	ids := slices.Sorted(maps.Keys(gone))
	for id := range gone {
		survivor[id] = id
	}
	live := map[string]prospect.Record{}
	for hop := 0; hop < maxMergeHops && len(ids) > 0; hop++ {
		if hop > 0 {
			var err error
			if masters, err = a.masterRecords(ctx, ids); err != nil {
				return err
			}
		}
		var next []string
		for from, cur := range survivor {
			if m, ok := masters[cur]; ok && m != "" {
				survivor[from] = m
				next = append(next, m)
			}
		}
		if len(next) == 0 {
			break
		}
		slices.Sort(next)
		next = slices.Compact(next)
		recs, err := a.liveRecords(ctx, next, ins[0])
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, id := range next {
			if r, ok := recs[id]; ok {
				live[id] = r
			} else {
				ids = append(ids, id) // the survivor is gone too: merged again?
			}
		}
	}
	byWinner := map[string][]int64{} // survivor id → the prospects whose syncs link it
	for from, idxs := range gone {
		w, ok := live[survivor[from]]
		if !ok {
			continue // deleted outright, or a chain too long: flagged as deleted
		}
		if _, seen := byWinner[w.ID]; !seen && a.Linked != nil {
			// Visibility, not an API call; merges are rare, so one look-up per survivor.
			others, err := a.Linked(ctx, []string{w.ID})
			if err != nil {
				return classify(err)
			}
			byWinner[w.ID] = others
		}
		for _, i := range idxs {
			ms[i].MergedInto = &w
			for _, id := range byWinner[w.ID] {
				if id != ins[i].ProspectID {
					ms[i].SurvivorSyncedBy = id
					break
				}
			}
		}
	}
	return nil
}

// masterRecords reads, through queryAll, the MasterRecordId of those of ids that were merged
// away: one call for Leads and Contacts together.
func (a *Activities) masterRecords(ctx context.Context, ids []string) (map[string]string, error) {
	var queries []salesforce.Select
	for _, typ := range []string{prospect.TypeLead, prospect.TypeContact} {
		of := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return prospect.RecordType(id) != typ })
		for _, chunk := range chunkByChars(of) {
			queries = append(queries, salesforce.Select{Object: typ, Fields: []string{"Id", "IsDeleted", "MasterRecordId"},
				Where: []salesforce.Cond{salesforce.In("Id", chunk...)}, All: true})
		}
	}
	out := map[string]string{}
	for group := range slices.Chunk(queries, salesforce.MaxCompositeQueries) {
		results, err := a.SF.SelectMany(ctx, group...)
		if err != nil {
			return nil, classify(err)
		}
		for _, r := range results {
			if r.Err != nil {
				return nil, classify(r.Err)
			}
			for _, rec := range r.Records {
				if m := rec.String("MasterRecordId"); rec.Bool("IsDeleted") && m != "" {
					out[rec.String("Id")] = m
				}
			}
		}
	}
	return out, nil
}

// liveRecords reads the live records among ids with the fields a lookup reads.
func (a *Activities) liveRecords(ctx context.Context, ids []string, in FindMatchesInput) (map[string]prospect.Record, error) {
	var queries []salesforce.Select
	var types []string
	for _, typ := range []string{prospect.TypeLead, prospect.TypeContact} {
		of := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return prospect.RecordType(id) != typ })
		for _, chunk := range chunkByChars(of) {
			queries = append(queries, salesforce.Select{Object: typ, Fields: fieldsOf(typ, mappedFor(in, typ)),
				Where: []salesforce.Cond{salesforce.In("Id", chunk...)}})
			types = append(types, typ)
		}
	}
	out := map[string]prospect.Record{}
	for start := 0; start < len(queries); start += salesforce.MaxCompositeQueries {
		end := min(start+salesforce.MaxCompositeQueries, len(queries))
		results, err := a.SF.SelectMany(ctx, queries[start:end]...)
		if err != nil {
			return nil, classify(err)
		}
		for k, r := range results {
			if r.Err != nil {
				return nil, classify(r.Err)
			}
			typ := types[start+k]
			for _, rec := range toRecords(r.Records, typ, mappedFor(in, typ)) {
				out[rec.ID] = rec
			}
		}
	}
	return out, nil
}

package activities

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/prospect-sync/prospect-sync/internal/httperror"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// maxMatches bounds how many records with one email a lookup reads.
const maxMatches = 50

// Fields every lookup reads, besides the mapped ones.
var (
	leadBaseFields    = []string{"Id", "Email", "OwnerId", "IsConverted", "ConvertedContactId", "LastModifiedDate"}
	contactBaseFields = []string{"Id", "Email", "OwnerId", "LastModifiedDate"}
)

// fieldsOf is what a lookup selects on a record type: the base fields and the mapped ones.
func fieldsOf(recordType string, mapped []string) []string {
	base := leadBaseFields
	if recordType == prospect.TypeContact {
		base = contactBaseFields
	}
	return append(slices.Clone(base), mapped...)
}

// linkedSelect reads linked records by id through queryAll, in the lookup's own composite: a
// record merged away is deleted with MasterRecordId naming the survivor, which only queryAll
// shows (docs/salesforce.md "Merges and restores"), so telling a merge from a deletion costs no
// call of its own.
func linkedSelect(recordType string, mapped []string, ids ...string) salesforce.Select {
	return salesforce.Select{Object: recordType, Fields: append(fieldsOf(recordType, mapped), "IsDeleted", "MasterRecordId"),
		Where: []salesforce.Cond{salesforce.In("Id", ids...)}, All: true}
}

// linkedRecords sorts what linkedSelect read into live records and, for those deleted, the
// record each was merged into ("" for a plain deletion).
func linkedRecords(recs []salesforce.Record, recordType string, mapped []string, live map[string]prospect.Record, gone map[string]string) {
	for _, r := range recs {
		if r.Bool("IsDeleted") {
			gone[r.String("Id")] = r.String("MasterRecordId")
			continue
		}
		for _, rec := range toRecords([]salesforce.Record{r}, recordType, mapped) {
			live[rec.ID] = rec
		}
	}
}

// FindMatches reads the Leads and Contacts with the prospect's email, and the record it is
// linked to (with the field history of its :recent fields), in ONE Salesforce API call (a
// composite request). Converted Leads whose Contact was not among the matches cost one more
// call, only then.
func (a *Activities) FindMatches(ctx context.Context, in FindMatchesInput) (FindMatchesResult, error) {
	if err := admit(a.SFBudget); err != nil {
		return FindMatchesResult{}, err
	}
	if a.lookups != nil {
		key := strings.Join(in.LeadFields, ",") + "|" + strings.Join(in.ContactFields, ",") + "|" + recentKey(in.RecentFields)
		out, err := a.lookups.Do(ctx, key, in)
		if err != nil {
			return FindMatchesResult{}, err
		}
		if !out.alone {
			return FindMatchesResult{Matches: out.matches}, nil
		}
	}
	return a.findMatches(ctx, in)
}

// findMatches is FindMatches in a call of its own.
func (a *Activities) findMatches(ctx context.Context, in FindMatchesInput) (FindMatchesResult, error) {
	email := strings.TrimSpace(in.Email)
	queries := []salesforce.Select{
		{Object: prospect.TypeLead, Fields: fieldsOf(prospect.TypeLead, in.LeadFields),
			Where: []salesforce.Cond{salesforce.Eq("Email", email)}, OrderBy: "LastModifiedDate DESC", Limit: maxMatches},
		{Object: prospect.TypeContact, Fields: fieldsOf(prospect.TypeContact, in.ContactFields),
			Where: []salesforce.Cond{salesforce.Eq("Email", email)}, OrderBy: "LastModifiedDate DESC", Limit: maxMatches},
	}
	recent := in.RecentFields[linkedType(in)]
	if in.LinkedID != "" {
		queries = append(queries, linkedSelect(in.LinkedType, mappedFor(in, in.LinkedType), in.LinkedID))
		if len(recent) > 0 {
			queries = append(queries, historySelect(linkedType(in), recent, in.LinkedID))
		}
	}
	results, err := a.SF.SelectMany(ctx, queries...)
	if err != nil {
		return FindMatchesResult{}, classify(err)
	}
	for _, r := range results[:2] {
		if r.Err != nil {
			return FindMatchesResult{}, classify(r.Err)
		}
	}
	m := prospect.Matches{
		Leads:    toRecords(results[0].Records, prospect.TypeLead, in.LeadFields),
		Contacts: toRecords(results[1].Records, prospect.TypeContact, in.ContactFields),
	}
	gone := map[string]string{}
	if in.LinkedID != "" {
		linked := results[2]
		if linked.Err != nil && httperror.KindOf(linked.Err) != httperror.Data {
			return FindMatchesResult{}, classify(linked.Err)
		}
		// No record, or a malformed stored id (a data error): either way no live record has it.
		live := map[string]prospect.Record{}
		linkedRecords(linked.Records, in.LinkedType, mappedFor(in, in.LinkedType), live, gone)
		changes := map[string]map[string]time.Time{}
		if len(recent) > 0 && linked.Err == nil { // a refused id is refused by both queries
			if h := results[3]; h.Err != nil {
				if err := historyUsable(ctx, a, linkedType(in), h.Err); err != nil {
					return FindMatchesResult{}, err
				}
			} else {
				fieldChanges(h.Records, linkedType(in), recent, changes)
			}
		}
		if rec, ok := live[in.LinkedID]; ok {
			rec = withHistory(rec, changes)
			m.Linked = &rec
		} else {
			m.LinkedGone = true
		}
	}
	if err := a.followConversions(ctx, &m, in); err != nil {
		return FindMatchesResult{}, err
	}
	if err := a.followMerges(ctx, []*prospect.Matches{&m}, []FindMatchesInput{in}, gone); err != nil {
		return FindMatchesResult{}, err
	}
	return FindMatchesResult{Matches: m}, nil
}

// mappedFor is the mapped fields the lookup reads on a record type.
func mappedFor(in FindMatchesInput, recordType string) []string {
	if recordType == prospect.TypeContact {
		return in.ContactFields
	}
	return in.LeadFields
}

// followConversions adds the Contacts that converted Leads became, when the email lookup
// did not already find them (a converted Contact may carry another email).
func (a *Activities) followConversions(ctx context.Context, m *prospect.Matches, in FindMatchesInput) error {
	return a.followAllConversions(ctx, []*prospect.Matches{m}, in.ContactFields)
}

// followAllConversions does it for many prospects' matches with one query for all the
// Contacts missing (none when every converted Lead's Contact was found by email).
func (a *Activities) followAllConversions(ctx context.Context, ms []*prospect.Matches, contactFields []string) error {
	var missing []string
	for _, m := range ms {
		missing = append(missing, missingContacts(m)...)
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	byID := map[string]prospect.Record{}
	for _, chunk := range chunkByChars(missing) {
		recs, err := a.SF.Select(ctx, salesforce.Select{Object: prospect.TypeContact, Fields: fieldsOf(prospect.TypeContact, contactFields),
			Where: []salesforce.Cond{salesforce.In("Id", chunk...)}})
		if err != nil {
			return classify(err)
		}
		for _, r := range toRecords(recs, prospect.TypeContact, contactFields) {
			byID[r.ID] = r
		}
	}
	for _, m := range ms {
		for _, id := range missingContacts(m) {
			if r, ok := byID[id]; ok {
				m.Contacts = append(m.Contacts, r)
			}
		}
	}
	return nil
}

// missingContacts are the Contacts converted Leads among m became that m does not hold.
func missingContacts(m *prospect.Matches) []string {
	var missing []string
	have := func(id string) bool {
		return slices.ContainsFunc(m.Contacts, func(c prospect.Record) bool { return c.ID == id }) || slices.Contains(missing, id)
	}
	converted := slices.Clone(m.Leads)
	if m.Linked != nil {
		converted = append(converted, *m.Linked)
	}
	for _, l := range converted {
		if l.Type == prospect.TypeLead && l.IsConverted && l.ConvertedContactID != "" && !have(l.ConvertedContactID) {
			missing = append(missing, l.ConvertedContactID)
		}
	}
	return missing
}

func toRecords(recs []salesforce.Record, typ string, mapped []string) []prospect.Record {
	out := make([]prospect.Record, 0, len(recs))
	for _, r := range recs {
		c := prospect.Record{
			Type: typ, ID: r.String("Id"), Email: r.String("Email"), OwnerID: r.String("OwnerId"),
			IsConverted: r.Bool("IsConverted"), ConvertedContactID: r.String("ConvertedContactId"),
			LastModified: r.Time("LastModifiedDate"), Fields: map[string]string{},
		}
		for _, f := range mapped {
			if _, ok := r[f]; ok {
				c.Fields[f] = r.String(f)
			}
		}
		out = append(out, c)
	}
	return out
}

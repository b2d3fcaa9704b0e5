package activities

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/prospect-sync/prospect-sync/internal/httperror"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// Salesforce's field history (LeadHistory, ContactHistory: docs/salesforce.md "Field history")
// tells when a field itself last changed, which is what the connector's "most recently
// updated" compares. The lookup reads it only for the linked records and only for the :recent
// fields (FindMatchesInput.RecentFields), as one more query of its own composite: no call of
// its own while the composite has room. Without history (tracking off, no read access, a
// field never changed since tracking began) a decision falls back to LastModifiedDate.

// historyParent is the history object's reference to its record: LeadId, ContactId.
func historyParent(recordType string) string { return recordType + "Id" }

// historySelect reads the changes of fields on the records ids of recordType, newest first.
func historySelect(recordType string, fields []string, ids ...string) salesforce.Select {
	parent := historyParent(recordType)
	return salesforce.Select{Object: recordType + "History", Fields: []string{parent, "Field", "CreatedDate"},
		Where: []salesforce.Cond{salesforce.In(parent, ids...), salesforce.In("Field", fields...)}, OrderBy: "CreatedDate DESC"}
}

// fieldChanges adds to out, by record id, the newest change of each of fields that recs (rows
// of historySelect) show, keyed by the mapping's spelling of the field.
func fieldChanges(recs []salesforce.Record, recordType string, fields []string, out map[string]map[string]time.Time) {
	parent := historyParent(recordType)
	for _, r := range recs {
		i := slices.IndexFunc(fields, func(f string) bool { return strings.EqualFold(f, r.String("Field")) })
		at := r.Time("CreatedDate")
		if i < 0 || at.IsZero() {
			continue
		}
		id := r.String(parent)
		if out[id] == nil {
			out[id] = map[string]time.Time{}
		}
		if prev, ok := out[id][fields[i]]; !ok || at.After(prev) {
			out[id][fields[i]] = at
		}
	}
}

// withHistory is rec with the field history read for it, if any (a map of its own).
func withHistory(rec prospect.Record, changes map[string]map[string]time.Time) prospect.Record {
	if c := changes[rec.ID]; len(c) > 0 {
		rec.FieldChanged = maps.Clone(c)
	}
	return rec
}

// historyUsable sorts a history query's own failure: a refusal (no access to the object,
// INVALID_TYPE, INSUFFICIENT_ACCESS…, any data error) is answered by going on without history;
// anything else is the lookup's failure, retried as its other queries' would be.
func historyUsable(ctx context.Context, a *Activities, recordType string, err error) error {
	if k := httperror.KindOf(err); k != httperror.Data && k != httperror.Gone {
		return classify(err)
	}
	if !activity.IsActivity(ctx) {
		return nil // a shared call's context: nobody's log to write to
	}
	if _, seen := historyRefusals.LoadOrStore(historyRefusal{a, recordType}, true); !seen {
		activity.GetLogger(ctx).Info("Salesforce field history not readable: :recent fields changed on both sides go by the record's LastModifiedDate",
			"object", recordType+"History", "error", err)
	}
	return nil
}

// historyRefusals remembers which refusals were logged: once per worker and object.
var historyRefusals sync.Map

type historyRefusal struct {
	a   *Activities
	typ string
}

// recentKey is the part of a lookup's batch key that its RecentFields make: lookups that read
// different history share no call.
func recentKey(recent map[string][]string) string {
	var b strings.Builder
	for _, typ := range slices.Sorted(maps.Keys(recent)) {
		b.WriteString(typ + ":" + strings.Join(recent[typ], ",") + ";")
	}
	return b.String()
}

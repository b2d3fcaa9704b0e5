package emulator

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"time"
)

const (
	// replicationWindow is how far back start may go (Salesforce: 30 days).
	replicationWindow = 30 * 24 * time.Hour
	// deletedWindow is how long the deleted resource remembers a deletion (15 days).
	deletedWindow = 15 * 24 * time.Hour
)

// replicationLayouts are the ISO 8601 forms (with an offset) start and end may take.
var replicationLayouts = []string{time.RFC3339, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700"}

func replicationError(msg string) *result {
	return sfErrP(http.StatusBadRequest, "INVALID_REPLICATION_DATE", msg)
}

// replicationSpan reads the start and end of an updated/deleted request, truncated to
// the minute, and the latest date it covers: end, or the current minute if end is later
// (changes may still arrive before end).
func (e *Emulator) replicationSpan(req *sfReq) (start, end, covered time.Time, bad *result) {
	parse := func(name string) (time.Time, *result) {
		raw := req.query.Get(name)
		if raw == "" {
			return time.Time{}, sfErrP(http.StatusBadRequest, "MISSING_ARGUMENT", fmt.Sprintf("Missing required parameter: %s", name))
		}
		for _, layout := range replicationLayouts {
			if t, err := time.Parse(layout, raw); err == nil {
				return t.UTC().Truncate(time.Minute), nil
			}
		}
		// An unencoded "+" of the offset arrives as a space, and fails here.
		return time.Time{}, replicationError(fmt.Sprintf("%s is not a valid ISO 8601 date with an offset (URL-encode + as %%2B): %s", name, raw))
	}
	if start, bad = parse("start"); bad != nil {
		return
	}
	if end, bad = parse("end"); bad != nil {
		return
	}
	now := e.now().UTC()
	switch {
	case !start.Before(end):
		bad = replicationError("start date must be before end date (by at least a minute)")
	case start.Before(now.Add(-replicationWindow)):
		bad = replicationError("start date cannot be more than 30 days ago")
	}
	covered = end
	if minute := now.Truncate(time.Minute); minute.Before(end) {
		covered = minute
	}
	if covered.Before(start) {
		covered = start
	}
	return start, end, covered, bad
}

// replication answers GET .../sobjects/{type}/updated and .../deleted: the ids whose
// SystemModstamp (the deletion time, for deleted ones) lies in [start, latestDateCovered).
func (e *Emulator) replication(ctx context.Context, tx *sql.Tx, obj *objectDef, req *sfReq) (result, error) {
	if req.method != http.MethodGet {
		return methodNotAllowed(req.method, "GET"), nil
	}
	if !obj.has(fieldModstamp) {
		return notFound(), nil
	}
	start, _, covered, bad := e.replicationSpan(req)
	if bad != nil {
		return *bad, nil
	}
	deleted := req.segs[2] == "deleted"
	earliest := e.now().UTC().Add(-deletedWindow).Truncate(time.Minute)
	from := start
	if deleted && from.Before(earliest) {
		from = earliest
	}
	flag := 0
	if deleted {
		flag = 1
	}
	recs, err := e.loadRecords(ctx, tx, obj, fmt.Sprintf(`"IsDeleted" = ? AND %[1]s >= ? AND %[1]s < ?`, quoteIdent(fieldModstamp)),
		flag, from.UnixMilli(), covered.UnixMilli())
	if err != nil {
		return result{}, err
	}
	if !deleted {
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.str("Id")
		}
		return result{status: http.StatusOK, body: object{{"ids", ids}, {"latestDateCovered", covered.Format(sfTimeLayout)}}}, nil
	}
	out := make([]object, len(recs))
	for i, r := range recs {
		t, _ := r[fieldModstamp].(time.Time)
		out[i] = object{{"id", r.str("Id")}, {"deletedDate", t.UTC().Format(sfTimeLayout)}}
	}
	return result{status: http.StatusOK, body: object{
		{"deletedRecords", out},
		{"earliestDateAvailable", earliest.Format(sfTimeLayout)},
		{"latestDateCovered", covered.Format(sfTimeLayout)},
	}}, nil
}

// isReplication reports whether segs (after the version) name an updated/deleted resource.
func isReplication(segs []string) bool {
	return len(segs) == 3 && segs[0] == "sobjects" && (segs[2] == "updated" || segs[2] == "deleted")
}

package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// replicationTime is how the updated and deleted resources write and read dates: ISO 8601
// with an offset (seconds are ignored by Salesforce).
const replicationTime = "2006-01-02T15:04:05.000-0700"

// Updated is what changed in a span (docs/salesforce.md "The change feed"): ids only, by SystemModstamp.
type Updated struct {
	IDs []string `json:"ids"`
	// LatestDateCovered is where the next span starts (never after the span's end).
	LatestDateCovered time.Time `json:"-"`
}

// DeletedRecord is one record deleted in the span.
type DeletedRecord struct {
	ID          string    `json:"id"`
	DeletedDate time.Time `json:"-"`
}

// Deleted is what was deleted in a span. EarliestDateAvailable after the span's start means
// deletions were purged before they could be read: reconcile in full.
type Deleted struct {
	Records               []DeletedRecord
	EarliestDateAvailable time.Time
	LatestDateCovered     time.Time
}

// spanQuery is start and end as the replication resources want them; url.Values encodes the
// offset's "+" as %2B, which the resources require.
func spanQuery(start, end time.Time) string {
	return url.Values{"start": {start.UTC().Format(replicationTime)}, "end": {end.UTC().Format(replicationTime)}}.Encode()
}

// Updated lists the ids of sobject records added or changed in [start, end): ONE API call,
// however many ids (up to 600,000; over that Salesforce answers EXCEEDED_ID_LIMIT: narrow the
// span). Salesforce keeps 30 days.
func (c *Client) Updated(ctx context.Context, sobject string, start, end time.Time) (Updated, error) {
	resp, err := c.do(ctx, http.MethodGet, c.SObjectPath(sobject, "updated")+"/?"+spanQuery(start, end), nil, nil)
	if err != nil {
		return Updated{}, err
	}
	var raw struct {
		IDs    []string `json:"ids"`
		Latest string   `json:"latestDateCovered"`
	}
	if err := json.Unmarshal(resp.body, &raw); err != nil {
		return Updated{}, fmt.Errorf("salesforce: decode updated %s: %w", sobject, err)
	}
	latest, err := parseReplicationTime(raw.Latest)
	if err != nil {
		return Updated{}, fmt.Errorf("salesforce: updated %s latestDateCovered: %w", sobject, err)
	}
	return Updated{IDs: raw.IDs, LatestDateCovered: latest}, nil
}

// Deleted lists the sobject records deleted in [start, end): ONE API call. Salesforce keeps
// 15 days (less if the recycle bin was emptied).
func (c *Client) Deleted(ctx context.Context, sobject string, start, end time.Time) (Deleted, error) {
	resp, err := c.do(ctx, http.MethodGet, c.SObjectPath(sobject, "deleted")+"/?"+spanQuery(start, end), nil, nil)
	if err != nil {
		return Deleted{}, err
	}
	var raw struct {
		Records []struct {
			ID   string `json:"id"`
			Date string `json:"deletedDate"`
		} `json:"deletedRecords"`
		Earliest string `json:"earliestDateAvailable"`
		Latest   string `json:"latestDateCovered"`
	}
	if err := json.Unmarshal(resp.body, &raw); err != nil {
		return Deleted{}, fmt.Errorf("salesforce: decode deleted %s: %w", sobject, err)
	}
	out := Deleted{Records: make([]DeletedRecord, 0, len(raw.Records))}
	for _, r := range raw.Records {
		d, err := parseReplicationTime(r.Date)
		if err != nil {
			return Deleted{}, fmt.Errorf("salesforce: deleted %s %s: %w", sobject, r.ID, err)
		}
		out.Records = append(out.Records, DeletedRecord{ID: r.ID, DeletedDate: d})
	}
	if out.EarliestDateAvailable, err = parseReplicationTime(raw.Earliest); err != nil {
		return Deleted{}, fmt.Errorf("salesforce: deleted %s earliestDateAvailable: %w", sobject, err)
	}
	if out.LatestDateCovered, err = parseReplicationTime(raw.Latest); err != nil {
		return Deleted{}, fmt.Errorf("salesforce: deleted %s latestDateCovered: %w", sobject, err)
	}
	return out, nil
}

// parseReplicationTime reads "2013-05-08T21:20:00.000+0000" (and RFC 3339); "" is the zero time.
func parseReplicationTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(replicationTime, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

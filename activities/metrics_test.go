package activities

import (
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/prospect-sync/prospect-sync/metrics"
)

// A poll that read everything tells FeedRead the moment it asked; one that stopped at a full
// page tells the newest change it read, so the lag shows the backlog.
func TestPollsTellHowFarTheFeedRead(t *testing.T) {
	f := newFixture(t)
	read := map[string]time.Time{}
	f.acts.FeedRead = func(feed string, through time.Time) { read[feed] = through }
	since := time.Now().Add(-24 * time.Hour)
	run := func(activity, in any) converter.EncodedValue {
		t.Helper()
		v, err := f.env.ExecuteActivity(activity, in)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	asked := time.Now()
	crm := get[PollCRMChangesResult](t, run(f.acts.PollCRMChanges, PollCRMChangesInput{Since: since, Limit: 1000}))
	if through := read[metrics.APISalesforce]; crm.More || through.Before(asked) || through.After(time.Now()) {
		t.Errorf("a complete Salesforce poll read through %v, want the time it asked (%v, more %t)", through, asked, crm.More)
	}
	crm = get[PollCRMChangesResult](t, run(f.acts.PollCRMChanges, PollCRMChangesInput{Since: since, Limit: 1}))
	if !crm.More || !read[metrics.APISalesforce].Equal(newestStamp(crm.Changes)) {
		t.Errorf("a full Salesforce page read through %v, want its newest change %v", read[metrics.APISalesforce], newestStamp(crm.Changes))
	}

	asked = time.Now()
	ae := get[PollChangesResult](t, run(f.acts.PollChanges, PollChangesInput{Since: since, Limit: 1000}))
	if through := read[metrics.APIEngagement]; ae.NextPageToken != "" || through.Before(asked) || through.After(time.Now()) {
		t.Errorf("a complete Account Engagement poll read through %v, want the time it asked (%v)", through, asked)
	}
	ae = get[PollChangesResult](t, run(f.acts.PollChanges, PollChangesInput{Since: since, Limit: 1}))
	if len(ae.Changes) != 1 || ae.NextPageToken == "" || !read[metrics.APIEngagement].Equal(ae.Changes[0].UpdatedAt) {
		t.Errorf("a full Account Engagement page %+v read through %v, want its change's time", ae, read[metrics.APIEngagement])
	}
}

func newestStamp(changes []CRMChange) time.Time {
	var newest time.Time
	for _, c := range changes {
		newest = later(newest, c.Stamp)
	}
	return newest
}

package reliability

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"
)

// scaleOutProspects is TestScaleOut's load: 300 on CI, 2,000 in the large run.
func scaleOutProspects() int {
	if os.Getenv("RELIABILITY_LARGE") != "" {
		return 2000
	}
	return 300
}

// Several workers under fire: the services alone, three worker processes sharing the load with
// faults on both services; one is SIGKILLed mid-load and a new one joins. Every prospect
// settles with exactly one record, none is lost, and the workers together never have more
// than Account Engagement's 5 requests in flight (each keeps its share).
func TestScaleOut(t *testing.T) {
	n := scaleOutProspects()
	c := newCluster(t)
	c.startServices()
	ps := c.seed(n)
	c.control(http.MethodPost, "/counters/reset", nil, nil)
	c.control(http.MethodPut, "/faults", faultMix, nil)
	for range 3 {
		c.startWorker()
	}
	began := time.Now()
	c.startSyncs(ps)
	synced := expected(ps)[syncedState]
	c.waitSynced(synced/3, settleWithin(n))
	c.workers[0].kill() // no replacement: the others take its work
	c.waitSynced(synced/2, settleWithin(n))
	c.startWorker() // one joins mid-load
	settle := c.waitSettled(ps, settleWithin(n))
	var got struct {
		Faults                 map[string]int `json:"faults"`
		EngagementPeakInFlight int            `json:"engagementPeakInFlight"`
	}
	c.control(http.MethodGet, "/counters", nil, &got)
	c.control(http.MethodPut, "/faults", map[string]any{}, nil)
	if got.EngagementPeakInFlight > 5 {
		t.Errorf("Account Engagement saw %d requests in flight at once across the workers, want at most 5", got.EngagementPeakInFlight)
	}
	c.report("scale-out", c.verify(ps), 1, time.Since(began), fmt.Sprintf("3 workers, one killed and one joined mid-load, faults on both services (%d injected), peak %d Account Engagement requests in flight; settled %s after the join",
		total(got.Faults), got.EngagementPeakInFlight, settle.Round(100*time.Millisecond)))
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

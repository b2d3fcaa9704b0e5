package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// limits is the emulator's daily allowances and usage (its /emulator/limits control).
type limits struct {
	DailyAPILimit int `json:"dailyApiLimit"`
	AEDailyLimit  int `json:"aeDailyLimit"`
	APIUsed       int `json:"apiUsed"`
	AEUsed        int `json:"aeUsed"`
}

// control sends a request to one of the emulator's /emulator controls and decodes the answer.
func (c *cluster) control(method, path string, body, out any) {
	c.t.Helper()
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, c.emulatorURL()+"/emulator"+path, &rd)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		c.t.Fatalf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			c.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
}

// waitRateLimited waits until some sync's pending activity last failed on a spent limit
// whose answer contains mark: the sync waits, as told, instead of failing.
func (c *cluster) waitRateLimited(ps []seeded, mark string) {
	c.t.Helper()
	c.waitFor("a sync waiting on "+mark, 2*time.Minute, func(ctx context.Context) (bool, error) {
		for _, p := range ps {
			d, err := c.tc.DescribeWorkflowExecution(ctx, workflows.ProspectWorkflowID(p.id), "")
			if err != nil {
				return false, err
			}
			for _, a := range d.GetPendingActivities() {
				f := a.GetLastFailure()
				if f.GetApplicationFailureInfo().GetType() == activities.ErrTypeRateLimited && strings.Contains(f.GetMessage(), mark) {
					return true, nil
				}
			}
		}
		return false, nil
	})
}

// The daily limits of both services are reached mid-run (Salesforce REQUEST_LIMIT_EXCEEDED,
// Account Engagement code 122): the syncs pause, none fails or shows an error, and all finish
// once the limits reset.
func TestDailyLimitReachedMidRun(t *testing.T) {
	sz := runSize()
	c := newCluster(t)
	c.startServices()
	ps := c.seed(sz.prospects)
	c.startWorker()
	// Both allowances run out during the run, spent by the run itself: Account Engagement's
	// after a tenth of the prospects are read, so some syncs reach Salesforce, whose allowance
	// runs out after a few calls. (Setting them once a third had synced no longer works: a run
	// of this size now makes all its Salesforce calls, batched, in its first seconds.)
	var now limits
	c.control(http.MethodGet, "/limits", nil, &now)
	c.control(http.MethodPut, "/limits", map[string]int{"dailyApiLimit": now.APIUsed + 3, "aeDailyLimit": now.AEUsed + len(ps)/10}, nil)
	start := time.Now()
	c.startSyncs(ps)
	c.waitRateLimited(ps, "REQUEST_LIMIT_EXCEEDED")
	c.waitRateLimited(ps, "code 122")
	// Paused, not failed: the only errors are the bad emails', which cost no Salesforce call.
	var wrong []string
	if err := workflows.List(context.Background(), c.tc, workflows.Filter{State: prospect.StateSyncError}, func(l workflows.Listed) bool {
		if l.ErrorCode != prospect.CodeInvalidEmail {
			wrong = append(wrong, fmt.Sprintf("prospect %s: %s", l.ProspectID, l.ErrorCode))
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Fatalf("syncs failed on a spent limit instead of waiting: %v", wrong)
	}

	// The limits reset (a new day, or a raised allocation): everything finishes.
	c.control(http.MethodPut, "/limits", map[string]int{"dailyApiLimit": 1_000_000, "aeDailyLimit": 1_000_000}, nil)
	c.waitSettled(ps, settleWithin(sz.prospects)+2*time.Minute) // each limit's own wait comes first
	c.report("daily limit", c.verify(ps), 0, time.Since(start), "both limits spent mid-run, then reset")
}

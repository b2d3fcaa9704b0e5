package metrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prospect-sync/prospect-sync/metrics"
)

const dashboard = "../deploy/grafana/dashboards/prospect-sync.json"

// The dashboard shows every metric of ours and names none that does not exist (a renamed
// metric fails here, not in front of an operator), through the data source variable.
func TestDashboardQueriesOurMetrics(t *testing.T) {
	b, err := os.ReadFile(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string
		Panels []struct {
			Title      string
			Type       string
			Datasource struct{ UID string }
			Targets    []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{}
	for _, name := range []string{metrics.SyncOutcomes, metrics.StateTransitions, metrics.SyncErrors, metrics.APICalls,
		metrics.APIUsage, metrics.APILimit, metrics.ChangeFeedLag, metrics.BatchSize, metrics.BatchLinger, metrics.Paused} {
		ours[name] = false
	}
	used := regexp.MustCompile(`prospect_sync_[a-z_]+`)
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: data source %q and %d queries, want ${datasource} and at least one", p.Title, p.Datasource.UID, len(p.Targets))
		}
		for _, tg := range p.Targets {
			for _, m := range used.FindAllString(tg.Expr, -1) {
				name := m
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base := strings.TrimSuffix(m, suffix); base != m {
						if _, ok := ours[base]; ok {
							name = base
						}
					}
				}
				if _, ok := ours[name]; !ok {
					t.Errorf("panel %q queries %s, which no constant in package metrics names", p.Title, m)
				}
				ours[name] = true
			}
		}
	}
	for name, shown := range ours {
		if !shown {
			t.Errorf("no panel shows %s", name)
		}
	}
}

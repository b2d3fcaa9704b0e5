// Package scrape reads a Prometheus text exposition for tests: what a scraper would see.
package scrape

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Families is one scrape: metric families by name.
type Families map[string]*dto.MetricFamily

// Get scrapes url.
func Get(ctx context.Context, url string) (Families, error) {
	status, body, err := Body(ctx, url)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d: %s", url, status, body)
	}
	var p expfmt.TextParser
	return p.TextToMetricFamilies(strings.NewReader(body))
}

// Body GETs url: its status code and body (health endpoints, a scrape).
func Body(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Fetch is Body that fails the test on an error.
func Fetch(t testing.TB, url string) (int, string) {
	t.Helper()
	code, body, err := Body(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// ClosedAddress is a loopback host:port nothing listens on: what a probe of a dead worker, or a
// client of a stopped server, meets.
func ClosedAddress(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Value is the sum of the samples of a counter or gauge whose labels include labels (nil: all
// of its series); 0 when there is none.
func (f Families) Value(name string, labels map[string]string) float64 {
	sum := 0.0
	for _, m := range f.series(name, labels) {
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// Count is the number of observations of a histogram whose labels include labels.
func (f Families) Count(name string, labels map[string]string) uint64 {
	var n uint64
	for _, m := range f.series(name, labels) {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// Series maps each series of name with labels to its value, keyed by the value of the label
// by: what a test compares with its expectation in one go.
func (f Families) Series(name, by string, labels map[string]string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f.series(name, labels) {
		key := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == by {
				key = l.GetValue()
			}
		}
		out[key] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return out
}

func (f Families) series(name string, labels map[string]string) []*dto.Metric {
	fam, ok := f[name]
	if !ok {
		return nil
	}
	var out []*dto.Metric
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range labels {
			if have[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}

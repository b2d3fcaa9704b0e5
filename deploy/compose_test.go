// Package deploy_test checks docker-compose.yml and its companion files (.env.example,
// deploy/...) against the code and docs/configuration.md, so the compose file cannot drift from
// what the worker reads or the workflows need. It holds tests only.
package deploy_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/prospect-sync/prospect-sync/workflows"
)

// Paths from this package's directory.
const (
	composeFile = "../docker-compose.yml"
	configDoc   = "../docs/configuration.md" // the configuration table
	envExample  = "../.env.example"
	// workerEnvExample is the example of worker.env, the worker's and the starter's env_file.
	workerEnvExample = "../worker.env.example"
	promConfig       = "prometheus/prometheus.yml"
	repoRoot         = ".."
)

// Each service gets only its own secrets: the database's and Grafana's credentials reach
// neither the worker nor the starter, through their env_file or their environment.
func TestSecretsStayWithTheirServices(t *testing.T) {
	services := loadCompose(t)
	worker := envExampleNames(t, workerEnvExample)
	for name := range worker {
		if strings.HasPrefix(name, "POSTGRES_") || strings.HasPrefix(name, "GRAFANA_") || strings.HasPrefix(name, "GF_") {
			t.Errorf("%s names %s: the worker and the starter would get it", workerEnvExample, name)
		}
	}
	for name := range envExampleNames(t, envExample) {
		if strings.Contains(name, "SECRET") || strings.Contains(name, "TOKEN") || name == "PROSPECT_SYNC_ENCRYPTION_KEYS" {
			t.Errorf("%s names %s: worker secrets belong in worker.env", envExample, name)
		}
	}
	for _, svc := range []string{workerService, "starter"} {
		s := serviceNamed(t, services, svc)
		for k, v := range environment(t, s.Environment) {
			if strings.Contains(v, "POSTGRES") || strings.Contains(v, "GRAFANA") {
				t.Errorf("service %s: %s=%q hands it the database's or Grafana's credentials", svc, k, v)
			}
		}
		for _, f := range envFiles(t, s.EnvFile) {
			if f == ".env" {
				t.Errorf("service %s reads .env, which holds the database's and Grafana's credentials", svc)
			}
		}
	}
}

// ownImage is the image the compose file builds for the worker and the starter.
const ownImage = "prospect-sync-worker"

// Services the checks name.
const (
	workerService    = "worker"
	namespaceService = "temporal-namespace"
)

// devOnly are settings of the configuration table the compose worker does not need, each with
// the reason.
var devOnly = map[string]string{
	"PROSPECT_SYNC_NO_WORKER":      "runs the embedded server and emulator, which the production image (-tags nodev) leaves out",
	"PROSPECT_SYNC_DATA_DIR":       "SQLite files of the embedded server and emulator only",
	"PROSPECT_SYNC_HOST":           "bind address of the embedded server, UI and emulator only",
	"PROSPECT_SYNC_TEMPORAL_PORT":  "port of the embedded Temporal server only",
	"PROSPECT_SYNC_UI_PORT":        "port of the embedded Web UI only",
	"PROSPECT_SYNC_EMULATOR_PORT":  "port of the local emulator only",
	"PROSPECT_SYNC_EMULATOR_URL":   "where the starter finds the local emulator; compose talks to real Salesforce",
	"PROSPECT_SYNC_CODEC_ENDPOINT": "the codec URL the embedded UI is given; compose gives its own UI TEMPORAL_CODEC_ENDPOINT",
}

// service is the part of a compose service the checks read. Fields with several allowed
// shapes (list or map, string or list) stay yaml.Nodes.
type service struct {
	Image       string              `yaml:"image"`
	Build       yaml.Node           `yaml:"build"`
	Restart     string              `yaml:"restart"`
	DependsOn   yaml.Node           `yaml:"depends_on"`
	Environment yaml.Node           `yaml:"environment"`
	EnvFile     yaml.Node           `yaml:"env_file"`
	Entrypoint  yaml.Node           `yaml:"entrypoint"`
	Command     yaml.Node           `yaml:"command"`
	Ports       []string            `yaml:"ports"`
	Volumes     []yaml.Node         `yaml:"volumes"`
	Healthcheck *struct{ Test any } `yaml:"healthcheck"`
	Profiles    []string            `yaml:"profiles"`
}

func loadCompose(t *testing.T) map[string]service {
	t.Helper()
	b, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]service `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	if len(f.Services) == 0 {
		t.Fatalf("%s: no services", composeFile)
	}
	return f.Services
}

// strs reads a node that is a string or a list of strings.
func strs(t *testing.T, n yaml.Node) []string {
	t.Helper()
	switch n.Kind {
	case 0:
		return nil
	case yaml.ScalarNode:
		return []string{n.Value}
	}
	var out []string
	if err := n.Decode(&out); err != nil {
		t.Fatalf("line %d: want a string or a list of strings: %v", n.Line, err)
	}
	return out
}

// environment reads a service's environment in map or KEY=VALUE list form.
func environment(t *testing.T, n yaml.Node) map[string]string {
	t.Helper()
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = *n.Alias // another service's, by a YAML anchor
	}
	out := map[string]string{}
	switch n.Kind {
	case 0:
	case yaml.MappingNode:
		if err := n.Decode(&out); err != nil {
			t.Fatalf("environment, line %d: %v", n.Line, err)
		}
	default:
		for _, kv := range strs(t, n) {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = v
		}
	}
	return out
}

// envFiles reads env_file: a path, a list of paths, or a list of {path, required}.
func envFiles(t *testing.T, n yaml.Node) []string {
	t.Helper()
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = *n.Alias // another service's, by a YAML anchor
	}
	if n.Kind != yaml.SequenceNode {
		return strs(t, n)
	}
	var out []string
	for _, item := range n.Content {
		if item.Kind == yaml.ScalarNode {
			out = append(out, item.Value)
			continue
		}
		var e struct{ Path string }
		if err := item.Decode(&e); err != nil {
			t.Fatalf("env_file, line %d: %v", item.Line, err)
		}
		out = append(out, e.Path)
	}
	return out
}

// exactTag accepts an image reference pinned to a version: a tag with a dot and a digit
// (16.10, v3.5.0, 1.32.1), not a floating one (latest, 16, alpine) nor a ${VARIABLE}.
var exactTag = regexp.MustCompile(`^v?[0-9]+(\.[0-9]+)+([-.][0-9A-Za-z.-]+)?$`)

func TestImagesArePinned(t *testing.T) {
	for name, s := range loadCompose(t) {
		if s.Image == "" {
			if s.Build.Kind == 0 {
				t.Errorf("service %s: neither image nor build", name)
			}
			continue
		}
		if strings.HasPrefix(s.Image, ownImage+":") {
			// Our own image, built here and tagged by build id, so a rollback has the old one.
			if s.Image != ownImage+":${PROSPECT_SYNC_BUILD_ID:-local}" {
				t.Errorf("service %s: image %q, want %s:${PROSPECT_SYNC_BUILD_ID:-local}", name, s.Image, ownImage)
			}
			continue
		}
		ref := s.Image
		if i := strings.Index(ref, "@"); i >= 0 {
			ref = ref[:i] // a digest pins further; the tag must still be exact
		}
		slash := strings.LastIndex(ref, "/")
		colon := strings.LastIndex(ref, ":")
		if colon < slash || colon < 0 {
			t.Errorf("service %s: image %q has no tag", name, s.Image)
			continue
		}
		if tag := ref[colon+1:]; !exactTag.MatchString(tag) {
			t.Errorf("service %s: image %q: tag %q is not an exact version", name, s.Image, tag)
		}
	}
}

func TestDependenciesWaitForHealthOrCompletion(t *testing.T) {
	services := loadCompose(t)
	for name, s := range services {
		if s.DependsOn.Kind == 0 {
			continue
		}
		if s.DependsOn.Kind != yaml.MappingNode {
			t.Errorf("service %s: depends_on in list form starts without waiting; name a condition for each", name)
			continue
		}
		var deps map[string]struct{ Condition string }
		if err := s.DependsOn.Decode(&deps); err != nil {
			t.Fatalf("service %s: depends_on: %v", name, err)
		}
		for dep, d := range deps {
			target, ok := services[dep]
			switch {
			case !ok:
				t.Errorf("service %s depends on %s, which is not a service", name, dep)
			case d.Condition == "service_healthy":
				if target.Healthcheck == nil || target.Healthcheck.Test == nil {
					t.Errorf("service %s waits for %s to be healthy, but %s has no health check", name, dep, dep)
				}
			case d.Condition == "service_completed_successfully":
				if target.Restart == "always" || target.Restart == "unless-stopped" {
					t.Errorf("service %s waits for %s to complete, but %s restarts %s", name, dep, dep, target.Restart)
				}
			default:
				t.Errorf("service %s depends on %s with condition %q, want service_healthy or service_completed_successfully", name, dep, d.Condition)
			}
		}
	}
}

func TestPublishedPortsAreLoopbackOnly(t *testing.T) {
	for name, s := range loadCompose(t) {
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %q on every interface; bind it to 127.0.0.1", name, p)
			}
		}
	}
}

// documentedSettings are the variable names in the first column of the configuration table
// (docs/configuration.md, the first table after its "# Configuration" heading).
func documentedSettings(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "# Configuration\n")
	if !ok {
		t.Fatalf("%s: no \"# Configuration\" heading", configDoc)
	}
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")
	var out []string
	inTable := false
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(line, "|")
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			out = append(out, m[1])
		}
	}
	if len(out) < 10 {
		t.Fatalf("%s: read %d settings from the configuration table (%v): has its layout changed?", configDoc, len(out), out)
	}
	return out
}

// envExampleNames are the variables an example env file sets or shows commented out (# NAME=...).
func envExampleNames(t *testing.T, envExample string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(envExample)
	if err != nil {
		t.Fatal(err)
	}
	assignment := regexp.MustCompile(`^(#\s*)?([A-Z][A-Z0-9_]*)=`)
	out := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		m := assignment.FindStringSubmatch(line)
		switch {
		case m != nil:
			out[m[2]] = true
		case line != "" && !strings.HasPrefix(line, "#"):
			t.Errorf("%s:%d: %q is neither a comment nor NAME=value", envExample, n, line)
		}
	}
	return out
}

func TestWorkerReceivesEveryDocumentedSetting(t *testing.T) {
	w := serviceNamed(t, loadCompose(t), workerService)
	env := environment(t, w.Environment)
	fromFile := envExampleNames(t, workerEnvExample)
	files := envFiles(t, w.EnvFile)
	if !slices.Equal(files, []string{"worker.env"}) {
		t.Errorf("the worker's env_file is %v, want worker.env alone (the file worker.env.example is copied to)", files)
	}
	for _, name := range documentedSettings(t) {
		if _, ok := devOnly[name]; ok {
			continue
		}
		if _, ok := env[name]; !ok && !fromFile[name] {
			t.Errorf("%s: setting %s reaches the compose worker neither through its environment nor through .env (.env.example does not name it)", configDoc, name)
		}
	}
	for name := range devOnly {
		if _, ok := env[name]; ok {
			t.Errorf("%s is in the dev-only list but the compose worker sets it", name)
		}
	}
	if got := env["PROSPECT_SYNC_WORKER_VERSIONING"]; got != "true" {
		t.Errorf("PROSPECT_SYNC_WORKER_VERSIONING = %q in compose, want true (rollouts through Worker Versioning)", got)
	}
	want := []string{"CMD", "/usr/local/bin/worker", "-healthcheck"}
	if w.Healthcheck == nil || !slices.Equal(anyStrings(w.Healthcheck.Test), want) {
		t.Errorf("worker health check %v, want %v (the image has no shell)", w.Healthcheck, want)
	}
}

// serviceNamed is the service called name, failing the test when there is none.
func serviceNamed(t *testing.T, services map[string]service, name string) service {
	t.Helper()
	s, ok := services[name]
	if !ok {
		t.Fatalf("%s has no %s service", composeFile, name)
	}
	return s
}

// anyStrings reads a decoded YAML list of strings (a health check's test).
func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// The namespace job registers every search attribute the workflows use, with its type, and
// stops on errors rather than hiding them.
func TestNamespaceJobRegistersSearchAttributesLoudly(t *testing.T) {
	services := loadCompose(t)
	ns := serviceNamed(t, services, namespaceService)
	script := strings.Join(append(strs(t, ns.Entrypoint), strs(t, ns.Command)...), "\n")
	for name, typ := range workflows.SearchAttributes() {
		if pair := name + ":" + typ.String(); !strings.Contains(script, pair) {
			t.Errorf("%s does not register %s (want %q in its command)", namespaceService, name, pair)
		}
	}
	if !strings.Contains(script, "set -e") {
		t.Errorf("%s: its script does not stop at the first failing command (set -e)", namespaceService)
	}
	for name, s := range services {
		cmd := strings.Join(append(strs(t, s.Entrypoint), strs(t, s.Command)...), "\n")
		if regexp.MustCompile(`\|\|\s*(true|:)\b`).MatchString(cmd) {
			t.Errorf("service %s ignores a failure (|| true)", name)
		}
	}
	if deps := dependencies(t, services[workerService]); deps[namespaceService] != "service_completed_successfully" {
		t.Errorf("the worker waits for %s with %q, want service_completed_successfully", namespaceService, deps[namespaceService])
	}
}

// dependencies maps each service s depends on to its condition.
func dependencies(t *testing.T, s service) map[string]string {
	t.Helper()
	var deps map[string]struct{ Condition string }
	if s.DependsOn.Kind == yaml.MappingNode {
		if err := s.DependsOn.Decode(&deps); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]string{}
	for d, c := range deps {
		out[d] = c.Condition
	}
	return out
}

// Files the compose file mounts exist in the repository (a missing bind source becomes an
// empty directory at `up`), including the defaults of ${VAR:-default} sources.
func TestMountedFilesExist(t *testing.T) {
	variable := regexp.MustCompile(`^\$\{[A-Z_]+:-(.*)\}$`)
	for name, s := range loadCompose(t) {
		for _, v := range s.Volumes {
			var src string
			if v.Kind == yaml.ScalarNode {
				src, _, _ = strings.Cut(v.Value, ":")
			} else {
				var long struct{ Type, Source string }
				if err := v.Decode(&long); err != nil {
					t.Fatalf("service %s volume, line %d: %v", name, v.Line, err)
				}
				if long.Type != "bind" {
					continue
				}
				src = long.Source
			}
			if m := variable.FindStringSubmatch(src); m != nil {
				src = m[1]
			}
			if !strings.HasPrefix(src, "./") {
				continue // a named volume
			}
			if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
				t.Errorf("service %s mounts %s: %v", name, src, err)
			}
		}
	}
}

// Prometheus scrapes every worker container where the worker listens.
func TestPrometheusScrapesTheWorker(t *testing.T) {
	b, err := os.ReadFile(promConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			MetricsPath  string `yaml:"metrics_path"`
			DNSSDConfigs []struct {
				Names []string
				Type  string
				Port  int
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	addr := environment(t, serviceNamed(t, loadCompose(t), workerService).Environment)["PROSPECT_SYNC_HTTP_ADDRESS"]
	host, port, ok := strings.Cut(addr, ":")
	if !ok || host != "0.0.0.0" {
		t.Fatalf("worker PROSPECT_SYNC_HTTP_ADDRESS = %q, want 0.0.0.0:PORT so Prometheus reaches it", addr)
	}
	for _, sc := range cfg.ScrapeConfigs {
		for _, d := range sc.DNSSDConfigs {
			if slices.Contains(d.Names, workerService) && d.Type == "A" && strconv.Itoa(d.Port) == port && sc.MetricsPath == "/metrics" {
				return
			}
		}
	}
	t.Errorf("%s does not discover the %s containers (DNS A records) on port %s at /metrics", promConfig, workerService, port)
}

// Package reliability is the suite that guards the sync's guarantees on every CI run: exactly
// one Salesforce record per prospect, nothing lost, across faults, crashes, expiring tokens,
// spent API limits and bad input. Each scenario drives the real worker binary (a child
// process) against the embedded Temporal server and the emulator, seeds its own prospects
// through the standard APIs, and checks every prospect at the end.
//
//	go test ./reliability/                          # CI size: 200 prospects, 2 kills
//	RELIABILITY_LARGE=1 go test -v -timeout 2h ./reliability/   # 2,000 prospects, 5 kills
package reliability

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/monitor"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// size is a run's scale: CI's, or the large one (RELIABILITY_LARGE=1).
type size struct {
	prospects int
	kills     int
}

func runSize() size {
	if os.Getenv("RELIABILITY_LARGE") != "" {
		return size{prospects: 2000, kills: 5}
	}
	return size{prospects: 200, kills: 2}
}

// workerBin is the dev worker, built once for the package.
var workerBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("reliability: skipped under -short: the suite builds the worker and runs it against faults and crashes (go test ./reliability/)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "prospect-sync-reliability")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workerBin = filepath.Join(dir, "worker")
	build := exec.Command("go", "build", "-o", workerBin, "github.com/prospect-sync/prospect-sync/worker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build the worker:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a child process: the local services, a worker, or both.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	tail []string // the last lines it logged, for failure messages
}

func (p *proc) record(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.tail = append(p.tail, sc.Text())
		if len(p.tail) > 40 {
			p.tail = p.tail[len(p.tail)-40:]
		}
		p.mu.Unlock()
	}
}

// output is what the process logged last.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// kill ends the process as a crash does: SIGKILL, no shutdown.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// cluster is one scenario's world: a data directory, the ports, the processes, and clients.
type cluster struct {
	t            *testing.T
	dir          string
	temporalPort int
	emulatorPort int
	services     *proc // the server and emulator (with a worker in server-crash runs)
	workers      []*proc
	tc           client.Client
	// workerEnv is added to every worker's environment.
	workerEnv []string
	sf        *salesforce.Client
	ae        *engagement.Client
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{t: t, dir: t.TempDir(), temporalPort: freePort(t), emulatorPort: freePort(t)}
	t.Cleanup(c.close)
	return c
}

func freePort(t *testing.T) int {
	t.Helper()
	// Below the kernel's ephemeral range (32768 and up here): the child binds it a moment later,
	// and a port of that range can meanwhile become any outgoing connection's local port.
	for range 1000 {
		port := 10000 + rand.IntN(22000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		_ = l.Close()
		return port
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

func (c *cluster) emulatorURL() string { return "http://127.0.0.1:" + strconv.Itoa(c.emulatorPort) }

func (c *cluster) temporalAddress() string { return "127.0.0.1:" + strconv.Itoa(c.temporalPort) }

// start runs the worker binary with args and env on top of a clean environment.
func (c *cluster) start(args []string, env ...string) *proc {
	c.t.Helper()
	cmd := exec.Command(workerBin, args...)
	cmd.Env = append([]string{"HOME=" + c.dir, "PATH=" + os.Getenv("PATH"), "LOG_LEVEL=warn", "LOG_FORMAT=json",
		"TEMPORAL_CONFIG_FILE=" + filepath.Join(c.dir, "no-temporal.toml"),
		// An attempt lost with a killed worker is retried after this.
		"SYNC_ACTIVITY_TIMEOUT=5s",
		// A spent daily limit is probed again this often (production: 1m and 1h), so a run
		// does not wait an hour for the limit the suite resets itself.
		"SALESFORCE_LIMIT_RETRY=2s", "ACCOUNT_ENGAGEMENT_LIMIT_RETRY=2s",
		// Several workers run at once and restart: each binds a port of its own.
		monitor.EnvAddress + "=127.0.0.1:0"}, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %v: %v", args, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.record(stdout)
		_ = cmd.Wait()
		close(p.done)
	}()
	return p
}

// localArgs are the flags of a process running the embedded server and emulator.
func (c *cluster) localArgs(extra ...string) []string {
	return append([]string{"-data-dir", c.dir, "-host", "127.0.0.1", "-temporal-port", strconv.Itoa(c.temporalPort),
		"-ui-port", "-1", "-emulator-port", strconv.Itoa(c.emulatorPort)}, extra...)
}

// startServices starts the server and emulator without a worker (the worker-crash layout).
func (c *cluster) startServices() {
	c.services = c.start(c.localArgs("-no-worker"))
	c.connect()
}

// startAllInOne starts server, emulator and worker in one process (the server-crash layout).
func (c *cluster) startAllInOne() {
	c.services = c.start(c.localArgs())
	c.connect()
}

// startWorker starts a worker process against the running services, as in production.
func (c *cluster) startWorker() {
	url := c.emulatorURL()
	c.workers = append(c.workers, c.start(nil, append([]string{"TEMPORAL_ADDRESS=" + c.temporalAddress(),
		"SALESFORCE_LOGIN_URL=" + url, "ACCOUNT_ENGAGEMENT_URL=" + url, "SALESFORCE_CLIENT_ID=" + connect.EmulatorClientID,
		"SALESFORCE_CLIENT_SECRET=" + connect.EmulatorClientSecret, "ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID=" + connect.EmulatorBusinessUnitID}, c.workerEnv...)...))
}

// killWorker SIGKILLs the newest worker and starts another, as a pod restart does.
func (c *cluster) killWorker() {
	c.workers[len(c.workers)-1].kill()
	c.startWorker()
}

// killAll SIGKILLs the all-in-one process and starts it again on the same data directory.
func (c *cluster) killAll() {
	c.services.kill()
	c.tc.Close()
	c.startAllInOne()
}

// connect dials Temporal and builds the clients of the emulator, waiting for both to answer.
func (c *cluster) connect() {
	c.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute) // a first start creates the SQLite schema
	var err error
	for {
		select {
		case <-c.services.done:
			c.t.Fatalf("the services process exited:\n%s", c.services.output())
		default:
		}
		if err = c.ready(ctx); err == nil {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("services not ready: %v\n%s", err, c.services.output())
		}
		time.Sleep(100 * time.Millisecond) // polling interval while the process starts
	}
	sf, ae, err := connect.ServicesFromEnv(func(string) string { return "" }).Clients(c.emulatorURL())
	if err != nil {
		c.t.Fatal(err)
	}
	c.sf, c.ae = sf, ae
}

// ready reports whether the emulator answers and Temporal accepts a client.
func (c *cluster) ready(ctx context.Context) error {
	resp, err := http.Get(c.emulatorURL() + "/emulator/counters")
	if err != nil {
		return err
	}
	resp.Body.Close()
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	tc, err := client.DialContext(dctx, client.Options{HostPort: c.temporalAddress(), Namespace: workflows.Namespace, Logger: connect.Quiet})
	if err != nil {
		return err
	}
	if _, err := tc.CountWorkflow(dctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: workflows.Namespace, Query: workflows.StateQuery("")}); err != nil {
		tc.Close()
		return err
	}
	c.tc = tc
	return nil
}

func (c *cluster) close() {
	for _, w := range c.workers {
		w.kill()
	}
	if c.services != nil {
		c.services.kill()
	}
	if c.tc != nil {
		c.tc.Close()
	}
}

// kind is what a seeded prospect should end as.
type kind int

const (
	createsLead kind = iota // assigned, no match: a Lead is created
	matchesLead             // assigned, a Lead with its email exists: linked to it
	waits                   // unassigned, no match: waits for an assigned user
	badEmail                // an address Salesforce would refuse: SyncError
)

// seeded is one prospect of a scenario and what it should end as.
type seeded struct {
	id     int64
	email  string
	kind   kind
	leadID string // matchesLead: the Lead that existed before
}

// seed creates n prospects through the standard APIs, a quarter of each kind.
func (c *cluster) seed(n int) []seeded {
	c.t.Helper()
	ctx := context.Background()
	tag := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	out := make([]seeded, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 5) // Account Engagement's concurrency limit
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s, err := c.seedOne(ctx, tag, i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out[i] = s
		})
	}
	wg.Wait()
	if firstErr != nil {
		c.t.Fatalf("seed: %v", firstErr)
	}
	return out
}

func (c *cluster) seedOne(ctx context.Context, tag string, i int) (seeded, error) {
	s := seeded{kind: kind(i % 4), email: fmt.Sprintf("r%s-%d@example.com", tag, i)}
	fields := map[string]any{"email": s.email, "firstName": "Rel", "lastName": fmt.Sprintf("Prospect %d", i), "company": "Reliable Inc"}
	switch s.kind {
	case createsLead:
		fields["userId"] = emulator.AEUserBob
	case matchesLead:
		fields["userId"] = emulator.AEUserAlice
		id, err := c.sf.Create(ctx, prospect.TypeLead, map[string]any{"Email": s.email, "LastName": "Existing", "Company": "Reliable Inc"})
		if err != nil {
			return s, err
		}
		s.leadID = id
	case badEmail:
		// Account Engagement accepts it; Salesforce would not (a comma): INVALID_EMAIL.
		s.email = fmt.Sprintf("r%s,%d@example.com", tag, i)
		fields["email"], fields["userId"] = s.email, emulator.AEUserBob
	}
	p, err := c.ae.CreateProspect(ctx, fields)
	s.id = p.ID
	return s, err
}

// startSyncs signal-with-starts every seeded prospect's sync, as the starter does.
func (c *cluster) startSyncs(ps []seeded) {
	c.t.Helper()
	ch := make(chan int64, len(ps))
	for _, p := range ps {
		ch <- p.id
	}
	close(ch)
	if f := workflows.SignalMany(context.Background(), c.tc, ch, workflows.SignalProspectChanged, nil, 16, nil); len(f) > 0 {
		c.t.Fatalf("%d starts failed, first: %v", len(f), f[0].Err)
	}
}

// syncedState is where created and matched prospects end.
const syncedState = prospect.StateSynced

// expected is how many syncs end in each state.
func expected(ps []seeded) map[prospect.SyncState]int {
	out := map[prospect.SyncState]int{}
	for _, p := range ps {
		out[p.kind.state()]++
	}
	return out
}

func (k kind) state() prospect.SyncState {
	switch k {
	case waits:
		return prospect.StateWaitingForAssignment
	case badEmail:
		return prospect.StateSyncError
	}
	return prospect.StateSynced
}

// count is how many syncs the visibility store shows in a state.
func (c *cluster) count(ctx context.Context, state prospect.SyncState) (int, error) {
	resp, err := c.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: workflows.Namespace, Query: workflows.StateQuery(state)})
	return int(resp.GetCount()), err
}

// waitSynced waits until at least want syncs show Synced; a crashed services process or the
// deadline fails the test.
func (c *cluster) waitSynced(want int, within time.Duration) {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("%d Synced", want), within, func(ctx context.Context) (bool, error) {
		n, err := c.count(ctx, prospect.StateSynced)
		return n >= want, err
	})
}

// waitSettled waits until every sync is in its expected state: first by visibility counts
// (cheap, but they also count syncs the change feeds started for prospects the scenario did not
// seed, such as the emulator's own), then by asking each seeded prospect's sync.
func (c *cluster) waitSettled(ps []seeded, within time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	want := expected(ps)
	c.waitFor(fmt.Sprintf("settled %v", want), within, func(ctx context.Context) (bool, error) {
		for state, n := range want {
			got, err := c.count(ctx, state)
			if err != nil || got < n {
				return false, err
			}
		}
		for _, p := range ps {
			st, err := workflows.QueryStatus(ctx, c.tc, p.id)
			if err != nil || st.State != p.kind.state() {
				return false, err
			}
		}
		return true, nil
	})
	return time.Since(start)
}

// waitFor polls cond every 250 ms until it holds; errors while the services restart are
// retried, a deadline fails the test.
func (c *cluster) waitFor(what string, within time.Duration, cond func(context.Context) (bool, error)) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ok, err := cond(ctx)
		cancel()
		if ok && err == nil {
			return
		}
		lastErr = err
		time.Sleep(250 * time.Millisecond) // polling interval
	}
	var logs []string
	for _, w := range c.workers {
		logs = append(logs, w.output())
	}
	c.t.Fatalf("not %s within %s (last error %v)\nservices:\n%s\nworkers:\n%s", what, within, lastErr, c.services.output(), strings.Join(logs, "\n---\n"))
}

// verdict is what a scenario found.
type verdict struct {
	prospects  int
	duplicates int // emails with more Leads than due
	lost       int // prospects not in their due state, or with a missing or wrong record
	problems   []string
}

// verify checks every prospect: its Leads in Salesforce, its sync's state, and that the
// sync's link (state and CrmRecordId) names its record.
func (c *cluster) verify(ps []seeded) verdict {
	c.t.Helper()
	ctx := context.Background()
	leads := c.leadsByEmail(ctx, ps)
	attrs := map[string]workflows.Listed{}
	if err := workflows.List(ctx, c.tc, workflows.Filter{}, func(l workflows.Listed) bool {
		attrs[l.ProspectID] = l
		return true
	}); err != nil {
		c.t.Fatal(err)
	}
	v := verdict{prospects: len(ps)}
	for _, p := range ps {
		got := leads[strings.ToLower(p.email)]
		st, err := workflows.QueryStatus(ctx, c.tc, p.id)
		if err != nil {
			v.lost++
			v.problems = append(v.problems, fmt.Sprintf("prospect %d: %v", p.id, err))
			continue
		}
		attr := attrs[strconv.FormatInt(p.id, 10)]
		due := 0
		if p.kind == createsLead || p.kind == matchesLead {
			due = 1
		}
		if len(got) > due {
			v.duplicates++
			v.problems = append(v.problems, fmt.Sprintf("prospect %d (%v): %d Leads %v, want %d", p.id, p.kind, len(got), got, due))
			continue
		}
		var problem string
		switch {
		case st.State != p.kind.state():
			problem = fmt.Sprintf("state %s, want %s (last error %+v)", st.State, p.kind.state(), st.LastError)
		case len(got) != due:
			problem = fmt.Sprintf("%d Leads, want %d (linked %s %s: %s; history %+v)", len(got), due, st.CRMRecordType, st.CRMRecordID, c.describe(ctx, st.CRMRecordID), st.History)
		case due == 1 && (st.CRMRecordID != got[0] || attr.CRMRecordID != got[0]):
			problem = fmt.Sprintf("linked %s (attribute %s), want its Lead %s", st.CRMRecordID, attr.CRMRecordID, got[0])
		case p.kind == matchesLead && got[0] != p.leadID:
			problem = fmt.Sprintf("Lead %s, want the existing %s", got[0], p.leadID)
		case p.kind == badEmail && (st.LastError == nil || st.LastError.Code != prospect.CodeInvalidEmail || attr.ErrorCode != prospect.CodeInvalidEmail):
			problem = fmt.Sprintf("error %+v (attribute %q), want %s", st.LastError, attr.ErrorCode, prospect.CodeInvalidEmail)
		}
		if problem != "" {
			v.lost++
			v.problems = append(v.problems, fmt.Sprintf("prospect %d (%v): %s", p.id, p.kind, problem))
		}
	}
	return v
}

// describe says what Salesforce holds under a record id, deleted or not, for a failure message.
func (c *cluster) describe(ctx context.Context, id string) string {
	if id == "" {
		return "no record"
	}
	recs, err := c.sf.Select(ctx, salesforce.Select{Object: prospect.RecordType(id), Fields: []string{"Id", "Email", "IsDeleted", "CreatedDate", "LastModifiedById"},
		Where: []salesforce.Cond{salesforce.Eq("Id", id)}, All: true})
	if err != nil || len(recs) == 0 {
		return fmt.Sprintf("not found (%v)", err)
	}
	return fmt.Sprint(map[string]any(recs[0]))
}

// leadsByEmail reads the Leads of every seeded email, 100 emails a query.
func (c *cluster) leadsByEmail(ctx context.Context, ps []seeded) map[string][]string {
	c.t.Helper()
	out := map[string][]string{}
	for chunk := range slices.Chunk(ps, 100) {
		emails := make([]string, len(chunk))
		for i, p := range chunk {
			emails[i] = p.email
		}
		recs, err := c.sf.Select(ctx, salesforce.Select{Object: prospect.TypeLead, Fields: []string{"Id", "Email"},
			Where: []salesforce.Cond{salesforce.In("Email", emails...)}})
		if err != nil {
			c.t.Fatalf("read Leads: %v", err)
		}
		for _, r := range recs {
			e := strings.ToLower(r.String("Email"))
			out[e] = append(out[e], r.String("Id"))
		}
	}
	return out
}

func (k kind) String() string {
	return [...]string{"creates a Lead", "matches a Lead", "waits", "bad email"}[k]
}

// report fails the test on any duplicate or lost prospect and logs the scenario's figures.
func (c *cluster) report(name string, v verdict, kills int, settle time.Duration, extra string) {
	c.t.Helper()
	c.t.Logf("%s: %d prospects, %d kills, %s; duplicates %d, lost %d; settled in %s",
		name, v.prospects, kills, extra, v.duplicates, v.lost, settle.Round(100*time.Millisecond))
	for i, p := range v.problems {
		if i == 20 {
			c.t.Errorf("… and %d more", len(v.problems)-20)
			break
		}
		c.t.Error(p)
	}
	if v.duplicates > 0 || v.lost > 0 {
		c.t.Errorf("%s: %d duplicates and %d lost, want none", name, v.duplicates, v.lost)
	}
}

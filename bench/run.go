package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/devserver"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/fanout"
	"github.com/prospect-sync/prospect-sync/internal/sftest"
	"github.com/prospect-sync/prospect-sync/monitor"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
	"github.com/prospect-sync/prospect-sync/workflows"
)

const (
	baselineQueue    = "bench-baseline"
	baselineWorkflow = "BenchBaseline"
	// activitiesPerSync is what a created or updated prospect runs: FetchProspect, FindMatches,
	// CreateLead or UpdateRecord, WriteBack (plus the LoadSettings local activity).
	activitiesPerSync = 4
	startConcurrency  = 64
	// ceilingWorkflows bounds the ceiling's run: its pace is steady long before 10,000.
	ceilingWorkflows = 3000
	// maxActivities matches the worker's default PROSPECT_SYNC_MAX_ACTIVITIES.
	maxActivities = 500
)

type bench struct {
	cfg    config
	logw   io.Writer
	dir    string
	srv    *devserver.Server
	emu    *emulator.Emulator
	emuURL string
	c      client.Client
	sf     *salesforce.Client
	ae     *engagement.Client
	// person makes the changes in Salesforce that stand for people's (as Alice): the worker
	// passes over its own user's writes.
	person *salesforce.Client
	worker *exec.Cmd
	// workerBin is the measured worker, built once.
	workerBin string
	// synced counts the syncs now Synced and running; restarts counts readiness probes.
	synced   int
	restarts int
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.logw, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func run(ctx context.Context, cfg config, logw io.Writer) (rep report, err error) {
	b := &bench{cfg: cfg, logw: logw}
	rep.Machine = fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	if err := b.setup(ctx); err != nil {
		b.teardown()
		return rep, err
	}
	defer b.teardown()

	if cfg.HealthSyncs > 0 {
		rep.Health, err = b.healthSyncs(ctx)
		return rep, err
	}
	if cfg.Ops > 0 {
		rep.Ops, err = b.ops(ctx)
		return rep, err
	}
	if rep.Ceiling, err = b.ceiling(ctx); err != nil {
		return rep, err
	}
	before, err := b.previousPath(ctx, rep.Ceiling.WorkflowsPerSecond)
	if err != nil {
		return rep, err
	}
	now, lat, err := b.batchedPath(ctx, rep.Ceiling.WorkflowsPerSecond)
	if err != nil {
		return rep, err
	}
	rep.Paths, rep.CRMChanges = []path{before, now}, lat
	// The waiting and resume phases run on the default worker, the change feed started by them.
	if err := b.c.TerminateWorkflow(ctx, workflows.ChangeFeedWorkflowID, "", "benchmark: load done"); err != nil {
		return rep, err
	}
	if cfg.Waiting > 0 {
		var ids []int64
		if rep.Waiting, ids, err = b.waiting(ctx); err != nil {
			return rep, err
		}
		if cfg.Assign > 0 {
			if rep.Resume, err = b.resume(ctx, ids[:min(cfg.Assign, len(ids))]); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

func (b *bench) setup(ctx context.Context) error {
	b.dir = b.cfg.Dir
	if b.dir == "" {
		d, err := os.MkdirTemp("", "prospect-sync-bench-")
		if err != nil {
			return err
		}
		b.dir = d
	}
	var err error
	b.logf("starting embedded Temporal (SQLite WAL in %s)", b.dir)
	b.srv, err = devserver.Start(ctx, devserver.Options{DataDir: filepath.Join(b.dir, "temporal"), UIPort: -1,
		SearchAttributes: workflows.SearchAttributes(), Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	b.emu, err = emulator.New(emulator.Options{DSN: filepath.Join(b.dir, "emulator.db"), Seed: true,
		DailyAPILimit: 1 << 30, AEDailyLimit: 1 << 30, TokenTTL: 24 * time.Hour})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b.emuURL = "http://" + l.Addr().String()
	go func() { _ = http.Serve(l, b.emu) }()

	// As the worker does for a server on this machine: no gRPC compression.
	copts := client.Options{HostPort: b.srv.FrontendAddress(), Namespace: workflows.Namespace, Logger: connect.Quiet,
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}}}
	// With a key in the environment the measured worker (a child, same environment) seals
	// payloads, so this client and the baseline worker must too.
	enc, err := connect.EncryptionFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	enc.Apply(&copts)
	b.c, err = client.DialContext(ctx, copts)
	if err != nil {
		return err
	}
	b.sf, err = salesforce.New(salesforce.Config{LoginURL: b.emuURL, ClientID: emulator.ClientID, ClientSecret: emulator.ClientSecret})
	if err != nil {
		return err
	}
	b.ae, err = engagement.New(engagement.Config{BaseURL: b.emuURL, BusinessUnitID: emulator.BusinessUnitID, Tokens: b.sf})
	if err != nil {
		return err
	}
	if b.person, err = sftest.Person(b.emuURL); err != nil {
		return err
	}
	return b.buildWorker(ctx)
}

// buildWorker builds ./worker (by default with -tags nodev, the production build) once.
func (b *bench) buildWorker(ctx context.Context) error {
	b.workerBin = filepath.Join(b.dir, "worker-bin")
	b.logf("building ./worker -tags %q", b.cfg.WorkerTags)
	build := exec.CommandContext(ctx, "go", "build", "-tags", b.cfg.WorkerTags, "-o", b.workerBin, "./worker")
	build.Stdout, build.Stderr = b.logw, b.logw
	if err := build.Run(); err != nil {
		return fmt.Errorf("build worker: %w", err)
	}
	return nil
}

// workerCmd is the worker as a child configured as in production: an external Temporal
// (ours) and "real" Salesforce (the emulator's URL), with env on top.
func (b *bench) workerCmd(ctx context.Context, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, b.workerBin)
	cmd.Env = append(append(os.Environ(),
		"TEMPORAL_ADDRESS="+b.srv.FrontendAddress(), "TEMPORAL_NAMESPACE="+workflows.Namespace,
		"SALESFORCE_LOGIN_URL="+b.emuURL, "SALESFORCE_CLIENT_ID="+emulator.ClientID, "SALESFORCE_CLIENT_SECRET="+emulator.ClientSecret,
		"ACCOUNT_ENGAGEMENT_URL="+b.emuURL, "ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID="+emulator.BusinessUnitID,
		"LOG_LEVEL=warn", "LOG_FORMAT=json",
		monitor.EnvAddress+"=127.0.0.1:0"), env...) // never the default port a dev worker may hold
	cmd.Stdout, cmd.Stderr = io.Discard, b.logw
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	return cmd
}

// stopWorker stops the measured worker, letting it finish its activities.
func (b *bench) stopWorker() {
	if b.worker != nil && b.worker.Process != nil {
		_ = b.worker.Process.Signal(os.Interrupt)
		_ = b.worker.Wait()
	}
	b.worker = nil
}

func (b *bench) teardown() {
	b.stopWorker()
	if b.c != nil {
		b.c.Close()
	}
	if b.srv != nil {
		_ = b.srv.Stop()
	}
	if b.emu != nil {
		_ = b.emu.Close()
	}
	if !b.cfg.Keep && b.cfg.Dir == "" && b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// ceiling measures the bare ceiling: workflows running the same number of no-op activities as
// a sync, on the same server, in the same run.
func (b *bench) ceiling(ctx context.Context) (ceiling, error) {
	n := min(b.cfg.N, ceilingWorkflows)
	t := ceiling{Workflows: n, ActivitiesPerRun: activitiesPerSync}
	b.logf("ceiling: %d workflows of %d no-op activities", n, activitiesPerSync)
	w := worker.New(b.c, baselineQueue, worker.Options{MaxConcurrentActivityExecutionSize: maxActivities})
	w.RegisterWorkflowWithOptions(baseline, workflow.RegisterOptions{Name: baselineWorkflow})
	w.RegisterActivity(noop)
	if err := w.Start(); err != nil {
		return t, err
	}
	defer w.Stop()
	start := time.Now()
	err := b.startMany(ctx, n, func(ctx context.Context, i int) error {
		id := fmt.Sprintf("bench-baseline/%d", i)
		_, err := b.c.SignalWithStartWorkflow(ctx, id, workflows.SignalProspectChanged, nil,
			client.StartWorkflowOptions{ID: id, TaskQueue: baselineQueue}, baselineWorkflow)
		return err
	})
	if err != nil {
		return t, err
	}
	if err := b.waitCount(ctx, fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Completed'", baselineWorkflow), n); err != nil {
		return t, err
	}
	t.Seconds = time.Since(start).Seconds()
	t.WorkflowsPerSecond = float64(n) / t.Seconds
	b.logf("ceiling: %.1f workflows/s", t.WorkflowsPerSecond)
	return t, nil
}

// prepareSyncs creates n prospects: the first half assigned with no match (a Lead is
// created), the second half assigned with a matching Lead whose name differs (it is updated).
func (b *bench) prepareSyncs(ctx context.Context, prefix string, n int) ([]int64, error) {
	ids := make([]int64, n)
	err := b.startMany(ctx, n, func(ctx context.Context, i int) error {
		email := fmt.Sprintf("%s%06d@bench.example.com", prefix, i)
		fields := map[string]any{"email": email, "firstName": "Bench", "lastName": fmt.Sprintf("Prospect %d", i), "company": "Bench Inc", "userId": emulator.AEUserBob}
		if i >= n-n/2 {
			fields["userId"] = emulator.AEUserAlice
			if _, err := b.sf.Create(ctx, "Lead", map[string]any{"Email": email, "LastName": "Old name", "Company": "Bench Inc"}); err != nil {
				return err
			}
		}
		p, err := b.ae.CreateProspect(ctx, fields)
		ids[i] = p.ID
		return err
	})
	return ids, err
}

// waiting leaves prospects waiting for assignment and measures what they cost.
func (b *bench) waiting(ctx context.Context) (*waiting, []int64, error) {
	p := b.cfg.Waiting
	b.logf("preparing %d unassigned prospects", p)
	ids := make([]int64, p)
	err := b.startMany(ctx, p, func(ctx context.Context, i int) error {
		pr, err := b.ae.CreateProspect(ctx, map[string]any{"email": fmt.Sprintf("wait%06d@bench.example.com", i), "lastName": "Waiting", "company": "Bench Inc"})
		ids[i] = pr.ID
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	dbBefore := b.dbBytes()
	b.logf("starting %d syncs that will wait", p)
	start := time.Now()
	if err := b.signalAll(ctx, ids); err != nil {
		return nil, nil, err
	}
	if err := b.waitCount(ctx, workflows.StateQuery(prospect.StateWaitingForAssignment), p); err != nil {
		return nil, nil, err
	}
	wt := &waiting{Prospects: p, StartSeconds: time.Since(start).Seconds()}
	wt.DBBytesPerWorkflow = float64(b.dbBytes()-dbBefore) / float64(p)
	wt.WorkerRSSMB, wt.WorkerPeakRSSMB, wt.WorkerAnonMB = procMemMB(b.worker.Process.Pid)
	sample := ids[:min(200, len(ids))]
	total := int64(0)
	for _, id := range sample {
		d, err := b.c.DescribeWorkflowExecution(ctx, workflows.ProspectWorkflowID(id), "")
		if err != nil {
			return nil, nil, err
		}
		total += d.GetWorkflowExecutionInfo().GetHistoryLength()
	}
	wt.HistoryEvents = float64(total) / float64(len(sample))
	b.logf("waiting: %d prospects, worker RSS %.0f MB (%.0f MB anonymous), %.0f DB bytes and %.1f events each", p, wt.WorkerRSSMB, wt.WorkerAnonMB, wt.DBBytesPerWorkflow, wt.HistoryEvents)
	return wt, ids, nil
}

// resume assigns waiting prospects in Account Engagement and measures, per prospect, the time
// from the assignment to its Lead existing in Salesforce, with the change feed polling.
func (b *bench) resume(ctx context.Context, ids []int64) (*resume, error) {
	feed := workflows.ChangeFeedInput{Cursor: time.Now().UTC(), Interval: b.cfg.FeedInterval, Overlap: workflows.DefaultFeedOverlap}
	if _, err := workflows.StartChangeFeed(ctx, b.c, feed); err != nil {
		return nil, err
	}
	defer func() {
		_ = b.c.TerminateWorkflow(context.Background(), workflows.ChangeFeedWorkflowID, "", "benchmark done")
	}()
	// Let the feed's first polls (which re-read the overlap window) settle before measuring.
	if err := b.waitFeedPolls(ctx, 2); err != nil {
		return nil, err
	}
	b.logf("assigning %d waiting prospects, %.0f a second; change feed every %s", len(ids), b.cfg.AssignRate, b.cfg.FeedInterval)
	assigned := make([]time.Time, len(ids))
	emails := make([]string, len(ids))
	// Assignments arrive at a steady rate, as people and rules make them; the latency measured
	// is then the sync's, not a queue behind a burst larger than the throughput.
	tick := time.NewTicker(time.Duration(float64(time.Second) / b.cfg.AssignRate))
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for i := range ids {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := b.ae.UpdateProspect(ctx, ids[i], map[string]any{"userId": emulator.AEUserBob})
			assigned[i], emails[i] = time.Now(), p.Email
			if err != nil {
				errs <- err
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	created := map[string]time.Time{}
	err := poll(ctx, 5*time.Minute, 200*time.Millisecond, func() (bool, error) {
		// Only the emails still without a Lead: a found Lead's CreatedDate does not change.
		var missing []string
		for _, e := range emails {
			if _, ok := created[strings.ToLower(e)]; !ok {
				missing = append(missing, salesforce.Quote(e))
			}
		}
		for chunk := range slices.Chunk(missing, 100) {
			recs, err := b.sf.Query(ctx, "SELECT Email, CreatedDate FROM Lead WHERE Email IN ("+strings.Join(chunk, ", ")+")")
			if err != nil {
				return false, err
			}
			for _, r := range recs {
				created[strings.ToLower(r.String("Email"))] = r.Time("CreatedDate")
			}
		}
		return len(created) >= len(ids), nil
	})
	if errors.Is(err, errTimeout) {
		return nil, fmt.Errorf("only %d of %d assigned prospects got a Lead within 5 minutes", len(created), len(ids))
	} else if err != nil {
		return nil, err
	}
	lat := make([]float64, len(ids))
	for i, e := range emails {
		lat[i] = max(created[strings.ToLower(e)].Sub(assigned[i]).Seconds(), 0)
	}
	slices.Sort(lat)
	r := &resume{Assigned: len(ids), FeedInterval: b.cfg.FeedInterval.String(), AssignRate: b.cfg.AssignRate,
		P50Seconds: lat[len(lat)/2], P99Seconds: lat[min(len(lat)-1, len(lat)*99/100)], MaxSeconds: lat[len(lat)-1]}
	b.logf("resume: p50 %.2fs p99 %.2fs", r.P50Seconds, r.P99Seconds)
	return r, nil
}

func (b *bench) waitFeedPolls(ctx context.Context, polls int) error {
	var last time.Time
	seen := 0
	err := poll(ctx, 2*time.Minute, 100*time.Millisecond, func() (bool, error) {
		// Query errors are expected until the feed's first workflow task has run.
		v, err := b.c.QueryWorkflow(ctx, workflows.ChangeFeedWorkflowID, "", workflows.QuerySyncState)
		if err != nil {
			return false, nil
		}
		var st workflows.ChangeFeedStatus
		if v.Get(&st) == nil && !st.LastPoll.IsZero() && !st.LastPoll.Equal(last) {
			last = st.LastPoll
			seen++
		}
		return seen >= polls, nil
	})
	if errors.Is(err, errTimeout) {
		return fmt.Errorf("change feed polled %d times in 2 minutes, want %d", seen, polls)
	}
	return err
}

func (b *bench) signalAll(ctx context.Context, ids []int64) error {
	ch := make(chan int64)
	go func() {
		defer close(ch)
		for _, id := range ids {
			ch <- id
		}
	}()
	if f := workflows.SignalMany(ctx, b.c, ch, workflows.SignalProspectChanged, nil, startConcurrency, nil); len(f) > 0 {
		return fmt.Errorf("%d starts failed, first: %w", len(f), f[0].Err)
	}
	return nil
}

// startMany runs fn for 0..n-1 with bounded concurrency, stopping at the first error.
func (b *bench) startMany(ctx context.Context, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fanout.Each(ctx, startConcurrency, iterRange(n), fn, func(_ int, err error) {
		if err != nil {
			cancel(err)
		}
	})
	return context.Cause(ctx)
}

// iterRange yields 0..n-1.
func iterRange(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

// waitCount polls visibility until the query counts want executions. The deadline allows
// 30 minutes or 5 executions a second, whichever is longer, so a 100,000 run does not time out.
func (b *bench) waitCount(ctx context.Context, query string, want int) error {
	timeout := max(30*time.Minute, time.Duration(want)*time.Second/5)
	// A count scans visibility (about 0.2 s over 100,000 executions in the sqlite3 shell), CPU
	// that polling every 250 ms would take from the workflows being measured.
	interval := 250 * time.Millisecond
	if want > 10000 {
		interval = 2 * time.Second
	}
	last := int64(-1)
	lastLog := time.Now()
	err := poll(ctx, timeout, interval, func() (bool, error) {
		resp, err := b.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: workflows.Namespace, Query: query})
		if err != nil {
			return false, err
		}
		if n := resp.GetCount(); n < int64(want) && time.Since(lastLog) > 10*time.Second && n != last {
			b.logf("  %d/%d", n, want)
			lastLog, last = time.Now(), n
		}
		return resp.GetCount() >= int64(want), nil
	})
	if errors.Is(err, errTimeout) {
		return fmt.Errorf("%d executions matching %s not reached within %s", want, query, timeout)
	}
	return err
}

// errTimeout is poll's error when the condition did not hold in time.
var errTimeout = errors.New("timed out")

// poll calls done every interval until it reports true, returns an error, the timeout passes
// (errTimeout) or ctx ends.
func poll(ctx context.Context, timeout, interval time.Duration, done func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, err := done()
		if ok || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return errTimeout
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

func (b *bench) dbBytes() int64 {
	var total int64
	for _, f := range []string{devserver.DBFileName, devserver.DBFileName + "-wal"} {
		if st, err := os.Stat(filepath.Join(b.dir, "temporal", f)); err == nil {
			total += st.Size()
		}
	}
	return total
}

// procMemMB reads a process's resident, peak resident and anonymous (private, not backed by
// the executable file) resident memory from /proc.
func procMemMB(pid int) (rss, peak, anon float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		case "RssAnon:":
			anon = kb / 1024
		}
	}
	return rss, peak, anon
}

// baseline is the ceiling's workflow: what a sync runs, minus the work.
func baseline(ctx workflow.Context) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	if err := workflow.ExecuteLocalActivity(lctx, noop).Get(ctx, nil); err != nil {
		return err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	for range activitiesPerSync {
		if err := workflow.ExecuteActivity(actx, noop).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func noop(context.Context) error { return nil }

// Command bench measures prospect-sync on this machine: the same first load run the
// per-prospect way (before) and the batched way through the change feeds (now), side by side
// against the bare ceiling of the same embedded server: API calls per synced prospect,
// throughput, Salesforce calls a day to keep synced prospects current, how fast a change made
// in Salesforce reaches its sync, a lone sync's latency; then the cost of prospects waiting for
// assignment and how fast an assignment resumes a waiting sync. It prints a table and JSON.
//
//	go run ./bench -n 10000 -waiting 0   # the API-budget table of docs/benchmarks.md (about 25 minutes)
//	go run ./bench                       # defaults: 2000 syncs, 20,000 waiting, 1000 resumed
//	go run ./bench -n 2 -waiting 100000 -assign 1000  # the large run (about 90 minutes on 2 cores)
//	go run ./bench -ops 10000            # starter plan over 10,000 prospects, starter health over their syncs
//
// The embedded Temporal server, the emulator and the baseline worker run in this process; the
// real worker runs as a child process (the ./worker binary, configured as for production), so
// its memory is measured on its own.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"
)

type config struct {
	N            int
	Waiting      int
	Assign       int
	FeedInterval time.Duration
	AssignRate   float64
	WorkerTags   string
	Dir          string
	JSON         string
	Keep         bool
	// Ops, when set, runs only the operator controls' phase over this many prospects.
	Ops int
	// HealthSyncs, when set, runs only `starter health` over this many syncs in visibility.
	HealthSyncs int
}

func main() {
	var cfg config
	flag.IntVar(&cfg.N, "n", 2000, "prospects synced in the throughput phase (half created, half updated)")
	flag.IntVar(&cfg.Waiting, "waiting", 20000, "prospects left waiting for assignment (0 skips the waiting phase)")
	flag.IntVar(&cfg.Assign, "assign", 1000, "waiting prospects then assigned, to measure resume latency")
	flag.DurationVar(&cfg.FeedInterval, "feed-interval", time.Second, "change feed interval in the resume phase")
	flag.Float64Var(&cfg.AssignRate, "assign-rate", 10, "assignments a second in the resume phase")
	flag.StringVar(&cfg.WorkerTags, "worker-tags", "nodev", `build tags of the measured worker ("" builds it with the embedded server and emulator)`)
	flag.StringVar(&cfg.Dir, "dir", "", "working directory (default: a new temporary one)")
	flag.StringVar(&cfg.JSON, "json", "", "also write the JSON report to this file")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the working directory")
	flag.IntVar(&cfg.HealthSyncs, "health-syncs", 0, "run only starter health over this many syncs in visibility (started with their search attributes on a queue no worker polls)")
	flag.IntVar(&cfg.Ops, "ops", 0, "run only the operator controls' phase: starter plan over N prospects, then starter health over their N syncs")
	cpuProfile := flag.String("cpuprofile", "", "write this process's CPU profile here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if cfg.N < 2 || cfg.Waiting < 0 || cfg.Assign < 0 || (cfg.Waiting > 0 && cfg.Assign > cfg.Waiting) || cfg.AssignRate <= 0 || cfg.FeedInterval <= 0 {
		fmt.Fprintln(os.Stderr, "bench: want -n >= 2, -waiting >= 0, 0 <= -assign <= -waiting, -assign-rate > 0, -feed-interval > 0")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	if rep.Health != nil {
		fmt.Printf("\nstarter health over %d syncs: %.2f s (baseline, one count of them: %.3f s; ratio %.0f), by part %v; putting them in visibility took %.0f s\n",
			rep.Health.Syncs, rep.Health.HealthSeconds, rep.Health.CountSeconds, rep.Health.HealthSeconds/max(rep.Health.CountSeconds, 1e-9), rep.Health.Parts, rep.Health.StartSeconds)
	} else if rep.Ops != nil {
		printOps(os.Stdout, rep.Ops)
	} else {
		printTable(os.Stdout, rep)
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(b))
	if cfg.JSON != "" {
		if err := os.WriteFile(cfg.JSON, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

// report is the benchmark's outcome; every figure measured in this run.
type report struct {
	Machine string  `json:"machine"`
	Ceiling ceiling `json:"ceiling"`
	// Paths are the same first load run the per-prospect way and the batched way.
	Paths      []path          `json:"paths"`
	CRMChanges []changeLatency `json:"salesforceChanges"`
	Waiting    *waiting        `json:"waiting,omitempty"`
	Ops        *opsReport      `json:"ops,omitempty"`
	Health     *healthScale    `json:"health,omitempty"`
	Resume     *resume         `json:"resume,omitempty"`
}

// ceiling is the bare server's pace: workflows of no-op activities.
type ceiling struct {
	Workflows          int     `json:"workflows"`
	ActivitiesPerRun   int     `json:"activitiesPerWorkflow"`
	WorkflowsPerSecond float64 `json:"workflowsPerSecond"`
	Seconds            float64 `json:"seconds"`
}

type waiting struct {
	Prospects          int     `json:"prospects"`
	StartSeconds       float64 `json:"secondsToAllWaiting"`
	WorkerRSSMB        float64 `json:"workerRssMB"`
	WorkerPeakRSSMB    float64 `json:"workerPeakRssMB"`
	WorkerAnonMB       float64 `json:"workerAnonymousRssMB"`
	DBBytesPerWorkflow float64 `json:"dbBytesPerWaitingWorkflow"`
	HistoryEvents      float64 `json:"historyEventsPerWorkflow"`
}

type resume struct {
	Assigned     int     `json:"assigned"`
	FeedInterval string  `json:"feedInterval"`
	AssignRate   float64 `json:"assignmentsPerSecond"`
	P50Seconds   float64 `json:"p50Seconds"`
	P99Seconds   float64 `json:"p99Seconds"`
	MaxSeconds   float64 `json:"maxSeconds"`
}

func printTable(w io.Writer, r report) {
	fmt.Fprintf(w, "\nprospect-sync benchmark on %s\n", r.Machine)
	fmt.Fprintf(w, "bare ceiling: %.1f workflows/s (%d workflows of %d no-op activities)\n\n", r.Ceiling.WorkflowsPerSecond, r.Ceiling.Workflows, r.Ceiling.ActivitiesPerRun)
	if len(r.Paths) == 2 {
		before, now := r.Paths[0], r.Paths[1]
		row := func(name, target, a, b string) { fmt.Fprintf(w, "%-62s %14s %14s %12s\n", name, a, b, target) }
		f := func(format string, v float64) string { return fmt.Sprintf(format, v) }
		row("measure", "target", "before", "now")
		load := fmt.Sprintf("%d-prospect first load, half create, half update", now.Prospects)
		row("Salesforce calls per synced prospect, "+load, "<= 0.05", f("%.3f", before.SalesforcePerProspect), f("%.3f", now.SalesforcePerProspect))
		row("Account Engagement calls per synced prospect, same load", "<= 1.10", f("%.3f", before.EngagementPerProspect), f("%.3f", now.EngagementPerProspect))
		row("syncs/s, same load", "", f("%.1f", before.SyncsPerSecond), f("%.1f", now.SyncsPerSecond))
		row("throughput ratio to the bare ceiling, same load", ">= before", f("%.2f", before.Ratio), f("%.2f", now.Ratio))
		bySize := func(a, b steady) int { return a.Synced - b.Synced }
		slices.SortFunc(before.Steady, bySize)
		slices.SortFunc(now.Steady, bySize)
		for i := range min(len(before.Steady), len(now.Steady)) {
			row(fmt.Sprintf("Salesforce calls a day to keep N = %d synced prospects current", now.Steady[i].Synced), "indep. of N",
				f("%.0f", before.Steady[i].SalesforcePerDay), f("%.0f", now.Steady[i].SalesforcePerDay))
		}
		for _, c := range r.CRMChanges {
			row(fmt.Sprintf("change in Salesforce (%s, %d) reflected, p50 / p99 s", c.Kind, c.Changes), "p99 <= "+c.FeedInterval+"×2+2s",
				"<= 24 h", fmt.Sprintf("%.2f / %.2f", c.P50Seconds, c.P99Seconds))
		}
		row("a lone sync's latency, p50 ms (batching off / on)", "<= +100 ms", f("%.0f", before.LoneSyncP50Ms), f("%.0f", now.LoneSyncP50Ms))
		fmt.Fprintln(w, "\nhow the calls a day were measured:")
		for _, p := range r.Paths {
			for _, st := range p.Steady {
				fmt.Fprintf(w, "  %s, N = %d: %s\n", p.Name, st.Synced, st.How)
			}
		}
		fmt.Fprintln(w)
	}
	if wt := r.Waiting; wt != nil {
		fmt.Fprintf(w, "%-46s %12d\n", "prospects waiting for assignment", wt.Prospects)
		fmt.Fprintf(w, "%-46s %12.1f\n", "worker RSS MB while they wait (< 300)", wt.WorkerRSSMB)
		fmt.Fprintf(w, "%-46s %12.1f\n", "worker peak RSS MB", wt.WorkerPeakRSSMB)
		fmt.Fprintf(w, "%-46s %12.1f\n", "  of which anonymous (heap, stacks) MB", wt.WorkerAnonMB)
		fmt.Fprintf(w, "%-46s %12.0f\n", "Temporal DB bytes per waiting workflow", wt.DBBytesPerWorkflow)
		fmt.Fprintf(w, "%-46s %12.1f\n", "history events per waiting workflow", wt.HistoryEvents)
	}
	if rs := r.Resume; rs != nil {
		fmt.Fprintf(w, "%-46s %12.2f\n", fmt.Sprintf("resume p50 s (%d assigned %.0f/s, feed %s)", rs.Assigned, rs.AssignRate, rs.FeedInterval), rs.P50Seconds)
		fmt.Fprintf(w, "%-46s %12.2f\n", "resume p99 s (< 3)", rs.P99Seconds)
	}
	fmt.Fprintln(w)
}

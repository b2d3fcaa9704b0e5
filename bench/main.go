// Command bench measures prospect-sync on this machine: sync throughput against the bare
// ceiling of the same embedded server, API calls per synced prospect, the cost of prospects
// waiting for assignment, and how fast an assignment in Account Engagement resumes a waiting
// sync through the change feed. It prints a table and JSON.
//
//	go run ./bench                       # defaults: 2000 syncs, 20,000 waiting, 1000 resumed
//	go run ./bench -n 2 -waiting 100000 -assign 1000  # the large run (about 90 minutes on 2 cores)
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
	printTable(os.Stdout, rep)
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
	Machine    string     `json:"machine"`
	Throughput throughput `json:"throughput"`
	APICost    apiCost    `json:"apiCost"`
	Waiting    *waiting   `json:"waiting,omitempty"`
	Resume     *resume    `json:"resume,omitempty"`
}

type throughput struct {
	Prospects        int     `json:"prospects"`
	SyncsPerSecond   float64 `json:"syncsPerSecond"`
	BaselinePerSec   float64 `json:"baselineWorkflowsPerSecond"`
	ActivitiesPerRun int     `json:"activitiesPerWorkflow"`
	Ratio            float64 `json:"ratioToBaseline"`
	Seconds          float64 `json:"seconds"`
	BaselineSeconds  float64 `json:"baselineSeconds"`
}

type apiCost struct {
	SalesforcePerProspect float64 `json:"salesforceCallsPerProspect"`
	EngagementPerProspect float64 `json:"engagementCallsPerProspect"`
	TokenRequests         int     `json:"tokenRequests"`
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
	fmt.Fprintf(w, "\nprospect-sync benchmark on %s\n\n", r.Machine)
	t := r.Throughput
	fmt.Fprintf(w, "%-46s %12s\n", "measure", "value")
	fmt.Fprintf(w, "%-46s %12.1f\n", fmt.Sprintf("syncs/s (%d prospects, half create, half update)", t.Prospects), t.SyncsPerSecond)
	fmt.Fprintf(w, "%-46s %12.1f\n", fmt.Sprintf("bare ceiling workflows/s (%d no-op activities)", t.ActivitiesPerRun), t.BaselinePerSec)
	fmt.Fprintf(w, "%-46s %12.2f\n", "ratio to ceiling (goal >= 0.80)", t.Ratio)
	fmt.Fprintf(w, "%-46s %12.2f\n", "Salesforce calls per synced prospect (<= 2)", r.APICost.SalesforcePerProspect)
	fmt.Fprintf(w, "%-46s %12.2f\n", "Account Engagement calls per synced prospect", r.APICost.EngagementPerProspect)
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

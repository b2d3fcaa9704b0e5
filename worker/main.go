// Command worker runs the prospect-sync Temporal worker. With no configuration it also runs an
// embedded Temporal server with its Web UI and a local Salesforce/Account Engagement emulator
// seeded with sample prospects, so one command shows the whole product on a laptop.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prospect-sync/prospect-sync/app"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/monitor"
	"github.com/prospect-sync/prospect-sync/workflows"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := app.LoadConfig(args, os.Getenv)
	if err != nil {
		return err
	}
	if cfg.Healthcheck {
		// A container health check: the running worker's /readyz, its reason on failure.
		return monitor.Probe(context.Background(), cfg.HTTPAddress)
	}
	log, err := app.NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	a, err := app.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	printBanner(cfg, a)
	if cfg.NoWorker {
		log.Info().Str("temporal", a.TemporalAddress).Str("emulator", a.EmulatorURL).Msg("local services started, no worker (-no-worker)")
	} else {
		log.Info().Str("taskQueue", workflows.TaskQueue).Str("temporal", a.TemporalAddress).Msg("worker started")
	}
	<-ctx.Done()
	log.Info().Msg("shutting down: letting running activities finish")
	a.Stop()
	log.Info().Msg("stopped")
	return nil
}

// printBanner tells a newcomer what runs where and what to try next.
func printBanner(cfg app.Config, a *app.App) {
	w := os.Stdout
	if cfg.NoWorker {
		fmt.Fprintln(w, "\nprospect-sync local services are running, without a worker (Ctrl-C to stop)")
	} else {
		fmt.Fprintln(w, "\nprospect-sync worker is running (Ctrl-C to stop)")
	}
	if cfg.Embedded() {
		fmt.Fprintf(w, "  Temporal     %s (embedded; data in %s/)\n", a.TemporalAddress, cfg.DataDir)
		if a.UIURL != "" {
			fmt.Fprintf(w, "  Temporal UI  %s/namespaces/%s/workflows\n", a.UIURL, workflows.Namespace)
		}
	} else {
		fmt.Fprintf(w, "  Temporal     %s\n", a.TemporalAddress)
	}
	if a.HTTPAddress != "" {
		fmt.Fprintf(w, "  Metrics      http://%s%s (health: %s, %s)\n", a.HTTPAddress, monitor.PathMetrics, monitor.PathHealthz, monitor.PathReadyz)
	}
	if cfg.UseEmulator() {
		fmt.Fprintf(w, "  Emulator     %s (Salesforce + Account Engagement, sample prospects)\n", a.EmulatorURL)
	} else {
		fmt.Fprintf(w, "  Salesforce   %s; Account Engagement %s\n", cfg.Services.LoginURL, cfg.Services.EngagementURL)
	}
	if c := cfg.Encryption.Codec; c != nil {
		fmt.Fprintf(w, "  Encryption   payloads sealed with key %q (%d in the ring)\n", c.Primary(), len(c.KeyIDs()))
	}
	if cfg.NoWorker {
		fmt.Fprintln(w, "\nStart a worker against them, in another terminal (and kill or restart it as you like):")
		fmt.Fprintf(w, "  TEMPORAL_ADDRESS=%s SALESFORCE_LOGIN_URL=%[2]s ACCOUNT_ENGAGEMENT_URL=%[2]s \\\n", a.TemporalAddress, a.EmulatorURL)
		fmt.Fprintf(w, "  SALESFORCE_CLIENT_ID=%s SALESFORCE_CLIENT_SECRET=%s ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID=%s go run ./worker\n",
			connect.EmulatorClientID, connect.EmulatorClientSecret, connect.EmulatorBusinessUnitID)
	}
	fmt.Fprintln(w, "\nTry, in another terminal:")
	fmt.Fprintln(w, "  go run ./starter sync --all        # start a sync for every prospect")
	fmt.Fprintln(w, "  go run ./starter list              # where each one stands")
	if a.UIURL != "" {
		fmt.Fprintf(w, "  open %s and filter with SyncState=\"WaitingForAssignment\"\n", a.UIURL)
	}
	fmt.Fprintln(w)
}

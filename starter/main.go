// Command starter starts, signals and inspects prospect syncs.
//
//	starter sync <prospectId>...        start the syncs of these prospects, or re-read both sides
//	starter sync --all                  every prospect in Account Engagement, paged
//	starter sync --file ids.txt|ids.csv one id a line, or a CSV with an "id" column
//	starter sync --state SyncError [--code CODE]  every sync in a state / with an error code
//	starter assign-rule <prospectId>... send unassigned prospects through the active assignment rule (R5)
//	starter allow-recreate <prospectId>... let a CrmDeleted prospect match or create a record again
//	starter plan [--all | --file F | ID...] [--csv plan.csv] [--json]  a dry run: what a sync would do
//	starter health [--csv errors.csv] [--json]  states, errors by code, feeds, API usage, paused
//	starter status <prospectId> [--json]
//	starter status --all [--json]       paused or not, and the syncs per state
//	starter pause --reason "…"          hold every write to Salesforce and Account Engagement
//	starter resume                      let the held work go
//	starter list [--state SyncState] [--json]
//	starter watch [--interval 30s]      start the change feed (idempotent)
//
// Temporal is found through the SDK's TEMPORAL_* environment variables (default 127.0.0.1:7233).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// exitUsage is the exit code for a malformed command line or id.
const exitUsage = 2

// usageError marks errors that are the caller's to fix.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(exitUsage)
		}
		os.Exit(1)
	}
}

const usage = `usage:
  starter sync <prospectId>...          start these prospects' syncs, or re-read both sides now
  starter sync --all                    every prospect in Account Engagement
  starter sync --file FILE              ids one a line, or a CSV with an id column
  starter sync --state STATE [--code C] every sync in a state, or showing an error code
                                        (e.g. --state SyncError after a validation rule was fixed)
  starter assign-rule <prospectId>...   use the active assignment rule for these (R5)
  starter allow-recreate <prospectId>...
                                        let CrmDeleted prospects match or create a record again
  starter plan [--all | --file FILE | ID...] [--csv plan.csv] [--json] [--show-email]
                                        a dry run: what a sync would do to each prospect, by rule,
                                        what it would cost against today's API allocations;
                                        writes nothing, starts nothing
  starter health [--csv errors.csv] [--json]
                                        the sync's health: prospects per state, errors by code
                                        (with a sample message and the command that retries
                                        them), the oldest waiting, feed lag, API usage, paused
  starter status <prospectId> [--json]  where one prospect's sync stands
  starter status --all [--json]         paused or not, and how many syncs are in each state
  starter pause --reason "…" [--by WHO] hold every write to both services, on every worker,
                                        until resumed (kept in Temporal: survives restarts)
  starter resume [--reason "…"]         let the held writes go
  starter list [--state STATE] [--json] syncs by state (Evaluating, WaitingForAssignment,
                                        Synced, DoNotSync, CrmDeleted, SyncError)
  starter watch [--interval 30s] [--crm-interval 30s] [--since now|all|TIME]
                                        start the Account Engagement and Salesforce change
                                        feeds (once each)`

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{usage}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "sync":
		return cmdSync(ctx, rest, stdout, stderr, getenv, kindSync)
	case "assign-rule":
		return cmdSync(ctx, rest, stdout, stderr, getenv, kindAssignRule)
	case "allow-recreate":
		return cmdSync(ctx, rest, stdout, stderr, getenv, kindAllowRecreate)
	case "status":
		return cmdStatus(ctx, rest, stdout, getenv)
	case "list":
		return cmdList(ctx, rest, stdout, getenv)
	case "health":
		return cmdHealth(ctx, rest, stdout, stderr, getenv)
	case "plan":
		return cmdPlan(ctx, rest, stdout, stderr, getenv)
	case "pause":
		return cmdPause(ctx, rest, stdout, getenv, true)
	case "resume":
		return cmdPause(ctx, rest, stdout, getenv, false)
	case "watch":
		return cmdWatch(ctx, rest, stdout, getenv)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", cmd, usage)}
}

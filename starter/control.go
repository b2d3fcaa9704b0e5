package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// cmdPause and cmdResume set the sync's pause, kept in Temporal (the control workflow), so it
// holds for every worker and survives restarts.
func cmdPause(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string, pause bool) error {
	name := "resume"
	if pause {
		name = "pause"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	reason := fs.String("reason", "", "why (shown in every held sync's details)")
	by := fs.String("by", operator(getenv), "who (default: this user@host)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return usageError{fmt.Sprintf("%s: %v\n%s", name, err, usage)}
	}
	if pause && *reason == "" {
		return usageError{"pause: say why with --reason \"…\": every held sync shows it"}
	}
	c, err := dialTemporal(ctx, getenv)
	if err != nil {
		return err
	}
	defer c.Close()
	req := workflows.PauseRequest{By: *by, Reason: *reason}
	if pause {
		err = workflows.Pause(ctx, c, req)
	} else {
		err = workflows.Resume(ctx, c, req)
	}
	if err != nil {
		return err
	}
	st, err := workflows.Control(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, st.String())
	if pause {
		fmt.Fprintln(stdout, "Every worker holds its writes within PROSPECT_SYNC_PAUSE_POLL (1 s by default); reads, the change feeds and `starter sync` go on. Undo with: starter resume")
	} else {
		fmt.Fprintln(stdout, "Held syncs write again as each next tries (within 10 s), at the API budget's pace.")
	}
	return nil
}

// operator names who runs the command, for the pause's record.
func operator(getenv func(string) string) string {
	name := getenv("USER")
	if u, err := user.Current(); err == nil && name == "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	if name == "" {
		name = "unknown"
	}
	return name + "@" + host
}

// overview is `starter status --all`: the pause and the syncs per state.
type overview struct {
	Control workflows.ControlState       `json:"control"`
	States  map[prospect.SyncState]int64 `json:"states"`
	At      time.Time                    `json:"at"`
}

func cmdStatusAll(ctx context.Context, c client.Client, stdout io.Writer, asJSON bool) error {
	o := overview{At: time.Now().UTC()}
	var err error
	if o.Control, err = workflows.Control(ctx, c); err != nil {
		return err
	}
	if o.States, err = workflows.CountByState(ctx, c); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(o)
	}
	fmt.Fprintf(stdout, "Sync: %s\n", o.Control.String())
	for _, st := range prospect.States {
		fmt.Fprintf(stdout, "  %-22s %d\n", st, o.States[st])
	}
	return nil
}

package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/health"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// cmdHealth is the sync-health report.
func cmdHealth(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	csvPath := fs.String("csv", "", "export every failing prospect (id, code, message, since, record) to this CSV file")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return usageError{fmt.Sprintf("health: %v\n%s", err, usage)}
	}
	c, err := dialTemporal(ctx, getenv)
	if err != nil {
		return err
	}
	defer c.Close()
	services := connect.ServicesFromEnv(getenv)
	sf, ae, err := services.Clients("")
	if err != nil {
		return err
	}
	r := health.Reporter{Temporal: c, SF: sf, AE: ae, SFReserve: services.SalesforceReserve, AEReserve: services.EngagementReserve}
	rep, err := r.Report(ctx)
	if err != nil {
		return err
	}
	if *csvPath != "" {
		failing, err := r.Failures(ctx)
		if err != nil {
			return err
		}
		if err := writeFailures(*csvPath, failing); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d failing prospects to %s\n", len(failing), *csvPath)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printHealth(stdout, rep)
	return nil
}

func writeFailures(path string, rows []health.Failing) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"id", "code", "message", "since", "record"})
	for _, r := range rows {
		since := ""
		if !r.Since.IsZero() {
			since = r.Since.UTC().Format(time.RFC3339)
		}
		_ = w.Write([]string{strconv.FormatInt(r.ProspectID, 10), r.Code, r.Message, since, r.RecordID})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func printHealth(w io.Writer, rep health.Report) {
	fmt.Fprintf(w, "Sync health at %s (%s)\n\n", rep.At.Format(time.DateTime), rep.Took)
	fmt.Fprintf(w, "Sync: %s\n\n", rep.Control.String())
	fmt.Fprintln(w, "Prospects per state")
	for _, st := range prospect.States {
		fmt.Fprintf(w, "  %-22s %d\n", st, rep.States[st])
	}
	fmt.Fprintln(w, "\nErrors by code")
	if len(rep.Errors) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, g := range rep.Errors {
		newest := "-"
		if !g.Newest.IsZero() {
			newest = g.Newest.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(w, "  %-36s %6d   newest %s\n", g.Code, g.Count, newest)
		if g.SampleProspect != 0 {
			fmt.Fprintf(w, "      e.g. prospect %d: %s\n", g.SampleProspect, g.SampleMessage)
		}
		fmt.Fprintf(w, "      retry once fixed: %s\n", g.Retry)
	}
	fmt.Fprintln(w, "\nWaiting for assignment")
	if o := rep.OldestWaiting; o != nil {
		fmt.Fprintf(w, "  %d waiting; the oldest, prospect %d, since %s (%s)\n", o.Count, o.ProspectID, o.Since.UTC().Format(time.DateTime), o.For)
	} else {
		fmt.Fprintln(w, "  none")
	}
	fmt.Fprintln(w, "\nChange feeds")
	for _, f := range rep.Feeds {
		if !f.Running {
			fmt.Fprintf(w, "  %-20s not running (%s)\n", f.Name, f.LastError)
			continue
		}
		fmt.Fprintf(w, "  %-20s lag %s, last poll %s", f.Name, f.Lag, f.LastPoll.UTC().Format(time.DateTime))
		if f.LastError != "" {
			fmt.Fprintf(w, ", last error: %s", f.LastError)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\nAPI usage today")
	for _, u := range rep.Usage {
		switch {
		case u.Error != "":
			fmt.Fprintf(w, "  %-20s could not read: %s\n", u.API, u.Error)
		case u.Limit == 0:
			fmt.Fprintf(w, "  %-20s no allocation reported\n", u.API)
		default:
			fmt.Fprintf(w, "  %-20s %d of %d used (%.1f %%); %d left with the %.0f %% reserve kept\n", u.API, u.Used, u.Limit, 100*float64(u.Used)/float64(u.Limit), u.Left, u.Reserve*100)
		}
	}
}

package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/config"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/plan"
)

// planReport is `starter plan --json`.
type planReport struct {
	Prospects int              `json:"prospects"`
	Counts    map[string]int   `json:"counts"`
	Calls     map[string]int64 `json:"calls"`
	Estimate  plan.Estimate    `json:"estimate"`
	Took      string           `json:"took"`
	Rows      []plan.Row       `json:"rows,omitempty"`
}

// cmdPlan is the dry run: what a sync of these prospects would do, with the sync's own settings
// and decisions, writing nothing and starting nothing.
func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	all := fs.Bool("all", false, "every prospect in Account Engagement")
	file := fs.String("file", "", "file of prospect ids (one a line, or CSV with an id column)")
	csvPath := fs.String("csv", "", "write one row per prospect to this CSV file")
	asJSON := fs.Bool("json", false, "print the summary (and rows) as JSON")
	showEmail := fs.Bool("show-email", false, "write emails unmasked in the CSV and JSON")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Sprintf("plan: %v\n%s", err, usage)}
	}
	ids, err := namedIDs(fs.Args(), *file)
	if err != nil {
		return err
	}
	if !*all && len(ids) == 0 {
		return usageError{"plan: give prospect ids, --file FILE or --all\n" + usage}
	}
	settings, err := config.SyncSettings(getenv)
	if err != nil {
		return fmt.Errorf("the sync's settings: %w", err)
	}
	services := connect.ServicesFromEnv(getenv)
	counter := &plan.Counter{}
	sf, ae, err := services.ObservedClients("", counter)
	if err != nil {
		return err
	}
	c, err := dialTemporal(ctx, getenv)
	if err != nil {
		return err
	}
	defer c.Close()
	acts := activities.New(sf, ae, nil)
	acts.Settings = settings
	p := plan.Planner{AE: ae, Acts: acts, Temporal: c, Settings: settings, Counter: counter}
	start := time.Now()
	res, err := p.Run(ctx, ids, *all)
	if err != nil {
		return err
	}
	took := time.Since(start)
	if !*showEmail {
		for i := range res.Rows {
			res.Rows[i].Email = mask(res.Rows[i].Email)
		}
	}
	est := plan.EstimateRun(res.Rows, sf.Usage(), ae.Usage(), services.SalesforceReserve, services.EngagementReserve)
	rep := planReport{Prospects: len(res.Rows), Counts: map[string]int{}, Calls: res.Calls, Estimate: est, Took: took.Round(time.Millisecond).String()}
	for _, r := range res.Rows {
		rep.Counts[r.Outcome+" "+r.Rule]++
	}
	if *csvPath != "" {
		if err := writePlanCSV(*csvPath, res.Rows); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d rows to %s\n", len(res.Rows), *csvPath)
	}
	if *asJSON {
		rep.Rows = res.Rows
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printPlan(stdout, rep)
	return nil
}

// mask keeps an email's first letter and domain: enough to recognise, not to harvest.
func mask(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return strings.Repeat("*", len(email))
	}
	return local[:1] + "***@" + domain
}

func writePlanCSV(path string, rows []plan.Row) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"id", "email", "outcome", "rule", "state", "record", "owner", "reason"})
	for _, r := range rows {
		_ = w.Write([]string{strconv.FormatInt(r.ProspectID, 10), r.Email, r.Outcome, r.Rule, string(r.State), r.Record, r.Owner, r.Reason})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func printPlan(w io.Writer, rep planReport) {
	fmt.Fprintf(w, "Plan for %d prospects (nothing was written, no sync started; %s)\n\n", rep.Prospects, rep.Took)
	keys := make([]string, 0, len(rep.Counts))
	for k := range rep.Counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "  %-36s %s\n", "OUTCOME RULE", "PROSPECTS")
	for _, k := range keys {
		fmt.Fprintf(w, "  %-36s %d\n", k, rep.Counts[k])
	}
	fmt.Fprintf(w, "\nThe plan cost %d Salesforce and %d Account Engagement calls.\n", rep.Calls[metrics.APISalesforce], rep.Calls[metrics.APIEngagement])
	for _, a := range []struct {
		name string
		api  plan.API
	}{{"Salesforce", rep.Estimate.Salesforce}, {"Account Engagement", rep.Estimate.Engagement}} {
		fmt.Fprintf(w, "The real run: about %d %s calls", a.api.Calls, a.name)
		switch {
		case a.api.Limit == 0:
			fmt.Fprintln(w, " (the API reported no allocation)")
		case a.api.Days <= 1:
			fmt.Fprintf(w, "; today %d of %d used, %d left with the %.0f %% reserve kept: it fits today\n", a.api.Used, a.api.Limit, a.api.Available, a.api.Reserve*100)
		default:
			fmt.Fprintf(w, "; today %d of %d used, %d left with the %.0f %% reserve kept: it does NOT fit today, about %d days\n", a.api.Used, a.api.Limit, a.api.Available, a.api.Reserve*100, a.api.Days)
		}
	}
}

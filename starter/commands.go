package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/change"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// bulkConcurrency bounds concurrent signal-with-starts: enough to saturate a local server.
const bulkConcurrency = 32

func dialTemporal(ctx context.Context, getenv func(string) string) (client.Client, error) {
	return connect.Dial(ctx, getenv, connect.Quiet)
}

// syncKind is what a sync command asks of each prospect's sync.
type syncKind int

const (
	// kindSync re-reads both sides, even for a prospect unchanged in Account Engagement.
	kindSync syncKind = iota
	// kindAssignRule sends the prospect through the active assignment rule (R5).
	kindAssignRule
	// kindAllowRecreate clears CrmDeleted: the prospect may match or create a record again.
	kindAllowRecreate
)

var syncKindNames = map[syncKind]string{kindSync: "sync", kindAssignRule: "assign-rule", kindAllowRecreate: "allow-recreate"}

func cmdSync(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, kind syncKind) error {
	name := syncKindNames[kind]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	all := fs.Bool("all", false, "every prospect in Account Engagement")
	file := fs.String("file", "", "file of prospect ids (one a line, or CSV with an id column)")
	state := fs.String("state", "", "every sync in this SyncState")
	code := fs.String("code", "", "every sync showing this error code (SyncErrorCode)")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Sprintf("%s: %v\n%s", name, err, usage)}
	}
	ids, err := namedIDs(fs.Args(), *file)
	if err != nil {
		return err
	}
	filter := workflows.Filter{ErrorCode: *code}
	if *state != "" {
		st, err := prospect.ParseState(*state)
		if err != nil {
			return usageError{name + ": " + err.Error()}
		}
		filter.State = st
	}
	byFilter := *state != "" || *code != ""
	if !*all && !byFilter && len(ids) == 0 {
		return usageError{name + ": give prospect ids, --file, --state, --code or --all\n" + usage}
	}

	c, err := dialTemporal(ctx, getenv)
	if err != nil {
		return err
	}
	defer c.Close()

	// What --all read, handed to each sync so it need not read the prospect again.
	var handoffs map[int64]*activities.Handoff
	if *all {
		_, ae, err := connect.ServicesFromEnv(getenv).Clients("")
		if err != nil {
			return err
		}
		if handoffs, err = allProspects(ctx, ae, stderr); err != nil {
			return err
		}
		for id := range handoffs {
			ids = append(ids, id)
		}
	}
	if byFilter {
		err := workflows.List(ctx, c, filter, func(l workflows.Listed) bool {
			if id, err := workflows.ParseProspectID(l.ProspectID); err == nil {
				ids = append(ids, id)
			}
			return true
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "  %d syncs match %s\n", len(ids), filter.Query())
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	signal, arg := workflows.SignalProspectChanged, &workflows.ChangeRequest{Resync: true}
	switch kind {
	case kindAssignRule:
		signal, arg = workflows.SignalUseActiveAssignmentRule, nil
	case kindAllowRecreate:
		arg = &workflows.ChangeRequest{Resync: true, AllowRecreate: true}
	}
	argOf := func(id int64) *workflows.ChangeRequest {
		if h := handoffs[id]; h != nil && arg != nil {
			req := *arg
			req.Handoff = h
			return &req
		}
		return arg
	}
	return bulkSignal(ctx, c, ids, signal, argOf, stdout, stderr)
}

// bulkSignal signal-with-starts every id, showing progress, and ends with a summary.
func bulkSignal(ctx context.Context, c client.Client, ids []int64, signal string, arg func(int64) *workflows.ChangeRequest, stdout, stderr io.Writer) error {
	ch := make(chan int64)
	go func() {
		defer close(ch)
		for _, id := range ids {
			select {
			case ch <- id:
			case <-ctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	lastPrint := time.Time{}
	total := len(ids)
	report := func(p workflows.Progress) {
		if now := time.Now(); now.Sub(lastPrint) >= time.Second || p.Done == total {
			lastPrint = now
			elapsed := now.Sub(start).Seconds()
			rate := float64(p.Done) / max(elapsed, 1e-9)
			eta := time.Duration(float64(total-p.Done)/max(rate, 1e-9)) * time.Second
			fmt.Fprintf(stderr, "  %d/%d done, %d failed, %.0f/s, ETA %s\n", p.Done, total, p.Failed, rate, eta.Round(time.Second))
		}
	}
	var progress func(workflows.Progress)
	if total > 1 {
		progress = report
	}
	failures := workflows.SignalEach(ctx, c, ch, signal, arg, bulkConcurrency, progress)
	elapsed := time.Since(start)
	ok := total - len(failures)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted after %s: %w", elapsed.Round(time.Millisecond), err)
	}
	fmt.Fprintf(stdout, "%d of %d prospect syncs started or signalled in %s (%.0f/s)\n", ok, total,
		elapsed.Round(time.Millisecond), float64(total)/max(elapsed.Seconds(), 1e-9))
	for i, f := range failures {
		if i == 20 {
			fmt.Fprintf(stdout, "  … and %d more failures\n", len(failures)-20)
			break
		}
		fmt.Fprintf(stdout, "  prospect %d: %v\n", f.ProspectID, f.Err)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d of %d failed", len(failures), total)
	}
	return nil
}

// namedIDs are the prospect ids given as arguments and in a file of ids ("" for none).
func namedIDs(args []string, file string) ([]int64, error) {
	var ids []int64
	for _, a := range args {
		id, err := workflows.ParseProspectID(a)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		ids = append(ids, id)
	}
	if file != "" {
		fromFile, err := readIDFile(file)
		if err != nil {
			return nil, err
		}
		ids = append(ids, fromFile...)
	}
	return ids, nil
}

// readIDFile reads prospect ids: one a line, or a CSV whose header has an "id" (or
// "prospect_id", "prospectId") column. Blank lines and lines starting with # are skipped.
func readIDFile(path string) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.TrimLeadingSpace = true
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := 0
	if len(rows) > 0 && len(rows[0]) > 0 {
		if _, err := workflows.ParseProspectID(rows[0][0]); err != nil || len(rows[0]) > 1 {
			// A header row: find the id column.
			col = slices.IndexFunc(rows[0], func(h string) bool {
				h = strings.ToLower(strings.TrimSpace(h))
				return h == "id" || h == "prospect_id" || h == "prospectid" || h == "prospect id"
			})
			if col < 0 {
				if _, err := workflows.ParseProspectID(rows[0][0]); err == nil {
					col = 0 // no header; ids in the first column
				} else {
					return nil, usageError{fmt.Sprintf("%s: no id column in header %q", path, rows[0])}
				}
			} else {
				rows = rows[1:]
			}
		}
	}
	var ids []int64
	for i, row := range rows {
		if len(row) == 0 || (len(row) == 1 && strings.TrimSpace(row[0]) == "") {
			continue
		}
		if col >= len(row) {
			return nil, usageError{fmt.Sprintf("%s: row %d has no column %d", path, i+1, col+1)}
		}
		id, err := workflows.ParseProspectID(row[col])
		if err != nil {
			return nil, usageError{fmt.Sprintf("%s: row %d: %v", path, i+1, err)}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// allProspects pages through every prospect in Account Engagement, 1,000 a call, and makes
// each a hand-off: the prospect as read, its assigned user mapped to Salesforce through one
// more call for all users. A prospect whose user is not found is left to read itself.
func allProspects(ctx context.Context, ae *engagement.Client, stderr io.Writer) (map[int64]*activities.Handoff, error) {
	users, err := ae.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users in Account Engagement: %w", err)
	}
	sfID := make(map[int64]string, len(users))
	for _, u := range users {
		sfID[u.ID] = u.SalesforceID
	}
	out := map[int64]*activities.Handoff{}
	q := engagement.ProspectQuery{Limit: 1000}
	for {
		page, err := ae.QueryProspects(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list prospects in Account Engagement: %w", err)
		}
		at := time.Now().UTC()
		for _, p := range page.Prospects {
			out[p.ID] = nil
			if id, ok := sfID[p.AssignedToID]; ok || p.AssignedToID == 0 {
				snap := activities.Snapshot(p)
				snap.AssignedUserSalesforceID = id
				out[p.ID] = change.NewHandoff(snap, nil, at)
			}
		}
		if page.NextPageToken == "" {
			fmt.Fprintf(stderr, "  %d prospects in Account Engagement\n", len(out))
			return out, nil
		}
		q = engagement.ProspectQuery{PageToken: page.NextPageToken}
	}
}

func cmdStatus(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the sync-state query as JSON")
	all := fs.Bool("all", false, "the whole sync: paused or not, and the syncs per state")
	if err := fs.Parse(reorder(args)); err != nil || fs.NArg() != 1 && !*all {
		return usageError{"status: give one prospect id, or --all\n" + usage}
	}
	if *all {
		c, err := dialTemporal(ctx, getenv)
		if err != nil {
			return err
		}
		defer c.Close()
		return cmdStatusAll(ctx, c, stdout, *asJSON)
	}
	id, err := workflows.ParseProspectID(fs.Arg(0))
	if err != nil {
		return usageError{err.Error()}
	}
	c, err := dialTemporal(ctx, getenv)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := workflows.QueryStatus(ctx, c, id)
	if errors.Is(err, workflows.ErrNoSync) {
		return fmt.Errorf("prospect %d has no sync yet; start one with: go run ./starter sync %d", id, id)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(stdout, st)
	return nil
}

func printStatus(w io.Writer, st workflows.SyncStatus) {
	fmt.Fprintf(w, "Prospect %d: %s\n", st.ProspectID, st.State)
	if st.CRMRecordID != "" {
		fmt.Fprintf(w, "  Salesforce   %s %s, owner %s\n", st.CRMRecordType, st.CRMRecordID, st.OwnerID)
	}
	if st.AssignedUserID != 0 {
		fmt.Fprintf(w, "  Assigned     Account Engagement user %d\n", st.AssignedUserID)
	} else {
		fmt.Fprintln(w, "  Assigned     nobody")
	}
	if st.WaitingFor != "" {
		fmt.Fprintf(w, "  Waiting for  %s\n", st.WaitingFor)
	}
	if st.Paused != "" {
		fmt.Fprintf(w, "  Held         %s\n", st.Paused)
	}
	if st.LastError != nil {
		fmt.Fprintf(w, "  Last error   %s: %s\n", st.LastError.Code, st.LastError.Message)
	}
	if len(st.History) > 0 {
		fmt.Fprintln(w, "  History")
		for _, h := range st.History {
			fmt.Fprintf(w, "    %s  %-20s %s\n", h.Time.Format(time.DateTime), h.State, h.Reason)
		}
	}
}

func cmdList(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	state := fs.String("state", "", "only syncs in this SyncState")
	asJSON := fs.Bool("json", false, "one JSON object a line")
	limit := fs.Int("limit", 1000, "at most this many rows (0: all)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return usageError{"list: " + fmt.Sprint(err) + "\n" + usage}
	}
	if *state != "" {
		if _, err := prospect.ParseState(*state); err != nil {
			return usageError{"list: " + err.Error()}
		}
	}
	c, err := dialTemporal(ctx, getenv)
	if err != nil {
		return err
	}
	defer c.Close()
	n := 0
	enc := json.NewEncoder(stdout)
	if !*asJSON {
		fmt.Fprintf(stdout, "%-12s %-22s %-20s %-20s %s\n", "PROSPECT", "STATE", "CRM RECORD", "ERROR", "RUNNING")
	}
	err = workflows.ListByState(ctx, c, prospect.SyncState(*state), func(l workflows.Listed) bool {
		n++
		if *asJSON {
			_ = enc.Encode(l)
		} else {
			fmt.Fprintf(stdout, "%-12s %-22s %-20s %-20s %v\n", l.ProspectID, l.State, l.CRMRecordID, l.ErrorCode, l.Running)
		}
		return *limit == 0 || n < *limit
	})
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "%d syncs\n", n)
	}
	return nil
}

// reorder puts flags before positional arguments, so "status 1001 --json" works too.
func reorder(args []string) []string {
	var flags, rest []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
		} else {
			rest = append(rest, a)
		}
	}
	return append(flags, rest...)
}

func cmdWatch(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	interval := fs.Duration("interval", workflows.DefaultFeedInterval, "how often to poll Account Engagement")
	crmInterval := fs.Duration("crm-interval", workflows.DefaultCrmFeedInterval, "how often to poll Salesforce (0: no Salesforce feed)")
	since := fs.String("since", "now", `first changes to pick up: "now", "all" or an RFC 3339 time`)
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *interval < time.Second || (*crmInterval != 0 && *crmInterval < time.Second) {
		return usageError{"watch: [--interval 30s] [--crm-interval 30s] [--since now|all|RFC3339]\n" + usage}
	}
	var cursor time.Time
	switch *since {
	case "now":
		cursor = time.Now().UTC()
	case "all":
	default:
		t, err := time.Parse(time.RFC3339, *since)
		if err != nil {
			return usageError{fmt.Sprintf("watch: --since %q: want now, all or an RFC 3339 time", *since)}
		}
		cursor = t
	}
	c, err := dialTemporal(ctx, getenv)
	if err != nil {
		return err
	}
	defer c.Close()
	started, err := workflows.StartChangeFeed(ctx, c, workflows.ChangeFeedInput{Cursor: cursor, Interval: *interval, Overlap: workflows.DefaultFeedOverlap})
	if err != nil {
		return err
	}
	report(stdout, workflows.ChangeFeedWorkflowID, "Account Engagement", *interval, started)
	if *crmInterval == 0 {
		return nil
	}
	started, err = workflows.StartCrmChangeFeed(ctx, c, workflows.CrmChangeFeedInput{Cursor: time.Now().UTC(), Interval: *crmInterval})
	if err != nil {
		return err
	}
	report(stdout, workflows.CrmChangeFeedWorkflowID, "Salesforce", *crmInterval, started)
	return nil
}

// report says whether a feed was started or left running.
func report(w io.Writer, id, service string, interval time.Duration, started bool) {
	if started {
		fmt.Fprintf(w, "change feed %s started: polling %s every %s\n", id, service, interval)
	} else {
		fmt.Fprintf(w, "change feed %s is already running (left as it is)\n", id)
	}
}

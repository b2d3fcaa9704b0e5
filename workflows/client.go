package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/internal/fanout"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// SignalSync starts a prospect's sync, or signals the running one: SignalWithStart never makes
// a second workflow for a prospect. req is the signal's payload (nil: none).
func SignalSync(ctx context.Context, c client.Client, prospectID int64, signal string, req *ChangeRequest) (client.WorkflowRun, error) {
	var arg any // a nil request is no payload at all, as before the payload was typed
	if req != nil {
		arg = req
	}
	if signal == "" {
		signal = SignalProspectChanged
	}
	id := strconv.FormatInt(prospectID, 10)
	opts := client.StartWorkflowOptions{
		ID:        ProspectWorkflowID(prospectID),
		TaskQueue: TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			AttrProspectID.ValueSet(id),
			AttrSyncState.ValueSet(string(prospect.StateEvaluating)),
		),
		StaticSummary: "Prospect " + id + " → Salesforce",
	}
	return c.SignalWithStartWorkflow(ctx, opts.ID, signal, arg, opts, ProspectSyncWorkflow, ProspectSyncInput{ProspectID: prospectID})
}

// ErrNoSync means the prospect has no sync workflow.
var ErrNoSync = errors.New("no sync for this prospect")

// QueryStatus asks a prospect's running (or last) sync for its SyncStatus.
func QueryStatus(ctx context.Context, c client.Client, prospectID int64) (SyncStatus, error) {
	v, err := c.QueryWorkflow(ctx, ProspectWorkflowID(prospectID), "", QuerySyncState)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return SyncStatus{}, fmt.Errorf("prospect %d: %w", prospectID, ErrNoSync)
	}
	if err != nil {
		return SyncStatus{}, fmt.Errorf("query prospect %d: %w", prospectID, err)
	}
	var st SyncStatus
	if err := v.Get(&st); err != nil {
		return SyncStatus{}, fmt.Errorf("decode sync state: %w", err)
	}
	return st, nil
}

// keyword reads a Keyword search attribute ("" when absent).
func keyword(attrs map[string]*commonpb.Payload, k temporal.SearchAttributeKeyKeyword) string {
	var s string
	if p, ok := attrs[k.GetName()]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &s) // a Keyword is a string by definition
	}
	return s
}

// Listed is one workflow in a visibility listing.
type Listed struct {
	WorkflowID  string
	ProspectID  string
	State       string
	CRMRecordID string
	ErrorCode   string
	Running     bool
	// Started is when the workflow (this run) started.
	Started time.Time
}

// StateQuery is the visibility query for ProspectSync workflows in a state (all when empty).
func StateQuery(state prospect.SyncState) string { return Filter{State: state}.Query() }

// Filter selects ProspectSync workflows by state, error code and linked records; empty
// fields select all.
type Filter struct {
	State     prospect.SyncState
	ErrorCode string
	RecordIDs []string
}

// Query is the filter as a visibility query (the same a person pastes into the UI).
func (f Filter) Query() string {
	q := fmt.Sprintf("WorkflowType = '%s'", ProspectSyncWorkflow)
	if f.State != "" {
		q += fmt.Sprintf(" AND %s = '%s'", AttrSyncState.GetName(), f.State)
	}
	if f.ErrorCode != "" {
		q += fmt.Sprintf(" AND %s = '%s'", AttrSyncErrorCode.GetName(), strings.ReplaceAll(f.ErrorCode, "'", ""))
	}
	if len(f.RecordIDs) > 0 {
		quoted := make([]string, len(f.RecordIDs))
		for i, id := range f.RecordIDs {
			quoted[i] = "'" + strings.ReplaceAll(id, "'", "") + "'"
		}
		q += fmt.Sprintf(" AND %s IN (%s)", AttrCRMRecordID.GetName(), strings.Join(quoted, ", "))
	}
	return q
}

// QueryCrmFeed asks the Salesforce change feed for its status.
func QueryCrmFeed(ctx context.Context, c client.Client) (CrmChangeFeedStatus, error) {
	var st CrmChangeFeedStatus
	v, err := c.QueryWorkflow(ctx, CrmChangeFeedWorkflowID, "", QuerySyncState)
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		return st, fmt.Errorf("query the Salesforce change feed: %w", err)
	}
	return st, nil
}

// Backlog counts the running syncs still Evaluating: started or woken, not yet through their
// first decision. In a first load that is the syncs waiting for a workflow task; the change
// feed holds its next page back while it is large.
func Backlog(ctx context.Context, c client.Client) (int, error) {
	// No namespace in the request: the client's own (TEMPORAL_NAMESPACE), not the dev server's.
	res, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: StateQuery(prospect.StateEvaluating) + " AND ExecutionStatus = 'Running'"})
	if err != nil {
		return 0, fmt.Errorf("count the syncs' backlog: %w", err)
	}
	return int(res.GetCount()), nil
}

// CountByState counts the syncs in each state, as the visibility store has them: one count
// query a state, however many syncs there are.
func CountByState(ctx context.Context, c client.Client) (map[prospect.SyncState]int64, error) {
	out := make(map[prospect.SyncState]int64, len(prospect.States))
	for _, st := range prospect.States {
		res, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: StateQuery(st)})
		if err != nil {
			return nil, fmt.Errorf("count the syncs in %s: %w", st, err)
		}
		out[st] = res.GetCount()
	}
	return out, nil
}

// QueryChangeFeed asks the Account Engagement change feed for its status.
func QueryChangeFeed(ctx context.Context, c client.Client) (ChangeFeedStatus, error) {
	var st ChangeFeedStatus
	v, err := c.QueryWorkflow(ctx, ChangeFeedWorkflowID, "", QuerySyncState)
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		return st, fmt.Errorf("query the Account Engagement change feed: %w", err)
	}
	return st, nil
}

// Count counts the ProspectSync workflows a visibility query (a Filter's, maybe narrowed) selects.
func Count(ctx context.Context, c client.Client, query string) (int64, error) {
	res, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
	if err != nil {
		return 0, fmt.Errorf("count workflows: %w", err)
	}
	return res.GetCount(), nil
}

// linkedBatch bounds the record ids of one visibility query.
const linkedBatch = 100

// LinkedProspects finds the prospects whose syncs link any of the Salesforce records, through
// the CrmRecordId search attribute: one visibility query per 100 records.
func LinkedProspects(ctx context.Context, c client.Client, recordIDs []string) ([]int64, error) {
	var out []int64
	for batch := range slices.Chunk(recordIDs, linkedBatch) {
		err := List(ctx, c, Filter{RecordIDs: batch}, func(l Listed) bool {
			if id, err := ParseProspectID(l.ProspectID); err == nil && !slices.Contains(out, id) {
				out = append(out, id)
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ListByState lists ProspectSync workflows in a state (all states when empty), newest first,
// calling fn for each until it returns false.
func ListByState(ctx context.Context, c client.Client, state prospect.SyncState, fn func(Listed) bool) error {
	return List(ctx, c, Filter{State: state}, fn)
}

// List lists the ProspectSync workflows a filter selects, newest first, calling fn for each
// until it returns false.
func List(ctx context.Context, c client.Client, f Filter, fn func(Listed) bool) error {
	return ListQuery(ctx, c, f.Query(), fn)
}

// ListQuery lists the ProspectSync workflows a visibility query selects (a Filter's query,
// narrowed by the caller), newest first, calling fn for each until it returns false.
func ListQuery(ctx context.Context, c client.Client, q string, fn func(Listed) bool) error {
	return listPages(ctx, c, q, 500, fn)
}

// ListFirst lists at most n of the ProspectSync workflows a visibility query selects, in one
// page: for a sample, without reading every one.
func ListFirst(ctx context.Context, c client.Client, q string, n int) ([]Listed, error) {
	var out []Listed
	err := listPages(ctx, c, q, int32(n), func(l Listed) bool {
		out = append(out, l)
		return len(out) < n
	})
	return out, err
}

func listPages(ctx context.Context, c client.Client, q string, pageSize int32, fn func(Listed) bool) error {
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: pageSize})
		if err != nil {
			return fmt.Errorf("list workflows: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			l := Listed{WorkflowID: e.GetExecution().GetWorkflowId(), Running: e.GetCloseTime() == nil, Started: e.GetStartTime().AsTime()}
			attrs := e.GetSearchAttributes().GetIndexedFields()
			l.ProspectID, l.State = keyword(attrs, AttrProspectID), keyword(attrs, AttrSyncState)
			l.CRMRecordID, l.ErrorCode = keyword(attrs, AttrCRMRecordID), keyword(attrs, AttrSyncErrorCode)
			if !fn(l) {
				return nil
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return nil
		}
	}
}

// Progress reports a bulk start's advance.
type Progress struct {
	Done   int
	Failed int
}

// SignalFailure is one prospect whose start or signal failed.
type SignalFailure struct {
	ProspectID int64
	Err        error
}

// SignalMany signal-with-starts many prospects' syncs with bounded concurrency. ids is read
// until closed; progress, when not nil, is called after each prospect (from one goroutine at
// a time). It returns the failures; a cancelled ctx stops it early.
func SignalMany(ctx context.Context, c client.Client, ids <-chan int64, signal string, req *ChangeRequest, concurrency int, progress func(Progress)) []SignalFailure {
	return SignalEach(ctx, c, ids, signal, func(int64) *ChangeRequest { return req }, concurrency, progress)
}

// SignalEach is SignalMany with each prospect's own payload (a hand-off of what was read).
func SignalEach(ctx context.Context, c client.Client, ids <-chan int64, signal string, arg func(int64) *ChangeRequest, concurrency int, progress func(Progress)) []SignalFailure {
	var failures []SignalFailure
	var p Progress
	fanout.Each(ctx, concurrency, fanout.Chan(ctx, ids), func(ctx context.Context, id int64) error {
		_, err := SignalSync(ctx, c, id, signal, arg(id))
		return err
	}, func(id int64, err error) {
		p.Done++
		if err != nil {
			p.Failed++
			failures = append(failures, SignalFailure{ProspectID: id, Err: err})
		}
		if progress != nil {
			progress(p)
		}
	})
	return failures
}

// StartChangeFeed starts the Account Engagement change feed unless it already runs (then it
// is left as it is); it reports whether this call started it.
func StartChangeFeed(ctx context.Context, c client.Client, in ChangeFeedInput) (started bool, _ error) {
	return startOnce(ctx, c, ChangeFeedWorkflowID, ChangeFeedWorkflow, in, "Account Engagement change feed every "+in.Interval.String())
}

// StartCrmChangeFeed starts the Salesforce change feed unless it already runs; it reports
// whether this call started it.
func StartCrmChangeFeed(ctx context.Context, c client.Client, in CrmChangeFeedInput) (started bool, _ error) {
	return startOnce(ctx, c, CrmChangeFeedWorkflowID, CrmChangeFeedWorkflow, in, "Salesforce change feed every "+in.Interval.String())
}

// startOnce starts a singleton workflow unless it already runs. Two concurrent calls still
// make one (the conflict policy).
func startOnce(ctx context.Context, c client.Client, id, workflowType string, in any, summary string) (started bool, _ error) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case err == nil && desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return false, nil
	case err != nil && !errors.As(err, &notFound):
		return false, fmt.Errorf("describe %s: %w", id, err)
	}
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            summary,
	}, workflowType, in)
	if err != nil {
		return false, fmt.Errorf("start %s: %w", id, err)
	}
	return true, nil
}

//go:build !nodev

package app

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// TestWorkerVersioningHandsRunningSyncsToNewBuild deploys the worker the way docs/deploy.md
// does, on the embedded server: a sync started by an unversioned worker (before versioning was
// turned on) resumes on build A once A is current; syncs started on A wait for an assigned
// user; build B starts and is made current, and the waiting syncs then resume on build B
// (A still polling). The build that completed each workflow task shows it, and no workflow
// task fails (a non-determinism error would). It runs in a namespace of its own, not the
// shared worker's default one, which also shows a configured worker assumes no namespace.
func TestWorkerVersioningHandsRunningSyncsToNewBuild(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("versioning-%d", time.Now().UnixNano())
	registerNamespace(t, ns)
	const buildA, buildB = "build-a", "build-b"

	unversioned := startWorkerIn(t, ns, "")
	c := unversioned.Client()
	legacy, err := testAE.CreateProspect(ctx, map[string]any{"email": unique("versioning.legacy@example.com"), "lastName": "Legacy", "company": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := workflows.SignalSync(ctx, c, legacy.ID, workflows.SignalProspectChanged, nil); err != nil {
		t.Fatal(err)
	}
	waitStatusOn(t, c, legacy.ID, inState(prospect.StateWaitingForAssignment))

	startWorkerIn(t, ns, buildA)
	setCurrentVersion(t, c, ns, buildA)
	if _, err := testAE.UpdateProspect(ctx, legacy.ID, map[string]any{"assignedToId": emulator.AEUserBob}); err != nil {
		t.Fatal(err)
	}
	if _, err := workflows.SignalSync(ctx, c, legacy.ID, workflows.SignalProspectChanged, nil); err != nil {
		t.Fatal(err)
	}
	waitStatusOn(t, c, legacy.ID, inState(prospect.StateSynced))
	if got := ranOn(t, c, legacy.ID); got != buildA {
		t.Errorf("the sync started unversioned resumed on build %q, want %q", got, buildA)
	}
	if builds := taskBuilds(t, c, legacy.ID); len(builds) < 2 || builds[0] != "" || builds[len(builds)-1] != buildA {
		t.Errorf("the sync started unversioned: workflow tasks completed by builds %q, want unversioned first and build A last", builds)
	}

	var waiting []int64
	for i := range 3 {
		p, err := testAE.CreateProspect(ctx, map[string]any{"email": unique(fmt.Sprintf("versioning.wait%d@example.com", i)), "lastName": "Wait", "company": "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, p.ID)
	}
	synced, err := testAE.CreateProspect(ctx, map[string]any{"email": unique("versioning.synced@example.com"), "lastName": "Synced", "company": "Acme", "assignedToId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range append(waiting, synced.ID) {
		if _, err := workflows.SignalSync(ctx, c, id, workflows.SignalProspectChanged, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitStatusOn(t, c, synced.ID, inState(prospect.StateSynced))
	for _, id := range waiting {
		waitStatusOn(t, c, id, inState(prospect.StateWaitingForAssignment))
		if got := ranOn(t, c, id); got != buildA {
			t.Fatalf("prospect %d waits on build %q, want %q", id, got, buildA)
		}
	}

	startWorkerIn(t, ns, buildB)
	setCurrentVersion(t, c, ns, buildB)
	promoted := time.Now()
	for _, id := range waiting {
		if _, err := testAE.UpdateProspect(ctx, id, map[string]any{"assignedToId": emulator.AEUserAlice}); err != nil {
			t.Fatal(err)
		}
		if _, err := workflows.SignalSync(ctx, c, id, workflows.SignalProspectChanged, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range waiting {
		st := waitStatusOn(t, c, id, inState(prospect.StateSynced))
		if st.OwnerID != emulator.UserAliceID {
			t.Errorf("prospect %d: owner %s, want Alice's %s", id, st.OwnerID, emulator.UserAliceID)
		}
		if got := ranOn(t, c, id); got != buildB {
			t.Errorf("prospect %d now runs on build %q, want %q", id, got, buildB)
		}
		builds := taskBuilds(t, c, id)
		if len(builds) < 2 || builds[0] != buildA || builds[len(builds)-1] != buildB {
			t.Errorf("prospect %d: workflow tasks completed by builds %v, want build A's first and build B's last", id, builds)
		}
		for i := 1; i < len(builds); i++ {
			if builds[i-1] == buildB && builds[i] != buildB {
				t.Errorf("prospect %d: a task went back to build %q after build B took over: %v", id, builds[i], builds)
			}
		}
	}
	t.Logf("build B took over %d waiting syncs in %s", len(waiting), time.Since(promoted).Round(time.Millisecond))
}

// registerNamespace creates a namespace with the search attributes the workflows use, as the
// compose namespace job (or Temporal Cloud's tooling) does for a real cluster.
func registerNamespace(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	c := app().Client()
	if _, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatalf("register namespace %s: %v", ns, err)
	}
	want := workflows.SearchAttributes()
	eventually(t, 30*time.Second, "search attributes in "+ns, func() error {
		_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: ns, SearchAttributes: want})
		if err != nil {
			return err
		}
		list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err != nil {
			return err
		}
		for name, typ := range want {
			if list.GetCustomAttributes()[name] != typ {
				return fmt.Errorf("%s not yet %s", name, typ)
			}
		}
		return nil
	})
}

// startWorkerIn starts the real worker against the shared embedded server and emulator,
// configured as in production (environment only), in namespace ns: as build buildID of the
// default Worker Deployment, or unversioned when buildID is "".
func startWorkerIn(t *testing.T, ns, buildID string) *App {
	t.Helper()
	emu := app().EmulatorURL
	env := map[string]string{
		"TEMPORAL_ADDRESS":                    app().TemporalAddress,
		"TEMPORAL_NAMESPACE":                  ns,
		"SALESFORCE_LOGIN_URL":                emu,
		"SALESFORCE_CLIENT_ID":                emulator.ClientID,
		"SALESFORCE_CLIENT_SECRET":            emulator.ClientSecret,
		"ACCOUNT_ENGAGEMENT_URL":              emu,
		"ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID": emulator.BusinessUnitID,
		"SYNC_ACTIVITY_TIMEOUT":               "3s",
		// The test signals its syncs itself; feeds would add syncs of other tests' prospects.
		"PROSPECT_SYNC_START_FEEDS": "false",
		// Several workers in one process, beside the shared one: no HTTP listener for these.
		"PROSPECT_SYNC_HTTP_ADDRESS": "off",
	}
	if buildID != "" {
		env[EnvWorkerVersioning], env[EnvBuildID] = "true", buildID
	}
	cfg, err := LoadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	w, err := Start(context.Background(), cfg, testLog)
	if err != nil {
		t.Fatalf("start build %s: %v", buildID, err)
	}
	t.Cleanup(w.Stop)
	return w
}

// setCurrentVersion makes buildID the deployment's current version once its workers have
// polled (the server learns of a version from its first poll), then waits until the task
// queue itself routes to it: SetCurrentVersion returns before that, and a task dispatched
// meanwhile still goes to the previous version. The test server runs one partition per task
// queue (TestMain), so the queue's root partition, which DescribeTaskQueue reads, is all of it.
// The deployment's RoutingConfigUpdateState is no such signal: waited on, it stayed InProgress
// until the test gave up (eight minutes) in two of three runs of the whole suite under -race,
// as in temporalio/temporal#11842, open.
func setCurrentVersion(t *testing.T, c client.Client, ns, buildID string) {
	t.Helper()
	ctx := context.Background()
	eventually(t, 60*time.Second, "build "+buildID+" current", func() error {
		_, err := c.WorkerDeploymentClient().GetHandle(DefaultDeploymentName).SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: buildID})
		return err
	})
	set := time.Now()
	eventually(t, 2*time.Minute, "task queue "+workflows.TaskQueue+" routing to build "+buildID, func() error {
		for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
				Namespace: ns, TaskQueue: &taskqueuepb.TaskQueue{Name: workflows.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}, TaskQueueType: typ,
			})
			if err != nil {
				return err
			}
			if current := resp.GetVersioningInfo().GetCurrentDeploymentVersion().GetBuildId(); current != buildID {
				return fmt.Errorf("%s tasks go to build %q", typ, current)
			}
		}
		return nil
	})
	resp, err := c.WorkflowService().DescribeWorkerDeployment(ctx, &workflowservice.DescribeWorkerDeploymentRequest{Namespace: ns, DeploymentName: DefaultDeploymentName})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("build %s routed in %s; the deployment reports its routing update %s", buildID, time.Since(set).Round(time.Millisecond), resp.GetWorkerDeploymentInfo().GetRoutingConfigUpdateState())
}

// eventually retries f until it succeeds, failing the test at the deadline with f's last error.
func eventually(t *testing.T, within time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, within, err)
		}
		time.Sleep(200 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

// waitStatusOn is waitStatus through another client (another namespace).
func waitStatusOn(t *testing.T, c client.Client, id int64, ok func(workflows.SyncStatus) bool) workflows.SyncStatus {
	t.Helper()
	var last workflows.SyncStatus
	eventually(t, 60*time.Second, fmt.Sprintf("prospect %d", id), func() error {
		st, err := workflows.QueryStatus(context.Background(), c, id)
		if err != nil {
			return err
		}
		last = st
		if !ok(st) {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	return last
}

// ranOn is the build a sync's last workflow task ran on, as the server records it, after
// checking the sync auto-upgrades.
func ranOn(t *testing.T, c client.Client, id int64) string {
	t.Helper()
	desc, err := c.DescribeWorkflowExecution(context.Background(), workflows.ProspectWorkflowID(id), "")
	if err != nil {
		t.Fatal(err)
	}
	v := desc.GetWorkflowExecutionInfo().GetVersioningInfo()
	if v.GetBehavior() != enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE {
		t.Errorf("prospect %d: versioning behaviour %s, want AutoUpgrade", id, v.GetBehavior())
	}
	if d := v.GetDeploymentVersion().GetDeploymentName(); d != DefaultDeploymentName {
		t.Errorf("prospect %d: deployment %q, want %q", id, d, DefaultDeploymentName)
	}
	return v.GetDeploymentVersion().GetBuildId()
}

// taskBuilds lists, in order, the build that completed each workflow task of a sync's current
// run, failing the test on any failed workflow task (a non-determinism error is one).
func taskBuilds(t *testing.T, c client.Client, id int64) []string {
	t.Helper()
	iter := c.GetWorkflowHistory(context.Background(), workflows.ProspectWorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var builds []string
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			builds = append(builds, e.GetWorkflowTaskCompletedEventAttributes().GetDeploymentVersion().GetBuildId())
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			t.Errorf("prospect %d: workflow task failed: %s", id, describeFailure(e))
		}
	}
	return builds
}

func describeFailure(e *historypb.HistoryEvent) string {
	a := e.GetWorkflowTaskFailedEventAttributes()
	return a.GetCause().String() + ": " + a.GetFailure().GetMessage()
}

// recordingRegistry keeps the options each workflow was registered with; the embedded
// (nil) Registry makes any other registration panic, so Register's use of it is all known.
type recordingRegistry struct {
	worker.Registry
	behaviour map[string]workflow.VersioningBehavior
}

func (r *recordingRegistry) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	r.behaviour[o.Name] = o.VersioningBehavior
}
func (r *recordingRegistry) RegisterActivity(any)                                      {}
func (r *recordingRegistry) RegisterActivityWithOptions(any, activity.RegisterOptions) {}

// Every workflow type declares auto-upgrade: a versioned worker panics at registration on a
// workflow without a behaviour, and a pinned sync would hold its build for months.
func TestRegisterDeclaresAutoUpgrade(t *testing.T) {
	r := &recordingRegistry{behaviour: map[string]workflow.VersioningBehavior{}}
	Register(r, &activities.Activities{}, workflows.DefaultSyncSettings())
	for _, name := range []string{workflows.ProspectSyncWorkflow, workflows.ChangeFeedWorkflow, workflows.CrmChangeFeedWorkflow} {
		if got, ok := r.behaviour[name]; !ok || got != workflow.VersioningBehaviorAutoUpgrade {
			t.Errorf("%s registered with behaviour %v (registered: %t), want AutoUpgrade", name, got, ok)
		}
	}
}

func TestBuildIDFromBuildInfo(t *testing.T) {
	rev := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"revision", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: rev("vcs.revision", "0123456789abcdef0123", "vcs.modified", "false")}, "0123456789ab"},
		{"uncommitted changes", debug.BuildInfo{Settings: rev("vcs.revision", "0123456789abcdef0123", "vcs.modified", "true")}, "0123456789ab-dirty"},
		{"module version", debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"nothing known", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, ""},
	} {
		if got := buildIDFrom(&tc.info); got != tc.want {
			t.Errorf("%s: build id %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Versioning without a build id is refused at start, naming the variable to set, rather than
// registering every build under one id.
func TestVersioningNeedsABuildID(t *testing.T) {
	env := map[string]string{EnvWorkerVersioning: "true"}
	if id := DefaultBuildID(); id != "" {
		t.Fatalf("this test binary reports build id %q; the check below needs a binary without one", id)
	}
	if _, err := LoadConfig(nil, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), EnvBuildID) {
		t.Fatalf("err = %v, want a configuration error naming %s", err, EnvBuildID)
	}
	env[EnvBuildID] = "b1"
	cfg, err := LoadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.deploymentOptions(); !o.UseVersioning || o.Version.BuildID != "b1" || o.Version.DeploymentName != DefaultDeploymentName {
		t.Fatalf("deployment options %+v, want build b1 of %s", o, DefaultDeploymentName)
	}
	if (Config{}).deploymentOptions().UseVersioning {
		t.Fatal("an unversioned configuration asks for versioning")
	}
}

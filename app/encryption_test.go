//go:build !nodev

package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	_ "modernc.org/sqlite" // the scan reads the server's database as SQL too

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/codec"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/devserver"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// personal is the personal data of a test prospect: words found nowhere else. pad, when set,
// is appended to the last name in Account Engagement.
type personal struct{ email, first, last, company, pad string }

func newPersonal(tag string) personal {
	s := fmt.Sprintf("%s%d%d", tag, time.Now().UnixNano()%1e9, runSeq.Add(1))
	return personal{email: "Zed." + s + "@Sealed.Example.com", first: "Quillon" + s, last: "Vexmoor" + s, company: "Ostrava Gearworks " + s}
}

func (p personal) needles() []string {
	return []string{p.email, strings.ToLower(p.email), p.first, p.last, p.company}
}

func createPersonal(t *testing.T, p personal) int64 {
	t.Helper()
	got, err := testAE.CreateProspect(context.Background(), map[string]any{"email": p.email, "firstName": p.first, "lastName": p.last + p.pad,
		"company": p.company, "assignedToId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	return got.ID
}

// TestPersonalDataEncryptedAtRest syncs a prospect with a key set (the shared app's), then reads
// every table of the Temporal server's SQLite database, and its raw files with the WAL, for the
// prospect's email and names: none may appear. A second prospect's last name is too long for
// Salesforce, whose error quotes it: that failure message must be sealed too. As a control, the
// same sync run by a worker without a key, through the same server, is found by the same scan.
func TestPersonalDataEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	sealed, plain, refused := newPersonal("s"), newPersonal("p"), newPersonal("e")
	// Over Salesforce's 80 characters; its STRING_TOO_LONG message shows the first 40.
	refused.pad = strings.Repeat("x", 90)
	sealedID, refusedID := createPersonal(t, sealed), createPersonal(t, refused)
	startSync(t, workflows.SignalProspectChanged, sealedID, refusedID)
	waitStatus(t, sealedID, inState(prospect.StateSynced))
	if st := waitStatus(t, refusedID, inState(prospect.StateSyncError)); st.LastError == nil || !strings.Contains(st.LastError.Message, refused.last) {
		t.Fatalf("status %+v: want Salesforce's STRING_TOO_LONG quoting %q", st, refused.last)
	}

	// The control: a worker with no data converter of ours, on a task queue of its own.
	const controlQueue = "encryption-control"
	plainID := createPersonal(t, plain)
	pc, err := client.DialContext(ctx, client.Options{HostPort: app().TemporalAddress, Namespace: workflows.Namespace, Logger: connect.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	w := worker.New(pc, controlQueue, worker.Options{})
	Register(w, activities.New(testSF, testAE, nil), testCfg.Settings)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	wid := workflows.ProspectWorkflowID(plainID)
	defer func() { _ = pc.TerminateWorkflow(ctx, wid, "", "encryption control done") }()
	if _, err := pc.SignalWithStartWorkflow(ctx, wid, workflows.SignalProspectChanged, nil, client.StartWorkflowOptions{
		ID: wid, TaskQueue: controlQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrProspectID.ValueSet(strconv.FormatInt(plainID, 10))),
	}, workflows.ProspectSyncWorkflow, workflows.ProspectSyncInput{ProspectID: plainID}); err != nil {
		t.Fatal(err)
	}
	// The keyed client reads the plain sync too: payloads without a key pass through.
	waitStatus(t, plainID, inState(prospect.StateSynced))

	sealedWID := workflows.ProspectWorkflowID(sealedID)
	found := scanTemporalDB(t, slices.Concat(sealed.needles(), refused.needles(), plain.needles(), []string{sealedWID}))
	for _, n := range slices.Concat(sealed.needles(), refused.needles()) {
		if len(found[n]) > 0 {
			t.Errorf("%q of the encrypted sync is in plain text in %v", n, found[n])
		}
	}
	for _, n := range []string{plain.email, plain.first, plain.last} {
		if !slices.ContainsFunc(found[n], func(where string) bool { return strings.HasPrefix(where, "history_node.") }) {
			t.Errorf("control: %q of the sync without a key is not in the history (found in %v): the scan cannot see payloads", n, found[n])
		}
	}
	// Ids are not encrypted: the encrypted sync is in the files scanned.
	if !slices.Contains(found[sealedWID], "raw "+devserver.DBFileName+"-wal") && !slices.Contains(found[sealedWID], "raw "+devserver.DBFileName) {
		t.Errorf("workflow id %s not in the raw files (found in %v)", sealedWID, found[sealedWID])
	}
	t.Logf("control found in %v", found[plain.email])
}

// scanTemporalDB says where each needle occurs in the embedded server's database: "table.column"
// for a value read through SQL (every table, every column, blobs included, the WAL's
// transactions included), "raw <file>" for the bytes of the database file and its WAL.
func scanTemporalDB(t *testing.T, needles []string) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	path := filepath.Join(testCfg.DataDir, devserver.DBFileName)
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				found[n] = append(found[n], "raw "+filepath.Base(f))
			}
		}
	}

	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables []string
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	_ = rows.Close()
	if !slices.Contains(tables, "history_node") {
		t.Fatalf("tables %v: no history_node, not a Temporal database", tables)
	}
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			for i, v := range vals {
				var b []byte
				switch v := v.(type) {
				case []byte:
					b = v
				case string:
					b = []byte(v)
				default:
					continue
				}
				for _, n := range needles {
					if where := table + "." + cols[i]; bytes.Contains(b, []byte(n)) && !slices.Contains(found[n], where) {
						found[n] = append(found[n], where)
					}
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		_ = rows.Close()
	}
	return found
}

// TestKeyRotationKeepsHistoriesReadable syncs a prospect under the current key, restarts the
// worker with a new primary key prepended (the old one kept), and reads the old history through
// the client: the query (a fresh worker replays it), describe and the history itself. New
// payloads are sealed with the new key. The ring stays rotated for the tests after this one.
func TestKeyRotationKeepsHistoriesReadable(t *testing.T) {
	ctx := context.Background()
	p := newPersonal("r")
	id := createPersonal(t, p)
	wid := workflows.ProspectWorkflowID(id)
	startSync(t, workflows.SignalProspectChanged, id)
	before := waitStatus(t, id, inState(prospect.StateSynced))

	testMu.Lock()
	oldCodec := testCfg.Encryption.Codec
	next := codec.Key{ID: fmt.Sprintf("e2e-%d", len(testKeys)+1), Secret: make([]byte, codec.KeySize)}
	if _, err := rand.Read(next.Secret); err != nil {
		testMu.Unlock()
		t.Fatal(err)
	}
	ring := append([]codec.Key{next}, testKeys...)
	rotated, err := codec.New(ring)
	if err == nil {
		testKeys, testCfg.Encryption.Codec = ring, rotated
	}
	testMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	restartApp(t)

	// A fresh worker has nothing cached: the query replays the history sealed with the old key.
	after := waitStatus(t, id, inState(prospect.StateSynced))
	if after.CRMRecordID != before.CRMRecordID || after.CRMRecordID == "" {
		t.Errorf("after rotation the sync links %q, before %q", after.CRMRecordID, before.CRMRecordID)
	}
	if _, err := app().Client().DescribeWorkflowExecution(ctx, wid, ""); err != nil {
		t.Errorf("describe after rotation: %v", err)
	}

	// A re-sync after the restart writes activity results sealed with the new key.
	startSync(t, workflows.SignalProspectChanged, id)
	dc := codec.DataConverter(rotated)
	var events []*historypb.HistoryEvent
	deadline := time.Now().Add(60 * time.Second)
	for {
		events = history(t, wid)
		if slices.Contains(resultKeyIDs(events), next.ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no activity result sealed with %s within 60s; key ids of results %v", next.ID, resultKeyIDs(events))
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for an outcome
	}
	ids := resultKeyIDs(events)
	if ids[0] != oldCodec.Primary() {
		t.Errorf("first activity result sealed with %q, want the old key %q", ids[0], oldCodec.Primary())
	}
	// Every result, old key or new, decodes to the prospect's data through the rotated ring.
	first := firstFetch(events)
	if first == 0 {
		t.Fatal("no FetchProspect completed in the history")
	}
	for _, e := range events {
		res := e.GetActivityTaskCompletedEventAttributes().GetResult()
		if res == nil || len(res.Payloads) == 0 {
			continue
		}
		var v any
		if err := dc.FromPayload(res.Payloads[0], &v); err != nil {
			t.Fatalf("event %d: %v", e.GetEventId(), err)
		}
		if e.GetEventId() == first {
			if b, _ := json.Marshal(v); !strings.Contains(string(b), p.email) {
				t.Errorf("the first FetchProspect result %s does not hold the prospect's email", b)
			}
		}
	}
	// The old ring alone can no longer read the new payloads, and says which key it lacks.
	var lastResult *commonpb.Payload
	for _, e := range events {
		if r := e.GetActivityTaskCompletedEventAttributes().GetResult(); len(r.GetPayloads()) > 0 && string(r.Payloads[0].Metadata[codec.MetadataKeyID]) == next.ID {
			lastResult = r.Payloads[0]
		}
	}
	if _, err := oldCodec.Decode([]*commonpb.Payload{lastResult}); err == nil || !strings.Contains(err.Error(), `"`+next.ID+`"`) {
		t.Errorf("the old ring on a new payload: %v, want an error naming %s", err, next.ID)
	}
	if _, err := decodeEvents(rotated, events); err != nil {
		t.Errorf("decode the whole history with the rotated ring: %v", err)
	}
}

// history fetches a workflow's events through the client, payloads as stored.
func history(t *testing.T, wid string) []*historypb.HistoryEvent {
	t.Helper()
	iter := app().Client().GetWorkflowHistory(context.Background(), wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// resultKeyIDs are the key ids of the activity results in events, in order.
func resultKeyIDs(events []*historypb.HistoryEvent) []string {
	var ids []string
	for _, e := range events {
		if r := e.GetActivityTaskCompletedEventAttributes().GetResult(); len(r.GetPayloads()) > 0 {
			ids = append(ids, string(r.Payloads[0].Metadata[codec.MetadataKeyID]))
		}
	}
	return ids
}

// firstFetch is the event id of the first FetchProspect activity's completion.
func firstFetch(events []*historypb.HistoryEvent) int64 {
	scheduled := map[int64]string{}
	for _, e := range events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[e.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] == "FetchProspect" {
			return e.GetEventId()
		}
	}
	return 0
}

// decodeEvents opens every payload of events in place, failures' encoded attributes included.
func decodeEvents(c *codec.Codec, events []*historypb.HistoryEvent) ([]*historypb.HistoryEvent, error) {
	err := proxy.VisitPayloads(context.Background(), &historypb.History{Events: events}, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return c.Decode(p)
		},
	})
	return events, err
}

// decodeHistory is events with the shared app's codec opened, as replay fixtures keep them.
func decodeHistory(t *testing.T, events []*historypb.HistoryEvent) []*historypb.HistoryEvent {
	t.Helper()
	testMu.Lock()
	c := testCfg.Encryption.Codec
	testMu.Unlock()
	events, err := decodeEvents(c, events)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if r := e.GetActivityTaskCompletedEventAttributes().GetResult(); len(r.GetPayloads()) > 0 {
			if enc := string(r.Payloads[0].Metadata[converter.MetadataEncoding]); enc == codec.Encoding {
				t.Fatalf("event %d still encrypted after decoding", e.GetEventId())
			}
		}
	}
	return events
}

// appConverter is the shared app's data converter: the summary the UI shows is sealed too.
func appConverter() converter.DataConverter {
	testMu.Lock()
	defer testMu.Unlock()
	var opts client.Options
	testCfg.Encryption.Apply(&opts)
	if opts.DataConverter == nil {
		return converter.GetDefaultDataConverter()
	}
	return opts.DataConverter
}

// TestEmbeddedUIUsesCodecServer: with a key set, the embedded UI is told to decode payloads
// through the worker's codec server.
func TestEmbeddedUIUsesCodecServer(t *testing.T) {
	url := app().UIURL
	if url == "" {
		t.Fatal("the shared app runs no UI")
	}
	resp, err := http.Get(url + "/api/v1/settings")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var settings struct {
		Codec struct {
			Endpoint        string
			PassAccessToken bool
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&settings); err != nil {
		t.Fatalf("settings (status %d): %v", resp.StatusCode, err)
	}
	if settings.Codec.Endpoint != connect.DefaultCodecEndpoint {
		t.Errorf("UI codec endpoint %q, want %q", settings.Codec.Endpoint, connect.DefaultCodecEndpoint)
	}
}

// The codec server has a listener of its own: what /codec/encode seals, /codec/decode opens,
// and the sealed form names the key, not the plain encoding. The metrics listener serves no
// codec, and a caller that is not an allowed UI (no Origin) and has no token is refused.
func TestListenerServesCodec(t *testing.T) {
	base := "http://" + app().CodecAddress + codec.Path
	plain := `{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"eyJlbWFpbCI6ImFubkBleGFtcGxlLmNvbSJ9"}]}`
	send := func(url, origin, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := send("http://"+app().HTTPAddress+codec.Path+"/decode", strings.TrimRight(app().UIURL, "/"), plain); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the metrics listener answered /codec/decode with %d, want 404", resp.StatusCode)
	}
	if resp := send(base+"/decode", "", plain); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a caller without Origin or token: %d, want 403", resp.StatusCode)
	}
	post := func(path, body string) string {
		t.Helper()
		resp := send(base+path, strings.TrimRight(app().UIURL, "/"), body)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s %v", path, resp.StatusCode, b, err)
		}
		return string(b)
	}
	sealed := post("/encode", plain)
	if strings.Contains(sealed, "eyJlbWFpbCI6") || !strings.Contains(sealed, "YmluYXJ5L2VuY3J5cHRlZA") { // base64 of binary/encrypted
		t.Fatalf("encode answered %s: want the payload sealed", sealed)
	}
	if opened := post("/decode", sealed); !strings.Contains(opened, "eyJlbWFpbCI6ImFubkBleGFtcGxlLmNvbSJ9") {
		t.Fatalf("decode answered %s: want the original payload", opened)
	}
}

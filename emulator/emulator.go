package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Development credentials and identifiers (see docs/architecture.md, "Emulator").
const (
	// ClientID is the OAuth client id the token endpoint accepts.
	ClientID = "emulator"
	// ClientSecret is the OAuth client secret the token endpoint accepts.
	ClientSecret = "emulator"
	// BusinessUnitID is the only Account Engagement business unit the emulator serves.
	BusinessUnitID = "0Uv000000000001AAA"
)

const (
	defaultTokenTTL   = 2 * time.Hour
	defaultDailyLimit = 100000
	// orgID is the fake Salesforce organisation id used in token identity URLs.
	orgID = "00D000000000001AAA"
	// maxBodyBytes bounds request bodies so a broken client cannot exhaust memory.
	maxBodyBytes = 10 << 20
)

// Options configures an Emulator; the zero value is a usable in-memory emulator.
type Options struct {
	// DSN is the SQLite file path; "" selects a private in-memory database.
	DSN string
	// TokenTTL is how long access tokens stay valid (default 2h); older tokens get 401.
	TokenTTL time.Duration
	// DailyAPILimit is the Salesforce calls allowed per day (default 100000).
	DailyAPILimit int
	// AEDailyLimit is the Account Engagement calls allowed per day (default 100000).
	AEDailyLimit int
	// Now is the clock (default time.Now); tests inject a controllable one.
	Now func() time.Time
	// Seed loads the sample data set on New when the database holds no records.
	Seed bool
}

// Emulator is a local Salesforce REST + Account Engagement v5 API; it is an http.Handler.
type Emulator struct {
	opts Options
	db   *sql.DB
	// writeMu serialises write transactions: SQLite has one writer anyway, and doing it
	// here turns SQLITE_BUSY into orderly waiting.
	writeMu sync.Mutex

	objects        map[string]*objectDef // by lower-case sobject name
	lead, contact  *objectDef
	user, account  *objectDef
	prospectFields []aeField
	aeUserFields   []aeField

	mu       sync.Mutex // guards the in-memory state below
	tokens   map[string]tokenInfo
	faults   Faults
	counters Counters
	sfUsed   int
	aeUsed   int
	sfLimit  int
	aeLimit  int
	usageDay string
	cursors  map[string]*queryCursor
	inflight map[string]int
}

type tokenInfo struct {
	userID string
	issued time.Time
}

// New opens (and migrates) the database and returns a ready emulator.
func New(opts Options) (*Emulator, error) {
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = defaultTokenTTL
	}
	if opts.DailyAPILimit <= 0 {
		opts.DailyAPILimit = defaultDailyLimit
	}
	if opts.AEDailyLimit <= 0 {
		opts.AEDailyLimit = defaultDailyLimit
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db, err := openDB(opts.DSN)
	if err != nil {
		return nil, err
	}
	e := &Emulator{
		opts:     opts,
		db:       db,
		tokens:   map[string]tokenInfo{},
		cursors:  map[string]*queryCursor{},
		inflight: map[string]int{},
		sfLimit:  opts.DailyAPILimit,
		aeLimit:  opts.AEDailyLimit,
		counters: newCounters(),
	}
	e.defineSchema()
	ctx := context.Background()
	if err := e.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	if opts.Seed {
		empty, err := e.isEmpty(ctx)
		if err == nil && empty {
			err = e.Seed(ctx)
		}
		if err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return e, nil
}

func openDB(path string) (*sql.DB, error) {
	if path == "" {
		// A unique shared-cache name keeps concurrent emulators (parallel tests) apart;
		// one connection keeps the database alive and serialises access to it.
		db, err := sql.Open("sqlite", "file:emulator-"+randomHex(8)+"?mode=memory&cache=shared")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		return db, nil
	}
	dsn := path
	if !strings.HasPrefix(dsn, "file:") {
		dsn = "file:" + path
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	// WAL lets readers proceed while a write commits; busy_timeout covers checkpoints.
	dsn += sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	return db, nil
}

// Close releases the database; the handler must not be used afterwards.
func (e *Emulator) Close() error {
	return e.db.Close()
}

// ServeHTTP routes to the token endpoint, the Salesforce and AE APIs and the controls.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/emulator" || strings.HasPrefix(p, "/emulator/"):
		e.serveControl(w, r)
	case p == "/services/oauth2/token":
		e.serveToken(w, r)
	case strings.HasPrefix(p, "/services/data/"):
		e.serveSalesforce(w, r)
	case strings.HasPrefix(p, "/api/v5/"):
		e.serveEngagement(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Reset wipes all data, counters, faults, rules and query cursors; issued tokens stay
// valid so connected clients keep working. The integration user always exists.
func (e *Emulator) Reset(ctx context.Context) error {
	err := e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		return true, e.wipe(ctx, tx)
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = Faults{}
	e.counters = newCounters()
	e.sfUsed, e.aeUsed = 0, 0
	e.sfLimit, e.aeLimit = e.opts.DailyAPILimit, e.opts.AEDailyLimit
	e.cursors = map[string]*queryCursor{}
	return nil
}

// Seed loads the sample data set (see seed.go); running it again restores those records.
func (e *Emulator) Seed(ctx context.Context) error {
	return e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		return true, e.seed(ctx, tx)
	})
}

// SetFaults replaces the fault configuration (the zero value turns faults off).
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f
}

// Counters returns a copy of the request counters.
func (e *Emulator) Counters() Counters {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counters.clone()
}

// ResetCounters zeroes the request counters and the daily usage of both APIs.
func (e *Emulator) ResetCounters() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counters = newCounters()
	e.sfUsed, e.aeUsed = 0, 0
}

// SetAssignmentRule makes r the active lead assignment rule (persisted with the data).
func (e *Emulator) SetAssignmentRule(r AssignmentRule) {
	// The only failure is a closed database, which every later call reports anyway.
	_ = e.setAssignmentRule(context.Background(), normalizeRule(r))
}

// SetDuplicateRule configures the Lead duplicate rule (persisted with the data).
func (e *Emulator) SetDuplicateRule(d DuplicateRule) {
	_ = e.setDuplicateRule(context.Background(), d)
}

// ConvertLead converts a Lead like a Salesforce user would: it creates an Account and a
// Contact, marks the Lead converted and returns the new Contact id.
func (e *Emulator) ConvertLead(ctx context.Context, leadID string) (contactID string, err error) {
	contactID, _, err = e.convertLead(ctx, leadID)
	return contactID, err
}

// AssignmentRule is the active lead assignment rule.
type AssignmentRule struct {
	// Mode is "none", "round-robin" or "queue".
	Mode string `json:"mode"`
	// UserIDs are the users a round-robin rule cycles through.
	UserIDs []string `json:"userIds,omitempty"`
	// QueueID is the queue a queue rule assigns to.
	QueueID string `json:"queueId,omitempty"`
}

// DuplicateRule configures the duplicate rules of the org.
type DuplicateRule struct {
	// LeadEmail blocks a Lead whose Email equals another open Lead's (DUPLICATES_DETECTED).
	LeadEmail bool `json:"leadEmail"`
}

// Assignment rule modes.
const (
	modeNone       = "none"
	modeRoundRobin = "round-robin"
	modeQueue      = "queue"
)

// normalizeRule turns an unusable rule into "none" so the Go setter cannot store garbage.
func normalizeRule(r AssignmentRule) AssignmentRule {
	switch r.Mode {
	case modeRoundRobin:
		ids := make([]string, 0, len(r.UserIDs))
		for _, id := range r.UserIDs {
			ids = append(ids, to18(strings.TrimSpace(id)))
		}
		if len(ids) == 0 {
			return AssignmentRule{Mode: modeNone}
		}
		return AssignmentRule{Mode: modeRoundRobin, UserIDs: ids}
	case modeQueue:
		if r.QueueID == "" {
			return AssignmentRule{Mode: modeNone}
		}
		return AssignmentRule{Mode: modeQueue, QueueID: to18(strings.TrimSpace(r.QueueID))}
	default:
		return AssignmentRule{Mode: modeNone}
	}
}

// controlError is an error of a control operation with the HTTP status it maps to.
type controlError struct {
	status int
	msg    string
}

func (c *controlError) Error() string { return c.msg }

// statusOf maps an error from a control operation to an HTTP status.
func statusOf(err error) int {
	var ce *controlError
	if errors.As(err, &ce) {
		return ce.status
	}
	return http.StatusInternalServerError
}

func (e *Emulator) now() time.Time { return e.opts.Now() }

// result is an API response before it is written, so that the "drop after commit"
// fault can discard it and composite requests can embed it.
type result struct {
	status int
	body   any               // JSON-encodable; nil means no body
	header map[string]string // extra response headers
}

func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func writeResult(w http.ResponseWriter, res result) {
	for k, v := range res.header {
		w.Header().Set(k, v)
	}
	if res.body == nil || res.status == http.StatusNoContent {
		w.WriteHeader(res.status)
		return
	}
	b, err := marshalJSON(res.body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(res.status)
	_, _ = w.Write(b)
}

// abortConnection closes the client connection without a response, like a network
// failure. Hijacking is the faithful way for HTTP/1; ErrAbortHandler covers HTTP/2.
func abortConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// wait sleeps for d unless the request goes away first; it reports whether to go on.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// object is a JSON object that keeps its key order (Salesforce and AE list fields in the
// order they were asked for).
type object []kv

type kv struct {
	k string
	v any
}

// MarshalJSON writes the pairs in order.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalJSON(p.k)
		if err != nil {
			return nil, err
		}
		v, err := marshalJSON(p.v)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// checkUsageDay starts a new daily allowance when the (UTC) day changes; the caller holds mu.
func (e *Emulator) checkUsageDay() {
	day := e.now().UTC().Format("2006-01-02")
	if day != e.usageDay {
		e.usageDay = day
		e.sfUsed, e.aeUsed = 0, 0
	}
}

func errorf(status int, format string, args ...any) error {
	return &controlError{status: status, msg: fmt.Sprintf(format, args...)}
}

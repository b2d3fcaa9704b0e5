package emulator

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Development credentials and identifiers (see emulator/doc.go).
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
	// SetTokenTTL changes it for the tokens issued afterwards.
	TokenTTL time.Duration
	// DailyAPILimit is the Salesforce calls allowed per day (default 100000).
	DailyAPILimit int
	// AEDailyLimit is the Account Engagement calls allowed per day (default 100000).
	AEDailyLimit int
	// Now is the clock (default time.Now); tests inject a controllable one.
	Now func() time.Time
	// Seed loads the sample data set on New when the database holds no records.
	Seed bool
	// APIVersions are the Salesforce REST API versions the org offers ("66.0"); a path
	// with another version answers 404 NOT_FOUND. Empty means DefaultAPIVersions.
	APIVersions []string
	// FaultSeed seeds the dice of the injected faults (0: a random seed), so that a run
	// making the same requests in the same order meets the same faults; Reset restarts
	// the dice from it. Faults.Seed reseeds them at run time.
	FaultSeed uint64
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
	sf, ae         *dialect // how each API words the shared pipeline's answers
	versions       []apiVersion

	// leadHistory and contactHistory are LeadHistory and ContactHistory (sf_history.go).
	leadHistory, contactHistory *objectDef

	mu       sync.Mutex // guards the in-memory state below
	tokens   map[string]tokenInfo
	tokenTTL time.Duration // for the tokens issued from now on
	faults   Faults
	dice     *rand.Rand // the faults' randomness
	counters Counters
	sfUsed   int
	aeUsed   int
	// aeInFlight counts the Account Engagement requests being served (Counters' peak).
	aeInFlight int
	sfLimit    int
	aeLimit    int
	usageDay   string
	cursors    map[string]*queryCursor
	inflight   map[string]int
}

type tokenInfo struct {
	userID  string
	expires time.Time // fixed at issue: a later SetTokenTTL leaves it
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
	versions, err := parseAPIVersions(opts.APIVersions)
	if err != nil {
		return nil, err
	}
	db, err := openDB(opts.DSN)
	if err != nil {
		return nil, err
	}
	e := &Emulator{
		opts:     opts,
		db:       db,
		tokens:   map[string]tokenInfo{},
		tokenTTL: opts.TokenTTL,
		dice:     newFaultDice(opts.FaultSeed),
		cursors:  map[string]*queryCursor{},
		inflight: map[string]int{},
		sfLimit:  opts.DailyAPILimit,
		aeLimit:  opts.AEDailyLimit,
		counters: newCounters(),
		versions: versions,
	}
	e.defineSchema()
	e.sf, e.ae = e.sfDialect(), e.aeDialect()
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
	case p == "/services/data" || p == "/services/data/":
		e.serveVersions(w, r)
	case strings.HasPrefix(p, "/services/data/"):
		e.serveSalesforce(w, r)
	case strings.HasPrefix(p, "/api/v5/"):
		e.serveEngagement(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Reset wipes all data, counters, faults, rules and query cursors, and restores the limits,
// the token lifetime and the fault dice of the Options; issued tokens stay valid so
// connected clients keep working. The integration user always exists.
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
	e.dice = newFaultDice(e.opts.FaultSeed)
	e.tokenTTL = e.opts.TokenTTL
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

// SetFaults replaces the fault configuration, rules included (the zero value turns
// faults off); a non-zero f.Seed restarts the fault dice from it.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f.clone()
	if f.Seed != 0 {
		e.dice = newFaultDice(f.Seed)
	}
}

// Faults returns the fault configuration, with the Next* counts still to come.
func (e *Emulator) Faults() Faults {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.faults.clone()
}

// SetTokenTTL sets the lifetime of the access tokens issued from now on; a token keeps
// the expiry it was issued with. A d of 0 or less restores Options.TokenTTL.
func (e *Emulator) SetTokenTTL(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if d <= 0 {
		d = e.opts.TokenTTL
	}
	e.tokenTTL = d
}

// TokenTTL returns the lifetime of the access tokens issued from now on.
func (e *Emulator) TokenTTL() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tokenTTL
}

// Limits are the daily allowances of both APIs and what today has used of them.
type Limits struct {
	// DailyAPILimit is the Salesforce calls allowed per day.
	DailyAPILimit int `json:"dailyApiLimit"`
	// AEDailyLimit is the Account Engagement calls allowed per day.
	AEDailyLimit int `json:"aeDailyLimit"`
	// APIUsed is the Salesforce calls made today.
	APIUsed int `json:"apiUsed"`
	// AEUsed is the Account Engagement calls made today.
	AEUsed int `json:"aeUsed"`
}

// LimitsChange changes the limits it sets and leaves the others (nil): lower an allowance
// below today's usage and the next calls are refused; raise it, or set the usage back to
// 0 (a new day), and they pass again.
type LimitsChange struct {
	DailyAPILimit *int `json:"dailyApiLimit,omitempty"`
	AEDailyLimit  *int `json:"aeDailyLimit,omitempty"`
	APIUsed       *int `json:"apiUsed,omitempty"`
	AEUsed        *int `json:"aeUsed,omitempty"`
}

// Limits returns the daily allowances and today's usage.
func (e *Emulator) Limits() Limits {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkUsageDay()
	return Limits{DailyAPILimit: e.sfLimit, AEDailyLimit: e.aeLimit, APIUsed: e.sfUsed, AEUsed: e.aeUsed}
}

// SetLimits applies c (negative numbers count as 0); the counters are left as they are.
func (e *Emulator) SetLimits(c LimitsChange) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkUsageDay()
	for _, s := range []struct{ from, to *int }{
		{c.DailyAPILimit, &e.sfLimit}, {c.AEDailyLimit, &e.aeLimit}, {c.APIUsed, &e.sfUsed}, {c.AEUsed, &e.aeUsed},
	} {
		if s.from != nil {
			*s.to = max(*s.from, 0)
		}
	}
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

// DeleteRecord deletes a Lead or Contact like a Salesforce user would (to the recycle bin).
func (e *Emulator) DeleteRecord(ctx context.Context, id string) error { return e.deleteRecord(ctx, id) }

// Merge merges one or two Leads or Contacts into a master record like a Salesforce user
// would (see MergeRequest).
func (e *Emulator) Merge(ctx context.Context, m MergeRequest) error { return e.merge(ctx, m) }

// UndeleteRecord restores a deleted (or merged-away) Lead or Contact from the recycle bin
// like a Salesforce user would.
func (e *Emulator) UndeleteRecord(ctx context.Context, id string) error {
	return e.undeleteRecord(ctx, id)
}

// EngagementSettings are the Account Engagement business-unit settings the emulator models.
type EngagementSettings struct {
	// AllowMultipleProspectsPerEmail is the business unit's "Allow multiple prospects with
	// the same email address" (AMPSEA). Off, the default, is the business unit the product
	// targets: no two live prospects share an email (compared trimmed and case-folded), a
	// create of a taken email is refused with code 9, an email change to one with code 54,
	// and a create of an email only a prospect in the recycle bin has restores that one.
	AllowMultipleProspectsPerEmail bool `json:"allowMultipleProspectsPerEmail"`
}

// SetEngagementSettings configures the business unit (persisted with the data; Reset
// restores the defaults).
func (e *Emulator) SetEngagementSettings(s EngagementSettings) {
	_ = e.setEngagementSettings(context.Background(), s)
}

func (e *Emulator) now() time.Time { return e.opts.Now() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}

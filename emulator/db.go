package emulator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// kind is the type of a Salesforce field.
type kind int

const (
	kString   kind = iota // TEXT, compared case-insensitively
	kID                   // an 18-character record id stored as TEXT
	kBool                 // INTEGER 0/1, never null
	kDateTime             // INTEGER unix milliseconds
)

// fieldDef describes one Salesforce field.
type fieldDef struct {
	Name     string
	Kind     kind
	MaxLen   int      // in characters; 0 = unchecked
	Writable bool     // createable and updateable through the API
	Required bool     // REQUIRED_FIELD_MISSING when empty
	ExtID    bool     // usable as upsert key
	Email    bool     // validated as an email address
	Refs     []string // key prefixes an id field may point to
}

// objectDef describes one sobject and its table (named like the sobject).
type objectDef struct {
	Name     string
	Prefix   string
	Fields   []*fieldDef
	ReadOnly bool // no create/update/delete through the API
	byLower  map[string]*fieldDef
}

func (o *objectDef) field(name string) *fieldDef { return o.byLower[strings.ToLower(name)] }

func (o *objectDef) has(name string) bool { return o.field(name) != nil }

func newObject(name, prefix string, readOnly bool, fields ...*fieldDef) *objectDef {
	o := &objectDef{Name: name, Prefix: prefix, Fields: fields, ReadOnly: readOnly, byLower: map[string]*fieldDef{}}
	for _, f := range fields {
		o.byLower[strings.ToLower(f.Name)] = f
	}
	return o
}

// record is one sobject row keyed by canonical field name. Values are string, bool,
// time.Time or nil.
type record map[string]any

func (r record) str(name string) string {
	s, _ := r[name].(string)
	return s
}

func (r record) boolean(name string) bool {
	b, _ := r[name].(bool)
	return b
}

// defineSchema builds the object descriptions (fields and limits as docs/salesforce.md and emulator/doc.go describe them).
func (e *Emulator) defineSchema() {
	id := func() *fieldDef { return &fieldDef{Name: "Id", Kind: kID} }
	str := func(name string, max int) *fieldDef {
		return &fieldDef{Name: name, Kind: kString, MaxLen: max, Writable: true}
	}
	req := func(f *fieldDef) *fieldDef { f.Required = true; return f }
	email := &fieldDef{Name: "Email", Kind: kString, MaxLen: 80, Writable: true, Email: true}
	dates := func() []*fieldDef {
		return []*fieldDef{
			{Name: "CreatedDate", Kind: kDateTime},
			{Name: "LastModifiedDate", Kind: kDateTime},
			// SystemModstamp moves on every write (and on delete, which leaves it as the
			// deletion time, since a deleted record takes no more writes); the change feeds
			// and SOQL polling read it.
			{Name: fieldModstamp, Kind: kDateTime},
			{Name: "IsDeleted", Kind: kBool},
			// Who created and last changed the record: the user of the token that wrote it,
			// so an integration can tell its own writes from other people's.
			{Name: fieldCreatedBy, Kind: kID, Refs: []string{"005"}},
			{Name: fieldModifiedBy, Kind: kID, Refs: []string{"005"}},
		}
	}
	extID := func() *fieldDef {
		return &fieldDef{Name: "Prospect_Id__c", Kind: kString, MaxLen: 255, Writable: true, ExtID: true}
	}
	// MasterRecordId is the record that was kept when this one was deleted by a merge;
	// null for a live record and for one deleted any other way (Object Reference, Lead and
	// Contact). Only merge writes it, only undelete clears it.
	masterRecord := func() *fieldDef { return &fieldDef{Name: fieldMasterRecord, Kind: kID} }
	e.lead = newObject("Lead", "00Q", false, append([]*fieldDef{
		id(),
		email,
		str("FirstName", 40),
		req(str("LastName", 80)),
		req(str("Company", 255)),
		str("Title", 128),
		str("Phone", 40),
		{Name: "OwnerId", Kind: kID, Writable: true, Refs: []string{"005", "00G"}},
		str("Status", 40),
		{Name: "IsConverted", Kind: kBool},
		{Name: "ConvertedContactId", Kind: kID},
		{Name: "ConvertedAccountId", Kind: kID},
		extID(),
		masterRecord(),
	}, dates()...)...)
	contactEmail := *email
	e.contact = newObject("Contact", "003", false, append([]*fieldDef{
		id(),
		&contactEmail,
		str("FirstName", 40),
		req(str("LastName", 80)),
		str("Title", 128),
		str("Phone", 40),
		{Name: "OwnerId", Kind: kID, Writable: true, Refs: []string{"005"}},
		{Name: "AccountId", Kind: kID, Writable: true, Refs: []string{"001"}},
		extID(),
		masterRecord(),
	}, dates()...)...)
	e.account = newObject("Account", "001", false, append([]*fieldDef{
		id(),
		req(str("Name", 255)),
	}, dates()...)...)
	e.user = newObject("User", "005", true,
		id(),
		&fieldDef{Name: "Username", Kind: kString},
		&fieldDef{Name: "Email", Kind: kString},
		&fieldDef{Name: "Name", Kind: kString},
		&fieldDef{Name: "IsActive", Kind: kBool},
	)
	e.leadHistory, e.contactHistory = historyObject(e.lead), historyObject(e.contact)
	e.objects = map[string]*objectDef{}
	for _, o := range e.tables() {
		e.objects[strings.ToLower(o.Name)] = o
	}
	e.prospectFields = prospectFieldDefs()
	e.aeUserFields = aeUserFieldDefs()
}

// tables are the sobjects the database keeps, each in a table of its name.
func (e *Emulator) tables() []*objectDef {
	return []*objectDef{e.lead, e.contact, e.account, e.user, e.leadHistory, e.contactHistory}
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// foldExpr is the SQL image of a text column under case folding, for indexes and
// prefilters. SQLite's lower() folds ASCII only, while strings.EqualFold (how the emulator
// compares strings) also equates KELVIN SIGN with k and LONG S with s, the only non-ASCII
// letters whose fold orbits reach ASCII; mapping both first makes
// EqualFold(v, lit) imply foldExpr(v) = lower(lit) for every ASCII lit. Indexes use this
// exact text, so queries must too for SQLite to match them.
func foldExpr(col string) string {
	return "lower(replace(replace(" + quoteIdent(col) + ", '\u212a', 'k'), '\u017f', 's'))"
}

// isASCII reports whether s has only ASCII characters, the precondition of foldExpr.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// indexes serve the lookups the sync makes on large tables (Lead/Contact by email, by
// Prospect_Id__c and by converted contact; prospects changed since a time). IF NOT
// EXISTS adds them to databases created before they existed.
func (e *Emulator) indexes() []string {
	var out []string
	for _, o := range []*objectDef{e.lead, e.contact} {
		t := quoteIdent(o.Name)
		out = append(out,
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", quoteIdent(o.Name+"_email_fold"), t, foldExpr("Email")),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", quoteIdent(o.Name+"_prospect_id_fold"), t, foldExpr("Prospect_Id__c")),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", quoteIdent(o.Name+"_modstamp"), t, quoteIdent(fieldModstamp)),
		)
	}
	for _, o := range []*objectDef{e.lead, e.contact} {
		h := e.historyOf(o)
		out = append(out, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)",
			quoteIdent(h.Name+"_parent"), quoteIdent(h.Name), quoteIdent(historyParentField(o))))
	}
	return append(out,
		`CREATE INDEX IF NOT EXISTS "Lead_converted_contact" ON "Lead" ("ConvertedContactId")`,
		// The rowid (id) rides along in every index, so these also give (time, id) order.
		`CREATE INDEX IF NOT EXISTS prospects_updated_at ON prospects (updated_at)`,
		`CREATE INDEX IF NOT EXISTS prospects_created_at ON prospects (created_at)`,
		// A business unit without AMPSEA looks prospects up by email on every create and
		// email change.
		`CREATE INDEX IF NOT EXISTS prospects_email_key ON prospects (`+aeEmailKey+`)`,
	)
}

// migrate creates the tables (idempotent, so an existing dev database is kept: tables an
// older emulator did not have, such as the field history ones, are added empty).
func (e *Emulator) migrate(ctx context.Context) error {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS seq (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS "Queue" ("Id" TEXT PRIMARY KEY, "Name" TEXT)`,
		`CREATE TABLE IF NOT EXISTS prospects (
			id INTEGER PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, company TEXT,
			job_title TEXT, phone TEXT, assigned_to_id INTEGER, salesforce_id TEXT,
			salesforce_lead_id TEXT, salesforce_contact_id TEXT, salesforce_owner_id TEXT,
			created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, is_deleted INTEGER NOT NULL DEFAULT 0)`,
		`CREATE TABLE IF NOT EXISTS ae_users (
			id INTEGER PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, username TEXT,
			salesforce_id TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
			is_deleted INTEGER NOT NULL DEFAULT 0)`,
	}
	for _, o := range e.tables() {
		cols := make([]string, 0, len(o.Fields))
		for _, f := range o.Fields {
			col := quoteIdent(f.Name)
			switch {
			case f.Name == "Id":
				col += " TEXT PRIMARY KEY"
			case f.Kind == kBool:
				col += " INTEGER NOT NULL DEFAULT 0"
			case f.Kind == kDateTime:
				col += " INTEGER"
			default:
				col += " TEXT"
			}
			cols = append(cols, col)
		}
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s)", quoteIdent(o.Name), strings.Join(cols, ", ")))
	}
	return e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return false, fmt.Errorf("emulator: migrate: %w", err)
			}
		}
		if err := e.addMissingColumns(ctx, tx); err != nil {
			return false, fmt.Errorf("emulator: migrate: %w", err)
		}
		for _, s := range e.indexes() {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return false, fmt.Errorf("emulator: migrate: %w", err)
			}
		}
		return true, e.ensureBaseline(ctx, tx)
	})
}

// addMissingColumns brings the tables of a database made by an older emulator up to the
// schema: a missing SystemModstamp starts as LastModifiedDate, missing CreatedById and
// LastModifiedById as the integration user (older emulators wrote mostly through the API),
// a missing MasterRecordId as null (older emulators had no merge).
func (e *Emulator) addMissingColumns(ctx context.Context, tx *sql.Tx) error {
	fills := []struct{ column, kind, from string }{
		{fieldModstamp, "INTEGER", `"LastModifiedDate"`},
		{fieldCreatedBy, "TEXT", "'" + IntegrationUserID + "'"},
		{fieldModifiedBy, "TEXT", "'" + IntegrationUserID + "'"},
		{fieldMasterRecord, "TEXT", "NULL"},
	}
	for _, o := range []*objectDef{e.lead, e.contact, e.account} {
		for _, f := range fills {
			if !o.has(f.column) {
				continue
			}
			var n int
			err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, o.Name, f.column).Scan(&n)
			if err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			t, c := quoteIdent(o.Name), quoteIdent(f.column)
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s %s`, t, c, f.kind)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET %s = %s`, t, c, f.from)); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldModstamp is the field the change feeds read.
const fieldModstamp = "SystemModstamp"

// fieldMasterRecord names, on a record deleted by a merge, the record that was kept.
const fieldMasterRecord = "MasterRecordId"

// The audit fields naming who created and last modified a record.
const (
	fieldCreatedBy  = "CreatedById"
	fieldModifiedBy = "LastModifiedById"
)

// actorKey keys the acting user's id in a request's context.
type actorKey struct{}

// withActor is ctx for a request made with a token of userID.
func withActor(ctx context.Context, userID string) context.Context {
	return context.WithValue(ctx, actorKey{}, userID)
}

// actorOf is the user a write is attributed to: the token's user for API requests; for
// control operations and seeding, which stand for a person working in Salesforce's UI,
// PersonUserID.
func actorOf(ctx context.Context) string {
	if id, ok := ctx.Value(actorKey{}).(string); ok && id != "" {
		return id
	}
	return PersonUserID
}

// attributed is rec with LastModifiedById (and CreatedById on insert) set to the acting
// user, when o has them and rec does not set them.
func attributed(ctx context.Context, o *objectDef, rec record, insert bool) record {
	if !o.has(fieldModifiedBy) {
		return rec
	}
	out := make(record, len(rec)+2)
	for k, v := range rec {
		out[k] = v
	}
	if out[fieldModifiedBy] == nil {
		out[fieldModifiedBy] = actorOf(ctx)
	}
	if insert && out[fieldCreatedBy] == nil {
		out[fieldCreatedBy] = out[fieldModifiedBy]
	}
	return out
}

// stamped is rec with SystemModstamp set (when o has it and rec does not): to t if given,
// else LastModifiedDate, else CreatedDate.
func stamped(o *objectDef, rec record, t any) record {
	if !o.has(fieldModstamp) || rec[fieldModstamp] != nil {
		return rec
	}
	out := make(record, len(rec)+1)
	for k, v := range rec {
		out[k] = v
	}
	for _, v := range []any{t, rec["LastModifiedDate"], rec["CreatedDate"]} {
		if _, ok := v.(time.Time); ok {
			out[fieldModstamp] = v
			break
		}
	}
	return out
}

// ensureBaseline inserts what every org has: the integration (API) user.
func (e *Emulator) ensureBaseline(ctx context.Context, tx *sql.Tx) error {
	_, found, err := e.loadRecord(ctx, tx, e.user, IntegrationUserID)
	if err != nil || found {
		return err
	}
	return e.insertRecord(ctx, tx, e.user, record{
		"Id": IntegrationUserID, "Username": "integration@emulator.local", "Email": "integration@example.com",
		"Name": "Integration User", "IsActive": true,
	}, false)
}

// wipe deletes every row and restores the baseline.
func (e *Emulator) wipe(ctx context.Context, tx *sql.Tx) error {
	for _, t := range []string{"seq", "settings", `"Queue"`, "prospects", "ae_users", `"Lead"`, `"Contact"`, `"Account"`, `"User"`, `"LeadHistory"`, `"ContactHistory"`} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return err
		}
	}
	return e.ensureBaseline(ctx, tx)
}

func (e *Emulator) isEmpty(ctx context.Context) (bool, error) {
	var n int
	err := e.inTx(ctx, false, func(tx *sql.Tx) (bool, error) {
		return false, tx.QueryRowContext(ctx,
			`SELECT (SELECT COUNT(*) FROM prospects) + (SELECT COUNT(*) FROM "Lead") + (SELECT COUNT(*) FROM "Contact")`).Scan(&n)
	})
	return n == 0, err
}

// inTx runs fn in a transaction and commits when fn says so. Write transactions are
// serialised by writeMu; fn must use only tx (the in-memory database has one connection).
func (e *Emulator) inTx(ctx context.Context, write bool, fn func(tx *sql.Tx) (commit bool, err error)) error {
	if write {
		e.writeMu.Lock()
		defer e.writeMu.Unlock()
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	commit, err := fn(tx)
	if err != nil || !commit {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (o *objectDef) columns() string {
	cols := make([]string, len(o.Fields))
	for i, f := range o.Fields {
		cols[i] = quoteIdent(f.Name)
	}
	return strings.Join(cols, ", ")
}

// loadRecords reads rows in insertion order; where is SQL made of identifiers and
// placeholders only, and args carry all values.
func (e *Emulator) loadRecords(ctx context.Context, tx *sql.Tx, o *objectDef, where string, args ...any) ([]record, error) {
	q := fmt.Sprintf("SELECT %s FROM %s", o.columns(), quoteIdent(o.Name))
	if where != "" {
		q += " WHERE " + where
	}
	q += " ORDER BY rowid"
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []record
	for rows.Next() {
		dest := make([]any, len(o.Fields))
		for i, f := range o.Fields {
			switch f.Kind {
			case kBool:
				dest[i] = new(int64)
			case kDateTime:
				dest[i] = new(sql.NullInt64)
			default:
				dest[i] = new(sql.NullString)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		rec := record{}
		for i, f := range o.Fields {
			switch v := dest[i].(type) {
			case *int64:
				rec[f.Name] = *v != 0
			case *sql.NullInt64:
				if v.Valid {
					rec[f.Name] = time.UnixMilli(v.Int64).UTC()
				} else {
					rec[f.Name] = nil
				}
			case *sql.NullString:
				if v.Valid {
					rec[f.Name] = v.String
				} else {
					rec[f.Name] = nil
				}
			}
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

func (e *Emulator) loadRecord(ctx context.Context, tx *sql.Tx, o *objectDef, id string) (record, bool, error) {
	recs, err := e.loadRecords(ctx, tx, o, `"Id" = ?`, id)
	if err != nil || len(recs) == 0 {
		return nil, false, err
	}
	return recs[0], true, nil
}

func sqlValue(f *fieldDef, v any) any {
	switch f.Kind {
	case kBool:
		if b, _ := v.(bool); b {
			return 1
		}
		return 0
	case kDateTime:
		if t, ok := v.(time.Time); ok {
			return t.UnixMilli()
		}
		return nil
	default:
		if s, ok := v.(string); ok {
			return s
		}
		return nil
	}
}

// insertRecord writes a full row; replace overwrites an existing row (seeding).
func (e *Emulator) insertRecord(ctx context.Context, tx *sql.Tx, o *objectDef, rec record, replace bool) error {
	verb := "INSERT"
	if replace {
		verb = "INSERT OR REPLACE"
	}
	rec = attributed(ctx, o, stamped(o, rec, nil), true)
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(o.Fields)), ", ")
	args := make([]any, len(o.Fields))
	for i, f := range o.Fields {
		args[i] = sqlValue(f, rec[f.Name])
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf("%s INTO %s (%s) VALUES (%s)", verb, quoteIdent(o.Name), o.columns(), ph), args...)
	return err
}

// updateFields writes the given fields of one row, and moves its SystemModstamp to now and
// its LastModifiedById to the acting user unless changes set them. A change of a tracked field
// of a Lead or Contact is recorded in its field history.
func (e *Emulator) updateFields(ctx context.Context, tx *sql.Tx, o *objectDef, id string, changes record) error {
	changes = attributed(ctx, o, stamped(o, changes, e.now().UTC().Truncate(time.Millisecond)), false)
	if err := e.recordHistory(ctx, tx, o, id, changes); err != nil {
		return err
	}
	sets := make([]string, 0, len(changes))
	args := make([]any, 0, len(changes)+1)
	for _, f := range o.Fields { // field order keeps the statement text stable
		v, ok := changes[f.Name]
		if !ok || f.Name == "Id" {
			continue
		}
		sets = append(sets, quoteIdent(f.Name)+" = ?")
		args = append(args, sqlValue(f, v))
	}
	if len(sets) == 0 {
		return nil
	}
	args = append(args, id)
	_, err := tx.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s WHERE \"Id\" = ?", quoteIdent(o.Name), strings.Join(sets, ", ")), args...)
	return err
}

// nextSeq returns the next value of a named sequence that starts at start.
func nextSeq(ctx context.Context, tx *sql.Tx, name string, start int64) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx,
		`INSERT INTO seq (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value`,
		name, start).Scan(&v)
	return v, err
}

// firstGeneratedID leaves the low numbers to the seed constants.
const firstGeneratedID = 1000

// newID generates the next 18-character id with the given key prefix.
func (e *Emulator) newID(ctx context.Context, tx *sql.Tx, prefix string) (string, error) {
	n, err := nextSeq(ctx, tx, "id:"+prefix, firstGeneratedID)
	if err != nil {
		return "", err
	}
	return to18(fmt.Sprintf("%s%012d", prefix, n)), nil
}

// to18 appends Salesforce's case-safe checksum to a 15-character id.
func to18(id string) string {
	if len(id) != 15 {
		return id
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	suffix := make([]byte, 3)
	for chunk := 0; chunk < 3; chunk++ {
		flags := 0
		for i := 0; i < 5; i++ {
			if c := id[chunk*5+i]; c >= 'A' && c <= 'Z' {
				flags |= 1 << i
			}
		}
		suffix[chunk] = alphabet[flags]
	}
	return id + string(suffix)
}

// validIDSyntax reports whether s looks like a 15- or 18-character Salesforce id.
func validIDSyntax(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func getSetting(ctx context.Context, tx *sql.Tx, key string, dst any) (bool, error) {
	var raw string
	err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal([]byte(raw), dst)
}

func putSetting(ctx context.Context, tx *sql.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, string(b))
	return err
}

const (
	settingAssignmentRule = "assignmentRule"
	settingRoundRobin     = "roundRobinIndex"
	settingDuplicateRule  = "duplicateRule"
	settingEngagement     = "engagementSettings"
)

func (e *Emulator) setAssignmentRule(ctx context.Context, r AssignmentRule) error {
	return e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		if err := putSetting(ctx, tx, settingAssignmentRule, r); err != nil {
			return false, err
		}
		return true, putSetting(ctx, tx, settingRoundRobin, 0)
	})
}

func (e *Emulator) setDuplicateRule(ctx context.Context, d DuplicateRule) error {
	return e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		return true, putSetting(ctx, tx, settingDuplicateRule, d)
	})
}

func (e *Emulator) setEngagementSettings(ctx context.Context, s EngagementSettings) error {
	return e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		return true, putSetting(ctx, tx, settingEngagement, s)
	})
}

// loadEngagementSettings reads the business unit's settings; never set means the zero
// value, a business unit without AMPSEA.
func loadEngagementSettings(ctx context.Context, tx *sql.Tx) (EngagementSettings, error) {
	var s EngagementSettings
	_, err := getSetting(ctx, tx, settingEngagement, &s)
	return s, err
}

func loadAssignmentRule(ctx context.Context, tx *sql.Tx) (AssignmentRule, error) {
	r := AssignmentRule{Mode: modeNone}
	_, err := getSetting(ctx, tx, settingAssignmentRule, &r)
	return r, err
}

func loadDuplicateRule(ctx context.Context, tx *sql.Tx) (DuplicateRule, error) {
	var d DuplicateRule
	_, err := getSetting(ctx, tx, settingDuplicateRule, &d)
	return d, err
}

// exists reports whether id names a live record that may be referenced (active user,
// queue, account or contact).
func (e *Emulator) exists(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	var q string
	switch id[:3] {
	case "005":
		q = `SELECT COUNT(*) FROM "User" WHERE "Id" = ? AND "IsActive" = 1`
	case "00G":
		q = `SELECT COUNT(*) FROM "Queue" WHERE "Id" = ?`
	case "001":
		q = `SELECT COUNT(*) FROM "Account" WHERE "Id" = ? AND "IsDeleted" = 0`
	case "003":
		q = `SELECT COUNT(*) FROM "Contact" WHERE "Id" = ? AND "IsDeleted" = 0`
	default:
		return false, nil
	}
	var n int
	err := tx.QueryRowContext(ctx, q, id).Scan(&n)
	return n > 0, err
}

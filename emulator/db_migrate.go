package emulator

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The database's life: its tables made or brought up to the schema, the write attribution every record carries (who, when), the baseline and its reset.

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

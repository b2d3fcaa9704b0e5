package emulator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reading and writing records: transactions, loads, inserts, updates, ids, and the settings the controls keep.

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

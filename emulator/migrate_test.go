package emulator

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// A database made before SystemModstamp existed gets the column, filled from
// LastModifiedDate, when an emulator opens it.
func TestMigrateAddsSystemModstamp(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "old.db")
	e, err := New(Options{DSN: dsn, Seed: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`DROP INDEX "Lead_modstamp"`, `ALTER TABLE "Lead" DROP COLUMN "SystemModstamp"`,
		`DROP INDEX "Contact_modstamp"`, `ALTER TABLE "Contact" DROP COLUMN "SystemModstamp"`,
		`ALTER TABLE "Account" DROP COLUMN "SystemModstamp"`,
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	e, err = New(Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, o := range []*objectDef{e.lead, e.contact, e.account} {
		err = e.inTx(ctx, false, func(tx *sql.Tx) (bool, error) {
			recs, err := e.loadRecords(ctx, tx, o, "")
			if err != nil || len(recs) == 0 {
				t.Errorf("%s: %d records, %v", o.Name, len(recs), err)
			}
			for _, r := range recs {
				if m, _ := r[fieldModstamp].(time.Time); m.IsZero() || !m.Equal(r["LastModifiedDate"].(time.Time)) {
					t.Errorf("%s %s: SystemModstamp %v, LastModifiedDate %v", o.Name, r.str("Id"), r[fieldModstamp], r["LastModifiedDate"])
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A database made before merges existed gets MasterRecordId on Lead and Contact, null on
// every record, and queries of it work at once.
func TestMigrateAddsMasterRecordId(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "old.db")
	e, err := New(Options{DSN: dsn, Seed: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`ALTER TABLE "Lead" DROP COLUMN "MasterRecordId"`, `ALTER TABLE "Contact" DROP COLUMN "MasterRecordId"`} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	e, err = New(Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, o := range []*objectDef{e.lead, e.contact} {
		err = e.inTx(ctx, false, func(tx *sql.Tx) (bool, error) {
			recs, err := e.loadRecords(ctx, tx, o, `"IsDeleted" = 1 OR "IsDeleted" = 0`)
			if err != nil || len(recs) == 0 {
				t.Errorf("%s: %d records, %v", o.Name, len(recs), err)
			}
			for _, r := range recs {
				if v, ok := r[fieldMasterRecord]; !ok || v != nil {
					t.Errorf("%s %s: MasterRecordId %v (present %v)", o.Name, r.str("Id"), v, ok)
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Merge(ctx, MergeRequest{Object: "Lead", MasterID: LeadMatchID, MergedIDs: []string{LeadMatchUnassignedID}}); err != nil {
		t.Fatalf("merge in a migrated database: %v", err)
	}
}

// A database made before field history existed gets LeadHistory and ContactHistory, empty, and
// the default tracking: the next change of a tracked field is recorded.
func TestMigrateAddsFieldHistory(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "old.db")
	e, err := New(Options{DSN: dsn, Seed: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`DROP TABLE "LeadHistory"`, `DROP TABLE "ContactHistory"`} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	e, err = New(Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		return true, e.updateFields(ctx, tx, e.lead, LeadMatchID, record{"Title": "Migrated", "LastModifiedDate": time.Now().UTC()})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []*objectDef{e.leadHistory, e.contactHistory} {
		err = e.inTx(ctx, false, func(tx *sql.Tx) (bool, error) {
			recs, err := e.loadRecords(ctx, tx, o, "")
			want := 0
			if o == e.leadHistory {
				want = 1
			}
			if err != nil || len(recs) != want {
				t.Errorf("%s: %d rows, want %d: %v", o.Name, len(recs), want, err)
			}
			return false, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

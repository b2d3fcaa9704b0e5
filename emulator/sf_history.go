package emulator

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Field History Tracking (docs/salesforce.md "Field history"): Salesforce records each change
// of a tracked field of a Lead or Contact as a row of LeadHistory or ContactHistory, which SOQL
// reads like any object. The emulator keeps those rows in tables of their own, written by every
// update of a tracked field (API or control), and answers queries of them through the same
// SOQL machinery as the records.

// historyPrefix is the key prefix of field history rows (entity history ids start 017).
const historyPrefix = "017"

// maxTrackedFields is how many fields of one object Field History Tracking may track
// (Salesforce Help: "up to 20 standard and custom fields per object"; more needs Field Audit
// Trail).
const maxTrackedFields = 20

// FieldHistory names, by object ("Lead", "Contact"), the fields whose changes Field History
// Tracking records. An empty list turns tracking off for that object; an object left out of a
// SetFieldHistory keeps its fields.
type FieldHistory map[string][]string

// DefaultFieldHistory is the tracking a new or reset emulator has: the mapped fields the sync
// keeps in step (Contact has no Company).
func DefaultFieldHistory() FieldHistory {
	return FieldHistory{
		"Lead":    {"FirstName", "LastName", "Company", "Title", "Phone", "Email"},
		"Contact": {"FirstName", "LastName", "Title", "Phone", "Email"},
	}
}

const settingFieldHistory = "fieldHistory"

// historyObject defines StandardObjectNameHistory for parent: its fields as the Object
// Reference lists them (DataType left out).
func historyObject(parent *objectDef) *objectDef {
	return newObject(parent.Name+"History", historyPrefix, true,
		&fieldDef{Name: "Id", Kind: kID},
		&fieldDef{Name: historyParentField(parent), Kind: kID, Refs: []string{parent.Prefix}},
		&fieldDef{Name: "Field", Kind: kString},
		// OldValue and NewValue are anyType in Salesforce; every field the emulator tracks is
		// text or an id, so they are text here.
		&fieldDef{Name: "OldValue", Kind: kString},
		&fieldDef{Name: "NewValue", Kind: kString},
		&fieldDef{Name: "CreatedDate", Kind: kDateTime},
		&fieldDef{Name: fieldCreatedBy, Kind: kID, Refs: []string{"005"}},
		&fieldDef{Name: "IsDeleted", Kind: kBool},
	)
}

// historyParentField is the history object's reference to its record: LeadId, ContactId.
func historyParentField(parent *objectDef) string { return parent.Name + "Id" }

// historyOf is the history object of a tracked object; nil for the others.
func (e *Emulator) historyOf(o *objectDef) *objectDef {
	switch o {
	case e.lead:
		return e.leadHistory
	case e.contact:
		return e.contactHistory
	}
	return nil
}

// loadFieldHistory reads the tracked fields; an object never set has its default.
func loadFieldHistory(ctx context.Context, tx *sql.Tx) (FieldHistory, error) {
	out := DefaultFieldHistory()
	var stored FieldHistory
	if _, err := getSetting(ctx, tx, settingFieldHistory, &stored); err != nil {
		return nil, err
	}
	for k, v := range stored {
		out[k] = v
	}
	for k, v := range out {
		if v == nil {
			out[k] = []string{}
		}
	}
	return out, nil
}

// normalizeFieldHistory checks h against the schema: Lead and Contact only, fields that exist
// and can be tracked (the writable ones: not Id, formulas, CreatedById or LastModifiedById), at
// most maxTrackedFields each; names take the schema's spelling and repeats are dropped.
func (e *Emulator) normalizeFieldHistory(h FieldHistory) (FieldHistory, error) {
	out := FieldHistory{}
	for name, fields := range h {
		var obj *objectDef
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "lead":
			obj = e.lead
		case "contact":
			obj = e.contact
		default:
			return nil, errorf(http.StatusBadRequest, "field history is tracked on Lead and Contact, not %q", name)
		}
		if _, dup := out[obj.Name]; dup {
			return nil, errorf(http.StatusBadRequest, "%s is named twice", obj.Name)
		}
		list := []string{}
		for _, f := range fields {
			def := obj.field(strings.TrimSpace(f))
			switch {
			case def == nil:
				return nil, errorf(http.StatusBadRequest, "%s has no field %q", obj.Name, f)
			case !def.Writable:
				return nil, errorf(http.StatusBadRequest, "%s.%s can't be tracked", obj.Name, def.Name)
			case !slices.Contains(list, def.Name):
				list = append(list, def.Name)
			}
		}
		if len(list) > maxTrackedFields {
			return nil, errorf(http.StatusBadRequest, "%s: %d fields tracked, at most %d", obj.Name, len(list), maxTrackedFields)
		}
		out[obj.Name] = list
	}
	return out, nil
}

// setFieldHistory changes the tracking of the objects h names and keeps the others'.
func (e *Emulator) setFieldHistory(ctx context.Context, h FieldHistory) error {
	h, err := e.normalizeFieldHistory(h)
	if err != nil {
		return err
	}
	return e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		cur, err := loadFieldHistory(ctx, tx)
		if err != nil {
			return false, err
		}
		for k, v := range h {
			cur[k] = v
		}
		return true, putSetting(ctx, tx, settingFieldHistory, cur)
	})
}

// SetFieldHistory sets the fields Field History Tracking records for the objects h names
// (persisted with the data; Reset restores DefaultFieldHistory). Unknown objects or fields,
// fields that can't be tracked and more than 20 fields an object are refused.
func (e *Emulator) SetFieldHistory(ctx context.Context, h FieldHistory) error {
	return e.setFieldHistory(ctx, h)
}

// FieldHistory returns the fields Field History Tracking records, by object.
func (e *Emulator) FieldHistory(ctx context.Context) (FieldHistory, error) {
	return readSetting(ctx, e, loadFieldHistory)
}

// recordHistory writes one history row for each tracked field that changes sets to a value
// other than the record's current one: by the acting user (changes' LastModifiedById), at the
// write time (changes' LastModifiedDate) to the second, as Salesforce's field history
// timestamps are. A deletion or restore of the record moves its history rows to or from the
// recycle bin with it.
func (e *Emulator) recordHistory(ctx context.Context, tx *sql.Tx, o *objectDef, id string, changes record) error {
	h := e.historyOf(o)
	if h == nil {
		return nil
	}
	parent := historyParentField(o)
	if del, ok := changes["IsDeleted"].(bool); ok {
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET "IsDeleted" = ? WHERE %s = ?`, quoteIdent(h.Name), quoteIdent(parent)),
			sqlValue(h.field("IsDeleted"), del), id)
		if err != nil {
			return err
		}
	}
	all, err := loadFieldHistory(ctx, tx)
	if err != nil {
		return err
	}
	var tracked []string
	for _, f := range all[o.Name] {
		if _, ok := changes[f]; ok {
			tracked = append(tracked, f)
		}
	}
	if len(tracked) == 0 {
		return nil
	}
	old, found, err := e.loadRecord(ctx, tx, o, id)
	if err != nil || !found {
		return err
	}
	at, ok := changes["LastModifiedDate"].(time.Time)
	if !ok {
		at = e.now()
	}
	at = at.UTC().Truncate(time.Second)
	by, _ := changes[fieldModifiedBy].(string)
	if by == "" {
		by = actorOf(ctx)
	}
	for _, f := range tracked {
		before, after := historyValue(old[f]), historyValue(changes[f])
		if before == after {
			continue
		}
		rowID, err := e.newID(ctx, tx, historyPrefix)
		if err != nil {
			return err
		}
		row := record{"Id": rowID, parent: id, "Field": f, "OldValue": nullable(before), "NewValue": nullable(after),
			"CreatedDate": at, fieldCreatedBy: by, "IsDeleted": false}
		if err := e.insertRecord(ctx, tx, h, row, false); err != nil {
			return err
		}
	}
	return nil
}

// historyValue is a field value as history compares and shows it: null and "" alike.
func historyValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

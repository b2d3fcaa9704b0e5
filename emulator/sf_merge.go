package emulator

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// MergeRequest is a person merging duplicates in Salesforce: the UI's merge, or the SOAP
// API's merge() (REST has no merge call), so it exists only as a control operation.
type MergeRequest struct {
	// Object is "Lead" or "Contact"; all the records are of it.
	Object string `json:"object"`
	// MasterID is the record that is kept (the winner).
	MasterID string `json:"masterId"`
	// MergedIDs are the one or two records merged into it, which are deleted: merge()
	// takes up to three records in all, as the UI does.
	MergedIDs []string `json:"mergedIds"`
	// Fields are the values the person picked for the winner (a loser's, say), written
	// as an update would write them; the winner keeps its other values.
	Fields map[string]any `json:"fields,omitempty"`
}

// maxMergedRecords is how many records merge() merges into the master (three in all).
const maxMergedRecords = 2

// merge applies m as Salesforce shows a merge through REST afterwards: each loser is in
// the recycle bin (IsDeleted, visible to queryAll and the deleted feed) with
// MasterRecordId naming the winner, and the winner is updated. Related records are
// reparented in Salesforce; the emulator has none to move.
func (e *Emulator) merge(ctx context.Context, m MergeRequest) error {
	var obj *objectDef
	switch strings.ToLower(strings.TrimSpace(m.Object)) {
	case "lead":
		obj = e.lead
	case "contact":
		obj = e.contact
	default:
		return errorf(http.StatusBadRequest, "merge takes Lead or Contact records, not %q", m.Object)
	}
	if len(m.MergedIDs) == 0 || len(m.MergedIDs) > maxMergedRecords {
		return errorf(http.StatusBadRequest, "merge takes one or two mergedIds besides the masterId (up to three records in all), not %d", len(m.MergedIDs))
	}
	master, err := mergeID(obj, m.MasterID)
	if err != nil {
		return err
	}
	losers := make([]string, 0, len(m.MergedIDs))
	for _, raw := range m.MergedIDs {
		id, err := mergeID(obj, raw)
		if err != nil {
			return err
		}
		if id == master {
			return errorf(http.StatusBadRequest, "the master record %s cannot also be merged into itself", m.MasterID)
		}
		for _, l := range losers {
			if l == id {
				return errorf(http.StatusBadRequest, "record %s is listed twice in mergedIds", raw)
			}
		}
		losers = append(losers, id)
	}
	var picked record
	if len(m.Fields) > 0 {
		body, err := json.Marshal(m.Fields)
		if err != nil {
			return errorf(http.StatusBadRequest, "fields: %v", err)
		}
		var bad *result
		if picked, bad = parseWriteBody(obj, body); bad != nil {
			return refusal(*bad)
		}
	}
	return e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		recs := map[string]record{}
		for _, id := range append([]string{master}, losers...) {
			rec, found, err := e.loadRecord(ctx, tx, obj, id)
			switch {
			case err != nil:
				return false, err
			case !found:
				return false, errorf(http.StatusNotFound, "record %s not found", id)
			case rec.boolean("IsDeleted"):
				return false, errorf(http.StatusBadRequest, "ENTITY_IS_DELETED: entity is deleted: %s", id)
			case obj == e.lead && rec.boolean("IsConverted"):
				// Salesforce merges open Leads only; a converted one lives on as its Contact.
				return false, errorf(http.StatusBadRequest, "CANNOT_UPDATE_CONVERTED_LEAD: cannot reference converted lead: %s", id)
			}
			recs[id] = rec
		}
		now := e.now().UTC().Truncate(time.Millisecond)
		// The losers go first, so the winner may take a loser's email under the Lead
		// duplicate rule.
		for _, id := range losers {
			err := e.updateFields(ctx, tx, obj, id, record{"IsDeleted": true, fieldMasterRecord: master, "LastModifiedDate": now})
			if err != nil {
				return false, err
			}
		}
		winner := recs[master]
		merged := record{}
		for k, v := range winner {
			merged[k] = v
		}
		touched := map[string]bool{}
		for k, v := range picked {
			merged[k] = v
			touched[k] = true
		}
		if obj == e.lead && merged["Status"] == nil {
			merged["Status"] = leadStatusOpen
		}
		if bad, err := e.validate(ctx, tx, obj, merged, touched); bad != nil || err != nil {
			if bad != nil {
				err = refusal(*bad)
			}
			return false, err
		}
		if obj == e.lead && touched["Email"] && !strings.EqualFold(winner.str("Email"), merged.str("Email")) {
			if bad, err := e.checkDuplicate(ctx, tx, merged["Email"], master); bad != nil || err != nil {
				if bad != nil {
					err = refusal(*bad)
				}
				return false, err
			}
		}
		write := record{"LastModifiedDate": now}
		for k := range touched {
			write[k] = merged[k]
		}
		return true, e.updateFields(ctx, tx, obj, master, write)
	})
}

// mergeID checks one id of a merge: well formed and of the merge's object.
func mergeID(obj *objectDef, raw string) (string, error) {
	if !validIDSyntax(raw) {
		return "", errorf(http.StatusBadRequest, "malformed id %q", raw)
	}
	id := to18(raw)
	if !strings.HasPrefix(id, obj.Prefix) {
		return "", errorf(http.StatusBadRequest, "%s is not a %s id: all the records of a merge are of one object", raw, obj.Name)
	}
	return id, nil
}

// undeleteRecord restores a Lead or Contact from the recycle bin, as a person does in the
// UI or through the SOAP API's undelete(): the record is live again (query, reads and the
// updated feed see it; the deleted feed no longer lists it) and its SystemModstamp moves.
// MasterRecordId is cleared: the Object Reference has it null for a record that "hasn't
// been deleted", and undelete() says nothing otherwise.
func (e *Emulator) undeleteRecord(ctx context.Context, rawID string) error {
	obj, id, err := e.personRecord(rawID, "restored")
	if err != nil {
		return err
	}
	return e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		rec, found, err := e.loadRecord(ctx, tx, obj, id)
		if err != nil {
			return false, err
		}
		if !found {
			return false, errorf(http.StatusNotFound, "record %s not found", rawID)
		}
		if !rec.boolean("IsDeleted") {
			return false, errorf(http.StatusBadRequest, "UNDELETE_FAILED: Entity is not in the recycle bin: %s", rawID)
		}
		return true, e.updateFields(ctx, tx, obj, id, record{
			"IsDeleted": false, fieldMasterRecord: nil, "LastModifiedDate": e.now().UTC().Truncate(time.Millisecond),
		})
	})
}

// personRecord resolves the id of a Lead or Contact a control operation acts on; verb
// says what is done to it, for the refusal of other objects.
func (e *Emulator) personRecord(rawID, verb string) (*objectDef, string, error) {
	if !validIDSyntax(rawID) {
		return nil, "", errorf(http.StatusBadRequest, "malformed id %q", rawID)
	}
	id := to18(rawID)
	switch {
	case strings.HasPrefix(id, e.lead.Prefix):
		return e.lead, id, nil
	case strings.HasPrefix(id, e.contact.Prefix):
		return e.contact, id, nil
	}
	return nil, "", errorf(http.StatusBadRequest, "only Lead and Contact records can be %s: %s", verb, rawID)
}

// refusal turns a Salesforce error answer into a control error with its code and message.
func refusal(r result) error {
	if items, ok := r.body.([]sfErrorItem); ok && len(items) > 0 {
		return errorf(r.status, "%s: %s", items[0].ErrorCode, items[0].Message)
	}
	return errorf(r.status, "refused")
}

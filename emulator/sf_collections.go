package emulator

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

const (
	maxCollectionRecords  = 200  // create, update, upsert, delete
	maxCollectionRetrieve = 2000 // retrieve by POST
	maxCollectionChunks   = 10   // runs of one type in a create or update
)

// collectionResults is the per-record answer of an sObject Collections write; composite
// reads it to see whether a collection subrequest failed.
type collectionResults []object

func (c collectionResults) anyFailed() bool {
	for _, o := range c {
		for _, p := range o {
			if p.k == "success" && p.v == false {
				return true
			}
		}
	}
	return false
}

func exceededIDLimit() result {
	return sfErr(http.StatusBadRequest, "EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxCollectionRecords))
}

// collections routes .../composite/sobjects[/{type}[/{externalIdField}]]. Writes run
// each record in a savepoint; with allOrNone a failure undoes them all, so the caller
// may always commit what is left.
func (e *Emulator) collections(ctx context.Context, tx *sql.Tx, req *sfReq) (result, error) {
	switch len(req.segs) {
	case 2:
		switch req.method {
		case http.MethodPost, http.MethodPatch:
			return e.collectionWrite(ctx, tx, req, nil, nil)
		case http.MethodDelete:
			return e.collectionDelete(ctx, tx, req)
		}
		return methodNotAllowed(req.method, "POST, PATCH, DELETE"), nil
	case 3, 4:
		obj := e.objects[strings.ToLower(req.segs[2])]
		if obj == nil {
			return sfErr(http.StatusBadRequest, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", req.segs[2])), nil
		}
		if len(req.segs) == 3 {
			if req.method != http.MethodGet && req.method != http.MethodPost {
				return methodNotAllowed(req.method, "GET, POST"), nil
			}
			return e.collectionRetrieve(ctx, tx, obj, req)
		}
		if req.method != http.MethodPatch {
			return methodNotAllowed(req.method, "PATCH"), nil
		}
		key := obj.field(req.segs[3])
		if key == nil || !key.ExtID {
			return sfErr(http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+req.segs[3]), nil
		}
		return e.collectionWrite(ctx, tx, req, obj, key)
	}
	return notFound(), nil
}

// collectionRecord is one record of a collection write.
type collectionRecord struct {
	obj   *objectDef
	id    string // the record's "id" (or "Id"), if any
	hasID bool   // whether it has one at all (even empty or null)
	body  []byte // the fields to write, without attributes and id
	key   string // the external id value (upsert)
}

// parseCollection reads {"allOrNone":..,"records":[..]}; obj is the upsert's type (nil
// for create and update, where each record names its own in attributes.type).
func (e *Emulator) parseCollection(req *sfReq, obj *objectDef, key *fieldDef) (bool, []collectionRecord, *result) {
	var in struct {
		AllOrNone bool                         `json:"allOrNone"`
		Records   []map[string]json.RawMessage `json:"records"`
	}
	if err := json.Unmarshal(req.body, &in); err != nil {
		return false, nil, sfErrP(http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error())
	}
	if len(in.Records) > maxCollectionRecords {
		r := exceededIDLimit()
		return false, nil, &r
	}
	out := make([]collectionRecord, len(in.Records))
	chunks := 0
	for i, raw := range in.Records {
		var attrs struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(raw["attributes"], &attrs)
		rec := collectionRecord{obj: obj}
		switch t := e.objects[strings.ToLower(attrs.Type)]; {
		case obj != nil && attrs.Type != "" && t != obj:
			return false, nil, sfErrP(http.StatusBadRequest, "INVALID_TYPE", fmt.Sprintf("Record %d has type '%s' in an upsert of %s", i, attrs.Type, obj.Name))
		case obj == nil && attrs.Type == "":
			return false, nil, sfErrP(http.StatusBadRequest, "INVALID_TYPE", "Must send a concrete entity type.")
		case obj == nil && t == nil:
			return false, nil, sfErrP(http.StatusBadRequest, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", attrs.Type))
		case obj == nil:
			rec.obj = t
		}
		if i == 0 || rec.obj != out[i-1].obj {
			chunks++
		}
		fields := map[string]json.RawMessage{}
		for k, v := range raw {
			switch {
			case k == "attributes":
			case strings.EqualFold(k, "Id"):
				_ = json.Unmarshal(v, &rec.id)
				rec.hasID = true
			default:
				fields[k] = v
			}
		}
		if key != nil {
			for k, v := range fields {
				if strings.EqualFold(k, key.Name) {
					var s any
					_ = json.Unmarshal(v, &s)
					if s != nil {
						rec.key = fmt.Sprint(s)
					}
				}
			}
		}
		rec.body, _ = json.Marshal(fields)
		out[i] = rec
	}
	if chunks > maxCollectionChunks {
		return false, nil, sfErrP(http.StatusBadRequest, "INVALID_BATCH_REQUEST",
			fmt.Sprintf("Cannot have more than %d chunks in a single operation. Please rearrange the data to reduce chunking.", maxCollectionChunks))
	}
	return in.AllOrNone, out, nil
}

// collectionWrite creates (POST), updates (PATCH) or upserts (PATCH with key) the records,
// in order, under the request's headers (Sforce-Auto-Assign covers all of them).
func (e *Emulator) collectionWrite(ctx context.Context, tx *sql.Tx, req *sfReq, obj *objectDef, key *fieldDef) (result, error) {
	allOrNone, recs, bad := e.parseCollection(req, obj, key)
	if bad != nil {
		return *bad, nil
	}
	return e.eachRecord(ctx, tx, allOrNone, len(recs), func(i int) (result, string, error) {
		rec := recs[i]
		sub := &sfReq{method: req.method, version: req.version, query: req.query, header: req.header, body: rec.body}
		switch {
		case rec.obj.ReadOnly:
			return methodNotAllowed(req.method, "GET"), "", nil
		case key != nil:
			if rec.hasID {
				return sfErr(http.StatusBadRequest, "INVALID_FIELD", "Record Ids are not accepted as the key of an upsert", "Id"), "", nil
			}
			if rec.key == "" {
				return sfErr(http.StatusBadRequest, "MISSING_ARGUMENT", key.Name+" not specified", key.Name), "", nil
			}
			res, err := e.upsert(ctx, tx, rec.obj, key.Name, rec.key, sub)
			if res.status == http.StatusMultipleChoices {
				res = sfErr(http.StatusBadRequest, "DUPLICATE_EXTERNAL_ID",
					fmt.Sprintf("%s: more than one record found for external id field: %v", key.Name, res.body), key.Name)
			}
			return res, "", err
		case req.method == http.MethodPost:
			if rec.hasID {
				return sfErr(http.StatusBadRequest, "INVALID_FIELD", "cannot specify Id in an insert call", "Id"), "", nil
			}
			res, err := e.create(ctx, tx, rec.obj, sub, nil)
			return res, "", err
		default:
			if rec.id == "" {
				return sfErr(http.StatusBadRequest, "MISSING_ARGUMENT", "Id not specified in an update call"), "", nil
			}
			id, bad := parsePathID(rec.obj, rec.id)
			if bad != nil {
				return *bad, rec.id, nil
			}
			res, err := e.update(ctx, tx, rec.obj, id, sub)
			if res.status == http.StatusNoContent {
				res = result{status: http.StatusOK, body: object{{"id", id}, {"success", true}, {"errors", []any{}}}}
			}
			return res, id, err
		}
	})
}

// collectionDelete answers DELETE .../composite/sobjects?ids=..&allOrNone=..
func (e *Emulator) collectionDelete(ctx context.Context, tx *sql.Tx, req *sfReq) (result, error) {
	ids := splitIDs(req.query.Get("ids"))
	if len(ids) > maxCollectionRecords {
		return exceededIDLimit(), nil
	}
	return e.eachRecord(ctx, tx, strings.EqualFold(req.query.Get("allOrNone"), "true"), len(ids), func(i int) (result, string, error) {
		raw := ids[i]
		if !validIDSyntax(raw) {
			return sfErr(http.StatusBadRequest, "MALFORMED_ID", "malformed id "+raw), raw, nil
		}
		id := to18(raw)
		for _, obj := range []*objectDef{e.lead, e.contact, e.account} {
			if strings.HasPrefix(id, obj.Prefix) {
				res, err := e.delete(ctx, tx, obj, id)
				if res.status == http.StatusNoContent {
					res = result{status: http.StatusOK, body: object{{"id", id}, {"success", true}, {"errors", []any{}}}}
				}
				return res, id, err
			}
		}
		return sfErr(http.StatusBadRequest, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"), id, nil
	})
}

func splitIDs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// eachRecord runs n record operations, each in a savepoint that a failure rolls back, and
// words their results as sObject Collections do. With allOrNone, one failure rolls back
// all of them and the others report ALL_OR_NONE_OPERATION_ROLLED_BACK. op returns the
// record's result as a lone request would have it, and the id to report on failure.
func (e *Emulator) eachRecord(ctx context.Context, tx *sql.Tx, allOrNone bool, n int, op func(i int) (result, string, error)) (result, error) {
	exec := func(stmt string) error { _, err := tx.ExecContext(ctx, stmt); return err }
	if err := exec("SAVEPOINT collection"); err != nil {
		return result{}, err
	}
	out := make(collectionResults, n)
	ids := make([]string, n) // the id each record reports when it fails
	written := make([]bool, n)
	failed := false
	for i := range n {
		if err := exec("SAVEPOINT record"); err != nil {
			return result{}, err
		}
		res, id, err := op(i)
		if err != nil {
			return result{}, err
		}
		ids[i] = id
		if res.status >= 400 {
			failed = true
			if err := exec("ROLLBACK TO record"); err != nil {
				return result{}, err
			}
			out[i] = recordFailure(id, res)
		} else {
			out[i], written[i] = res.body.(object), true
		}
		if err := exec("RELEASE record"); err != nil {
			return result{}, err
		}
	}
	if failed && allOrNone {
		if err := exec("ROLLBACK TO collection"); err != nil {
			return result{}, err
		}
		rolledBack := result{status: http.StatusBadRequest, body: []sfErrorItem{{
			ErrorCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK", Fields: []string{},
			Message: "Record rolled back because not all records were valid and the request was using AllOrNone header",
		}}}
		for i, w := range written {
			if w {
				out[i] = recordFailure(ids[i], rolledBack)
			}
		}
	}
	return result{status: http.StatusOK, body: out}, exec("RELEASE collection")
}

// recordFailure words a lone request's error answer as a collection's record result:
// statusCode instead of errorCode; id only where the record has one.
func recordFailure(id string, res result) object {
	errs := []object{}
	add := func(code, msg string, fields []string) {
		if fields == nil {
			fields = []string{}
		}
		errs = append(errs, object{{"statusCode", code}, {"message", msg}, {"fields", fields}})
	}
	switch b := res.body.(type) {
	case []sfErrorItem:
		for _, it := range b {
			add(it.ErrorCode, it.Message, it.Fields)
		}
	case []object:
		for _, o := range b {
			var code, msg string
			for _, p := range o {
				switch p.k {
				case "errorCode":
					code, _ = p.v.(string)
				case "message":
					msg, _ = p.v.(string)
				}
			}
			add(code, msg, nil)
		}
	}
	out := object{}
	if validIDSyntax(id) {
		out = append(out, kv{"id", id})
	}
	return append(out, kv{"success", false}, kv{"errors", errs})
}

// collectionRetrieve answers GET .../composite/sobjects/{type}?ids=..&fields=.. and its
// POST form {"ids":[..],"fields":[..]}: one entry per id, null for one that is malformed,
// of another type, unknown or deleted.
func (e *Emulator) collectionRetrieve(ctx context.Context, tx *sql.Tx, obj *objectDef, req *sfReq) (result, error) {
	ids, fieldList := splitIDs(req.query.Get("ids")), req.query.Get("fields")
	if req.method == http.MethodPost {
		var in struct {
			IDs    []string `json:"ids"`
			Fields []string `json:"fields"`
		}
		if err := json.Unmarshal(req.body, &in); err != nil {
			return sfErr(http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error()), nil
		}
		ids, fieldList = in.IDs, strings.Join(in.Fields, ",")
	}
	if len(ids) == 0 {
		return sfErr(http.StatusBadRequest, "MISSING_ARGUMENT", "ids not specified"), nil
	}
	if len(ids) > maxCollectionRetrieve {
		return sfErr(http.StatusBadRequest, "EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot retrieve more than %d records", maxCollectionRetrieve)), nil
	}
	fields, bad := e.selectedFields(obj, fieldList)
	if bad != nil {
		return *bad, nil
	}
	out := make([]any, len(ids))
	for i, raw := range ids {
		id, bad := parsePathID(obj, raw)
		if bad != nil {
			continue
		}
		rec, found, err := e.loadRecord(ctx, tx, obj, id)
		if err != nil {
			return result{}, err
		}
		if found && !rec.boolean("IsDeleted") {
			out[i] = recordJSON(obj, req.version, rec, fields)
		}
	}
	return result{status: http.StatusOK, body: out}, nil
}

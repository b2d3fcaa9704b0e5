package emulator

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// leadStatusOpen is the Status Salesforce gives a Lead created without one.
const leadStatusOpen = "Open - Not Contacted"

// sobjects routes .../sobjects/{type}, .../{id} and .../{externalIdField}/{value}.
func (e *Emulator) sobjects(ctx context.Context, tx *sql.Tx, req *sfReq) (result, error) {
	if len(req.segs) < 2 {
		return notFound(), nil
	}
	obj := e.objects[strings.ToLower(req.segs[1])]
	if obj == nil {
		return sfErr(http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("The requested resource does not exist: sObject type '%s' is not supported", req.segs[1])), nil
	}
	if obj.ReadOnly && req.method != http.MethodGet {
		return methodNotAllowed(req.method, "GET"), nil
	}
	if isReplication(req.segs) {
		return e.replication(ctx, tx, obj, req)
	}
	switch len(req.segs) {
	case 2:
		if req.method != http.MethodPost {
			return methodNotAllowed(req.method, "POST"), nil
		}
		return e.create(ctx, tx, obj, req, nil)
	case 3:
		id, bad := parsePathID(obj, req.segs[2])
		if bad != nil {
			return *bad, nil
		}
		switch req.method {
		case http.MethodGet:
			return e.get(ctx, tx, obj, id, req)
		case http.MethodPatch:
			return e.update(ctx, tx, obj, id, req)
		case http.MethodDelete:
			return e.delete(ctx, tx, obj, id)
		}
		return methodNotAllowed(req.method, "GET, PATCH, DELETE"), nil
	case 4:
		switch req.method {
		case http.MethodPatch:
			return e.upsert(ctx, tx, obj, req.segs[2], req.segs[3], req)
		case http.MethodGet:
			return e.getByExternalID(ctx, tx, obj, req.segs[2], req.segs[3], req)
		}
		return methodNotAllowed(req.method, "GET, PATCH"), nil
	}
	return notFound(), nil
}

// parsePathID checks an id from a URL: malformed → MALFORMED_ID, other object → NOT_FOUND.
func parsePathID(obj *objectDef, raw string) (string, *result) {
	if !validIDSyntax(raw) {
		return "", sfErrP(http.StatusBadRequest, "MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", obj.Name, raw), "Id")
	}
	id := to18(raw)
	if !strings.HasPrefix(id, obj.Prefix) {
		r := notFound()
		return "", &r
	}
	return id, nil
}

func (e *Emulator) selectedFields(obj *objectDef, param string) ([]*fieldDef, *result) {
	if strings.TrimSpace(param) == "" {
		return obj.Fields, nil
	}
	var out []*fieldDef
	for _, name := range strings.Split(param, ",") {
		name = strings.TrimSpace(name)
		f := obj.field(name)
		if f == nil {
			return nil, sfErrP(http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'.", name, obj.Name), name)
		}
		out = append(out, f)
	}
	return out, nil
}

func (e *Emulator) get(ctx context.Context, tx *sql.Tx, obj *objectDef, id string, req *sfReq) (result, error) {
	fields, bad := e.selectedFields(obj, req.query.Get("fields"))
	if bad != nil {
		return *bad, nil
	}
	rec, found, err := e.loadRecord(ctx, tx, obj, id)
	if err != nil {
		return result{}, err
	}
	// A deleted record is in the recycle bin: reads see NOT_FOUND, writes ENTITY_IS_DELETED.
	if !found || rec.boolean("IsDeleted") {
		return notFound(), nil
	}
	return result{status: http.StatusOK, body: recordJSON(obj, req.version, rec, fields)}, nil
}

func (e *Emulator) getByExternalID(ctx context.Context, tx *sql.Tx, obj *objectDef, fieldName, value string, req *sfReq) (result, error) {
	f := obj.field(fieldName)
	if f == nil || !f.ExtID {
		return sfErr(http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+fieldName), nil
	}
	fields, bad := e.selectedFields(obj, req.query.Get("fields"))
	if bad != nil {
		return *bad, nil
	}
	matches, err := e.findByField(ctx, tx, obj, f, value)
	if err != nil {
		return result{}, err
	}
	switch len(matches) {
	case 0:
		return notFound(), nil
	case 1:
		return result{status: http.StatusOK, body: recordJSON(obj, req.version, matches[0], fields)}, nil
	}
	return multipleChoices(obj, req.version, matches), nil
}

func multipleChoices(obj *objectDef, version string, matches []record) result {
	urls := make([]string, len(matches))
	for i, m := range matches {
		urls[i] = "/services/data/" + version + "/sobjects/" + obj.Name + "/" + m.str("Id")
	}
	return result{status: http.StatusMultipleChoices, body: urls}
}

// findByField returns the live records whose field equals value (case-insensitively, as
// Salesforce compares external ids and emails).
func (e *Emulator) findByField(ctx context.Context, tx *sql.Tx, obj *objectDef, f *fieldDef, value string) ([]record, error) {
	where, args := `"IsDeleted" = 0`, []any(nil)
	// The fold index narrows the rows; EqualFold below still decides. An empty value also
	// matches null columns and a non-ASCII one is beyond foldExpr, so both scan.
	if f.Kind == kString && value != "" && isASCII(value) {
		where += " AND " + foldExpr(f.Name) + " = ?"
		args = append(args, strings.ToLower(value))
	}
	rows, err := e.loadRecords(ctx, tx, obj, where, args...)
	if err != nil {
		return nil, err
	}
	var out []record
	for _, r := range rows {
		if strings.EqualFold(r.str(f.Name), value) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (e *Emulator) create(ctx context.Context, tx *sql.Tx, obj *objectDef, req *sfReq, preset record) (result, error) {
	changes, bad := parseWriteBody(obj, req.body)
	if bad != nil {
		return *bad, nil
	}
	for k, v := range preset {
		changes[k] = v
	}
	rec := record{}
	for _, f := range obj.Fields {
		switch f.Kind {
		case kBool:
			rec[f.Name] = false
		default:
			rec[f.Name] = nil
		}
	}
	for k, v := range changes {
		rec[k] = v
	}
	if obj == e.lead && rec["Status"] == nil {
		rec["Status"] = leadStatusOpen
	}
	if bad, err := e.validate(ctx, tx, obj, rec, nil); bad != nil || err != nil {
		return deref(bad), err
	}
	if obj == e.lead {
		if bad, err := e.checkDuplicate(ctx, tx, rec["Email"], ""); bad != nil || err != nil {
			return deref(bad), err
		}
	}
	if err := e.applyOwner(ctx, tx, obj, rec, req.header); err != nil {
		return result{}, err
	}
	id, err := e.newID(ctx, tx, obj.Prefix)
	if err != nil {
		return result{}, err
	}
	now := e.now().UTC().Truncate(time.Millisecond)
	rec["Id"] = id
	if obj.has("CreatedDate") {
		rec["CreatedDate"], rec["LastModifiedDate"] = now, now
	}
	if err := e.insertRecord(ctx, tx, obj, rec, false); err != nil {
		return result{}, err
	}
	return result{
		status: http.StatusCreated,
		body:   object{{"id", id}, {"success", true}, {"errors", []any{}}},
		header: map[string]string{"Location": "/services/data/" + req.version + "/sobjects/" + obj.Name + "/" + id},
	}, nil
}

func deref(r *result) result {
	if r == nil {
		return result{}
	}
	return *r
}

// loadWritable loads a record that is about to be changed.
func (e *Emulator) loadWritable(ctx context.Context, tx *sql.Tx, obj *objectDef, id string) (record, *result, error) {
	rec, found, err := e.loadRecord(ctx, tx, obj, id)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		r := notFound()
		return nil, &r, nil
	}
	if rec.boolean("IsDeleted") {
		return nil, sfErrP(http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted"), nil
	}
	if obj == e.lead && rec.boolean("IsConverted") {
		return nil, sfErrP(http.StatusBadRequest, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"), nil
	}
	return rec, nil, nil
}

// applyUpdate validates and writes changes onto an existing record.
func (e *Emulator) applyUpdate(ctx context.Context, tx *sql.Tx, obj *objectDef, rec, changes record, h http.Header) (*result, error) {
	merged := record{}
	for k, v := range rec {
		merged[k] = v
	}
	touched := map[string]bool{}
	for k, v := range changes {
		merged[k] = v
		touched[k] = true
	}
	if obj == e.lead && merged["Status"] == nil {
		merged["Status"] = leadStatusOpen
	}
	if bad, err := e.validate(ctx, tx, obj, merged, touched); bad != nil || err != nil {
		return bad, err
	}
	if obj == e.lead && touched["Email"] && !strings.EqualFold(rec.str("Email"), merged.str("Email")) {
		if bad, err := e.checkDuplicate(ctx, tx, merged["Email"], rec.str("Id")); bad != nil || err != nil {
			return bad, err
		}
	}
	if err := e.applyOwner(ctx, tx, obj, merged, h); err != nil {
		return nil, err
	}
	write := record{}
	for _, f := range obj.Fields {
		if f.Writable {
			write[f.Name] = merged[f.Name]
		}
	}
	if obj.has("LastModifiedDate") {
		write["LastModifiedDate"] = e.now().UTC().Truncate(time.Millisecond)
	}
	return nil, e.updateFields(ctx, tx, obj, rec.str("Id"), write)
}

func (e *Emulator) update(ctx context.Context, tx *sql.Tx, obj *objectDef, id string, req *sfReq) (result, error) {
	rec, bad, err := e.loadWritable(ctx, tx, obj, id)
	if bad != nil || err != nil {
		return deref(bad), err
	}
	changes, bad := parseWriteBody(obj, req.body)
	if bad != nil {
		return *bad, nil
	}
	if bad, err := e.applyUpdate(ctx, tx, obj, rec, changes, req.header); bad != nil || err != nil {
		return deref(bad), err
	}
	return result{status: http.StatusNoContent}, nil
}

func (e *Emulator) delete(ctx context.Context, tx *sql.Tx, obj *objectDef, id string) (result, error) {
	rec, found, err := e.loadRecord(ctx, tx, obj, id)
	if err != nil {
		return result{}, err
	}
	if !found {
		return notFound(), nil
	}
	if rec.boolean("IsDeleted") {
		return sfErr(http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted"), nil
	}
	err = e.updateFields(ctx, tx, obj, id, record{"IsDeleted": true, "LastModifiedDate": e.now().UTC().Truncate(time.Millisecond)})
	return result{status: http.StatusNoContent}, err
}

func (e *Emulator) upsert(ctx context.Context, tx *sql.Tx, obj *objectDef, fieldName, value string, req *sfReq) (result, error) {
	f := obj.field(fieldName)
	if f == nil || !f.ExtID {
		return sfErr(http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+fieldName), nil
	}
	matches, err := e.findByField(ctx, tx, obj, f, value)
	if err != nil {
		return result{}, err
	}
	switch len(matches) {
	case 0:
		res, err := e.create(ctx, tx, obj, req, record{f.Name: value})
		if err != nil || res.status != http.StatusCreated {
			return res, err
		}
		res.body = append(res.body.(object), kv{"created", true})
		return res, nil
	case 1:
		rec := matches[0]
		if obj == e.lead && rec.boolean("IsConverted") {
			return sfErr(http.StatusBadRequest, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"), nil
		}
		changes, bad := parseWriteBody(obj, req.body)
		if bad != nil {
			return *bad, nil
		}
		delete(changes, f.Name) // the key identifies the record; it is not rewritten
		if bad, err := e.applyUpdate(ctx, tx, obj, rec, changes, req.header); bad != nil || err != nil {
			return deref(bad), err
		}
		id := rec.str("Id")
		return result{status: http.StatusOK, body: object{{"id", id}, {"success", true}, {"errors", []any{}}, {"created", false}},
			header: map[string]string{"Location": "/services/data/" + req.version + "/sobjects/" + obj.Name + "/" + id}}, nil
	}
	return multipleChoices(obj, req.version, matches), nil
}

package emulator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// Query page sizes: Sforce-Query-Options batchSize is documented as 200..2000,
	// default 2000, and only a preference, so values outside are brought into range.
	minBatchSize     = 200
	defaultBatchSize = 2000
	cursorTTL        = 15 * time.Minute
	sfTimeLayout     = "2006-01-02T15:04:05.000+0000"
)

// queryCursor holds the rest of a query's result for its nextRecordsUrl pages.
type queryCursor struct {
	rows    []any
	batch   int
	created time.Time
}

// batchSize is the page size a query asks for in Sforce-Query-Options.
func batchSize(h http.Header) int {
	for _, opt := range strings.Split(h.Get("Sforce-Query-Options"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(opt), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return max(minBatchSize, min(n, defaultBatchSize))
		}
	}
	return defaultBatchSize
}

func (e *Emulator) query(ctx context.Context, tx *sql.Tx, req *sfReq, all bool) (result, error) {
	soql := req.query.Get("q")
	if strings.TrimSpace(soql) == "" {
		return sfErr(http.StatusBadRequest, "MALFORMED_QUERY", "The query string is empty"), nil
	}
	q, err := parseSOQL(soql, e.objects)
	if err != nil {
		code := "MALFORMED_QUERY"
		var se *soqlError
		if errors.As(err, &se) {
			code = se.code
		}
		return sfErr(http.StatusBadRequest, code, err.Error()), nil
	}
	var conds []string
	if !all && q.obj.has("IsDeleted") {
		conds = append(conds, `"IsDeleted" = 0`)
	}
	// The prefilter lets SQLite use an index (Email, Id) instead of handing every row to
	// q.run, which still applies the whole WHERE.
	pre, args := q.prefilter()
	if pre != "" {
		conds = append(conds, pre)
	}
	rows, err := e.loadRecords(ctx, tx, q.obj, strings.Join(conds, " AND "), args...)
	if err != nil {
		return result{}, err
	}
	matched := q.run(rows)
	out := make([]any, len(matched))
	for i, r := range matched {
		out[i] = recordJSON(q.obj, req.version, r, q.fields)
	}
	batch := batchSize(req.header)
	if len(out) <= batch {
		return result{status: http.StatusOK, body: object{{"totalSize", len(out)}, {"done", true}, {"records", out}}}, nil
	}
	id := "01g" + strings.ToUpper(randomHex(8))[:15]
	c := &queryCursor{rows: out, batch: batch, created: e.now()}
	e.mu.Lock()
	for k, old := range e.cursors {
		if e.now().Sub(old.created) > cursorTTL {
			delete(e.cursors, k)
		}
	}
	e.cursors[id] = c
	e.mu.Unlock()
	return cursorPage(req.version, id, c, 0), nil
}

func cursorPage(version, id string, c *queryCursor, offset int) result {
	end := min(offset+c.batch, len(c.rows))
	body := object{{"totalSize", len(c.rows)}, {"done", end >= len(c.rows)}}
	if end < len(c.rows) {
		body = append(body, kv{"nextRecordsUrl", fmt.Sprintf("/services/data/%s/query/%s-%d", version, id, end)})
	}
	body = append(body, kv{"records", c.rows[offset:end]})
	return result{status: http.StatusOK, body: body}
}

func (e *Emulator) queryMore(version, locator string) result {
	invalid := sfErr(http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
	i := strings.LastIndexByte(locator, '-')
	if i < 0 {
		return invalid
	}
	offset, err := strconv.Atoi(locator[i+1:])
	if err != nil {
		return invalid
	}
	e.mu.Lock()
	c := e.cursors[locator[:i]]
	e.mu.Unlock()
	if c == nil || offset < 0 || offset >= len(c.rows) {
		return invalid
	}
	return cursorPage(version, locator[:i], c, offset)
}

func recordJSON(obj *objectDef, version string, rec record, fields []*fieldDef) object {
	o := make(object, 0, len(fields)+1)
	o = append(o, kv{"attributes", object{
		{"type", obj.Name},
		{"url", "/services/data/" + version + "/sobjects/" + obj.Name + "/" + rec.str("Id")},
	}})
	for _, f := range fields {
		v := rec[f.Name]
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(sfTimeLayout)
		}
		o = append(o, kv{f.Name, v})
	}
	return o
}

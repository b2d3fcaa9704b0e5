package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxCompositeQueries is how many of a composite call's subrequests may be queries (§5.2).
const MaxCompositeQueries = 5

// Select is one SOQL query, written by the client from values: callers never splice input
// into SOQL, and every literal is quoted.
type Select struct {
	Object string
	// Fields are selected in order; repeats are dropped.
	Fields []string
	// Where terms are joined with AND.
	Where []Cond
	// OrderBy is a field, optionally followed by ASC or DESC.
	OrderBy string
	// Limit caps the records; 0 = no LIMIT.
	Limit int
	// All reads the recycle bin too (queryAll): deleted records come with IsDeleted = true.
	All bool
}

// Cond is one WHERE term.
type Cond struct {
	field string
	op    string
	value string // already a SOQL literal or list
}

// Eq is field = value; value is a string or a bool.
func Eq(field string, value any) Cond { return Cond{field: field, op: "=", value: literal(value)} }

// AtOrAfter is field >= t, a datetime literal (UTC, whole seconds as SOQL writes them).
func AtOrAfter(field string, t time.Time) Cond {
	return Cond{field: field, op: ">=", value: t.UTC().Format("2006-01-02T15:04:05Z")}
}

// In is field IN (values...).
func In(field string, values ...string) Cond {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = Quote(v)
	}
	return Cond{field: field, op: "IN", value: "(" + strings.Join(quoted, ", ") + ")"}
}

func literal(v any) string {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x)
	case string:
		return Quote(x)
	default:
		return Quote(fmt.Sprint(x))
	}
}

// SOQL is the query text.
func (s Select) SOQL() string {
	var fields []string
	for _, f := range s.Fields {
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s FROM %s", strings.Join(fields, ", "), s.Object)
	for i, c := range s.Where {
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		fmt.Fprintf(&b, "%s %s %s", c.field, c.op, c.value)
	}
	if s.OrderBy != "" {
		b.WriteString(" ORDER BY " + s.OrderBy)
	}
	if s.Limit > 0 {
		fmt.Fprintf(&b, " LIMIT %d", s.Limit)
	}
	return b.String()
}

// Select runs one query and returns every record (all pages).
func (c *Client) Select(ctx context.Context, s Select) ([]Record, error) {
	return c.queryPages(ctx, c.queryPath(s))
}

// queryPath is the query's instance-relative URL: query, or queryAll for All.
func (c *Client) queryPath(s Select) string {
	resource := "/query"
	if s.All {
		resource = "/queryAll"
	}
	return c.dataPath() + resource + "?q=" + encodeQueryValue(s.SOQL())
}

// Result is one query's outcome within SelectMany: its records (every page), or its own failure.
type Result struct {
	Records []Record
	Err     error
}

// SelectMany runs up to MaxCompositeQueries queries as ONE API call (a composite request).
// A query's own failure (a malformed id, say) is in its Result; the returned error is the
// call's.
func (c *Client) SelectMany(ctx context.Context, queries ...Select) ([]Result, error) {
	if len(queries) > MaxCompositeQueries {
		return nil, fmt.Errorf("salesforce: %d queries in one composite call, at most %d", len(queries), MaxCompositeQueries)
	}
	reqs := make([]SubRequest, len(queries))
	for i, q := range queries {
		reqs[i] = SubRequest{Method: http.MethodGet, ReferenceID: "q" + strconv.Itoa(i), URL: c.queryPath(q)}
	}
	subs, err := c.Composite(ctx, CompositeRequest{Requests: reqs})
	if err != nil {
		return nil, err
	}
	if len(subs) != len(queries) {
		return nil, fmt.Errorf("salesforce: composite answered %d of %d queries", len(subs), len(queries))
	}
	out := make([]Result, len(subs))
	for i, sub := range subs {
		out[i].Records, out[i].Err = c.allRecords(ctx, sub)
	}
	return out, nil
}

// allRecords is a query subresponse's records, its later pages read with one call each (only
// a result larger than a page, 2,000 records by default, has them).
func (c *Client) allRecords(ctx context.Context, sub SubResponse) ([]Record, error) {
	if err := sub.Err(); err != nil {
		return nil, err
	}
	var p queryPage
	if err := json.Unmarshal(sub.Body, &p); err != nil {
		return nil, fmt.Errorf("salesforce: decode %s query result: %w", sub.ReferenceID, err)
	}
	if p.Done || p.NextRecordsURL == "" {
		return p.Records, nil
	}
	next, err := instancePath(p.NextRecordsURL)
	if err != nil {
		return nil, err
	}
	rest, err := c.queryPages(ctx, next)
	if err != nil {
		return nil, err
	}
	return append(p.Records, rest...), nil
}

// CreateAndRead creates a record and reads fields of it back in ONE API call (a composite
// request, all or none): how a caller learns the owner that Salesforce or an assignment rule
// picked. With UpsertOn the create is an upsert on an external-id field.
func (c *Client) CreateAndRead(ctx context.Context, sobject string, fields map[string]any, read []string, opts ...WriteOption) (Record, error) {
	o := options(opts)
	create := SubRequest{Method: http.MethodPost, ReferenceID: "created", URL: c.SObjectPath(sobject), Body: fields}
	if o.upsertField != "" {
		create.Method, create.URL = http.MethodPatch, c.SObjectPath(sobject, o.upsertField, o.upsertValue)
	}
	get := SubRequest{Method: http.MethodGet, ReferenceID: "read",
		URL: c.SObjectPath(sobject, "@{created.id}") + "?fields=" + strings.Join(read, ",")}
	subs, err := c.Composite(ctx, CompositeRequest{AllOrNone: true, Requests: []SubRequest{create, get}}, opts...)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if err := sub.Err(); err != nil {
			return nil, err
		}
	}
	var rec Record
	if len(subs) != 2 || json.Unmarshal(subs[1].Body, &rec) != nil || rec.String("Id") == "" {
		return nil, &APIError{Status: http.StatusBadGateway, Message: "created " + sobject + " not readable in the same call"}
	}
	return rec, nil
}

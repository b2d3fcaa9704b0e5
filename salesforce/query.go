package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// queryPage is one page of a SOQL result.
type queryPage struct {
	TotalSize      int      `json:"totalSize"`
	Done           bool     `json:"done"`
	NextRecordsURL string   `json:"nextRecordsUrl"`
	Records        []Record `json:"records"`
}

// maxQueryPages guards against a server that never says done.
const maxQueryPages = 100000

// Query runs soql and returns every record, following nextRecordsUrl until done.
// Build literals with Quote; never splice raw input into soql.
func (c *Client) Query(ctx context.Context, soql string) ([]Record, error) {
	return c.queryPages(ctx, c.QueryPath(soql))
}

// queryPages reads a query's pages from its first URL on.
func (c *Client) queryPages(ctx context.Context, path string) ([]Record, error) {
	var header map[string]string
	if c.cfg.QueryBatchSize > 0 {
		header = map[string]string{"Sforce-Query-Options": "batchSize=" + strconv.Itoa(c.cfg.QueryBatchSize)}
	}
	var out []Record
	for page := 0; ; page++ {
		if page >= maxQueryPages {
			return nil, fmt.Errorf("salesforce: query did not finish after %d pages", page)
		}
		resp, err := c.do(ctx, "GET", path, nil, header)
		if err != nil {
			return nil, err
		}
		var p queryPage
		if err := json.Unmarshal(resp.body, &p); err != nil {
			return nil, fmt.Errorf("salesforce: decode query page: %w", err)
		}
		if out == nil {
			out = make([]Record, 0, p.TotalSize)
		}
		out = append(out, p.Records...)
		if p.Done || p.NextRecordsURL == "" {
			return out, nil
		}
		path, err = instancePath(p.NextRecordsURL)
		if err != nil {
			return nil, err
		}
	}
}

// instancePath reduces nextRecordsUrl to a path: it is documented as relative, and
// keeping only the path lets a re-authentication move us to a new instance URL.
func instancePath(next string) (string, error) {
	if strings.HasPrefix(next, "/") {
		return next, nil
	}
	u, err := url.Parse(next)
	if err != nil || u.Path == "" {
		return "", fmt.Errorf("salesforce: bad nextRecordsUrl %q", next)
	}
	return u.RequestURI(), nil
}

// Quote returns s as a SOQL string literal in single quotes, escaping backslash,
// quotes and control characters so that input can neither break nor extend the query.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

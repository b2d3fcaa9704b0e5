package salesforce

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// MaxCollectionRecords is how many records one sObject Collections request carries (§5.1).
const MaxCollectionRecords = 200

// Row is one record of a collections write: its type, its id (updates only) and its fields.
type Row struct {
	Type   string
	ID     string
	Fields map[string]any
}

// SaveResult is one record's outcome in a collections write: its id, or its own failure.
type SaveResult struct {
	ID string
	// Created is true when an upsert inserted the record.
	Created bool
	// Err is the record's own rejection (*APIError with Salesforce's statusCode and message);
	// the other records of the request are unaffected (allOrNone=false).
	Err error
}

// collectionResult is one element of a collections answer; its errors carry statusCode, not
// errorCode (§5.1).
type collectionResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Created bool   `json:"created"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

// CreateMany inserts up to 200 records in ONE API call (POST composite/sobjects,
// allOrNone=false): each record succeeds or fails alone, results in the order of rows. Lead
// rows get Sforce-Auto-Assign per opts (FALSE by default); the header covers the whole
// request, so Leads for the assignment rule and Leads with an owner go in separate calls.
func (c *Client) CreateMany(ctx context.Context, rows []Row, opts ...WriteOption) ([]SaveResult, error) {
	return c.collection(ctx, http.MethodPost, c.dataPath()+"/composite/sobjects", rows, false, opts)
}

// UpdateMany updates up to 200 records, of mixed types, in ONE API call (PATCH
// composite/sobjects, allOrNone=false); results in the order of rows.
func (c *Client) UpdateMany(ctx context.Context, rows []Row, opts ...WriteOption) ([]SaveResult, error) {
	return c.collection(ctx, http.MethodPatch, c.dataPath()+"/composite/sobjects", rows, true, opts)
}

// UpsertMany inserts or updates up to 200 records of one type on an external-id field, each
// row carrying its key in Fields[extField], in ONE API call; SaveResult.Created tells which.
func (c *Client) UpsertMany(ctx context.Context, sobject, extField string, rows []Row, opts ...WriteOption) ([]SaveResult, error) {
	for i, r := range rows {
		if !strings.EqualFold(r.Type, sobject) || r.Fields[extField] == nil {
			return nil, fmt.Errorf("salesforce: upsert row %d: want a %s with %s set", i, sobject, extField)
		}
	}
	path := c.dataPath() + "/composite/sobjects/" + url.PathEscape(sobject) + "/" + url.PathEscape(extField)
	return c.collection(ctx, http.MethodPatch, path, rows, false, opts)
}

// collection sends one collections request and pairs each answer with its row.
func (c *Client) collection(ctx context.Context, method, path string, rows []Row, withID bool, opts []WriteOption) ([]SaveResult, error) {
	if n := len(rows); n == 0 || n > MaxCollectionRecords {
		return nil, fmt.Errorf("salesforce: a collection takes 1..%d records, got %d", MaxCollectionRecords, n)
	}
	// Salesforce writes each run of one type as a chunk, at most 10 a request: sort by type,
	// keeping each row's position to answer in the caller's order.
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rows[a].Type, rows[b].Type) })
	records := make([]map[string]any, len(rows))
	var header map[string]string
	for k, i := range order {
		r := rows[i]
		rec := make(map[string]any, len(r.Fields)+2)
		for f, v := range r.Fields {
			rec[f] = v
		}
		rec["attributes"] = map[string]string{"type": r.Type}
		if withID {
			rec["id"] = r.ID
		}
		records[k] = rec
		if strings.EqualFold(r.Type, "Lead") {
			header = writeHeaders("Lead", opts)
		}
	}
	resp, err := c.do(ctx, method, path, map[string]any{"allOrNone": false, "records": records}, header)
	if err != nil {
		return nil, err
	}
	var answers []collectionResult
	if err := json.Unmarshal(resp.body, &answers); err != nil {
		return nil, fmt.Errorf("salesforce: decode collection response: %w", err)
	}
	if len(answers) != len(rows) {
		return nil, &APIError{Status: http.StatusBadGateway, Message: fmt.Sprintf("collection answered %d of %d records", len(answers), len(rows))}
	}
	out := make([]SaveResult, len(rows))
	for k, a := range answers {
		res := SaveResult{ID: a.ID, Created: a.Created}
		if !a.Success {
			e := &APIError{Status: http.StatusBadRequest, Message: "rejected without a reason"}
			if len(a.Errors) > 0 {
				msgs := make([]string, 0, len(a.Errors))
				for _, x := range a.Errors {
					msgs = append(msgs, x.Message)
				}
				e.Code, e.Fields, e.Message = a.Errors[0].StatusCode, a.Errors[0].Fields, strings.Join(msgs, "; ")
			}
			if e.Code == CodeEntityIsDeleted || e.Code == CodeNotFound {
				e.Status = http.StatusNotFound
			}
			res.Err = e
		}
		out[order[k]] = res
	}
	return out, nil
}

package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// autoAssignHeader is Salesforce's per-request switch for lead assignment rules; absent means TRUE.
const autoAssignHeader = "Sforce-Auto-Assign"

// writeOptions collects WriteOption values.
type writeOptions struct {
	autoAssign string // "" = not chosen by the caller
	// upsertField and upsertValue make CreateAndRead an upsert on an external-id field.
	upsertField, upsertValue string
}

// WriteOption adjusts one write request.
type WriteOption func(*writeOptions)

func options(opts []WriteOption) writeOptions {
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// UpsertOn makes CreateAndRead an upsert on the external-id field: a retry finds the record
// an earlier attempt made instead of creating a second one.
func UpsertOn(field, value string) WriteOption {
	return func(o *writeOptions) { o.upsertField, o.upsertValue = field, value }
}

// AutoAssign sends Sforce-Auto-Assign: TRUE (run the active assignment rule) or FALSE.
func AutoAssign(on bool) WriteOption {
	return func(o *writeOptions) {
		if on {
			o.autoAssign = "TRUE"
		} else {
			o.autoAssign = "FALSE"
		}
	}
}

// AssignmentRuleID sends Sforce-Auto-Assign: <id>, running that assignment rule.
func AssignmentRuleID(id string) WriteOption {
	return func(o *writeOptions) { o.autoAssign = id }
}

// writeHeaders returns the Sforce-Auto-Assign header for a write on sobject.
// Lead writes always carry it, FALSE by default, because an absent header means
// TRUE and would let an assignment rule silently overwrite the owner we set.
func writeHeaders(sobject string, opts []WriteOption) map[string]string {
	o := options(opts)
	if o.autoAssign == "" {
		if !strings.EqualFold(sobject, "Lead") {
			return nil
		}
		o.autoAssign = "FALSE"
	}
	return map[string]string{autoAssignHeader: o.autoAssign}
}

// saveResult is the body of a create/upsert answer.
type saveResult struct {
	ID      string      `json:"id"`
	Success bool        `json:"success"`
	Errors  []restError `json:"errors"`
	Created *bool       `json:"created"`
}

// err converts an unsuccessful save result into *APIError.
func (s saveResult) err(status int) error {
	if s.Success || len(s.Errors) == 0 {
		return nil
	}
	e := &APIError{Status: status, Code: s.Errors[0].ErrorCode, Fields: s.Errors[0].Fields}
	msgs := make([]string, 0, len(s.Errors))
	for _, x := range s.Errors {
		msgs = append(msgs, x.Message)
	}
	e.Message = strings.Join(msgs, "; ")
	return e
}

// Get reads one record; with no fields Salesforce returns all of them.
func (c *Client) Get(ctx context.Context, sobject, id string, fields ...string) (Record, error) {
	path := c.SObjectPath(sobject, id)
	if len(fields) > 0 {
		path += "?fields=" + encodeQueryValue(strings.Join(fields, ","))
	}
	resp, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(resp.body, &r); err != nil {
		return nil, fmt.Errorf("salesforce: decode %s %s: %w", sobject, id, err)
	}
	return r, nil
}

// Create inserts a record and returns its id.
func (c *Client) Create(ctx context.Context, sobject string, fields map[string]any, opts ...WriteOption) (string, error) {
	resp, err := c.do(ctx, http.MethodPost, c.SObjectPath(sobject)+"/", fields, writeHeaders(sobject, opts))
	if err != nil {
		return "", err
	}
	var sr saveResult
	if err := json.Unmarshal(resp.body, &sr); err != nil {
		return "", fmt.Errorf("salesforce: decode create %s: %w", sobject, err)
	}
	if err := sr.err(resp.status); err != nil {
		return "", err
	}
	if sr.ID == "" {
		return "", fmt.Errorf("salesforce: create %s: no id in response", sobject)
	}
	return sr.ID, nil
}

// Update changes the given fields of one record (PATCH; 204 No Content).
func (c *Client) Update(ctx context.Context, sobject, id string, fields map[string]any, opts ...WriteOption) error {
	_, err := c.do(ctx, http.MethodPatch, c.SObjectPath(sobject, id), fields, writeHeaders(sobject, opts))
	return err
}

// UpsertResult is the outcome of an upsert by external id.
type UpsertResult struct {
	ID      string // record id; empty when Salesforce answered 204 without a body
	Created bool   // true when a new record was inserted (201)
}

// Upsert inserts or updates the record whose external-id field extField equals
// extValue. Several matches (HTTP 300) return *APIError{Status: 300, Code: "MULTIPLE_CHOICES"}
// with the matching record URLs in Message; nothing is written in that case.
func (c *Client) Upsert(ctx context.Context, sobject, extField, extValue string, fields map[string]any, opts ...WriteOption) (UpsertResult, error) {
	resp, err := c.do(ctx, http.MethodPatch, c.SObjectPath(sobject, extField, extValue), fields, writeHeaders(sobject, opts))
	if err != nil {
		return UpsertResult{}, err
	}
	switch {
	case resp.status == http.StatusMultipleChoices:
		var urls []string
		_ = json.Unmarshal(resp.body, &urls) // body is a JSON array of record URLs; best effort for the message
		return UpsertResult{}, &APIError{Status: resp.status, Code: CodeMultipleChoices,
			Message: fmt.Sprintf("%s %s=%q matches several records: %s", sobject, extField, extValue, strings.Join(urls, ", "))}
	case resp.status == http.StatusNoContent || len(resp.body) == 0:
		return UpsertResult{Created: false}, nil
	}
	var sr saveResult
	if err := json.Unmarshal(resp.body, &sr); err != nil {
		return UpsertResult{}, fmt.Errorf("salesforce: decode upsert %s: %w", sobject, err)
	}
	if err := sr.err(resp.status); err != nil {
		return UpsertResult{}, err
	}
	created := resp.status == http.StatusCreated
	if sr.Created != nil {
		created = *sr.Created
	}
	return UpsertResult{ID: sr.ID, Created: created}, nil
}

// Delete removes one record (204 No Content).
func (c *Client) Delete(ctx context.Context, sobject, id string) error {
	_, err := c.do(ctx, http.MethodDelete, c.SObjectPath(sobject, id), nil, nil)
	return err
}

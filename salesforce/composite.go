package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// MaxCompositeRequests is Salesforce's limit of subrequests per composite call.
const MaxCompositeRequests = 25

// CompositeRequest is the body of POST /composite.
type CompositeRequest struct {
	AllOrNone bool         `json:"allOrNone"`
	Requests  []SubRequest `json:"compositeRequest"`
}

// SubRequest is one composite subrequest; URL is instance-relative (see QueryPath,
// SObjectPath) and may reference earlier results as @{referenceId.field}.
type SubRequest struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	ReferenceID string            `json:"referenceId"`
	Body        any               `json:"body,omitempty"`
	HTTPHeaders map[string]string `json:"httpHeaders,omitempty"`
}

// SubResponse is one composite subresponse.
type SubResponse struct {
	Body           json.RawMessage   `json:"body"`
	HTTPHeaders    map[string]string `json:"httpHeaders"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	ReferenceID    string            `json:"referenceId"`
}

// Err returns the subresponse's failure as *APIError (nil when status < 300).
func (s SubResponse) Err() error {
	if s.HTTPStatusCode < 300 {
		return nil
	}
	if s.HTTPStatusCode == http.StatusMultipleChoices {
		return &APIError{Status: s.HTTPStatusCode, Code: CodeMultipleChoices, Message: string(s.Body)}
	}
	return parseAPIError(s.HTTPStatusCode, http.Header{}, s.Body)
}

// Records decodes the records of a query subresponse (its first page only).
func (s SubResponse) Records() ([]Record, error) {
	if err := s.Err(); err != nil {
		return nil, err
	}
	var p queryPage
	if err := json.Unmarshal(s.Body, &p); err != nil {
		return nil, fmt.Errorf("salesforce: decode %s query result: %w", s.ReferenceID, err)
	}
	return p.Records, nil
}

// ID returns the "id" of a create subresponse ("" otherwise).
func (s SubResponse) ID() string {
	var sr saveResult
	_ = json.Unmarshal(s.Body, &sr) // other bodies (arrays, empty) simply have no id
	return sr.ID
}

// Composite sends up to 25 subrequests as ONE API call. Lead writes inside get
// Sforce-Auto-Assign per opts (FALSE by default) both on the call and on each
// such subrequest that does not set the header itself. Subrequest failures are
// reported per SubResponse (see SubResponse.Err), not as the returned error.
func (c *Client) Composite(ctx context.Context, req CompositeRequest, opts ...WriteOption) ([]SubResponse, error) {
	if n := len(req.Requests); n == 0 || n > MaxCompositeRequests {
		return nil, fmt.Errorf("salesforce: composite needs 1..%d subrequests, got %d", MaxCompositeRequests, n)
	}
	var header map[string]string
	subs := make([]SubRequest, len(req.Requests))
	for i, sr := range req.Requests {
		if isLeadWrite(sr) {
			header = writeHeaders("Lead", opts)
			if _, set := sr.HTTPHeaders[autoAssignHeader]; !set {
				h := make(map[string]string, len(sr.HTTPHeaders)+1)
				for k, v := range sr.HTTPHeaders {
					h[k] = v
				}
				h[autoAssignHeader] = header[autoAssignHeader]
				sr.HTTPHeaders = h
			}
		}
		subs[i] = sr
	}
	req.Requests = subs
	resp, err := c.do(ctx, http.MethodPost, c.dataPath()+"/composite", req, header)
	if err != nil {
		return nil, err
	}
	var out struct {
		CompositeResponse []SubResponse `json:"compositeResponse"`
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, fmt.Errorf("salesforce: decode composite response: %w", err)
	}
	return out.CompositeResponse, nil
}

// isLeadWrite reports a subrequest that creates, updates or upserts a Lead.
func isLeadWrite(sr SubRequest) bool {
	switch strings.ToUpper(sr.Method) {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
	default:
		return false
	}
	path, _, _ := strings.Cut(sr.URL, "?")
	i := strings.Index(strings.ToLower(path), "/sobjects/lead")
	if i < 0 {
		return false
	}
	rest := path[i+len("/sobjects/lead"):]
	return rest == "" || rest[0] == '/'
}

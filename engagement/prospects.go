package engagement

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// MaxQueryLimit is the largest page size v5 accepts.
const MaxQueryLimit = 1000

// Prospect is an Account Engagement prospect. Its JSON tags are the one list of the fields this
// client reads: the v5 fields parameter is built from them. JSON nulls decode as zero values.
type Prospect struct {
	ID                  int64     `json:"id"`
	Email               string    `json:"email"`
	FirstName           string    `json:"firstName"`
	LastName            string    `json:"lastName"`
	Company             string    `json:"company"`
	JobTitle            string    `json:"jobTitle"`
	Phone               string    `json:"phone"`
	AssignedToID        int64     `json:"assignedToId"`
	SalesforceID        string    `json:"salesforceId"`
	SalesforceLeadID    string    `json:"salesforceLeadId"`
	SalesforceContactID string    `json:"salesforceContactId"`
	SalesforceOwnerID   string    `json:"salesforceOwnerId"`
	CreatedAt           time.Time `json:"createdAt"`
	UpdatedAt           time.Time `json:"updatedAt"`
	IsDeleted           bool      `json:"isDeleted"`
}

// User is an Account Engagement user; SalesforceID maps it to a Salesforce User (may be "").
// JSON nulls decode as zero values.
type User struct {
	ID           int64  `json:"id"`
	Email        string `json:"email"`
	SalesforceID string `json:"salesforceId"`
}

// The fields parameters, from the structs' tags.
var (
	prospectFieldList = jsonNames[Prospect]()
	userFieldList     = jsonNames[User]()
)

// ProspectFields lists the prospect fields this client reads (the v5 fields parameter).
var ProspectFields = strings.Split(prospectFieldList, ",")

// jsonNames joins the JSON names of T's fields with commas.
func jsonNames[T any]() string {
	t := reflect.TypeFor[T]()
	names := make([]string, t.NumField())
	for i := range t.NumField() {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return strings.Join(names, ",")
}

// UnmarshalJSON accepts "" as well as null for the times (encoding/json already leaves every
// other field at its zero value for null), with "Z" or an offset.
func (p *Prospect) UnmarshalJSON(b []byte) error {
	type plain Prospect
	*p = Prospect{}
	w := struct {
		*plain
		CreatedAt *string `json:"createdAt"`
		UpdatedAt *string `json:"updatedAt"`
	}{plain: (*plain)(p)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var err error
	if p.CreatedAt, err = parseTime(w.CreatedAt); err != nil {
		return fmt.Errorf("engagement: prospect createdAt: %w", err)
	}
	if p.UpdatedAt, err = parseTime(w.UpdatedAt); err != nil {
		return fmt.Errorf("engagement: prospect updatedAt: %w", err)
	}
	return nil
}

// deref returns *p or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// parseTime parses RFC 3339 with "Z" or an offset; null or "" is the zero time.
func parseTime(s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, *s)
}

// ProspectQuery selects prospects changed since a time, oldest change first.
type ProspectQuery struct {
	UpdatedAfter   time.Time // inclusive (updatedAtAfterOrEqualTo); zero = no filter
	Limit          int       // page size (default 200 server-side, max 1000)
	PageToken      string    // from a previous page; when set, every other field is ignored
	IncludeDeleted bool      // also return deleted prospects (deleted=all)
	ID             int64     // only this prospect (idGreaterThanOrEqualTo and idLessThanOrEqualTo); 0 = any
	IDFrom, IDTo   int64     // only ids in [IDFrom, IDTo] (the same filters); 0 = unbounded
	Email          string    // only prospects with this email (the documented email filter); "" = any
}

// ProspectPage is one page of a prospect query.
type ProspectPage struct {
	Prospects     []Prospect
	NextPageToken string // "" on the last page
}

// prospectsPath is the v5 prospects collection.
const prospectsPath = "/api/v5/objects/prospects"

// fieldsQuery is the mandatory fields parameter on its own.
func fieldsQuery(fields string) url.Values { return url.Values{"fields": {fields}} }

// GetProspect reads one prospect; a deleted or unknown id gives an error of kind Gone (see
// GetDeletedProspect to tell them apart).
func (c *Client) GetProspect(ctx context.Context, id int64) (Prospect, error) {
	var p Prospect
	err := c.do(ctx, http.MethodGet, prospectsPath+"/"+strconv.FormatInt(id, 10), fieldsQuery(prospectFieldList), nil, &p)
	return p, err
}

// QueryProspects returns one page of prospects ordered by updatedAt. The filter
// uses the inclusive updatedAtAfterOrEqualTo because v5 timestamps have whole
// seconds: an exclusive filter would skip changes made in the cursor's second.
func (c *Client) QueryProspects(ctx context.Context, q ProspectQuery) (ProspectPage, error) {
	params := fieldsQuery(prospectFieldList)
	if q.PageToken != "" {
		// v5 rejects a page-token request that repeats the filters.
		params.Set("nextPageToken", q.PageToken)
	} else {
		params.Set("orderBy", "updatedAt")
		if q.Limit > 0 {
			params.Set("limit", strconv.Itoa(min(q.Limit, MaxQueryLimit)))
		}
		if !q.UpdatedAfter.IsZero() {
			params.Set("updatedAtAfterOrEqualTo", q.UpdatedAfter.Format(time.RFC3339))
		}
		if q.IncludeDeleted {
			params.Set("deleted", "all")
		}
		if q.Email != "" {
			params.Set("email", q.Email)
		}
		if q.IDFrom != 0 {
			params.Set("idGreaterThanOrEqualTo", strconv.FormatInt(q.IDFrom, 10))
		}
		if q.IDTo != 0 {
			params.Set("idLessThanOrEqualTo", strconv.FormatInt(q.IDTo, 10))
		}
		if q.ID != 0 {
			id := strconv.FormatInt(q.ID, 10)
			params.Set("idGreaterThanOrEqualTo", id)
			params.Set("idLessThanOrEqualTo", id)
		}
	}
	var out struct {
		Values        []Prospect `json:"values"`
		NextPageToken *string    `json:"nextPageToken"`
	}
	if err := c.do(ctx, http.MethodGet, prospectsPath, params, nil, &out); err != nil {
		return ProspectPage{}, err
	}
	return ProspectPage{Prospects: out.Values, NextPageToken: deref(out.NextPageToken)}, nil
}

// GetDeletedProspect finds a prospect in the recycle bin, which a read by id does not show:
// a query filtered on its id with deleted=all. found is false for an id that never existed.
func (c *Client) GetDeletedProspect(ctx context.Context, id int64) (p Prospect, found bool, err error) {
	page, err := c.QueryProspects(ctx, ProspectQuery{ID: id, IncludeDeleted: true, Limit: 1})
	if err != nil || len(page.Prospects) == 0 {
		return Prospect{}, false, err
	}
	return page.Prospects[0], true, nil
}

// UpdateProspect PATCHes only the given fields (v5 names, e.g. "salesforceLeadId")
// and returns the updated prospect. An assignedToId of 0 is sent as null (unassign).
func (c *Client) UpdateProspect(ctx context.Context, id int64, fields map[string]any) (Prospect, error) {
	var p Prospect
	err := c.do(ctx, http.MethodPatch, prospectsPath+"/"+strconv.FormatInt(id, 10), fieldsQuery(prospectFieldList), writeBody(fields), &p)
	return p, err
}

// CreateProspect creates a prospect (email required) and returns it.
func (c *Client) CreateProspect(ctx context.Context, fields map[string]any) (Prospect, error) {
	var p Prospect
	err := c.do(ctx, http.MethodPost, prospectsPath, fieldsQuery(prospectFieldList), writeBody(fields), &p)
	return p, err
}

// UpsertLatestByEmail is the record action POST .../prospects/do/upsertLatestByEmail, v5's one
// idempotent write: it writes fields (v5 names; userId assigns) over the most recently active
// prospect whose email is email, or creates one with them when there is none, and returns it.
// A retried call never makes a second prospect. The body is {"matchEmail","prospect",
// "fields","secondaryDeletedSearch"} (prospect-v5, "Transitioning to V5?"); fields asks for
// every field this client reads. secondaryDeletedSearch is true (a business unit that allows
// several prospects per email restores its latest deleted one rather than making another;
// one that does not restores it regardless). The answer does not say whether the prospect
// was made or found: compare its CreatedAt with a time before the call.
func (c *Client) UpsertLatestByEmail(ctx context.Context, email string, fields map[string]any) (Prospect, error) {
	prospect := writeBody(fields)
	if _, ok := prospect["email"]; !ok {
		prospect["email"] = email
	}
	body := map[string]any{"matchEmail": email, "prospect": prospect, "fields": ProspectFields, "secondaryDeletedSearch": true}
	var p Prospect
	err := c.do(ctx, http.MethodPost, prospectsPath+"/do/upsertLatestByEmail", nil, body, &p)
	return p, err
}

// UndeleteProspect restores from the recycle bin the deleted prospect with this email, through
// the record action "Undelete (Record in deleted state with Latest Activity At by Email)" of
// prospect-v5 (POST .../do/undelete). Its body and answer are not documented beyond that table:
// {"email"} in, the prospect out, as the other record actions answer (docs/engagement.md).
func (c *Client) UndeleteProspect(ctx context.Context, email string) (Prospect, error) {
	var p Prospect
	err := c.do(ctx, http.MethodPost, prospectsPath+"/do/undelete", fieldsQuery(prospectFieldList), map[string]any{"email": email}, &p)
	return p, err
}

// DeleteProspect deletes a prospect (it moves to the recycle bin: isDeleted=true).
func (c *Client) DeleteProspect(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, prospectsPath+"/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// GetUser reads one user with its Salesforce user id.
func (c *Client) GetUser(ctx context.Context, id int64) (User, error) {
	var u User
	err := c.do(ctx, http.MethodGet, "/api/v5/objects/users/"+strconv.FormatInt(id, 10), fieldsQuery(userFieldList), nil, &u)
	return u, err
}

// writeBody copies fields, turning an assignedToId of 0 into null: AE ids start
// at 1, and 0 is how Prospect spells "unassigned".
func writeBody(fields map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		if k == "assignedToId" && isZeroID(v) {
			v = nil
		}
		out[k] = v
	}
	return out
}

// isZeroID reports a numeric zero of any integer or float type.
func isZeroID(v any) bool {
	switch x := v.(type) {
	case int:
		return x == 0
	case int32:
		return x == 0
	case int64:
		return x == 0
	case float64:
		return x == 0
	case json.Number:
		return x.String() == "0"
	}
	return false
}

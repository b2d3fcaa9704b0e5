package engagement

import (
	"context"
	"net/http"
	"strconv"
)

// usersPageLimit is the page size for the users query (v5's maximum is 1000).
const usersPageLimit = 1000

// ListUsers reads every user (with its Salesforce user id), following page tokens; the sync
// needs it to map a Salesforce record owner back to an Account Engagement user.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var all []User
	q := fieldsQuery(userFieldList)
	q.Set("limit", strconv.Itoa(usersPageLimit))
	for {
		var page struct {
			Values        []User `json:"values"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v5/objects/users", q, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Values...)
		if page.NextPageToken == "" {
			return all, nil
		}
		// A page-token request may carry nothing but fields and the token.
		q = fieldsQuery(userFieldList)
		q.Set("nextPageToken", page.NextPageToken)
	}
}

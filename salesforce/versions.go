package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Version is one REST API version an org offers.
type Version struct {
	Label   string `json:"label"`
	URL     string `json:"url"`
	Version string `json:"version"`
}

// Versions lists the REST API versions the org offers (GET /services/data/ on its instance).
// The resource needs no token and does not count against the daily limit; the instance URL
// comes from the token, so a client that has not authenticated yet does so first.
func (c *Client) Versions(ctx context.Context) ([]Version, error) {
	_, instance, err := c.AccessToken(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, instance+"/services/data/", nil)
	if err != nil {
		return nil, fmt.Errorf("salesforce: versions: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("salesforce: versions: %w", err)
	}
	defer res.Body.Close()
	var out []Version
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("salesforce: versions: HTTP %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("salesforce: decode versions: %w", err)
	}
	return out, nil
}

// ErrVersionNotOffered means the org does not offer the configured API version.
var ErrVersionNotOffered = errors.New("API version not offered by this org")

// CheckVersion fails clearly when the org does not offer the configured API version, instead
// of every call failing later with a 404.
func (c *Client) CheckVersion(ctx context.Context) error {
	versions, err := c.Versions(ctx)
	if err != nil {
		return err
	}
	offered := make([]string, len(versions))
	for i, v := range versions {
		offered[i] = v.Version
	}
	if slices.Contains(offered, c.version) {
		return nil
	}
	span := "none"
	if len(offered) > 0 {
		span = offered[0] + " … " + offered[len(offered)-1]
	}
	return fmt.Errorf("salesforce: %w: %s (offered: %s)", ErrVersionNotOffered, c.version, span)
}

// APIVersion is the REST API version the client speaks, without the "v".
func (c *Client) APIVersion() string { return strings.TrimPrefix(c.version, "v") }

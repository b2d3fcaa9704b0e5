package salesforce

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2/jws"
)

// jwtGrantType is the OAuth 2.0 JWT bearer grant (RFC 7523).
const jwtGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// jwtLifetime keeps assertions short-lived: Salesforce allows up to 3 minutes, and the margin
// absorbs a clock running ahead of Salesforce's.
const jwtLifetime = 2 * time.Minute

// tokenFetchTimeout bounds a shared refresh, which runs detached from any one
// caller's context so that a cancelled caller cannot fail the others waiting on it.
const tokenFetchTimeout = 2 * time.Minute

// tokenCall is one in-flight token request shared by every caller that needs a token meanwhile.
type tokenCall struct {
	done     chan struct{}
	token    string
	instance string
	err      error
}

// AccessToken returns the cached access token and instance URL, fetching a new
// one if there is none. Concurrent callers share a single token request.
func (c *Client) AccessToken(ctx context.Context) (token, instanceURL string, err error) {
	c.mu.Lock()
	if c.token != "" {
		token, instanceURL = c.token, c.instance
		c.mu.Unlock()
		return token, instanceURL, nil
	}
	call := c.inflight
	if call == nil {
		call = &tokenCall{done: make(chan struct{})}
		c.inflight = call
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenFetchTimeout)
		go func() {
			defer cancel()
			call.token, call.instance, call.err = c.fetchToken(fetchCtx)
			c.mu.Lock()
			if call.err == nil {
				c.token, c.instance = call.token, call.instance
			}
			c.inflight = nil
			c.mu.Unlock()
			close(call.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.token, call.instance, call.err
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
}

// InvalidateToken forgets token if it is still the cached one. Comparing first
// means a caller holding a stale token cannot throw away a fresh one another
// caller just fetched, which is what keeps concurrent 401s to a single refresh.
func (c *Client) InvalidateToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if token != "" && c.token == token {
		c.token, c.instance = "", ""
	}
}

// tokenResponse is Salesforce's token endpoint answer; it has no expires_in,
// so a token is kept until a 401 says otherwise.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	InstanceURL string `json:"instance_url"`
	TokenType   string `json:"token_type"`
	IssuedAt    string `json:"issued_at"`
	ID          string `json:"id"`
}

// fetchToken runs the configured OAuth flow once.
func (c *Client) fetchToken(ctx context.Context) (string, string, error) {
	form := url.Values{}
	if c.cfg.Username != "" {
		assertion, err := c.jwtAssertion()
		if err != nil {
			return "", "", err
		}
		form.Set("grant_type", jwtGrantType)
		form.Set("assertion", assertion)
	} else {
		form.Set("grant_type", "client_credentials")
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.loginURL+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", fmt.Errorf("salesforce: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("salesforce: token request: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("salesforce: token response: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return "", "", parseAPIError(res.StatusCode, res.Header, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", "", fmt.Errorf("salesforce: token response: %w", err)
	}
	if tr.AccessToken == "" || tr.InstanceURL == "" {
		return "", "", errors.New("salesforce: token response lacks access_token or instance_url")
	}
	if id := userOfIdentity(tr.ID); id != "" {
		c.mu.Lock()
		c.userID = id
		c.mu.Unlock()
	}
	return tr.AccessToken, strings.TrimRight(tr.InstanceURL, "/"), nil
}

// UserID is the id of the user the client acts as ("005..."), learned from the last token
// response; "" before the first token, or if the response named no user. Every record the
// client writes carries it as LastModifiedById, which is how a reader of changes tells the
// integration's own writes from other people's.
func (c *Client) UserID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userID
}

// userOfIdentity is the user id at the end of a token response's identity URL,
// https://login.salesforce.com/id/<orgId>/<userId>; "" if it is not one.
func userOfIdentity(identity string) string {
	u, err := url.Parse(identity)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "id" {
		return ""
	}
	id := parts[2]
	if (len(id) != 15 && len(id) != 18) || !strings.HasPrefix(id, "005") {
		return ""
	}
	return id
}

// jwtAssertion builds the RS256-signed assertion: iss=client id, sub=username, aud (see
// audience), exp (and iat), signed with golang.org/x/oauth2/jws.
func (c *Client) jwtAssertion() (string, error) {
	now := c.now()
	assertion, err := jws.Encode(&jws.Header{Algorithm: "RS256", Typ: "JWT"}, &jws.ClaimSet{
		Iss: c.cfg.ClientID, Sub: c.cfg.Username, Aud: audience(c.loginURL),
		Iat: now.Unix(), Exp: now.Add(jwtLifetime).Unix(),
	}, c.cfg.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("salesforce: sign JWT: %w", err)
	}
	return assertion, nil
}

// Salesforce's generic login hosts: the JWT audiences it documents, and hosts that do not
// support the client-credentials flow (docs/salesforce.md).
const (
	productionLogin = "https://login.salesforce.com"
	sandboxLogin    = "https://test.salesforce.com"
)

func isGenericLoginHost(host string) bool {
	return strings.EqualFold(host, "login.salesforce.com") || strings.EqualFold(host, "test.salesforce.com")
}

// audience is the JWT's aud: Salesforce documents login.salesforce.com (production) and
// test.salesforce.com (sandboxes) whatever host the token is requested from, so a My Domain
// login URL maps to one of them. Any other host (a local emulator) is its own audience.
func audience(loginURL string) string {
	u, err := url.Parse(loginURL)
	if err != nil {
		return loginURL
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "test.salesforce.com" || strings.HasSuffix(host, ".sandbox.my.salesforce.com"):
		return sandboxLogin
	case host == "login.salesforce.com" || strings.HasSuffix(host, ".my.salesforce.com"):
		return productionLogin
	}
	return loginURL
}

// LoadPrivateKey reads an RSA private key from a PEM file (PKCS#1 or PKCS#8).
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("salesforce: read private key: %w", err)
	}
	return ParsePrivateKey(b)
}

// ParsePrivateKey decodes an RSA private key from PEM bytes (PKCS#1 or PKCS#8).
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("salesforce: private key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("salesforce: private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("salesforce: private key is %T, want RSA", k)
	}
	return rk, nil
}

package salesforce

import "testing"

// Salesforce documents login.salesforce.com and test.salesforce.com as the JWT audience,
// whatever host the token is requested from (docs/domain.md §5.5).
func TestAudience(t *testing.T) {
	for login, want := range map[string]string{
		"https://login.salesforce.com":                productionLogin,
		"https://acme.my.salesforce.com":              productionLogin,
		"https://test.salesforce.com":                 sandboxLogin,
		"https://acme--uat.sandbox.my.salesforce.com": sandboxLogin,
		"http://127.0.0.1:8280":                       "http://127.0.0.1:8280",
		"https://ACME--Dev.Sandbox.My.Salesforce.com": sandboxLogin,
		"https://acme.my.salesforce.com.evil.example": "https://acme.my.salesforce.com.evil.example",
	} {
		if got := audience(login); got != want {
			t.Errorf("audience(%q) = %q, want %q", login, got, want)
		}
	}
}

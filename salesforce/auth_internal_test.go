package salesforce

import "testing"

// Salesforce documents login.salesforce.com and test.salesforce.com as the JWT audience,
// whatever host the token is requested from (docs/salesforce.md).
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

// The token response's id is the identity URL; its last segment is the user the token
// acts as (docs/salesforce.md).
func TestUserOfIdentity(t *testing.T) {
	for identity, want := range map[string]string{
		"https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS": "005xx000001SwiUAAS",
		"https://acme.my.salesforce.com/id/00Dxx0000001gPL/005xx000001SwiU":     "005xx000001SwiU",
		"http://127.0.0.1:8280/id/00D000000000001AAA/005000000000001AAA":        "005000000000001AAA",
		"":                                    "",
		"https://login.salesforce.com/id/00D": "",
		"https://login.salesforce.com/id/00Dxx0000001gPLEAY/00Gxx000001SwiUAAS": "",
		"https://login.salesforce.com/x/00Dxx0000001gPLEAY/005xx000001SwiUAAS":  "",
		"://bad": "",
	} {
		if got := userOfIdentity(identity); got != want {
			t.Errorf("userOfIdentity(%q) = %q, want %q", identity, got, want)
		}
	}
}

// Ids compare on their first 15 characters, case-sensitively, whichever form each is in.
func TestSameID(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"005000000000001AAA", "005000000000001AAA", true},
		{"005000000000001", "005000000000001AAA", true},
		{"005000000000001AAA", "005000000000002AAA", false},
		{"005000000000001aaa", "005000000000001AAA", true}, // the suffix only encodes case
		{"005a00000000001AAA", "005A00000000001AAA", false},
		{"", "005000000000001AAA", false},
		{"", "", true},
	} {
		if got := SameID(c.a, c.b); got != c.want {
			t.Errorf("SameID(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

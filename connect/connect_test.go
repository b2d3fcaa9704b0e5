package connect

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// Whether a server is configured follows the loaded client configuration, not the raw
// TEMPORAL_ADDRESS variable: a profile alone names a server.
func TestTemporalConfigured(t *testing.T) {
	dir := t.TempDir()
	toml := filepath.Join(dir, "temporal.toml")
	if err := os.WriteFile(toml, []byte("[profile.prod]\naddress = \"prod.example:7233\"\nnamespace = \"sync.acct\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	none := filepath.Join(dir, "missing.toml") // keeps the developer's own config out of the test
	for _, tc := range []struct {
		name       string
		env        map[string]string
		configured bool
		hostPort   string
		namespace  string
	}{
		{"nothing", map[string]string{"TEMPORAL_CONFIG_FILE": none}, false, "", ""},
		{"address", map[string]string{"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_ADDRESS": "t.example:7233"}, true, "t.example:7233", ""},
		{"profile only", map[string]string{"TEMPORAL_CONFIG_FILE": toml, "TEMPORAL_PROFILE": "prod"}, true, "prod.example:7233", "sync.acct"},
		{"address over profile", map[string]string{"TEMPORAL_CONFIG_FILE": toml, "TEMPORAL_PROFILE": "prod", "TEMPORAL_ADDRESS": "x:1"}, true, "x:1", "sync.acct"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, configured, err := Temporal(envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if configured != tc.configured || opts.HostPort != tc.hostPort || opts.Namespace != tc.namespace {
				t.Errorf("configured=%t hostPort=%q namespace=%q, want %t %q %q", configured, opts.HostPort, opts.Namespace, tc.configured, tc.hostPort, tc.namespace)
			}
		})
	}
	if _, _, err := Temporal(envOf(map[string]string{"TEMPORAL_CONFIG_FILE": toml, "TEMPORAL_PROFILE": "nope"})); err == nil {
		t.Error("an unknown profile must be an error, not a silent embedded server")
	}
}

func TestServicesFromEnv(t *testing.T) {
	dev := ServicesFromEnv(envOf(nil))
	if !dev.UseEmulator() || dev.LoginURL != DefaultLoginURL || dev.APIVersion != DefaultAPIVersion || dev.EmulatorURL != DefaultEmulatorURL || dev.Problems() != nil {
		t.Errorf("defaults = %+v, problems %v", dev, dev.Problems())
	}
	real := ServicesFromEnv(envOf(map[string]string{"SALESFORCE_CLIENT_ID": "id", "SALESFORCE_USERNAME": "u"}))
	problems := strings.Join(real.Problems(), "\n")
	for _, want := range []string{"SALESFORCE_PRIVATE_KEY_FILE", "ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID"} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems %q do not name %s", problems, want)
		}
	}
	cc := map[string]string{"SALESFORCE_CLIENT_ID": "id", "SALESFORCE_CLIENT_SECRET": "s", "ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID": "0Uv1"}
	if p := strings.Join(ServicesFromEnv(envOf(cc)).Problems(), "\n"); !strings.Contains(p, "SALESFORCE_LOGIN_URL") || !strings.Contains(p, "My Domain") {
		t.Errorf("client credentials at login.salesforce.com: problems %q, want SALESFORCE_LOGIN_URL named with My Domain", p)
	}
	cc["SALESFORCE_LOGIN_URL"] = "https://acme.my.salesforce.com"
	if p := ServicesFromEnv(envOf(cc)).Problems(); !slices.Equal(p, nil) {
		t.Errorf("complete client-credentials setup reports %v", p)
	}
	jwt := map[string]string{"SALESFORCE_CLIENT_ID": "id", "SALESFORCE_USERNAME": "u", "SALESFORCE_PRIVATE_KEY_FILE": "k.pem",
		"ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID": "0Uv1", "SALESFORCE_LOGIN_URL": "https://test.salesforce.com"}
	if p := ServicesFromEnv(envOf(jwt)).Problems(); !slices.Equal(p, nil) {
		t.Errorf("JWT bearer at test.salesforce.com reports %v", p)
	}
}

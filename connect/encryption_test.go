package connect

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/prospect-sync/prospect-sync/codec"
)

func TestEncryptionFromEnv(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	if err := os.WriteFile(file, []byte("# newest first\nk2="+k2+"\nk1="+k1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	none, err := EncryptionFromEnv(envOf(nil))
	if err != nil || none.Codec != nil || none.Handler("") != nil {
		t.Fatalf("no key: codec %v, err %v: want plain payloads", none.Codec, err)
	}
	if none.CodecEndpoint != DefaultCodecEndpoint {
		t.Errorf("endpoint %q, want %q", none.CodecEndpoint, DefaultCodecEndpoint)
	}
	var plain client.Options
	none.Apply(&plain)
	if plain.DataConverter != nil {
		t.Error("no key, yet a data converter")
	}

	for name, env := range map[string]map[string]string{
		"list": {EnvEncryptionKeys: "k2=" + k2 + ",k1=" + k1},
		"file": {EnvEncryptionKeyFile: file},
	} {
		e, err := EncryptionFromEnv(envOf(env))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if e.Codec == nil || strings.Join(e.Codec.KeyIDs(), ",") != "k2,k1" {
			t.Fatalf("%s: codec %v, want k2,k1", name, e.Codec)
		}
		var opts client.Options
		e.Apply(&opts)
		p, err := opts.DataConverter.ToPayload("x")
		if err != nil || string(p.Metadata[converter.MetadataEncoding]) != codec.Encoding || opts.FailureConverter == nil {
			t.Errorf("%s: payload %v, err %v, failure converter %v: want sealed payloads and failures", name, p, err, opts.FailureConverter)
		}
	}

	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"both":        {map[string]string{EnvEncryptionKeys: "k1=" + k1, EnvEncryptionKeyFile: file}, "not both"},
		"bad list":    {map[string]string{EnvEncryptionKeys: "k1=" + k1 + ",k1=" + k2}, EnvEncryptionKeys + `: key 2: duplicate key id "k1"`},
		"no file":     {map[string]string{EnvEncryptionKeyFile: filepath.Join(dir, "missing")}, EnvEncryptionKeyFile},
		"empty file":  {map[string]string{EnvEncryptionKeyFile: writeFile(t, dir, "empty", "# none\n")}, "no encryption key"},
		"bad origin":  {map[string]string{EnvCodecOrigins: "cloud.temporal.io"}, EnvCodecOrigins},
		"origin path": {map[string]string{EnvCodecOrigins: "https://cloud.temporal.io/namespaces"}, EnvCodecOrigins},
	} {
		_, err := EncryptionFromEnv(envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), k1) || strings.Contains(err.Error(), k2)) {
			t.Errorf("%s: error %q holds a key", name, err)
		}
	}

	e, err := EncryptionFromEnv(envOf(map[string]string{EnvEncryptionKeys: "k1=" + k1, EnvCodecOrigins: "https://cloud.temporal.io/, http://localhost:8080",
		EnvCodecAuthToken: " t0ken ", EnvCodecEndpoint: "https://codec.example.com/codec"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(e.CodecOrigins, " ") != "https://cloud.temporal.io http://localhost:8080" || e.CodecAuthToken != "t0ken" || e.CodecEndpoint != "https://codec.example.com/codec" {
		t.Errorf("settings %+v", e)
	}
	h := e.Handler("http://127.0.0.1:8233/")
	for origin, want := range map[string]int{"http://127.0.0.1:8233": http.StatusNoContent, "https://cloud.temporal.io": http.StatusNoContent,
		"http://localhost:8080": http.StatusNoContent, "http://127.0.0.1:9999": http.StatusForbidden} {
		req := httptest.NewRequest(http.MethodOptions, codec.Path+"/decode", nil)
		req.Header.Set("Origin", origin)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("preflight from %s: %d, want %d", origin, rec.Code, want)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A codec server bound beyond loopback needs a token: refused at start, with a message that
// says what to do.
func TestCodecAddressBeyondLoopbackNeedsToken(t *testing.T) {
	for _, tc := range []struct {
		address, token string
		ok             bool
	}{
		{"", "", true}, // the default, 127.0.0.1:8291
		{"127.0.0.1:0", "", true},
		{"localhost:8291", "", true},
		{"[::1]:8291", "", true},
		{"off", "", true},
		{"0.0.0.0:8291", "", false},
		{":8291", "", false},
		{"10.0.0.5:8291", "", false},
		{"0.0.0.0:8291", "s3cret", true},
	} {
		env := map[string]string{EnvCodecAddress: tc.address, EnvCodecAuthToken: tc.token, EnvEncryptionKeys: "k1=" + strings.Repeat("A", 43) + "="}
		_, err := EncryptionFromEnv(func(k string) string { return env[k] })
		if (err == nil) != tc.ok {
			t.Errorf("%s=%q with token %q: %v, want ok %v", EnvCodecAddress, tc.address, tc.token, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), EnvCodecAuthToken) {
			t.Errorf("error %q does not name %s", err, EnvCodecAuthToken)
		}
	}
}

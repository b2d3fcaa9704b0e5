package codec

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const uiOrigin = "http://127.0.0.1:8233"

func serve(t *testing.T, c *Codec, opts HandlerOptions) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(Path+"/", Handler(c, opts))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + Path
}

// TestHandlerRoundTrip drives the codec server with the SDK's own remote codec client, the
// protocol the Temporal UI and CLI speak.
func TestHandlerRoundTrip(t *testing.T) {
	c := newCodec(t, newKey(t, "k1"))
	endpoint := serve(t, c, HandlerOptions{AuthToken: "s3cret"})
	// The CLI's way: no browser Origin, so the token.
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: endpoint,
		ModifyRequest: func(r *http.Request) error { r.Header.Set("Authorization", "Bearer s3cret"); return nil }})
	in := samples(t)
	enc, err := remote.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(enc[0].Metadata[MetadataKeyID]) != "k1" {
		t.Fatalf("remote encode gave %v: want it sealed with k1", enc[0])
	}
	// What the server sealed, the local codec opens, and the other way round.
	local, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := remote.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if !proto.Equal(in[i], dec[i]) || !proto.Equal(in[i], local[i]) {
			t.Errorf("payload %d: remote %v, local %v, want %v", i, dec[i], local[i], in[i])
		}
	}
}

// post sends body to the endpoint as the UI does: JSON, with the namespace header.
func post(t *testing.T, url, origin, auth, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// TestHandlerDecodesUIRequest posts the JSON the UI sends (protojson, base64 bytes) and reads
// the decoded payload back.
func TestHandlerDecodesUIRequest(t *testing.T) {
	c := newCodec(t, newKey(t, "k1"))
	sealed, err := c.Encode(samples(t)[:1])
	if err != nil {
		t.Fatal(err)
	}
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	if err != nil {
		t.Fatal(err)
	}
	// The UI appends this query to the endpoint's path.
	resp := post(t, serve(t, c, HandlerOptions{Origins: []string{uiOrigin}})+"/decode?preserveStorageRefs=true", uiOrigin, "", string(body))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != uiOrigin {
		t.Errorf("Access-Control-Allow-Origin %q, want %q", got, uiOrigin)
	}
	var out commonpb.Payloads
	if err := protojson.Unmarshal(b, &out); err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
	if len(out.Payloads) != 1 || !proto.Equal(out.Payloads[0], samples(t)[0]) {
		t.Errorf("decoded %v", out.Payloads)
	}
}

func TestHandlerUnknownKeyIs400NamingKey(t *testing.T) {
	sealed, err := newCodec(t, newKey(t, "gone")).Encode(samples(t)[:1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	resp := post(t, serve(t, newCodec(t, newKey(t, "k1")), HandlerOptions{Origins: []string{uiOrigin}})+"/decode", uiOrigin, "", string(body))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"gone"`) {
		t.Errorf("status %d, body %q: want 400 naming the key id", resp.StatusCode, b)
	}
}

func TestHandlerCORS(t *testing.T) {
	url := serve(t, newCodec(t, newKey(t, "k1")), HandlerOptions{Origins: []string{uiOrigin}, AuthToken: "s3cret"})
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, url+"/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace,authorization,authorization-extras")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	// The preflight carries no token: it must pass without one.
	resp := preflight(uiOrigin)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("preflight status %d, want 204", resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != uiOrigin {
		t.Errorf("Access-Control-Allow-Origin %q, want exactly %q", got, uiOrigin)
	}
	allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"content-type", "x-namespace", "authorization", "authorization-extras"} {
		if !strings.Contains(allowed, h) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, h)
		}
	}
	if m := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
		t.Errorf("Access-Control-Allow-Methods %q lacks POST", m)
	}

	for _, other := range []string{"https://evil.example.com", "http://127.0.0.1:8234", "http://127.0.0.1:8233.evil.example.com"} {
		resp := preflight(other)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from %s: status %d, allow-origin %q: want 403 and no CORS headers", other, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		if resp := post(t, url+"/encode", other, "Bearer s3cret", `{"payloads":[]}`); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST from %s: status %d, want 403", other, resp.StatusCode)
		}
	}
}

func TestHandlerAuth(t *testing.T) {
	url := serve(t, newCodec(t, newKey(t, "k1")), HandlerOptions{Origins: []string{uiOrigin}, AuthToken: "s3cret"})
	body := `{"payloads":[{"metadata":{"encoding":"` + base64.StdEncoding.EncodeToString([]byte("json/plain")) + `"},"data":"` + base64.StdEncoding.EncodeToString([]byte(`"x"`)) + `"}]}`
	for _, tc := range []struct {
		origin, auth string
		want         int
	}{
		// No Origin (the CLI, a script, another container): the token or nothing.
		{"", "", http.StatusUnauthorized},
		{"", "Bearer wrong", http.StatusUnauthorized},
		{"", "Bearer s3cre", http.StatusUnauthorized},
		{"", "Basic s3cret", http.StatusUnauthorized},
		{"", "s3cret", http.StatusUnauthorized},
		{"", "Bearer s3cret", http.StatusOK},
		{"", "bearer s3cret", http.StatusOK},
		// An allowed UI's browser: served without a token (it cannot send one); a wrong one is refused.
		{uiOrigin, "", http.StatusOK},
		{uiOrigin, "Bearer wrong", http.StatusUnauthorized},
		{uiOrigin, "Bearer s3cret", http.StatusOK},
		// Another origin: never, token or not.
		{"https://evil.example.com", "Bearer s3cret", http.StatusForbidden},
	} {
		for _, path := range []string{"/encode", "/decode"} {
			resp := post(t, url+path, tc.origin, tc.auth, body)
			if resp.StatusCode != tc.want {
				b, _ := io.ReadAll(resp.Body)
				t.Errorf("%s from %q with Authorization %q: status %d (%s), want %d", path, tc.origin, tc.auth, resp.StatusCode, b, tc.want)
			}
			if tc.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		}
	}
	// No token configured: an allowed UI's origin is served; a caller without one is refused,
	// since it could prove nothing.
	open := serve(t, newCodec(t, newKey(t, "k1")), HandlerOptions{Origins: []string{uiOrigin}})
	if resp := post(t, open+"/encode", uiOrigin, "", body); resp.StatusCode != http.StatusOK {
		t.Errorf("the UI's origin without a token configured: status %d, want 200", resp.StatusCode)
	}
	if resp := post(t, open+"/decode", "", "", body); resp.StatusCode != http.StatusForbidden {
		t.Errorf("no Origin, no token configured: status %d, want 403", resp.StatusCode)
	}
}

func TestHandlerRefusesOversizedBody(t *testing.T) {
	url := serve(t, newCodec(t, newKey(t, "k1")), HandlerOptions{Origins: []string{uiOrigin}})
	big := fmt.Sprintf(`{"payloads":[{"data":"%s"}]}`, strings.Repeat("A", MaxBodyBytes))
	if resp := post(t, url+"/encode", uiOrigin, "", big); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a %d-byte body: status %d, want 400", len(big), resp.StatusCode)
	}
}

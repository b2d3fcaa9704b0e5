package codec

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

const (
	// Path is where the worker's HTTP listener serves the codec server: the Temporal UI posts to
	// Path+"/encode" and Path+"/decode".
	Path = "/codec"
	// MaxBodyBytes bounds a request body: a few events' payloads, each at most the server's
	// 2 MiB payload limit.
	MaxBodyBytes = 16 << 20
	// allowHeaders are the request headers the Temporal UI sends to a codec server (the last
	// two with "pass access token": the user's token and its extras).
	allowHeaders = "Content-Type, X-Namespace, Authorization, Authorization-Extras"
)

// HandlerOptions says who may call the codec server.
type HandlerOptions struct {
	// Origins are the browser origins (scheme://host[:port], as browsers send them) allowed to
	// call the server: the Temporal UI's. A request from any other origin is refused.
	Origins []string
	// AuthToken, when set, is the bearer token every request but a CORS preflight must carry
	// (Authorization: Bearer <token>).
	AuthToken string
}

// Handler serves the Temporal "remote codec" protocol (POST .../encode and .../decode with
// {"payloads":[...]} in protojson) over c, with CORS for opts.Origins and optional bearer auth.
// Mount it under Path with the prefix kept: the SDK's handler matches the path's suffix.
func Handler(c *Codec, opts HandlerOptions) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(c)
	want := []byte(opts.AuthToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin != "" {
			// Browsers always send Origin on cross-origin requests and POSTs: a page of another
			// origin (or a DNS-rebound name) gets nothing, not even a decode it cannot read.
			if !slices.Contains(opts.Origins, origin) {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Method == http.MethodOptions {
			// A preflight carries no credentials, so it is answered before the auth check.
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", allowHeaders)
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// An allowed UI's browser (its Origin) is served as it is: a browser UI cannot send a
		// static token. Anything else (the CLI, a script, another container) needs the token:
		// reaching the port is not enough to decode. A token sent must be the right one.
		auth := r.Header.Get("Authorization")
		switch {
		case auth != "" && len(want) > 0:
			scheme, token, _ := strings.Cut(auth, " ")
			if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="codec"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		case origin == "" && len(want) > 0:
			w.Header().Set("WWW-Authenticate", `Bearer realm="codec"`)
			http.Error(w, "unauthorized: a caller that is not an allowed UI needs the codec server's token", http.StatusUnauthorized)
			return
		case origin == "":
			http.Error(w, "a request without an allowed Origin needs the codec server's token, and none is configured", http.StatusForbidden)
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		inner.ServeHTTP(w, r)
	})
}

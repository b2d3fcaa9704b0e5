package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/prospect-sync/prospect-sync/connect"
)

// The listener's configuration and paths.
const (
	// EnvAddress names the listener's host:port; "off", "-1" or empty disables it.
	EnvAddress = "PROSPECT_SYNC_HTTP_ADDRESS"
	// DefaultAddress is loopback: metrics and health stay on the machine unless asked otherwise.
	DefaultAddress = connect.DefaultHTTPAddress
	PathMetrics    = "/metrics"
	PathHealthz    = "/healthz"
	PathReadyz     = "/readyz"
)

// probeTimeout bounds a health probe, well inside a container runtime's check timeout.
const probeTimeout = 5 * time.Second

// Disabled reports whether address turns the listener off.
func Disabled(address string) bool {
	a := strings.TrimSpace(address)
	return a == "" || a == "-1" || strings.EqualFold(a, "off")
}

// ReadyFunc says why the worker cannot take work now; nil when it can.
type ReadyFunc func(ctx context.Context) error

// Server is the worker's HTTP listener. Besides PathMetrics, PathHealthz and PathReadyz it
// serves whatever is mounted with Handle (a payload codec server, say).
type Server struct {
	mux  *http.ServeMux
	http *http.Server
	addr string
}

// Listen binds address at once (so a port in use fails the worker's start, not a later
// scrape) and serves metrics, /healthz (the process is up) and /readyz (ready says so).
func Listen(address string, metrics http.Handler, ready ReadyFunc, log zerolog.Logger) (*Server, error) {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, err
	}
	s := &Server{mux: http.NewServeMux(), addr: l.Addr().String()}
	s.mux.Handle("GET "+PathMetrics, metrics)
	s.mux.HandleFunc("GET "+PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	s.mux.HandleFunc("GET "+PathReadyz, func(w http.ResponseWriter, r *http.Request) {
		if err := ready(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	s.http = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Str("address", s.addr).Msg("HTTP listener stopped")
		}
	}()
	return s, nil
}

// Handle mounts h at pattern (http.ServeMux patterns); safe while the server runs.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Addr is the address the listener is bound to (the real port when asked for port 0).
func (s *Server) Addr() string { return s.addr }

// Close stops the listener, letting requests in flight finish for a few seconds.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.http.Shutdown(ctx)
}

// ProbeURL is the /readyz URL of a listener configured with address: a wildcard or empty host
// (0.0.0.0, ::, ":8290") is probed on 127.0.0.1.
func ProbeURL(address string) (string, error) {
	if Disabled(address) {
		return "", fmt.Errorf("the HTTP listener is disabled (%s=%q): nothing to probe", EnvAddress, address)
	}
	host, port, err := net.SplitHostPort(strings.TrimSpace(address))
	if err != nil {
		return "", fmt.Errorf("%s=%q: %w", EnvAddress, address, err)
	}
	if port == "0" {
		return "", fmt.Errorf("%s=%q: a random port cannot be probed from another process", EnvAddress, address)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + PathReadyz, nil
}

// Probe asks the listener configured with address whether the worker is ready: nil on 200,
// else an error with the listener's reason.
func Probe(ctx context.Context, address string) error {
	url, err := ProbeURL(address)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

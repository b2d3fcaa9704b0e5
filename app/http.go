package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prospect-sync/prospect-sync/codec"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/monitor"
)

// readyTimeout bounds the Temporal health check behind /readyz.
const readyTimeout = 2 * time.Second

// readiness says whether the worker can take work: its pollers started and not stopped by a
// fatal error, and Temporal answering.
type readiness struct {
	// client is set before started, and read only once started is seen.
	client  client.Client
	started atomic.Bool
	fatal   atomic.Pointer[error]
}

// check is /readyz: nil when ready, else why not.
func (r *readiness) check(ctx context.Context) error {
	if err := r.fatal.Load(); err != nil {
		return fmt.Errorf("the worker stopped: %w", *err)
	}
	if !r.started.Load() {
		return errors.New("the worker's pollers are not running")
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if _, err := r.client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("Temporal is not reachable: %w", err)
	}
	return nil
}

// listen makes the worker's metrics and, unless disabled, binds its HTTP listener: a worker
// that cannot bind the configured address does not start.
func (a *App) listen(cfg Config) error {
	m, err := monitor.NewMetrics(a.log, nil)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	a.metrics = m
	if monitor.Disabled(cfg.HTTPAddress) {
		return nil
	}
	a.http, err = monitor.Listen(cfg.HTTPAddress, m.Handler(), a.ready.check, a.log)
	if err != nil {
		return fmt.Errorf("HTTP listener at %s (%s, -http-address; %q disables it): %w", cfg.HTTPAddress, monitor.EnvAddress, "off", err)
	}
	a.HTTPAddress = a.http.Addr()
	return a.listenCodec(cfg)
}

// listenCodec serves the codec server on its own listener (PROSPECT_SYNC_CODEC_ADDRESS), never
// the metrics port: exposing /metrics to a scraper must not expose /codec/decode.
func (a *App) listenCodec(cfg Config) error {
	if !cfg.Encryption.CodecServed() {
		return nil
	}
	h := cfg.Encryption.Handler(a.UIURL)
	l, err := net.Listen("tcp", cfg.Encryption.CodecAddress)
	if err != nil {
		return fmt.Errorf("codec server at %s (%s; off disables it): %w", cfg.Encryption.CodecAddress, connect.EnvCodecAddress, err)
	}
	mux := http.NewServeMux()
	// The Temporal UI's remote codec: the prefix stays, the SDK's handler matches .../encode and
	// .../decode by suffix.
	mux.Handle(codec.Path+"/", h)
	a.codec = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	a.CodecAddress = l.Addr().String()
	go func() {
		if err := a.codec.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error().Err(err).Str("address", a.CodecAddress).Msg("codec server stopped")
		}
	}()
	return nil
}

// HTTP is the worker's HTTP listener, to mount more handlers on (nil when disabled).
func (a *App) HTTP() *monitor.Server { return a.http }

// stopHTTP closes the listener and the metrics, after the worker.
func (a *App) stopHTTP() {
	if a.http != nil {
		if err := a.http.Close(); err != nil {
			a.log.Warn().Err(err).Msg("closing the HTTP listener")
		}
	}
	if a.codec != nil {
		_ = a.codec.Close()
	}
	if a.metrics != nil {
		_ = a.metrics.Close()
	}
}

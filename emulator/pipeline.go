package emulator

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"time"
)

// dialect is how one API words the answers of the shared request pipeline; the two APIs
// fail the same way for the same reasons but say so in their own error shapes.
type dialect struct {
	api          apiKind
	unauthorized result
	limitReached result
	// faults answers the injected faults that produce a response (the others drop the
	// connection).
	faults map[faultKind]result
	// nested lists the operations a request carries inside it, for Faults.Nested. Nil
	// means none.
	nested  func(w http.ResponseWriter, r *http.Request) []operation
	badPath result
	// badBody answers a body that could not be read, internal an error of the database.
	badBody  func(err error) result
	internal func(err error) result
	// admit runs the checks an API makes once the caller is known; release is called
	// when the request is over. Nil admits everyone.
	admit func(r *http.Request, token string) (release func(), refused *result)
	// decorate adds headers every answer carries, refusals included. Nil adds none.
	decorate func(w http.ResponseWriter, r *http.Request)
}

// apiRequest is what the pipeline needs of one request besides its dialect.
type apiRequest struct {
	// endpoint names the request in the counters, after its method.
	endpoint string
	// pathOK is false for a path the API does not serve (answered with badPath).
	pathOK bool
	// run executes the request inside a transaction; commit says whether to keep its
	// writes.
	run func(ctx context.Context, tx *sql.Tx, body []byte) (res result, commit bool, err error)
}

// serveAPI is the pipeline every API request goes through: count it, authenticate it,
// let the API admit it, spend one call of the daily allowance, apply the injected fault,
// then read the body and execute the request in one transaction.
func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request, d *dialect, req apiRequest) {
	e.count(d.api, r.Method+" "+req.endpoint)
	defer e.inFlight(d.api)()
	answer := func(res result) {
		if d.decorate != nil {
			d.decorate(w, r)
		}
		writeResult(w, res)
	}
	token, user, ok := e.authenticate(r)
	if !ok {
		answer(d.unauthorized)
		return
	}
	r = r.WithContext(withActor(r.Context(), user))
	if d.admit != nil {
		release, refused := d.admit(r, token)
		if refused != nil {
			answer(*refused)
			return
		}
		defer release()
	}
	if !e.spend(d.api) {
		answer(d.limitReached)
		return
	}
	e.withFaults(w, r, d, func() result { return e.execute(w, r, d, req) }, answer)
}

// withFaults runs do under the fault picked for r: after the injected latency (spent
// while the caller holds whatever it took, as a slow real request would), a drop closes
// the connection before do, an answering fault replaces do, and a drop-after runs do
// (committing it) and closes the connection instead of answering. The fault is picked
// from what r asks for, and from what it carries when a rule looks into nested
// operations (d.nested); d.faults are the answering faults' answers.
func (e *Emulator) withFaults(w http.ResponseWriter, r *http.Request, d *dialect, do func() result, answer func(result)) {
	ops := []operation{{r.Method, r.URL.Path}}
	if d.nested != nil && e.wantsNested() {
		ops = append(ops, d.nested(w, r)...)
	}
	kind, latency := e.pickFault(ops, d.api)
	if !wait(r.Context(), latency) {
		return
	}
	if kind == faultDrop {
		abortConnection(w)
		return
	}
	res, faulted := d.faults[kind]
	if !faulted {
		res = do()
	}
	if kind == faultDropAfter {
		abortConnection(w)
		return
	}
	answer(res)
}

// execute reads the body and runs the request in its own transaction, which is written
// only when the method can change data.
func (e *Emulator) execute(w http.ResponseWriter, r *http.Request, d *dialect, req apiRequest) result {
	if !req.pathOK {
		return d.badPath
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return d.badBody(err)
	}
	ctx := r.Context()
	var res result
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	err = e.inTx(ctx, write, func(tx *sql.Tx) (bool, error) {
		var commit bool
		var err error
		res, commit, err = req.run(ctx, tx, body)
		return commit, err
	})
	if err != nil {
		return d.internal(err)
	}
	return res
}

// authenticate returns the bearer token of r and its user if it is known and not expired.
func (e *Emulator) authenticate(r *http.Request) (token, userID string, ok bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	switch {
	case len(h) > 7 && strings.EqualFold(h[:7], "Bearer "):
		token = strings.TrimSpace(h[7:])
	case len(h) > 6 && strings.EqualFold(h[:6], "OAuth "):
		token = strings.TrimSpace(h[6:])
	default:
		return "", "", false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	info, ok := e.tokens[token]
	if !ok || !e.now().Before(info.expires) {
		return "", "", false
	}
	return token, info.userID, true
}

// spend takes one call from the daily allowance of api; false means it is used up.
func (e *Emulator) spend(api apiKind) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkUsageDay()
	if api == apiSalesforce {
		if e.sfUsed >= e.sfLimit {
			return false
		}
		e.sfUsed++
		return true
	}
	if e.aeUsed >= e.aeLimit {
		return false
	}
	e.aeUsed++
	return true
}

// peekBody reads r's body ahead of the request and puts it back, so that the request
// reads the same bytes (and the same error) later.
func peekBody(w http.ResponseWriter, r *http.Request) []byte {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	rest := io.Reader(bytes.NewReader(b))
	if err != nil {
		rest = io.MultiReader(rest, failingReader{err})
	}
	r.Body = io.NopCloser(rest)
	return b
}

// failingReader fails every read with its error.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// wait sleeps for d unless the request goes away first; it reports whether to go on.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// checkUsageDay starts a new daily allowance when the (UTC) day changes; the caller holds mu.
func (e *Emulator) checkUsageDay() {
	day := e.now().UTC().Format("2006-01-02")
	if day != e.usageDay {
		e.usageDay = day
		e.sfUsed, e.aeUsed = 0, 0
	}
}

package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The versions offered by default: 31.0 (Summer '14, the oldest Salesforce still serves)
// through 67.0 (Summer '26).
const (
	oldestDefaultVersion = 31
	newestDefaultVersion = 67
)

// apiVersion is one REST API version the org offers.
type apiVersion struct {
	major int
	text  string // "66.0"
}

// DefaultAPIVersions returns the versions an emulator offers when Options.APIVersions is
// empty: "31.0" through "67.0".
func DefaultAPIVersions() []string {
	var out []string
	for v := oldestDefaultVersion; v <= newestDefaultVersion; v++ {
		out = append(out, strconv.Itoa(v)+".0")
	}
	return out
}

// parseAPIVersions checks the configured versions ("66.0" or "v66.0") and orders them
// oldest first, as Salesforce lists them.
func parseAPIVersions(in []string) ([]apiVersion, error) {
	if len(in) == 0 {
		in = DefaultAPIVersions()
	}
	var out []apiVersion
	for _, s := range in {
		text := strings.TrimPrefix(strings.TrimSpace(s), "v")
		if !validVersion("v" + text) {
			return nil, fmt.Errorf("emulator: API version %q is not of the form 66.0", s)
		}
		major, _ := strconv.Atoi(text[:strings.IndexByte(text, '.')])
		if !slices.ContainsFunc(out, func(v apiVersion) bool { return v.text == text }) {
			out = append(out, apiVersion{major: major, text: text})
		}
	}
	slices.SortFunc(out, func(a, b apiVersion) int { return a.major - b.major })
	return out, nil
}

// releaseLabel names the release of an API version. Three releases a year (Winter, which
// comes out the autumn before its year, Spring, Summer) move the version by one each:
// Winter '26 is 65.0.
func releaseLabel(major int) string {
	const winter26 = 65
	n := major - winter26
	year := 26 + n/3
	season := n % 3
	if season < 0 {
		season += 3
		year--
	}
	return fmt.Sprintf("%s '%02d", [...]string{"Winter", "Spring", "Summer"}[season], year)
}

// offers reports whether the org serves the path version v ("v66.0").
func (e *Emulator) offers(v string) bool {
	return slices.ContainsFunc(e.versions, func(o apiVersion) bool { return "v"+o.text == v })
}

// serveVersions answers GET /services/data/, which lists the versions without
// authentication and is no API call: it is neither counted nor limited.
func (e *Emulator) serveVersions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeResult(w, methodNotAllowed(r.Method, "GET, HEAD"))
		return
	}
	list := make([]object, len(e.versions))
	for i, v := range e.versions {
		list[i] = object{{"label", releaseLabel(v.major)}, {"url", "/services/data/v" + v.text}, {"version", v.text}}
	}
	writeResult(w, result{status: http.StatusOK, body: list})
}

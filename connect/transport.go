package connect

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prospect-sync/prospect-sync/metrics"
)

// apiTimeout bounds one request, as the clients' own default HTTP client does.
const apiTimeout = 60 * time.Second

// APIObserver is told of every Salesforce and Account Engagement request the clients send (the
// worker's metrics).
type APIObserver interface {
	// APICall reports one request: the API (metrics.APISalesforce or metrics.APIEngagement), its
	// kind (metrics.Kind*) and its status class ("2xx", ...) or metrics.StatusError.
	APICall(api, kind, status string)
}

// observed counts each request at the transport, where retries and token requests are seen too.
type observed struct {
	base http.RoundTripper
	api  string
	obs  APIObserver
}

// RoundTrip implements http.RoundTripper.
func (t observed) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	status := metrics.StatusError
	if err == nil {
		status = strconv.Itoa(resp.StatusCode/100) + "xx"
	}
	kind := EngagementKind(req.Method, req.URL.Path)
	if t.api == metrics.APISalesforce {
		kind = SalesforceKind(req.Method, req.URL.Path)
	}
	t.obs.APICall(t.api, kind, status)
	return resp, err
}

// observedClient is an HTTP client whose requests obs is told of.
func observedClient(api string, obs APIObserver) *http.Client {
	return &http.Client{Timeout: apiTimeout, Transport: observed{base: http.DefaultTransport, api: api, obs: obs}}
}

// SalesforceKind names what a Salesforce REST request does, from its method and path.
func SalesforceKind(method, path string) string {
	if strings.HasSuffix(path, "/services/oauth2/token") {
		return metrics.KindToken
	}
	rest, ok := strings.CutPrefix(path, "/services/data/")
	if !ok {
		return metrics.KindOther
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	if len(seg) < 2 {
		return metrics.KindVersions // "/services/data/" or one version's resource list
	}
	seg = seg[1:] // after "vNN.N"
	switch seg[0] {
	case "query", "queryAll":
		return metrics.KindQuery
	case "composite":
		if len(seg) > 1 && seg[1] == "sobjects" {
			return metrics.KindCollections
		}
		return metrics.KindComposite
	case "sobjects":
		return sobjectKind(method, seg[1:])
	}
	return metrics.KindOther
}

// sobjectKind names a request on /sobjects/<object>/<rest...>.
func sobjectKind(method string, seg []string) string {
	switch {
	case len(seg) == 1 && method == http.MethodPost:
		return metrics.KindCreate
	case len(seg) == 2 && (seg[1] == "updated" || seg[1] == "deleted"):
		return metrics.KindReplication
	case len(seg) == 2 || len(seg) == 3:
		// /<object>/<id>, or /<object>/<externalIdField>/<value>
		switch method {
		case http.MethodGet:
			return metrics.KindRead
		case http.MethodDelete:
			return metrics.KindDelete
		case http.MethodPatch:
			if len(seg) == 3 {
				return metrics.KindUpsert
			}
			return metrics.KindUpdate
		}
	}
	return metrics.KindOther
}

// EngagementKind names what an Account Engagement API v5 request does, from its method and path.
func EngagementKind(method, path string) string {
	rest, ok := strings.CutPrefix(path, "/api/v5/objects/")
	if !ok {
		return metrics.KindOther
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case seg[0] == "users":
		return metrics.KindUsers
	case seg[0] != "prospects":
		return metrics.KindOther
	case len(seg) == 1 && method == http.MethodGet:
		return metrics.KindQuery
	case len(seg) == 1 && method == http.MethodPost:
		return metrics.KindCreate
	case len(seg) == 2 && method == http.MethodGet:
		return metrics.KindRead
	case len(seg) == 2 && method == http.MethodPatch:
		return metrics.KindUpdate
	case len(seg) == 2 && method == http.MethodDelete:
		return metrics.KindDelete
	}
	return metrics.KindOther
}

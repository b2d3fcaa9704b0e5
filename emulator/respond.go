package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
)

// result is an API response before it is written, so that the "drop after commit"
// fault can discard it and composite requests can embed it.
type result struct {
	status int
	body   any               // JSON-encodable; nil means no body
	header map[string]string // extra response headers
}

func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func writeResult(w http.ResponseWriter, res result) {
	for k, v := range res.header {
		w.Header().Set(k, v)
	}
	if res.body == nil || res.status == http.StatusNoContent {
		w.WriteHeader(res.status)
		return
	}
	b, err := marshalJSON(res.body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(res.status)
	_, _ = w.Write(b)
}

// abortConnection closes the client connection without a response, like a network
// failure. Hijacking is the faithful way for HTTP/1; ErrAbortHandler covers HTTP/2.
func abortConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// object is a JSON object that keeps its key order (Salesforce and AE list fields in the
// order they were asked for).
type object []kv

type kv struct {
	k string
	v any
}

// MarshalJSON writes the pairs in order.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalJSON(p.k)
		if err != nil {
			return nil, err
		}
		v, err := marshalJSON(p.v)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// errEmptyBody reports a request without a body where one is required.
var errEmptyBody = errors.New("empty body")

// decodeObject decodes a JSON object body, keeping numbers exact; its keys come back
// sorted so that which bad field is reported first does not depend on map order.
func decodeObject(body []byte) (m map[string]any, keys []string, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, errEmptyBody
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, nil, err
	}
	if m == nil {
		return nil, nil, errors.New("request body must be a JSON object")
	}
	keys = make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return m, keys, nil
}

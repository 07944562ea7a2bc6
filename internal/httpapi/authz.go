package httpapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/util/cache"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// Authorisation: whether a caller may read a kind in a namespace, asked of
// the API server with a SubjectAccessReview (get on the kind), remembered in
// a bounded LRU cache (an allow for the cache TTL, a denial for the negative
// TTL, a failure to ask not at all), and asked once for a burst of identical
// questions. Creating SubjectAccessReviews is config/rbac/auth_reviewer_role.yaml's
// permission (see authn.go).
//
// +kubebuilder:rbac:groups=flows.stagehand.dev,resources=flows;flowstagebindings;identificationstages;passwordstages;authenticatorvalidatestages;captchastages;userloginstages;sources;webauthndevicetypes,verbs=get;list;watch

// maxAccessEntries bounds the access cache: a flood of distinct questions
// (users times namespaces) evicts the least recently used answers instead
// of growing memory.
const maxAccessEntries = 1 << 14

// accessKey is a SubjectAccessReview's question: may this user get this
// resource in this namespace ("" for every namespace)?
type accessKey struct {
	user, namespace, resource string
}

// accessReviewer answers access questions with cached SubjectAccessReviews.
type accessReviewer struct {
	reviewer    Reviewer
	ttl         time.Duration
	negativeTTL time.Duration
	timeout     time.Duration
	cache       *cache.LRUExpireCache
	flight      singleflight.Group
	m           *metrics
}

func newAccessReviewer(reviewer Reviewer, ttl, negativeTTL, timeout time.Duration, m *metrics) *accessReviewer {
	return &accessReviewer{
		reviewer:    reviewer,
		ttl:         ttl,
		negativeTTL: negativeTTL,
		timeout:     timeout,
		cache:       cache.NewLRUExpireCache(maxAccessEntries),
		m:           m,
	}
}

// allowed reports whether the caller may get resource (a stagehand kind) in
// namespace; namespace "" asks about every namespace at once.
func (a *accessReviewer) allowed(ctx context.Context, c *caller, namespace, resource string) (bool, error) {
	key := accessKey{user: c.key, namespace: namespace, resource: resource}
	if ok, hit := a.cache.Get(key); hit {
		return ok.(bool), nil
	}
	v, err, _ := a.flight.Do(c.key+"\x00"+namespace+"\x00"+resource, func() (any, error) {
		if ok, hit := a.cache.Get(key); hit {
			return ok, nil
		}
		// Detached from the request: the review is shared by every request
		// waiting on it, and one client going away must not fail the rest.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.timeout)
		defer cancel()
		extra := make(map[string]authorizationv1.ExtraValue, len(c.Extra))
		for k, v := range c.Extra {
			extra[k] = authorizationv1.ExtraValue(v)
		}
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace,
				Verb:      "get",
				Group:     flowsv1alpha1.GroupVersion.Group,
				Resource:  resource,
			},
			User:   c.Name,
			Groups: c.Groups,
			UID:    c.UID,
			Extra:  extra,
		}}
		if err := a.reviewer.Create(rctx, sar); err != nil {
			a.m.review("access", "error")
			return false, fmt.Errorf("%w: SubjectAccessReview: %w", errReview, err)
		}
		ok := sar.Status.Allowed && !sar.Status.Denied
		if ok {
			a.m.review("access", "allowed")
			a.remember(key, true, a.ttl)
		} else {
			a.m.review("access", "denied")
			a.remember(key, false, a.negativeTTL)
		}
		return ok, nil
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

func (a *accessReviewer) remember(key accessKey, ok bool, ttl time.Duration) {
	if ttl > 0 {
		a.cache.Add(key, ok, ttl)
	}
}

// permission is what one request's caller may read of one kind. A nil
// access (--api-auth=none) may read everything.
type permission struct {
	access   *accessReviewer
	caller   *caller
	resource string
}

// everything reports whether the caller may read every object of the kind
// without asking (--api-auth=none).
func (p *permission) everything() bool { return p.access == nil }

// may reports whether the caller may read the kind in namespace ("" for
// every namespace).
func (p *permission) may(ctx context.Context, namespace string) (bool, error) {
	if p.access == nil {
		return true, nil
	}
	return p.access.allowed(ctx, p.caller, namespace, p.resource)
}

// reviewParallelism bounds the SubjectAccessReviews one request has in
// flight when it asks about many namespaces.
const reviewParallelism = 8

// readable returns which of the namespaces the caller may read the kind in.
// With stop set it returns as soon as one is found.
func (p *permission) readable(ctx context.Context, namespaces []string, stop bool) (map[string]bool, error) {
	out := make(map[string]bool, len(namespaces))
	if p.access == nil {
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

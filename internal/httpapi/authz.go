package httpapi

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// Authorisation: whether a caller may read a kind in a namespace, asked of
// the API server with a SubjectAccessReview (get on the kind), remembered in
// a bounded LRU cache (an allow for the cache TTL, a denial for the negative
// TTL, a failure to ask not at all), and asked once for a burst of identical
// questions. Creating SubjectAccessReviews is config/rbac/auth_reviewer_role.yaml's
// permission (see authn.go).
//
// One request asks about many namespaces only when its caller may not read
// the kind cluster-wide (one review, namespace ""): then a list asks about
// each namespace that holds an object its query matches, and a retrieve,
// when the object it names is not readable, about namespaces until one is.
// Each request may send at most Options.MaxAccessReviewsPerRequest reviews
// (questions the cache does not answer); one that needs more is answered
// 503 with a Retry-After, and nothing is logged (the metrics count them).
// The answers it did get are cached, so a retry asks only the rest.
//
// +kubebuilder:rbac:groups=flows.stagehand.dev,resources=flows;flowstagebindings;identificationstages;passwordstages;authenticatorvalidatestages;captchastages;userloginstages;sources;webauthndevicetypes,verbs=get;list;watch

// maxAccessEntries bounds the access cache: a flood of distinct questions
// (users times namespaces) evicts the least recently used answers instead
// of growing memory.
const maxAccessEntries = 1 << 14

// errTooManyReviews is a SubjectAccessReview not sent because the request
// has sent Options.MaxAccessReviewsPerRequest already: the request is
// answered 503 with a Retry-After, and nothing is logged.
var errTooManyReviews = fmt.Errorf("%w: too many namespaces to review for one request", errReview)

// reviewBudget is how many more SubjectAccessReviews one request may send.
// Shared by every copy of the request's permission (an export asks about
// several kinds); nil: no limit.
type reviewBudget struct{ left atomic.Int64 }

func newReviewBudget(n int) *reviewBudget {
	if n < 0 {
		return nil
	}
	b := &reviewBudget{}
	b.left.Store(int64(n))
	return b
}

// take spends one review, or reports that none is left.
func (b *reviewBudget) take() bool {
	return b == nil || b.left.Add(-1) >= 0
}

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
// namespace; namespace "" asks about every namespace at once. A question the
// cache does not answer spends one of budget's reviews, or fails with
// errTooManyReviews when none is left.
func (a *accessReviewer) allowed(ctx context.Context, c *caller, namespace, resource string, budget *reviewBudget) (bool, error) {
	key := accessKey{user: c.key, namespace: namespace, resource: resource}
	if ok, hit := a.cache.Get(key); hit {
		return ok.(bool), nil
	}
	if !budget.take() {
		a.m.review("access", "over_limit")
		return false, errTooManyReviews
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
	// budget bounds the reviews the request sends.
	budget *reviewBudget
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
	return p.access.allowed(ctx, p.caller, namespace, p.resource, p.budget)
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

// visibleRows keeps the rows whose namespaces the caller may read, asking
// only about the namespaces that hold one (a query that matches objects in
// three namespaces costs three reviews, however many namespaces hold the
// kind), and returns the namespaces found unreadable.
func visibleRows[O client.Object, R any](ctx context.Context, rq *request, rows []row[O, R]) ([]row[O, R], map[string]bool, error) {
	var nss []string
	for _, rw := range rows {
		nss = append(nss, rw.obj.GetNamespace())
	}
	slices.Sort(nss)
	nss = slices.Compact(nss)
	readable, err := rq.perm.readable(ctx, nss, false)
	if err != nil {
		return nil, nil, err
	}
	unreadable := make(map[string]bool, len(nss)-len(readable))
	for _, ns := range nss {
		if !readable[ns] {
			unreadable[ns] = true
		}
	}
	visible := rows[:0]
	for _, rw := range rows {
		if readable[rw.obj.GetNamespace()] {
			visible = append(visible, rw)
		}
	}
	return visible, unreadable, nil
}

// deniedOr is the answer to a caller found to read nothing of a kind (err
// nil): authentik's 403; or to a failure to find out.
func deniedOr(rq *request, err error) response {
	if err != nil {
		return rq.reviewOrServerError(err)
	}
	return detailResponse(403, msgDenied)
}

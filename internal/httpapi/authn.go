package httpapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	tokencache "k8s.io/apiserver/pkg/authentication/token/cache"
	"k8s.io/apiserver/pkg/authentication/user"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Authentication: who a bearer token belongs to, asked of the API server with
// a TokenReview, as kube-apiserver's own delegated authentication does, and
// remembered by the same cache (k8s.io/apiserver's token cache: a success
// for the cache TTL, a refusal for the negative TTL, a failure to ask not at
// all; a burst of requests with one token costs one review; tokens are kept
// only as keyed hashes).
//
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create

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

// caller is an authenticated user, as the TokenReview described them.
type caller struct {
	user.DefaultInfo
	// key identifies the user, groups, uid and extra in the access cache.
	key string
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

// tokenAuthenticator checks bearer tokens: authentik's reading of the
// header, then a cached TokenReview.
type tokenAuthenticator struct {
	tokens authenticator.Token
}

func newTokenAuthenticator(reviewer Reviewer, ttl, negativeTTL, timeout time.Duration, m *metrics) *tokenAuthenticator {
	review := &tokenReviewer{reviewer: reviewer, timeout: timeout, m: m}
	return &tokenAuthenticator{tokens: tokencache.New(review, false, ttl, negativeTTL)}
}

// authenticate returns the caller a bearer token belongs to. msg is the
// 403's detail when the request is refused; err a failure to ask.
func (a *tokenAuthenticator) authenticate(ctx context.Context, header string) (c *caller, msg string, err error) {
	token, msg := bearer(header)
	if msg != "" {
		return nil, msg, nil
	}
	resp, ok, err := a.tokens.AuthenticateToken(ctx, token)
	switch {
	case err != nil:
		return nil, "", err
	case !ok:
		return nil, msgTokenInvalid, nil
	}
	c, isCaller := resp.User.(*caller)
	if !isCaller {
		return nil, "", fmt.Errorf("%w: the token cache returned a %T", errReview, resp.User)
	}
	return c, "", nil
}

// tokenReviewer is an authenticator.Token that asks the API server with a
// TokenReview. The cache in front of it calls it once per token and TTL.
type tokenReviewer struct {
	reviewer Reviewer
	timeout  time.Duration
	m        *metrics
}

// AuthenticateToken implements authenticator.Token. The cache calls it with
// a context of its own, detached from the request: the review is shared by
// every request waiting on it, and one client going away must not fail the
// rest.
func (t *tokenReviewer) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}
	if err := t.reviewer.Create(ctx, tr); err != nil {
		t.m.review("token", "error")
		return nil, false, fmt.Errorf("%w: TokenReview: %w", errReview, err)
	}
	if !tr.Status.Authenticated {
		t.m.review("token", "unauthenticated")
		return nil, false, nil
	}
	t.m.review("token", "authenticated")
	u := tr.Status.User
	c := &caller{DefaultInfo: user.DefaultInfo{Name: u.Username, UID: u.UID, Groups: u.Groups}, key: userKey(u)}
	if len(u.Extra) > 0 {
		c.Extra = make(map[string][]string, len(u.Extra))
		for k, v := range u.Extra {
			c.Extra[k] = v
		}
	}
	return &authenticator.Response{User: c}, true, nil
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

package httpapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	tokencache "k8s.io/apiserver/pkg/authentication/token/cache"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/util/flowcontrol"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Authentication: who a bearer token belongs to, asked of the API server with
// a TokenReview, as kube-apiserver's own delegated authentication does, and
// remembered by the same cache (k8s.io/apiserver's token cache: a success
// for the cache TTL, a refusal for the negative TTL, a failure to ask not at
// all; a burst of requests with one token costs one review; tokens are kept
// only as keyed hashes, and the key includes the audiences asked about).
//
// Audiences. A bearer token is a credential: whoever receives one may use
// it wherever it is accepted. A ServiceAccount token minted for
// kube-apiserver (the default of `kubectl create token` and of the token a
// pod mounts) is accepted by kube-apiserver, so a caller that sent one to
// stagehand would hand stagehand, and anything that logs or intercepts its
// traffic, the caller's access to the whole cluster. So the API asks the
// TokenReview about its own audiences (TokenAudiences, by default
// DefaultTokenAudience) and accepts a token only when the API server says
// it was minted for one of them (status.audiences): a token for
// kube-apiserver, or for any other audience, is "Token invalid/expired".
// Callers mint tokens for stagehand (`kubectl create token NAME
// --audience=flows.stagehand.dev`, or a projected serviceAccountToken
// volume with that audience), which kube-apiserver itself refuses.
//
// AcceptKubeAPIServerTokens (--api-accept-kube-apiserver-tokens, off by
// default) is for callers that cannot yet mint such tokens: a token the
// audience review refuses is reviewed again for the API server's own
// audiences. Both answers are cached, each under its own key. Such reviews
// are counted apart in the metrics (review="token_apiserver"), so that an
// operator sees who still relies on it before turning it off.
//
// Tokens are never logged: not the token, not a part of it, not the
// Authorization header. What the API logs of a failed review is the error
// the API server returned, which does not quote the token.
//
// The permission to create TokenReviews (and SubjectAccessReviews, authz.go)
// is config/rbac/auth_reviewer_role.yaml's, not a +kubebuilder:rbac marker's:
// the metrics endpoint reviews its callers too, and in a namespaced install
// (--watch-namespaces) the reviews stay cluster-wide while the controllers'
// role is bound per namespace.

// DefaultTokenAudience is the audience a token must be minted for, unless
// TokenAudiences says otherwise: stagehand's API group. It names stagehand
// and nothing else, and it is the same in every cluster, namespace and Helm
// release, so a client's manifest (a projected serviceAccountToken volume)
// needs no change when stagehand is installed elsewhere. The API Service's
// DNS name would be an audience too, but it changes with the namespace and
// the release name, and a token for it is no safer: either way the API
// server refuses it, and stagehand accepts only the reads RBAC allows.
const DefaultTokenAudience = "flows.stagehand.dev"

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

// errThrottled is a TokenReview not sent because the API sends no more than
// Options.TokenReviewQPS of them: the request is answered 503 with a
// Retry-After, nothing is cached, and nothing is logged (a flood of tokens
// must not become a flood of log lines; the metrics count them).
var errThrottled = fmt.Errorf("%w: too many tokens to review at once", errReview)

// caller is an authenticated user, as the TokenReview described them.
type caller struct {
	user.DefaultInfo
	// key identifies the user, groups, uid and extra in the access cache.
	key string
}

// bearer reads the Authorization header as authentik's TokenAuthentication
// does (authentik.api.authentication.validate_auth): the header trimmed; none,
// or one without a space, is no credentials; the scheme is what comes before
// the first space, and one other than Bearer (in any case) is refused; the
// token is all that follows that space.
//
// authentik then looks the token up, and a token with whitespace in it
// ("Bearer  x" is the token " x"; "Bearer x y" the token "x y") is no key it
// ever issued: "Token invalid/expired". Such a token is refused here, before
// any TokenReview, with the same answer: kube-apiserver would not read it
// as authentik does. Its bearer parser reads "Bearer  x" as an empty token,
// and with anonymous authentication on (the default) reviews it as
// system:anonymous, authenticated; it reads "Bearer x y" as the token "x".
// An empty token (authentik's "Malformed header") cannot remain once the
// header is trimmed.
func bearer(header string) (token, msg string) {
	h := strings.TrimSpace(header)
	if h == "" || !strings.Contains(h, " ") {
		return "", msgNoCredentials
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "bearer") {
		return "", msgUnsupportedType
	}
	if token == "" || strings.IndexFunc(token, unicode.IsSpace) >= 0 {
		return "", msgTokenInvalid
	}
	return token, ""
}

// anonymous reports whether a TokenReview's user is no one: kube-apiserver's
// anonymous authenticator answers authenticated: true, as system:anonymous
// in system:unauthenticated, for a request without a token it could read.
// Such an answer is a refusal here, whatever token let it through: the API
// answers only callers with a credential.
func anonymous(u authenticationv1.UserInfo) bool {
	return u.Username == user.Anonymous || slices.Contains(u.Groups, user.AllUnauthenticated)
}

// tokenAuthenticator checks bearer tokens: authentik's reading of the
// header, then a cached TokenReview for the API's audiences, then, with
// acceptAPIServer, a cached TokenReview for kube-apiserver's.
type tokenAuthenticator struct {
	tokens          authenticator.Token
	audiences       authenticator.Audiences
	acceptAPIServer bool
}

func newTokenAuthenticator(reviewer Reviewer, audiences []string, acceptAPIServer bool, ttl, negativeTTL, timeout time.Duration, limit flowcontrol.RateLimiter, m *metrics) *tokenAuthenticator {
	review := &tokenReviewer{reviewer: reviewer, timeout: timeout, limit: limit, m: m}
	return &tokenAuthenticator{
		tokens:          tokencache.New(review, false, ttl, negativeTTL),
		audiences:       slices.Clone(audiences),
		acceptAPIServer: acceptAPIServer,
	}
}

// authenticate returns the caller a bearer token belongs to. msg is the
// 403's detail when the request is refused; err a failure to ask.
func (a *tokenAuthenticator) authenticate(ctx context.Context, header string) (c *caller, msg string, err error) {
	token, msg := bearer(header)
	if msg != "" {
		return nil, msg, nil
	}
	resp, ok, err := a.tokens.AuthenticateToken(authenticator.WithAudiences(ctx, a.audiences), token)
	if err == nil && !ok && a.acceptAPIServer {
		// No audiences in the context: the review asks about the API
		// server's own, and the cache keeps its answer apart.
		resp, ok, err = a.tokens.AuthenticateToken(ctx, token)
	}
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
// TokenReview, for the audiences of its context (none: the API server's
// own). The cache in front of it calls it once per token, audiences and
// TTL.
//
// Each review costs the API server a request in the manager's own share of
// its priority and fairness, beside the Lease renewals that keep a leader
// elected: so the reviews of tokens not in the cache (which anyone can send,
// one new token per request) are limited, and those over the limit answered
// 503 at once, while tokens in the cache are served as ever.
type tokenReviewer struct {
	reviewer Reviewer
	timeout  time.Duration
	// limit bounds the reviews sent; nil for no limit.
	limit flowcontrol.RateLimiter
	m     *metrics
}

// AuthenticateToken implements authenticator.Token. The cache calls it with
// a context of its own, detached from the request (but for the audiences):
// the review is shared by every request waiting on it, and one client going
// away must not fail the rest.
func (t *tokenReviewer) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	auds, _ := authenticator.AudiencesFrom(ctx)
	review := "token"
	if len(auds) == 0 {
		review = "token_apiserver"
	}
	if t.limit != nil && !t.limit.TryAccept() {
		t.m.review(review, "throttled")
		return nil, false, errThrottled
	}
	tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: auds}}
	if err := t.reviewer.Create(ctx, tr); err != nil {
		t.m.review(review, "error")
		// The client's error says what the API server answered (forbidden,
		// unreachable, ...); neither quotes the request's body.
		return nil, false, fmt.Errorf("%w: TokenReview: %w", errReview, err)
	}
	if !tr.Status.Authenticated {
		t.m.review(review, "unauthenticated")
		return nil, false, nil
	}
	// An audience-aware API server says which of the audiences asked about
	// the token is for. None means the token was authenticated for the API
	// server's own audiences (an authenticator that ignores audiences):
	// not one of ours.
	if len(auds) > 0 && len(auds.Intersect(tr.Status.Audiences)) == 0 {
		t.m.review(review, "wrong_audience")
		return nil, false, nil
	}
	u := tr.Status.User
	if anonymous(u) {
		t.m.review(review, "anonymous")
		return nil, false, nil
	}
	t.m.review(review, "authenticated")
	c := &caller{DefaultInfo: user.DefaultInfo{Name: u.Username, UID: u.UID, Groups: u.Groups}, key: userKey(u)}
	if len(u.Extra) > 0 {
		c.Extra = make(map[string][]string, len(u.Extra))
		for k, v := range u.Extra {
			c.Extra[k] = v
		}
	}
	return &authenticator.Response{User: c, Audiences: tr.Status.Audiences}, true, nil
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

package httpapi

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// apiServerAudience is the audience the fake API server mints tokens for
// when asked for none, as kube-apiserver uses its issuer.
const apiServerAudience = "https://kubernetes.default.svc.cluster.local"

// audienceReviewer answers TokenReviews as kube-apiserver does: a review
// without spec.audiences asks about the API server's own; a token is
// authenticated when its audiences meet those asked about, and
// status.audiences is that intersection. Tokens marked agnostic are
// authenticated whatever is asked, with no status.audiences (an
// authenticator that ignores audiences). It allows every read, and records
// the audiences each TokenReview asked about.
type audienceReviewer struct {
	// tokens maps a token to its audiences; nil: it is agnostic.
	tokens map[string][]string

	mu    sync.Mutex
	asked [][]string
}

func (f *audienceReviewer) Create(_ context.Context, obj client.Object, _ ...client.CreateOption) error {
	switch o := obj.(type) {
	case *authenticationv1.TokenReview:
		f.mu.Lock()
		f.asked = append(f.asked, o.Spec.Audiences)
		f.mu.Unlock()
		auds, known := f.tokens[o.Spec.Token]
		if !known {
			o.Status = authenticationv1.TokenReviewStatus{Error: "invalid bearer token"}
			return nil
		}
		user := authenticationv1.UserInfo{Username: "system:serviceaccount:authentik:reader", UID: "uid-reader"}
		if auds == nil {
			o.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: user}
			return nil
		}
		want := authenticator.Audiences(o.Spec.Audiences)
		if len(want) == 0 {
			want = authenticator.Audiences{apiServerAudience}
		}
		got := want.Intersect(auds)
		if len(got) == 0 {
			o.Status = authenticationv1.TokenReviewStatus{Error: "token audiences are invalid for the target audiences"}
			return nil
		}
		o.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: user, Audiences: got}
	case *authorizationv1.SubjectAccessReview:
		o.Status.Allowed = true
	default:
		return errors.New("unexpected object")
	}
	return nil
}

func (f *audienceReviewer) reviews() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

// TestTokenAudiences: the API accepts a token minted for one of its
// audiences, and refuses one minted for kube-apiserver, for another
// audience, or authenticated without an audience, unless
// AcceptKubeAPIServerTokens lets kube-apiserver's tokens in (and only
// those).
func TestTokenAudiences(t *testing.T) {
	tokens := map[string][]string{
		"for-stagehand":             {DefaultTokenAudience},
		"for-stagehand-and-another": {"vault", DefaultTokenAudience},
		"for-kube-apiserver":        {apiServerAudience},
		"for-another":               {"vault"},
		"agnostic":                  nil,
	}
	path := "/api/v3/stages/password/" + string(uid(2)) + "/"
	const refused = `{"detail":"Token invalid/expired"}`
	for _, tc := range []struct {
		name      string
		audiences []string
		compat    bool
		want      map[string]int
		// second is how many tokens the first review refuses and the
		// compatibility reviews again.
		second int
	}{{
		name: "default audiences",
		want: map[string]int{"for-stagehand": 200, "for-stagehand-and-another": 200, "for-kube-apiserver": 403, "for-another": 403, "agnostic": 403, "garbage": 403},
	}, {
		name:   "kube-apiserver's tokens accepted as well",
		compat: true,
		want:   map[string]int{"for-stagehand": 200, "for-stagehand-and-another": 200, "for-kube-apiserver": 200, "for-another": 403, "agnostic": 200, "garbage": 403},
		second: 4,
	}, {
		name:      "other audiences",
		audiences: []string{"vault", "stagehand.example"},
		want:      map[string]int{"for-stagehand": 403, "for-stagehand-and-another": 200, "for-kube-apiserver": 403, "for-another": 200, "agnostic": 403, "garbage": 403},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rv := &audienceReviewer{tokens: tokens}
			s, err := New(Options{
				Addr: "127.0.0.1:0", Reader: fakeReader(t, authFixtures()...), Auth: AuthKubernetes, Reviewer: rv,
				TokenAudiences: tc.audiences, AcceptKubeAPIServerTokens: tc.compat,
				AuthCacheTTL: time.Minute, AuthNegativeCacheTTL: time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			for token, code := range tc.want {
				rec := get(t, s, path, "Authorization", "Bearer "+token)
				if rec.Code != code || (code == 403 && rec.Body.String() != refused) {
					t.Errorf("token %s: %d %s, want %d", token, rec.Code, rec.Body, code)
				}
			}
			// Every first review asks about the API's audiences; a second,
			// about the API server's (none), only with the compatibility.
			wantAuds := tc.audiences
			if wantAuds == nil {
				wantAuds = []string{DefaultTokenAudience}
			}
			var first, second int
			for _, auds := range rv.reviews() {
				switch {
				case slices.Equal(auds, wantAuds):
					first++
				case len(auds) == 0:
					second++
				default:
					t.Errorf("a TokenReview asked about audiences %q", auds)
				}
			}
			if first != len(tc.want) || second != tc.second {
				t.Errorf("%d reviews for the API's audiences and %d for kube-apiserver's, want %d (one per token) and %d", first, second, len(tc.want), tc.second)
			}

			// Both answers are cached: the same requests again cost no review.
			before := len(rv.reviews())
			for token, code := range tc.want {
				if rec := get(t, s, path, "Authorization", "Bearer "+token); rec.Code != code {
					t.Errorf("token %s, again: %d %s, want %d", token, rec.Code, rec.Body, code)
				}
			}
			if n := len(rv.reviews()) - before; n != 0 {
				t.Errorf("the same tokens again cost %d reviews, want 0 (cached)", n)
			}
		})
	}
}

// TestTokenAudienceMetrics: reviews for kube-apiserver's audiences are
// counted apart, so that an operator sees who still needs the
// compatibility; a token authenticated without an audience is counted as
// of the wrong audience.
func TestTokenAudienceMetrics(t *testing.T) {
	rv := &audienceReviewer{tokens: map[string][]string{"for-kube-apiserver": {apiServerAudience}, "agnostic": nil}}
	reg := prometheus.NewRegistry()
	s, err := New(Options{
		Addr: "127.0.0.1:0", Reader: fakeReader(t, authFixtures()...), Auth: AuthKubernetes, Reviewer: rv,
		AcceptKubeAPIServerTokens: true, Metrics: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"for-kube-apiserver", "agnostic"} {
		if rec := get(t, s, "/api/v3/stages/password/", "Authorization", "Bearer "+token); rec.Code != 200 {
			t.Fatalf("token %s: %d %s", token, rec.Code, rec.Body)
		}
	}
	for _, tc := range []struct {
		review, result string
		want           float64
	}{
		{"token", "unauthenticated", 1},
		{"token", "wrong_audience", 1},
		{"token_apiserver", "authenticated", 2},
	} {
		if got := counterValue(t, reg, "stagehand_api_auth_reviews_total", map[string]string{"review": tc.review, "result": tc.result}); got != tc.want {
			t.Errorf("reviews{review=%s,result=%s} = %v, want %v", tc.review, tc.result, got, tc.want)
		}
	}
}

// TestTokenAudiencesValidated: an empty or malformed audience is refused
// at start, not sent to the API server.
func TestTokenAudiencesValidated(t *testing.T) {
	for _, auds := range [][]string{{""}, {"a b"}, {"flows.stagehand.dev,vault"}} {
		_, err := New(Options{Addr: "127.0.0.1:0", Reader: fakeReader(t), Auth: AuthKubernetes, Reviewer: &audienceReviewer{}, TokenAudiences: auds})
		if err == nil {
			t.Errorf("audiences %q accepted", auds)
		}
	}
}

// TestAnonymousReviewRefused: a TokenReview that answers system:anonymous,
// or a user in system:unauthenticated, is a refusal, counted apart.
func TestAnonymousReviewRefused(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := must(newMetrics(reg))
	for _, u := range []authenticationv1.UserInfo{
		{Username: "system:anonymous", Groups: []string{"system:unauthenticated"}},
		{Username: "system:anonymous"},
		{Username: "someone", Groups: []string{"system:unauthenticated"}},
	} {
		rv := reviewerFunc(func(obj client.Object) {
			tr := obj.(*authenticationv1.TokenReview)
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: u, Audiences: tr.Spec.Audiences}
		})
		tr := &tokenReviewer{reviewer: rv, timeout: time.Second, m: m}
		_, ok, err := tr.AuthenticateToken(authenticator.WithAudiences(context.Background(), authenticator.Audiences{DefaultTokenAudience}), "x")
		if ok || err != nil {
			t.Errorf("a review answering %+v: authenticated %v (%v), want a refusal", u, ok, err)
		}
	}
	if got := counterValue(t, reg, "stagehand_api_auth_reviews_total", map[string]string{"review": "token", "result": "anonymous"}); got != 3 {
		t.Errorf("reviews{result=anonymous} = %v, want 3", got)
	}
}

// reviewerFunc is a Reviewer that fills in each review with a function.
type reviewerFunc func(client.Object)

func (f reviewerFunc) Create(_ context.Context, obj client.Object, _ ...client.CreateOption) error {
	f(obj)
	return nil
}

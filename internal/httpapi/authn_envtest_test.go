package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// token mints a token for the ServiceAccount ns/name with the API server's
// TokenRequest (what `kubectl create token NAME --audience=...` does), for
// the given audiences; none: the API server's own, as `kubectl create
// token` without --audience, and the token a pod mounts by default.
func (c *cluster) token(t testing.TB, ns, name string, audiences ...string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: ptr.To(int64(3600))}}
	if err := c.admin.SubResource("token").Create(context.Background(), sa, tr); err != nil {
		t.Fatalf("TokenRequest for %s/%s, audiences %q: %v", ns, name, audiences, err)
	}
	return tr.Status.Token
}

// audienceWorld creates, in a namespace of its own, a PasswordStage and a
// ServiceAccount allowed to read it, and returns the stage's retrieve path
// once the API serves it.
func audienceWorld(t *testing.T, c *cluster, prefix string) (ns, path string) {
	t.Helper()
	ns = c.namespace(t, prefix)
	stage := &flowsv1alpha1.PasswordStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "password"}, Spec: flowsv1alpha1.PasswordStageSpec{
		Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"},
	}}
	c.create(t, stage, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"}})
	c.grantRead(t, ns, ns, "reader")
	path = "/api/v3/stages/password/" + string(stage.UID) + "/"
	testenv.Eventually(t, func() error {
		if got := call(t, "GET", c.none+path, ""); got.code != 200 {
			return fmt.Errorf("GET %s: %d %s", path, got.code, got.body)
		}
		return nil
	})
	return ns, path
}

// TestTokenAudiencesWithRealTokens: tokens minted by a real API server, read
// by a real TokenReview. One minted for the API's audience (alone, or among
// others) reads; one minted for kube-apiserver (no --audience) or for
// another audience is refused with authentik's "Token invalid/expired",
// although it belongs to the same ServiceAccount with the same RBAC. With
// AcceptKubeAPIServerTokens, kube-apiserver's token reads too, and the
// other audience's is still refused.
func TestTokenAudiencesWithRealTokens(t *testing.T) {
	c := envtest(t)
	ns, path := audienceWorld(t, c, "audiences")
	tokens := map[string]string{
		"stagehand":               c.token(t, ns, "reader", DefaultTokenAudience),
		"another, then stagehand": c.token(t, ns, "reader", "vault", DefaultTokenAudience),
		"kube-apiserver":          c.token(t, ns, "reader"),
		"another":                 c.token(t, ns, "reader", "vault"),
	}
	const refused = `{"detail":"Token invalid/expired"}`

	// The shared server, with the defaults the manager has.
	want := map[string]int{"stagehand": 200, "another, then stagehand": 200, "kube-apiserver": 403, "another": 403}
	testenv.Eventually(t, func() error { // the RoleBinding takes effect through the authorizer's informers
		if got := call(t, "GET", c.kube+path, tokens["stagehand"]); got.code != 200 {
			return fmt.Errorf("%d %s", got.code, got.body)
		}
		return nil
	})
	for name, code := range want {
		got := call(t, "GET", c.kube+path, tokens[name])
		if got.code != code || (code == 403 && got.body != refused) {
			t.Errorf("a token for %s: %d %s, want %d", name, got.code, got.body, code)
		}
	}

	// With the compatibility, over the same cache and the manager's client.
	compat, err := New(Options{
		Addr: "127.0.0.1:0", Reader: c.mgr.GetCache(), Reviewer: c.mgr.GetClient(), Auth: AuthKubernetes,
		AcceptKubeAPIServerTokens: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]int{"stagehand": 200, "another, then stagehand": 200, "kube-apiserver": 200, "another": 403}
	for name, code := range want {
		rec := get(t, compat, path, "Authorization", "Bearer "+tokens[name])
		if rec.Code != code || (code == 403 && rec.Body.String() != refused) {
			t.Errorf("with the compatibility, a token for %s: %d %s, want %d", name, rec.Code, rec.Body, code)
		}
	}
}

// klogOut is where client-go's logs (klog) go in this package's tests:
// nowhere, but while TestNoTokenInLogs captures them. klog's logger is a
// global that client-go's goroutines read whenever they like, some after
// the manager that started them has returned (controller-runtime's event
// broadcaster), so TestMain sets it once, before any test runs, and it is
// never changed: changing it under them is a data race.
var klogOut = &switchWriter{}

// switchWriter writes to the writer last set, or discards.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}

// captureKlog sends klog's logs, at every verbosity, to klogOut.
func captureKlog() {
	klog.SetLogger(zap.New(zap.WriteTo(klogOut), zap.Level(zapcore.Level(-127))).WithName("klog"))
}

// TestNoTokenInLogs: requests with tokens the API refuses, tokens it
// accepts, and tokens whose review fails (the API server forbids the
// review) leave no token, nor any part of one, in the logs: the API
// server's, the manager's (controller-runtime's, at every verbosity, with
// the manager's own zap encoder) and client-go's (klog). The manager runs
// as its generated RBAC allows; a second API server reviews with a user the
// API server forbids TokenReviews, so that every review fails.
func TestNoTokenInLogs(t *testing.T) {
	c := envtest(t)
	ns, path := audienceWorld(t, c, "no-token-in-logs")
	c.create(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nobody"}})
	tokens := []string{
		c.token(t, ns, "reader", DefaultTokenAudience), // reads
		c.token(t, ns, "nobody", DefaultTokenAudience), // authenticated, may read nothing
		c.token(t, ns, "reader"),                       // kube-apiserver's: refused
		c.token(t, ns, "reader", "vault"),              // another audience: refused
		"not-a-token-b7f3e1c94a2d",                     // refused
	}
	// A real token, but one character off: refused.
	forged := tokens[0][:len(tokens[0])-4] + "AAAA"
	tokens = append(tokens, forged)

	// Everything the manager and the API log, at every verbosity.
	logs := &testenv.LogBuffer{}
	logger := zap.New(zap.WriteTo(logs), zap.Level(zapcore.Level(-127)))
	klogOut.set(logs)
	defer klogOut.set(nil)

	cfg, err := c.env.AddUser(testenv.ManagerUser) // bound to the generated role by the shared manager's start
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: testenv.Scheme(), Logger: logger,
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := refs.Register(ctx, mgr.GetFieldIndexer()); err != nil {
		t.Fatal(err)
	}
	// A user the API server lets review nothing: every TokenReview fails.
	noReviewsCfg, err := c.env.AddUser("stagehand-test-no-reviews")
	if err != nil {
		t.Fatal(err)
	}
	noReviews, err := client.New(noReviewsCfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	urls := map[string]string{}
	for name, reviewer := range map[string]Reviewer{"reviewed": mgr.GetClient(), "failing": noReviews} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Options{
			Listener: ln, Reader: mgr.GetCache(), Cache: mgr.GetCache(), Reviewer: reviewer, Auth: AuthKubernetes,
			AuthCacheTTL: time.Nanosecond, Log: logger.WithName("api"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := mgr.Add(s); err != nil {
			t.Fatal(err)
		}
		urls[name] = "http://" + ln.Addr().String()
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("the manager stopped: %v", err)
		}
	}()
	defer func() { cancel(); <-stopped }()

	testenv.Eventually(t, func() error {
		if got := call(t, "GET", urls["reviewed"]+path, tokens[0]); got.code != 200 {
			return fmt.Errorf("the reader: %d %s", got.code, got.body)
		}
		return nil
	})
	for _, tok := range tokens {
		for _, p := range []string{path, "/api/v3/stages/password/", "/api/v3/stages/password/?page=x"} {
			call(t, "GET", urls["reviewed"]+p, tok)
			if got := call(t, "GET", urls["failing"]+p, tok); got.code != 503 {
				t.Errorf("a failed review: %d %s, want 503", got.code, got.body)
			}
		}
	}

	out := logs.String()
	// The capture has teeth: the failed reviews were logged, with the API
	// server's reason.
	if !strings.Contains(out, "tokenreviews.authentication.k8s.io is forbidden") {
		t.Fatalf("the failed reviews are not in the captured logs:\n%s", out)
	}
	for _, tok := range tokens {
		parts := append([]string{tok}, strings.Split(tok, ".")...)
		for _, p := range parts {
			// A JWT's first part is its header ({"alg":...,"kid":...}),
			// the same for every token of the cluster: not a secret.
			if len(p) < 12 || (strings.Count(tok, ".") == 2 && p == strings.Split(tok, ".")[0]) {
				continue
			}
			if strings.Contains(out, p) {
				t.Errorf("a token (or a part of it, %q) is in the logs", p[:12]+"...")
			}
		}
	}
	if !t.Failed() {
		t.Logf("%d bytes of logs, no token in them", len(out))
	}
}

// TestNoAnonymousCaller: kube-apiserver, as clusters run it (envtest's runs
// with its default --anonymous-auth=true), answers a TokenReview whose
// token its own bearer parser reads as empty ("Bearer  x" is the token
// " x": an empty token, then "x") with authenticated: true, as
// system:anonymous, for whatever audiences were asked. A cluster that lets
// unauthenticated callers read something in a namespace (here,
// PasswordStages) must not thereby let them read it through stagehand
// without a token. Every malformed header is refused with authentik's 403
// for a key that is no token, and a review that answers system:anonymous
// (or any user in system:unauthenticated) is refused whatever let it
// through.
func TestNoAnonymousCaller(t *testing.T) {
	c := envtest(t)
	ns, path := audienceWorld(t, c, "anonymous")
	reader := c.token(t, ns, "reader", DefaultTokenAudience)
	c.create(t,
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "public-stages"}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{flowsv1alpha1.GroupVersion.Group}, Resources: []string{"passwordstages"}, Verbs: []string{"get"},
		}}},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "public-stages"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "public-stages"},
		},
	)
	testenv.Eventually(t, func() error {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "system:anonymous", Groups: []string{"system:unauthenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: ns, Verb: "get", Group: flowsv1alpha1.GroupVersion.Group, Resource: "passwordstages",
			},
		}}
		if err := c.admin.Create(context.Background(), sar); err != nil {
			return err
		}
		if !sar.Status.Allowed {
			return errors.New("system:unauthenticated may not get passwordstages yet")
		}
		return nil
	})

	const refused = `{"detail":"Token invalid/expired"}`
	for _, header := range []string{
		"Bearer  x",
		"Bearer  " + reader, // kube-apiserver reads it as an empty token too
		"bearer \t x",
		"Bearer x y", // kube-apiserver would review "x"
		"Bearer " + reader + " junk",
		"Bearer " + reader + "\tjunk",
	} {
		req, err := http.NewRequest("GET", c.kube+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", header)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 403 || string(b) != refused {
			t.Errorf("Authorization %q: %d %s, want 403 %s", strings.ReplaceAll(header, reader, "<token>"), resp.StatusCode, b, refused)
		}
	}
	// The reader's own token, well formed, still reads.
	if got := call(t, "GET", c.kube+path, reader); got.code != 200 {
		t.Errorf("the reader: %d %s", got.code, got.body)
	}

	// The second guard, on its own: a review the API server answers with
	// system:anonymous is a refusal.
	tr := &tokenReviewer{reviewer: c.mgr.GetClient(), timeout: testenv.Timeout, m: must(newMetrics(nil))}
	for _, auds := range [][]string{{DefaultTokenAudience}, nil} {
		ctx := context.Background()
		if auds != nil {
			ctx = authenticator.WithAudiences(ctx, auds)
		}
		resp, ok, err := tr.AuthenticateToken(ctx, " x")
		if err != nil || ok {
			var who any
			if resp != nil {
				who = resp.User
			}
			t.Errorf("a TokenReview of %q for audiences %q: authenticated %v as %v (%v), want a refusal", " x", auds, ok, who, err)
		}
	}
}

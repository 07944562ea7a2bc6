package apitls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/stagehand-dev/stagehand/hack/manifests"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// The tests that need a real API server share one (testenv.Shared).
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// deployment is what config/default gives the manager for its CA: the
// namespace, the ServiceAccount, the Secret, the ConfigMap and the API's
// Service, by name.
type deployment struct {
	namespace, serviceAccount, secret, configMap, service string
}

// applyDefault applies, from config/default, the manager's namespace and
// ServiceAccount, the empty Secret and ConfigMap, the Role that lets it use
// them and the leader election Role, with their bindings: what the CA
// needs, and nothing else (the manager's ClusterRoles are left out, so that
// a read beyond the Role would fail).
func applyDefault(t *testing.T, env *testenv.Env) deployment {
	t.Helper()
	objs, err := manifests.Objects(filepath.Join(testenv.Root(), "config", "default"), "")
	if err != nil {
		t.Fatal(err)
	}
	var d deployment
	var apply []*unstructured.Unstructured
	for _, o := range objs {
		component := o.GetLabels()["app.kubernetes.io/component"]
		switch {
		case o.GetKind() == "Namespace":
			d.namespace = o.GetName()
		case o.GetKind() == "ServiceAccount":
			d.serviceAccount = o.GetName()
		case o.GetKind() == "Service" && component == "api":
			d.service = o.GetName()
		case component == "api-tls" && o.GetKind() == "Secret":
			d.secret = o.GetName()
		case component == "api-tls" && o.GetKind() == "ConfigMap":
			d.configMap = o.GetName()
		case component == "api-tls", o.GetKind() == "Role" || o.GetKind() == "RoleBinding":
		default:
			continue
		}
		apply = append(apply, o)
	}
	if d == (deployment{}) || d.secret == "" || d.configMap == "" || d.service == "" {
		t.Fatalf("config/default lacks what the CA needs: %+v", d)
	}
	for _, o := range apply {
		if err := env.Client.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("apitls-test"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	return d
}

// asServiceAccount is a connection as the manager's ServiceAccount, with a
// token from the API server, as a pod has.
func asServiceAccount(t *testing.T, env *testenv.Env, ns, name string) *rest.Config {
	t.Helper()
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := env.Client.SubResource("token").Create(context.Background(), sa, tr); err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = tr.Status.Token
	return cfg
}

// replica is one manager, with the CA and an HTTPS server that serves its
// certificate.
type replica struct {
	mgr  manager.Manager
	addr string
	stop func()
}

// clock is a clock the test moves; every replica reads it.
type clock struct{ now atomic.Int64 }

func newClock(start time.Time) *clock {
	c := &clock{}
	c.now.Store(start.UnixNano())
	return c
}

func (c *clock) Now() time.Time      { return time.Unix(0, c.now.Load()) }
func (c *clock) add(d time.Duration) { c.now.Add(int64(d)) }

func startReplica(t *testing.T, cfg *rest.Config, d deployment, clk *clock) *replica {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        testenv.Scheme(),
		Logger:                        logr.Discard(),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                true,
		LeaderElectionID:              "apitls-test",
		LeaderElectionNamespace:       d.namespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 ptr.To(5 * time.Second),
		RenewDeadline:                 ptr.To(3 * time.Second),
		RetryPeriod:                   ptr.To(200 * time.Millisecond),
		// Two managers in one process run a controller of one name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := Setup(mgr, Options{
		Namespace: d.namespace, SecretName: d.secret, ConfigMapName: d.configMap,
		DNSNames: ServiceDNSNames(d.service, d.namespace), Now: clk.Now, Log: logr.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }),
		ReadHeaderTimeout: time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("a manager stopped: %v", err)
		}
	}()
	r := &replica{mgr: mgr, addr: ln.Addr().String()}
	r.stop = func() {
		cancel()
		<-done
		_ = srv.Close()
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			r.stop()
		}
	})
	if err := testenv.WaitFor(func() error { return certs.ReadyzCheck(nil) }); err != nil {
		t.Fatalf("a replica never had a certificate: %v", err)
	}
	return r
}

// published is the bundle of the ConfigMap, as a client reads it.
func published(ctx context.Context, c client.Client, d deployment) (*x509.CertPool, []*x509.Certificate, error) {
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: d.namespace, Name: d.configMap}, &cm); err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	var certs []*x509.Certificate
	rest := []byte(cm.Data[BundleKey])
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, err
		}
		pool.AddCert(c)
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, nil, errors.New("the ConfigMap holds no CA yet")
	}
	return pool, certs, nil
}

// handshake connects to a replica as an in-cluster client would: it
// trusts the published bundle and nothing else, and asks for the Service's
// name. It returns the certificate the replica served.
func handshake(r *replica, d deployment, roots *x509.CertPool, now func() time.Time) (*x509.Certificate, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", r.addr, &tls.Config{
		RootCAs: roots, ServerName: d.service + "." + d.namespace + ".svc", Time: now, MinVersion: tls.VersionTLS12,
	})
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// everyReplicaServes waits until every replica serves a certificate that
// the published bundle makes trusted and that check accepts.
func everyReplicaServes(t *testing.T, env *testenv.Env, d deployment, clk *clock, rs []*replica, what string, check func(leaf *x509.Certificate, bundle []*x509.Certificate) error) {
	t.Helper()
	err := testenv.WaitFor(func() error {
		roots, bundle, err := published(context.Background(), env.Client, d)
		if err != nil {
			return err
		}
		var first *x509.Certificate
		for i, r := range rs {
			leaf, err := handshake(r, d, roots, clk.Now)
			if err != nil {
				return fmt.Errorf("replica %d: %w", i, err)
			}
			if first != nil && !leaf.Equal(first) {
				return fmt.Errorf("replicas %d and 0 serve different certificates", i)
			}
			first = leaf
			if err := check(leaf, bundle); err != nil {
				return fmt.Errorf("replica %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// poke changes an annotation of the Secret, so that the leader looks at it
// again (it would on its own when the time comes, but the test's clock
// moves faster than that).
func poke(t *testing.T, env *testenv.Env, d deployment) {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: d.namespace, Name: d.secret}, &s); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(s.DeepCopy())
	metav1.SetMetaDataAnnotation(&s.ObjectMeta, "apitls-test/poke", time.Now().Format(time.RFC3339Nano))
	if err := env.Client.Patch(context.Background(), &s, patch); err != nil {
		t.Fatal(err)
	}
}

// TestTwoReplicas runs two managers as config/default's ServiceAccount,
// with nothing but config/default's Roles: the leader issues a CA and a
// serving certificate into the Secret and publishes the CA in the
// ConfigMap; both replicas serve that certificate, trusted by the bundle for
// the Service's name; a renewal and a CA rotation reach both at once, the
// bundle always trusting what they serve; when the leader goes, the other
// replica carries on (it restores a ConfigMap emptied by hand); a Secret
// deleted and re-created empty gets a new CA, which both serve.
func TestTwoReplicas(t *testing.T) {
	env := testenv.Shared(t)
	ctx := context.Background()
	d := applyDefault(t, env)
	cfg := asServiceAccount(t, env, d.namespace, d.serviceAccount)
	clk := newClock(time.Now())

	a := startReplica(t, cfg, d, clk)
	b := startReplica(t, cfg, d, clk)
	rs := []*replica{a, b}
	var first *x509.Certificate
	everyReplicaServes(t, env, d, clk, rs, "the first certificate", func(leaf *x509.Certificate, bundle []*x509.Certificate) error {
		if len(bundle) != 1 {
			return fmt.Errorf("%d CAs published, want 1", len(bundle))
		}
		first = leaf
		return nil
	})

	// 61 days on: the serving certificate is renewed, by the same CA.
	clk.add(61 * day)
	poke(t, env, d)
	everyReplicaServes(t, env, d, clk, rs, "the renewed certificate", func(leaf *x509.Certificate, bundle []*x509.Certificate) error {
		if leaf.Equal(first) {
			return errors.New("still the first certificate")
		}
		if leaf.Issuer.CommonName != first.Issuer.CommonName || len(bundle) != 1 {
			return fmt.Errorf("issued by %s with %d CAs published, want %s alone", leaf.Issuer.CommonName, len(bundle), first.Issuer.CommonName)
		}
		return nil
	})

	// 250 days from the start: the next CA is published, and does not sign yet.
	clk.add(189 * day)
	poke(t, env, d)
	everyReplicaServes(t, env, d, clk, rs, "the next CA published", func(leaf *x509.Certificate, bundle []*x509.Certificate) error {
		if len(bundle) != 2 || leaf.Issuer.CommonName != first.Issuer.CommonName {
			return fmt.Errorf("%d CAs published, the certificate issued by %s; want 2, and the first CA", len(bundle), leaf.Issuer.CommonName)
		}
		return nil
	})

	// 311 days: the next CA signs; the first is still published.
	clk.add(61 * day)
	poke(t, env, d)
	everyReplicaServes(t, env, d, clk, rs, "the next CA signing", func(leaf *x509.Certificate, bundle []*x509.Certificate) error {
		if len(bundle) != 2 || leaf.Issuer.CommonName == first.Issuer.CommonName {
			return fmt.Errorf("%d CAs published, the certificate issued by %s; want 2, and the next CA", len(bundle), leaf.Issuer.CommonName)
		}
		return nil
	})

	// The leader goes; the other replica leads, and restores the bundle.
	leader, other := a, b
	select {
	case <-a.mgr.Elected():
	case <-b.mgr.Elected():
		leader, other = b, a
	}
	leader.stop()
	rs = []*replica{other}
	var cm corev1.ConfigMap
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: d.namespace, Name: d.configMap}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data = nil
	if err := env.Client.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	everyReplicaServes(t, env, d, clk, rs, "after the leader went", func(_ *x509.Certificate, bundle []*x509.Certificate) error {
		if len(bundle) != 2 {
			return fmt.Errorf("%d CAs published, want 2 restored", len(bundle))
		}
		return nil
	})

	// The Secret deleted: the replica serves on what it has; re-created
	// empty, it gets a new CA, published and served.
	var s corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: d.namespace, Name: d.secret}, &s); err != nil {
		t.Fatal(err)
	}
	before := s.Data[KeyCACert]
	if err := env.Client.Delete(ctx, &s); err != nil {
		t.Fatal(err)
	}
	roots, _, err := published(ctx, env.Client, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(other, d, roots, clk.Now); err != nil {
		t.Errorf("with its Secret deleted, the replica stopped serving: %v", err)
	}
	if err := env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: d.namespace, Name: d.secret}}); err != nil {
		t.Fatal(err)
	}
	everyReplicaServes(t, env, d, clk, rs, "after the Secret was re-created", func(leaf *x509.Certificate, bundle []*x509.Certificate) error {
		if len(bundle) != 1 {
			return fmt.Errorf("%d CAs published, want the new one alone", len(bundle))
		}
		return nil
	})
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: d.namespace, Name: d.secret}, &s); err != nil || string(s.Data[KeyCACert]) == string(before) {
		t.Errorf("the re-created Secret does not hold a new CA (%v)", err)
	}
}

// TestRoleIsNarrow asks the API server's RBAC authorizer what config/default
// lets the manager do to Secrets and ConfigMaps in its namespace: get, list,
// watch and update its two objects by name, and nothing else (no create, no
// delete, no other Secret, no list without the name).
func TestRoleIsNarrow(t *testing.T) {
	env := testenv.Shared(t)
	d := applyDefault(t, env)
	user := "system:serviceaccount:" + d.namespace + ":" + d.serviceAccount
	may := func(verb, resource, name string) bool {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + d.namespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: d.namespace, Verb: verb, Resource: resource, Name: name},
		}}
		if err := env.Client.Create(context.Background(), sar); err != nil {
			t.Fatal(err)
		}
		return sar.Status.Allowed
	}
	// The RoleBinding takes effect through the authorizer's informers.
	if err := testenv.WaitFor(func() error {
		if !may("get", "secrets", d.secret) {
			return errors.New("not yet")
		}
		return nil
	}); err != nil {
		t.Fatal("the manager may never get its Secret")
	}
	for _, tc := range []struct {
		verb, resource, name string
		want                 bool
	}{
		{"get", "secrets", d.secret, true},
		{"list", "secrets", d.secret, true},
		{"watch", "secrets", d.secret, true},
		{"update", "secrets", d.secret, true},
		{"delete", "secrets", d.secret, false},
		{"patch", "secrets", d.secret, false},
		{"get", "secrets", "another", false},
		{"update", "secrets", "another", false},
		{"list", "secrets", "", false},
		{"watch", "secrets", "", false},
		{"create", "secrets", "", false},
		{"get", "configmaps", d.configMap, true},
		{"list", "configmaps", d.configMap, true},
		{"watch", "configmaps", d.configMap, true},
		{"update", "configmaps", d.configMap, true},
		{"delete", "configmaps", d.configMap, false},
		{"get", "configmaps", "another", false},
		{"list", "configmaps", "", false},
	} {
		if got := may(tc.verb, tc.resource, tc.name); got != tc.want {
			t.Errorf("with config/default's Roles the manager may %s %s %q in %s: %v, want %v", tc.verb, tc.resource, tc.name, d.namespace, got, tc.want)
		}
	}
}

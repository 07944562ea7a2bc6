// Package testenv is the one harness of stagehand's tests that run on the
// real control plane: a kube-apiserver and an etcd built from Go modules by
// `make envtest`, with stagehand's CRDs installed (Start), and a manager
// that runs with exactly the permissions `make manifests` generates
// (StartManager). Packages start it once, in TestMain, and give each test a
// namespace of its own.
package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// How long tests wait on the control plane, and how often they look. The
// targets are far shorter (a reconcile within a second); the deadline is
// generous so that tests pass on a loaded two-core machine too. Start makes
// them Gomega's Eventually defaults.
const (
	Timeout = 30 * time.Second
	Poll    = 20 * time.Millisecond
)

// Root is the repository's top directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Scheme knows the built-in kinds and stagehand's.
func Scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := flowsv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// Env is a running control plane.
type Env struct {
	env *envtest.Environment

	// Config is an administrator's connection to the API server.
	Config *rest.Config
	// Client is an administrator's client, reading straight from the API
	// server (no cache).
	Client client.Client
}

// Start starts kube-apiserver and etcd from $KUBEBUILDER_ASSETS (by default
// bin/k8s, where `make envtest` builds them) and installs the CRDs of
// config/crd/bases. Stop it with Stop.
func Start() (*Env, error) {
	gomega.SetDefaultEventuallyTimeout(Timeout)
	gomega.SetDefaultEventuallyPollingInterval(Poll)
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(Root(), "bin", "k8s")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return nil, fmt.Errorf("no %s in %s: run the tests with `make test`, which builds the control plane (or `make envtest` once, then go test): %w", bin, assets, err)
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(Root(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                Scheme(),
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane from %s: %w", assets, err)
	}
	// Tests create many objects quickly; client-go's default 5 QPS would
	// make them wait on the client, not on the API server.
	cfg.QPS, cfg.Burst = 500, 1000
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Env{env: env, Config: cfg, Client: c}, nil
}

// Stop stops the control plane and removes its data.
func (e *Env) Stop() error { return e.env.Stop() }

var shared struct {
	once sync.Once
	env  *Env
	err  error
}

// Shared is the one control plane a package's tests share, started by the
// first test that asks for it, so that tests needing none (and go test
// -fuzz) never start it. The package's TestMain stops it: see Main.
func Shared(t testing.TB) *Env {
	t.Helper()
	shared.once.Do(func() { shared.env, shared.err = Start() })
	if shared.err != nil {
		t.Fatalf("starting the control plane: %v", shared.err)
	}
	return shared.env
}

// Main runs a package's tests, then stops the control plane Shared
// started, if any: a package that uses Shared calls it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if shared.env != nil {
		_ = shared.env.Stop()
	}
	return code
}

// AddUser returns a connection for a user authenticated by a client
// certificate, in the given groups.
func (e *Env) AddUser(name string, groups ...string) (*rest.Config, error) {
	u, err := e.env.ControlPlane.AddUser(envtest.User{Name: name, Groups: groups}, e.Config)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// ManagerUser is who StartManager's manager runs as: a user bound to
// exactly config/rbac/role.yaml, the ClusterRole `make manifests` generates
// from the RBAC markers, and config/rbac/auth_reviewer_role.yaml, with which
// the API reviews its callers. A missing permission fails the tests.
const ManagerUser = "stagehand-manager"

// ManagerRoles are the files of the ClusterRoles config/default binds the
// manager to (beside its Roles in its own namespace): the controllers' and
// the API's reviews.
func ManagerRoles() []string {
	return []string{filepath.Join("config", "rbac", "role.yaml"), filepath.Join("config", "rbac", "auth_reviewer_role.yaml")}
}

// ManagerOptions says what StartManager's manager runs.
type ManagerOptions struct {
	// Setup registers the manager's runnables (reconcilers, API servers)
	// before it starts. The refs indexes are registered already.
	Setup func(manager.Manager) error
	// WrapTransport, when set, wraps the manager's connection to the API
	// server (to count its requests, say).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Cache are the manager's cache options (controllers.CacheOptions for
	// the controllers).
	Cache cache.Options
	// ExtraRoles are files, relative to the repository's root, whose
	// ClusterRole ManagerUser is bound to as well (a component's, such as
	// config/components/blueprint-secrets/role.yaml).
	ExtraRoles []string
}

// StartManager starts a manager on the control plane as ManagerUser, set up
// as cmd/ sets up the real one (the refs indexes, no client-side rate
// limit, no metrics or probe listeners), and returns it with a function that
// stops it and waits for it to stop.
func (e *Env) StartManager(opts ManagerOptions) (manager.Manager, func(), error) {
	cfg, err := e.UserWithRoles(ManagerUser, append(ManagerRoles(), opts.ExtraRoles...)...)
	if err != nil {
		return nil, nil, err
	}
	if opts.WrapTransport != nil {
		cfg.Wrap(opts.WrapTransport)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: Scheme(),
		Cache:  opts.Cache,
		// As the manager's --concurrency default: tests see the
		// reconciles of one kind run side by side, as in production.
		Controller: config.Controller{
			MaxConcurrentReconciles: 4,
			// A test may stop a manager and start another in one process
			// (a restart), whose controllers have the same names.
			SkipNameValidation: &skipNameValidation,
		},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating the manager: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := refs.Register(ctx, mgr.GetFieldIndexer()); err != nil {
		cancel()
		return nil, nil, err
	}
	if opts.Setup != nil {
		if err := opts.Setup(mgr); err != nil {
			cancel()
			return nil, nil, err
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "the manager stopped:", err)
		}
	}()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(Timeout):
			fmt.Fprintln(os.Stderr, "the manager did not stop within", Timeout)
		}
	}
	return mgr, stop, nil
}

var skipNameValidation = true

// UserWithRoles binds the ClusterRole of each file (relative to the
// repository's root: config/rbac/role.yaml, say) to the user name and
// returns a connection as that user, without a client-side rate limit (as
// ctrl.GetConfig gives the real manager).
func (e *Env) UserWithRoles(name string, roles ...string) (*rest.Config, error) {
	ctx := context.Background()
	for i, file := range roles {
		path := filepath.Join(Root(), file)
		role, err := readClusterRole(path)
		if err != nil {
			return nil, err
		}
		role.ObjectMeta = metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i)}
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: role.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
		}
		for _, o := range []client.Object{role, binding} {
			// Already there when a test starts a manager again, as the
			// same user: a restart.
			if err := e.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
				return nil, err
			}
		}
	}
	cfg, err := e.AddUser(name)
	if err != nil {
		return nil, err
	}
	cfg.QPS = -1
	return cfg, nil
}

// readClusterRole reads the first ClusterRole of a YAML file.
func readClusterRole(path string) (*rbacv1.ClusterRole, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var role rbacv1.ClusterRole
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for role.Kind != "ClusterRole" {
		if err := dec.Decode(&role); err != nil {
			return nil, fmt.Errorf("reading the ClusterRole of %s: %w", path, err)
		}
	}
	return &role, nil
}

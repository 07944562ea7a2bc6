// Package testenv starts the real control plane stagehand's tests run on: a
// kube-apiserver and an etcd built from Go modules by `make envtest`, with
// stagehand's CRDs installed.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
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

// AddUser returns a connection for a user authenticated by a client
// certificate, in the given groups.
func (e *Env) AddUser(name string, groups ...string) (*rest.Config, error) {
	u, err := e.env.ControlPlane.AddUser(envtest.User{Name: name, Groups: groups}, e.Config)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// GVK returns the group, version and kind of a stagehand kind.
func GVK(kind string) schema.GroupVersionKind { return flowsv1alpha1.GroupVersion.WithKind(kind) }

// Command dev runs stagehand end to end on one machine, for `make dev`: a
// local etcd and kube-apiserver (the binaries `make envtest` builds) with
// stagehand's CRDs, the RBAC of config/default, the objects of
// config/samples, and the manager (bin/manager) serving its API, in the
// foreground until Ctrl-C, which stops everything it started.
//
// The manager runs as the ServiceAccount a deployment gives it, with
// config/default's least-privilege RBAC, and the API authenticates callers
// with the cluster (TokenReview for stagehand's token audience,
// SubjectAccessReview) unless --api-auth=none: what works here works in a
// cluster. One difference, said at start: by default the API serves plain
// HTTP on loopback (--api-tls=none), where a cluster's serves HTTPS;
// --api-tls=self-signed (DEV_API_TLS=self-signed make dev) serves HTTPS as a
// cluster does, with a certificate from the manager's own CA for its
// Service's names.
//
// Everything it writes is under --dir (bin/dev): the kubeconfig, the reader
// token, the API's URL and address (api-url, api-addr: the docs' curl lines
// read them, so that they work whatever DEV_API_ADDR is), the API's CA with
// TLS (ca.crt), the logs of the manager and of the control plane.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

type options struct {
	manager string
	assets  string
	dir     string
	samples string
	config  string
	apiAddr string
	apiAuth string
	apiTLS  string
	timeout time.Duration
	started string
}

func main() {
	var o options
	flag.StringVar(&o.manager, "manager", "bin/manager", "The manager binary (`make build`).")
	flag.StringVar(&o.assets, "assets", "bin/k8s", "Directory holding kube-apiserver and etcd (`make envtest`).")
	flag.StringVar(&o.dir, "dir", "bin/dev", "Directory for the kubeconfig, the token and the logs.")
	flag.StringVar(&o.samples, "samples", "config/samples", "Kustomization whose objects are applied to the cluster; empty for none.")
	flag.StringVar(&o.config, "config", "config", "stagehand's kustomize directory (crd/bases, default).")
	flag.StringVar(&o.apiAddr, "api-bind-address", "127.0.0.1:9000", "Address the manager's API serves on.")
	flag.StringVar(&o.apiAuth, "api-auth", "kubernetes", "The API's authentication: kubernetes (bearer tokens, checked by the cluster) or none.")
	flag.StringVar(&o.apiTLS, "api-tls", "none", "How the API serves: none (plain HTTP, on loopback) or self-signed (HTTPS, as in a cluster, with a certificate from the manager's own CA for the names of its Service, stagehand-api.stagehand-system.svc).")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "How long to wait for the API to answer before giving up.")
	flag.StringVar(&o.started, "started", "", "When `make dev` began, in Unix nanoseconds (date +%s%N), to report the time to a served API builds included.")
	flag.Parse()
	// envtest's CRD installer logs through controller-runtime; what matters
	// of it reaches the user as errors, so its chatter is dropped (and
	// controller-runtime does not print a stack trace for want of a logger).
	ctrllog.SetLogger(logr.Discard())
	os.Exit(run(o))
}

func run(o options) int {
	start := time.Now()
	if o.apiAuth != "kubernetes" && o.apiAuth != "none" {
		fmt.Fprintf(os.Stderr, "--api-auth=%q: must be kubernetes or none\n", o.apiAuth)
		return 2
	}
	if o.apiTLS != tlsNone && o.apiTLS != tlsSelfSigned {
		fmt.Fprintf(os.Stderr, "--api-tls=%q: must be none or self-signed\n", o.apiTLS)
		return 2
	}

	// First of all, before anything is started: one `make dev` runs per
	// checkout (it owns bin/dev: the kubeconfig, the token, the logs). A
	// second one in the same checkout stops here, at once.
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	unlock, err := lock(o.dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer unlock()

	// Then: is the API's address free? Another program (or a `make dev` in
	// another checkout) may hold it.
	hold, err := net.Listen("tcp", o.apiAddr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			fmt.Fprintf(os.Stderr, "%s is in use by another program (a `make dev` in another checkout, say): stop it, or serve the API elsewhere with DEV_API_ADDR (make dev DEV_API_ADDR=127.0.0.1:9001).\n", o.apiAddr)
		} else {
			fmt.Fprintf(os.Stderr, "cannot serve the API on %s: %v (make dev DEV_API_ADDR=host:port)\n", o.apiAddr, err)
		}
		return 1
	}
	// Held until the manager takes it over, so that nothing else does.
	defer func() { _ = hold.Close() }()

	for _, bin := range []string{filepath.Join(o.assets, "kube-apiserver"), filepath.Join(o.assets, "etcd"), o.manager} {
		if _, err := os.Stat(bin); err != nil {
			fmt.Fprintf(os.Stderr, "%s is missing: run `make dev`, which builds it (`make envtest build`).\n", bin)
			return 1
		}
	}
	reapLeftovers(o.dir, os.Stdout)

	// From here on, SIGINT (Ctrl-C), SIGTERM and SIGHUP (a closed terminal)
	// stop everything in order. A second one stops it at once.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-signals
		cancel()
		<-signals
		fmt.Fprintln(os.Stderr, "\nstopping at once")
		killChildren()
		os.Exit(1)
	}()

	d := &dev{options: o, out: os.Stdout}
	code := d.up(ctx, hold, start)
	if code == 0 {
		code = d.wait(ctx)
	}
	d.down()
	if code == 0 && ctx.Err() != nil {
		fmt.Fprintln(d.out, "stopped; nothing is left running.")
	}
	return code
}

// since formats the time from t to now, as "4.2s".
func since(t time.Time) string {
	return strconv.FormatFloat(time.Since(t).Seconds(), 'f', 1, 64) + "s"
}

// relative shows path relative to the working directory when it is inside it.
// absolute returns path made absolute, for lines a person pastes elsewhere.
func absolute(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func relative(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return abs
	}
	if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return abs
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/stagehand-dev/stagehand/internal/httpapi"
)

const (
	// The ServiceAccount the manager runs as, and its namespace: those of
	// config/default, so that it has exactly a deployment's permissions.
	managerNamespace      = "stagehand-system"
	managerServiceAccount = "stagehand-controller-manager"

	// The read-only ServiceAccount whose token the printed curl line uses,
	// bound to config/default's viewer role.
	readerNamespace      = "default"
	readerServiceAccount = "stagehand-dev-reader"
	viewerRole           = "stagehand-viewer-role"

	// The audience the reader's token is minted for: the API's default.
	tokenAudience = httpapi.DefaultTokenAudience

	// With --api-tls=self-signed: the API's Service, whose names the
	// manager's certificate is for, and the ConfigMap where it publishes its
	// CA (those of config/default).
	apiService     = "stagehand-api"
	apiServiceHost = apiService + "." + managerNamespace + ".svc"
	apiCAConfigMap = "stagehand-api-ca"

	// The API's TLS modes (--api-tls).
	tlsNone       = "none"
	tlsSelfSigned = "self-signed"

	// Tokens outlive any dev session; the cluster, and its signing key, are
	// gone at Ctrl-C anyway.
	tokenLifetime = 7 * 24 * time.Hour
)

// dev is one `make dev` session.
type dev struct {
	options
	out io.Writer

	env     *envtest.Environment
	admin   *rest.Config
	client  client.Client
	manager *exec.Cmd
	exited  chan error // receives the manager's exit
	logs    []*os.File

	kubeconfig    string
	readerToken   string
	sampleObjects []*unstructured.Unstructured
}

// up starts everything and prints what to try. It returns the exit code: 0
// when the API serves (or when a signal came first).
func (d *dev) up(ctx context.Context, hold net.Listener, start time.Time) int {
	// fail reports a failure, unless it is only Ctrl-C interrupting a step.
	fail := func(format string, args ...any) int {
		if ctx.Err() != nil {
			return 0
		}
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		return 1
	}
	// A fresh cluster each time: the previous session's state is gone.
	for _, sub := range sessionFiles {
		_ = os.RemoveAll(filepath.Join(d.dir, sub))
	}

	fmt.Fprintf(d.out, "starting etcd and kube-apiserver (%s) with stagehand's CRDs\n", relative(d.assets))
	t := time.Now()
	if err := d.startControlPlane(); err != nil {
		fmt.Fprintf(os.Stderr, "the control plane did not start: %v\nIts logs: %s, %s\n", err,
			relative(filepath.Join(d.dir, "kube-apiserver.log")), relative(filepath.Join(d.dir, "etcd.log")))
		return 1
	}
	recordChildren(d.dir)
	if ctx.Err() != nil {
		return 0
	}
	fmt.Fprintf(d.out, "  up in %s; kubeconfig: %s\n", since(t), relative(d.kubeconfig))

	if err := d.applyRBAC(ctx); err != nil {
		return fail("applying config/default's RBAC: %v", err)
	}
	n, err := d.applySamples(ctx)
	if err != nil {
		return fail("applying %s: %v", d.samples, err)
	}
	if n > 0 {
		fmt.Fprintf(d.out, "applied %d objects from %s\n", n, relative(d.samples))
	} else {
		fmt.Fprintf(d.out, "no samples applied (%s has none)\n", d.samples)
	}
	if d.apiAuth == "kubernetes" {
		if d.readerToken, err = d.reader(ctx); err != nil {
			return fail("creating the reader ServiceAccount: %v", err)
		}
	}
	if ctx.Err() != nil {
		return 0
	}

	// The manager takes the API's address over from us.
	_ = hold.Close()
	if err := d.startManager(ctx); err != nil {
		return fail("starting the manager: %v", err)
	}
	fmt.Fprintf(d.out, "starting the manager as ServiceAccount %s/%s, with config/default's RBAC (log: %s)\n",
		managerNamespace, managerServiceAccount, relative(d.managerLog()))

	example, err := d.waitForAPI(ctx)
	if err != nil {
		return fail("%v\nThe manager's last lines (%s):\n%s", err, relative(d.managerLog()), tail(d.managerLog(), 20))
	}
	if err := d.writeAPIFiles(); err != nil {
		return fail("writing the API's address: %v", err)
	}
	served := fmt.Sprintf("API served on http://%s after %s", d.apiAddr, since(start))
	if d.apiTLS == tlsSelfSigned {
		served = fmt.Sprintf("API served on %s (listening on %s) after %s", d.apiURL(), d.apiAddr, since(start))
	}
	if ns, err := strconv.ParseInt(d.started, 10, 64); err == nil && ns > 0 {
		served += fmt.Sprintf(" (%s since `make dev` began, builds included)", since(time.Unix(0, ns)))
	}
	fmt.Fprintln(d.out, served)
	if n > 0 {
		if msg := d.waitForSamples(ctx, 30*time.Second); msg != "" {
			fmt.Fprintln(d.out, msg)
		}
	}
	if ctx.Err() != nil {
		return 0
	}
	d.printTry(example)
	return 0
}

// wait blocks until a signal or until the manager exits on its own.
func (d *dev) wait(ctx context.Context) int {
	select {
	case <-ctx.Done():
		return 0
	case err := <-d.exited:
		d.manager = nil
		fmt.Fprintf(os.Stderr, "the manager exited (%v). Its last lines (%s):\n%s\n", err, relative(d.managerLog()), tail(d.managerLog(), 20))
		return 1
	}
}

// down stops what up started, the manager first, and leaves no process.
func (d *dev) down() {
	if d.manager != nil || d.env != nil {
		fmt.Fprintln(d.out, "\nstopping the manager, kube-apiserver and etcd")
	}
	if d.manager != nil {
		d.stopManager()
	}
	if d.env != nil {
		if err := d.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the control plane: %v\n", err)
		}
	}
	// Whatever is still running now did not stop when asked.
	killChildren()
	for _, f := range d.logs {
		_ = f.Close()
	}
	for _, sub := range append(slices.Clone(sessionFiles), "pids") {
		_ = os.RemoveAll(filepath.Join(d.dir, sub))
	}
}

// sessionFiles are what a session writes under --dir for others to read,
// removed when it starts and when it stops: a file there is the running
// session's.
var sessionFiles = []string{"etcd", "pki", "kubeconfig", "manager.kubeconfig", "token", "api-url", "api-addr", "ca.crt"}

// apiURL is the API's URL for a client: its loopback address, or with TLS
// its Service's name (the certificate's), at the port it listens on: curl
// --connect-to stands in for the cluster's DNS.
func (d *dev) apiURL() string {
	if d.apiTLS != tlsSelfSigned {
		return "http://" + d.apiAddr
	}
	_, port, err := net.SplitHostPort(d.apiAddr)
	if err != nil {
		port = "443"
	}
	return "https://" + net.JoinHostPort(apiServiceHost, port)
}

// writeAPIFiles writes the API's URL (api-url) and the address it listens on
// (api-addr) under --dir, as the token is: the docs' lines read them, so that
// they reach this session's API whatever DEV_API_ADDR is.
func (d *dev) writeAPIFiles() error {
	if err := os.WriteFile(filepath.Join(d.dir, "api-url"), []byte(d.apiURL()+"\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d.dir, "api-addr"), []byte(d.apiAddr+"\n"), 0o644)
}

// caFile is where, with TLS, the CA the manager published is copied.
func (d *dev) caFile() string { return filepath.Join(d.dir, "ca.crt") }

func (d *dev) managerLog() string { return filepath.Join(d.dir, "manager.log") }

// printTry prints what to try, as lines that work pasted into another
// terminal anywhere: absolute paths, the token read from its file.
func (d *dev) printTry(example string) {
	w := d.out
	fmt.Fprintln(w, "\nTry, in another terminal:")
	fmt.Fprintf(w, "\n  export KUBECONFIG=%s\n", absolute(d.kubeconfig))
	fmt.Fprintln(w, "  kubectl get stagehand -A")
	url := d.apiURL() + example
	curl := "curl "
	if d.apiTLS == tlsSelfSigned {
		curl += fmt.Sprintf("--cacert %s --connect-to ::%s ", absolute(d.caFile()), d.apiAddr)
	}
	if d.apiAuth == "none" {
		fmt.Fprintf(w, "  %s%s\n\n", curl, url)
		fmt.Fprintln(w, "Authentication is OFF (DEV_API_AUTH=none): the API answers anyone, with no token.")
	} else {
		fmt.Fprintf(w, "  %s-H \"Authorization: Bearer $(cat %s)\" %s\n\n", curl, absolute(d.tokenFile()), url)
		fmt.Fprintf(w, "The token is ServiceAccount %s/%s's, which may only read stagehand's kinds,\n", readerNamespace, readerServiceAccount)
		fmt.Fprintf(w, "minted for the API's audience (kubectl create token %s --audience=%s): kube-apiserver refuses it,\n", readerServiceAccount, tokenAudience)
		fmt.Fprintln(w, "and the API refuses tokens minted for kube-apiserver. It checks each token with a TokenReview and each read")
		fmt.Fprintln(w, "with a SubjectAccessReview, as in a cluster.")
	}
	if d.apiTLS == tlsSelfSigned {
		fmt.Fprintf(w, "The API serves HTTPS, as in a cluster: a certificate for its Service's names (%s, ...) from the manager's own CA,\n", apiServiceHost)
		fmt.Fprintf(w, "published in ConfigMap %s/%s and copied to %s; --connect-to stands in for the cluster's DNS.\n", managerNamespace, apiCAConfigMap, relative(d.caFile()))
	} else {
		fmt.Fprintln(w, "The API serves plain HTTP here, on loopback only (--api-tls=none); in a cluster it serves HTTPS.")
	}
	fmt.Fprintf(w, "The API's URL is in %s, the token in %s: the docs' curl lines read them.\n", relative(filepath.Join(d.dir, "api-url")), relative(d.tokenFile()))
	fmt.Fprintf(w, "Logs: %s, %s. Ctrl-C stops everything.\n", relative(d.managerLog()), relative(filepath.Join(d.dir, "kube-apiserver.log")))
}

// startManager runs bin/manager against the cluster, as the manager's
// ServiceAccount, in its own process group (so that Ctrl-C reaches it
// through us, in order) and bound to our life.
func (d *dev) startManager(ctx context.Context) error {
	kubeconfig, err := d.managerKubeconfig(ctx)
	if err != nil {
		return err
	}
	probe, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	log, err := os.Create(d.managerLog())
	if err != nil {
		return err
	}
	d.logs = append(d.logs, log)
	cmd := exec.Command(d.options.manager,
		"--kubeconfig="+kubeconfig,
		"--api-bind-address="+d.apiAddr,
		"--api-auth="+d.apiAuth,
		// By default plain HTTP, on loopback only: nothing crosses a
		// network. In a cluster, and with DEV_API_TLS=self-signed, the API
		// serves HTTPS from the manager's own CA, kept in config/default's
		// Secret and ConfigMap of stagehand-system (the flags' defaults).
		"--api-tls="+d.apiTLS,
		"--health-probe-bind-address="+probe,
		"--metrics-bind-address=0",
		"--leader-elect=false",
	)
	if d.apiTLS == tlsSelfSigned {
		// Not in a pod: the manager cannot read its namespace.
		cmd.Args = append(cmd.Args, "--api-tls-namespace="+managerNamespace)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	d.manager = cmd
	d.exited = make(chan error, 1)
	go func() { d.exited <- cmd.Wait() }()
	recordChildren(d.dir)
	return nil
}

// stopManager asks the manager to stop (SIGTERM), and kills it if it has not
// within ten seconds.
func (d *dev) stopManager() {
	_ = syscall.Kill(-d.manager.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.exited: //nolint:errcheck // how a manager told to stop exited says nothing
	case <-time.After(10 * time.Second):
		fmt.Fprintln(os.Stderr, "the manager did not stop within 10s; killing it")
		_ = syscall.Kill(-d.manager.Process.Pid, syscall.SIGKILL)
		<-d.exited //nolint:errcheck // killed: its exit status is SIGKILL's
	}
	d.manager = nil
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

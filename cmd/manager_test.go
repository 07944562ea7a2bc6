package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// runManagerEnv, set in a child process's environment, makes the test
// binary run the manager's main() with its arguments instead of the tests:
// the manager under test is this commit's, flags, probes and all, without
// a separate build.
const runManagerEnv = "STAGEHAND_TEST_RUN_MANAGER"

func TestMain(m *testing.M) {
	if os.Getenv(runManagerEnv) == "1" {
		// The testing package's flags are on flag.CommandLine: the
		// manager's go on a set of their own. (controller-runtime's
		// --kubeconfig is among the testing ones: the child reads
		// $KUBECONFIG.)
		flag.CommandLine = flag.NewFlagSet(os.Args[0], flag.ExitOnError)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestManagerFlags runs two replicas of the manager as processes, with the
// flags a deployment gives them, against a real API server, and checks what
// a user relies on: /readyz answers once the caches have synced; one
// replica holds the leader election Lease and the other does not take it
// while it lives; both serve the API; /metrics is HTTPS and answers only a
// caller the cluster allows (--metrics-secure); and when the leader stops,
// the other takes the Lease and runs the controllers.
func TestManagerFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	c := env.Client
	ns := "stagehand-flags"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	// The managers reach kube-apiserver through a proxy the test can cut,
	// as an outage of the control plane would.
	proxy := newProxy(t, env.Config.Host)
	kubeconfig := writeKubeconfig(t, env, proxy.url)

	a := startManager(t, kubeconfig, ns)
	a.waitReady(t)
	lease := &coordinationv1.Lease{}
	var leader string
	testenv.Eventually(t, func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "stagehand.flows.stagehand.dev"}, lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return fmt.Errorf("the Lease has no holder")
		}
		leader = *lease.Spec.HolderIdentity
		return nil
	})

	// --metrics-secure: HTTPS, and a caller the cluster does not allow is
	// refused; one bound to get /metrics reads stagehand's series.
	metricsURL := "https://" + a.metrics + "/metrics"
	if code, _ := httpsGet(t, metricsURL, ""); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("GET /metrics without a token: %d, want 401 or 403", code)
	}
	token := metricsReader(t, c, ns)
	if code, body := httpGet(t, "http://"+a.api+"/api/v3/flows/instances/"); code != 200 {
		t.Errorf("the leader's API: %d %s", code, body)
	}
	testenv.Eventually(t, func() error {
		code, body := httpsGet(t, metricsURL, token)
		if code != 200 || !strings.Contains(body, "stagehand_api_requests_total") || !strings.Contains(body, "controller_runtime_reconcile_total") {
			return fmt.Errorf("GET /metrics as a metrics reader: %d %.300s", code, body)
		}
		return nil
	})

	// A second replica: ready, serving the API, not the leader.
	b := startManager(t, kubeconfig, ns)
	b.waitReady(t)
	if code, body := httpGet(t, "http://"+b.api+"/api/v3/flows/instances/"); code != 200 {
		t.Errorf("the second replica's API: %d %s", code, body)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "stagehand.flows.stagehand.dev"}, lease); err != nil {
		t.Fatal(err)
	}
	if got := *lease.Spec.HolderIdentity; got != leader {
		t.Errorf("the Lease moved to %s while its holder %s lived", got, leader)
	}

	// The leader stops (as on a rollout: SIGTERM): it releases the Lease,
	// the other takes it and reconciles.
	a.stop(t)
	testenv.Eventually(t, func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "stagehand.flows.stagehand.dev"}, lease); err != nil {
			return err
		}
		if h := lease.Spec.HolderIdentity; h == nil || *h == "" || *h == leader {
			return fmt.Errorf("the Lease is still %v's", leader)
		}
		return nil
	})
	flow := &flowsv1alpha1.Flow{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "after-failover"},
		Spec:       flowsv1alpha1.FlowSpec{Title: "After failover", Designation: flowsv1alpha1.FlowDesignationAuthentication},
	}
	if err := c.Create(ctx, flow); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(flow), flow); err != nil {
			return err
		}
		if !apimeta.IsStatusConditionTrue(flow.Status.Conditions, "Ready") {
			return fmt.Errorf("the new leader has not reconciled the flow: %+v", flow.Status.Conditions)
		}
		return nil
	})

	// kube-apiserver goes away. The leader cannot renew its Lease and
	// exits (controller-runtime stops a manager that loses its Lease, so
	// that two never reconcile at once), but a replica that is not the
	// leader keeps answering from its cache: with two replicas the API
	// stays up through an outage of the control plane.
	follower := startManager(t, kubeconfig, ns)
	follower.waitReady(t)
	flowURL := "http://" + follower.api + "/api/v3/flows/instances/after-failover/"
	testenv.Eventually(t, func() error {
		if code, body := httpGet(t, flowURL); code != 200 || !strings.Contains(body, `"title":"After failover"`) {
			return fmt.Errorf("GET %s: %d %s", flowURL, code, body)
		}
		return nil
	})
	proxy.cut()
	select {
	case <-b.exited:
	case <-time.After(testenv.Timeout):
		t.Errorf("the leader kept running %v after kube-apiserver stopped", testenv.Timeout)
	}
	for range 3 {
		if code, body := httpGet(t, flowURL); code != 200 || !strings.Contains(body, `"title":"After failover"`) {
			t.Errorf("with kube-apiserver down and the leader gone, the other replica's GET %s: %d %s", flowURL, code, body)
		}
		time.Sleep(time.Second) // the outage goes on; a poll would end at the first answer
	}
}

// manager is one manager process.
type manager struct {
	cmd                  *exec.Cmd
	api, metrics, probes string
	out                  *testenv.LogBuffer
	exited               chan struct{}
}

func startManager(t *testing.T, kubeconfig, ns string) *manager {
	t.Helper()
	m := &manager{api: testenv.FreeAddr(t), metrics: testenv.FreeAddr(t), probes: testenv.FreeAddr(t), out: &testenv.LogBuffer{}, exited: make(chan struct{})}
	m.cmd = exec.Command(os.Args[0],
		"--leader-elect", "--leader-election-namespace="+ns,
		"--metrics-bind-address="+m.metrics, "--metrics-secure=true",
		"--health-probe-bind-address="+m.probes,
		"--api-bind-address="+m.api, "--api-tls=none", "--api-auth=none",
	)
	m.cmd.Env = append(os.Environ(), runManagerEnv+"=1", "KUBECONFIG="+kubeconfig)
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = m.cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() {
		if m.cmd.ProcessState == nil {
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
		if t.Failed() {
			t.Logf("manager on %s logged:\n%s", m.api, m.out.String())
		}
	})
	return m
}

// waitReady waits for /readyz, which answers 200 once the caches have
// synced and the API serves.
func (m *manager) waitReady(t *testing.T) {
	t.Helper()
	testenv.Eventually(t, func() error {
		select {
		case <-m.exited:
			t.Fatalf("the manager exited:\n%s", m.out.String())
		default:
		}
		if code, body := httpGet(t, "http://"+m.probes+"/readyz"); code != 200 {
			return fmt.Errorf("/readyz: %d %s", code, body)
		}
		return nil
	})
}

// stop sends SIGTERM and waits for the manager to exit.
func (m *manager) stop(t *testing.T) {
	t.Helper()
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.exited:
	case <-time.After(testenv.Timeout):
		t.Fatalf("the manager did not exit within %v of SIGTERM", testenv.Timeout)
	}
	if code := m.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the manager exited with %d after SIGTERM, want 0:\n%s", code, m.out.String())
	}
}

// metricsReader returns a token of a ServiceAccount allowed to get /metrics,
// as Prometheus's is with config/rbac's metrics reader role.
func metricsReader(t *testing.T, c client.Client, ns string) string {
	t.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prometheus"}}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "flags-test-metrics-reader"},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flags-test-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa.Name}},
	}
	for _, o := range []client.Object{sa, role, binding} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	tr := &authenticationv1.TokenRequest{}
	if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// writeKubeconfig writes the administrator's connection as a kubeconfig
// file, for the manager processes.
func writeKubeconfig(t *testing.T, env *testenv.Env, server string) string {
	t.Helper()
	cfg := env.Config
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// proxy forwards TCP connections to kube-apiserver until cut, when it
// closes every connection and refuses new ones.
type proxy struct {
	url   string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	u, err := neturl.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{url: "https://" + ln.Addr().String(), ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", u.Host)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) cut() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	return do(&http.Client{Timeout: 5 * time.Second}, url, "")
}

// httpsGet gets over HTTPS from the metrics server, whose certificate is
// self-signed: what is checked is that it is HTTPS and who may read.
func httpsGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a self-signed certificate on loopback
	}}
	return do(hc, url, token)
}

// do gets url with hc; a request that gets no answer has status 0 and its
// error as the body.
func do(hc *http.Client, url, token string) (int, string) {
	code, body, err := testenv.Get(hc, url, token)
	if code == 0 && err != nil {
		return 0, err.Error()
	}
	return code, body
}

// Command bench measures stagehand as a whole, as a user would run it, and
// prints a table (`make bench`):
//
//   - on a local control plane (kube-apiserver and etcd, as the tests run
//     them), it runs the manager as built (bin/manager), as a user bound to
//     exactly its generated ClusterRole;
//   - creates the objects with several clients at once (by default 10,000
//     stages across the identification, password and authenticator
//     validation kinds, 1,000 flows, one binding per stage), and measures
//     the time the creates took and the time until every object is Ready;
//   - counts the writes the manager makes in a steady window after that
//     (there should be none), and samples its memory throughout;
//   - loads, with the same keep-alive clients and the same ServiceAccount
//     token, stagehand's API (retrieve and list), kube-apiserver's own GET
//     and list of the same objects, and a bare net/http server answering
//     stagehand's very bytes (a process of its own, as the other two are),
//     taking turns, and prints throughput and
//     latency with the ratios between them.
//
// Every figure depends on the machine and on what else runs on it: compare
// the ratios, which are measured in one run, not the absolute numbers
// across runs.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

type options struct {
	stages, flows, createClients int
	loadClients, rounds          int
	loadTime, steady, timeout    time.Duration
	manager                      string
	managerArgs                  string
	dir                          string
}

// bareServerEnv, when set, makes this program the bare net/http server
// (serveBare): the bench runs itself again as that server, so that it is a
// process of its own, as stagehand's manager and kube-apiserver are, and
// shares no Go runtime with the load generator.
const bareServerEnv = "STAGEHAND_BENCH_BARE_DIR"

func main() {
	if dir := os.Getenv(bareServerEnv); dir != "" {
		if err := serveBare(dir); err != nil {
			fmt.Fprintln(os.Stderr, "bench: bare server:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.IntVar(&o.stages, "stages", 10000, "Stages to create, across the identification, password and authenticator validation kinds; one binding each.")
	flag.IntVar(&o.flows, "flows", 1000, "Flows to create; the stages are bound to them in turn.")
	flag.IntVar(&o.createClients, "create-clients", 8, "Clients creating the objects at once.")
	flag.IntVar(&o.loadClients, "load-clients", 16, "Keep-alive clients loading each server at once.")
	flag.IntVar(&o.rounds, "rounds", 3, "Rounds of load; each loads every server in turn.")
	flag.DurationVar(&o.loadTime, "load-time", 5*time.Second, "How long each server is loaded in each round.")
	flag.DurationVar(&o.steady, "steady", time.Minute, "How long, once everything is Ready, writes are counted (there should be none).")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "Longest the objects may take to be Ready.")
	flag.StringVar(&o.manager, "manager", "bin/manager", "The manager binary to run.")
	flag.StringVar(&o.managerArgs, "manager-args", "", "Extra flags for the manager, space separated (--concurrency=8, say).")
	flag.StringVar(&o.dir, "dir", "bin/bench", "Where the manager's kubeconfig and log go.")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.stages < 3 || o.flows < 1 || o.createClients < 1 || o.loadClients < 1 || o.rounds < 1 {
		return errors.New("-stages must be at least 3, and -flows, -create-clients, -load-clients and -rounds at least 1")
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "starting etcd and kube-apiserver")
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	ctx := context.Background()

	// The manager, as a user bound to exactly its generated role.
	mcfg, err := env.UserWithRoles("stagehand-bench-manager", testenv.ManagerRoles()...)
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(o.dir, "manager.kubeconfig")
	if err := writeKubeconfig(kubeconfig, mcfg); err != nil {
		return err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return err
	}
	probeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	m, err := startManager(o, kubeconfig, apiAddr, probeAddr)
	if err != nil {
		return err
	}
	defer m.stop()
	base := "http://" + apiAddr
	if err := waitFor(2*time.Minute, func() error {
		resp, err := http.Get(base + "/api/v3/stages/identification/")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("the manager's API did not come up (log: %s): %w", m.logPath, err)
	}
	idle := m.mem.current()

	// What the bench watches: every stagehand object, for readiness and
	// writes.
	const ns = "bench"
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	tracker, err := newTracker(ctx, env.Config)
	if err != nil {
		return err
	}

	// Create.
	total := o.stages*2 + o.flows
	fmt.Fprintf(os.Stderr, "creating %d stages, %d flows and %d bindings with %d clients\n", o.stages, o.flows, o.stages, o.createClients)
	started := time.Now()
	if err := create(ctx, env.Config, ns, o); err != nil {
		return err
	}
	created := time.Since(started)
	fmt.Fprintf(os.Stderr, "created in %s; waiting for all to be Ready\n", created.Round(time.Millisecond))
	readyAt, err := tracker.allReady(total, started, o.timeout)
	if err != nil {
		return err
	}
	peakCreate := m.mem.peak()

	// Steady: no writes.
	time.Sleep(2 * time.Second) // let the last status writes' own events pass
	fmt.Fprintf(os.Stderr, "all Ready after %s; counting writes for %s\n", readyAt.Round(time.Millisecond), o.steady)
	before := tracker.writes.Load()
	time.Sleep(o.steady)
	writes := tracker.writes.Load() - before

	// Load.
	targets, stopBare, err := loadTargets(ctx, env, base, ns, o.dir)
	if err != nil {
		return err
	}
	defer stopBare()
	fmt.Fprintf(os.Stderr, "loading %d servers, %d rounds of %s each with %d clients\n", len(targets), o.rounds, o.loadTime, o.loadClients)
	results := map[string]*loadResult{}
	for round := range o.rounds {
		// Turns rotate, so that no server always follows the same one.
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			r := load(t, o.loadClients, o.loadTime)
			if prev := results[t.name]; prev != nil {
				prev.merge(r)
			} else {
				results[t.name] = r
			}
		}
	}
	peak := m.mem.peak()

	printTable(os.Stdout, o, created, readyAt, writes, idle, peakCreate, peak, total, targets, results)
	return nil
}

// --- the manager -------------------------------------------------------

type managerProcess struct {
	cmd     *exec.Cmd
	logPath string
	mem     *memSampler
	done    chan struct{}
}

func startManager(o options, kubeconfig, apiAddr, probeAddr string) (*managerProcess, error) {
	args := []string{
		"--kubeconfig=" + kubeconfig, "--leader-elect=false", "--metrics-bind-address=0",
		"--health-probe-bind-address=" + probeAddr, "--api-bind-address=" + apiAddr, "--api-auth=kubernetes",
	}
	help, _ := exec.Command(o.manager, "--help").CombinedOutput()
	if strings.Contains(string(help), "-api-tls ") || strings.Contains(string(help), "-api-tls\n") {
		args = append(args, "--api-tls=none") // loopback: the figures are the API's, not TLS's
	}
	if strings.Contains(string(help), "-api-token-audiences") {
		args = append(args, "--api-token-audiences="+audience)
	}
	args = append(args, strings.Fields(o.managerArgs)...)
	logPath := filepath.Join(o.dir, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.manager, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.manager, err)
	}
	m := &managerProcess{cmd: cmd, logPath: logPath, mem: newMemSampler(cmd.Process.Pid), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(m.done)
	}()
	return m, nil
}

func (m *managerProcess) stop() {
	m.mem.stop()
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
	}
}

// memSampler samples a process's resident memory (VmRSS) every 50ms.
type memSampler struct {
	pid      int
	max, cur atomic.Int64
	quit     chan struct{}
}

func newMemSampler(pid int) *memSampler {
	s := &memSampler{pid: pid, quit: make(chan struct{})}
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb := rss(pid); kb > 0 {
				s.cur.Store(kb)
				if kb > s.max.Load() {
					s.max.Store(kb)
				}
			}
			select {
			case <-s.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *memSampler) current() int64 { return s.cur.Load() }
func (s *memSampler) peak() int64    { return s.max.Load() }
func (s *memSampler) stop()          { close(s.quit) }

// rss is a process's resident memory in KiB, 0 when it cannot be read.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// --- creating ----------------------------------------------------------

// create creates the flows, stages and bindings: the stages are spread over
// the three kinds and bound to the flows in turn, and the clients take a
// flow with its stages and bindings at a time.
func create(ctx context.Context, cfg *rest.Config, ns string, o options) error {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		return err
	}
	units := make(chan int)
	errs := make(chan error, o.createClients)
	var wg sync.WaitGroup
	for range o.createClients {
		wg.Go(func() {
			for f := range units {
				if err := createUnit(ctx, c, ns, f, o); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for f := range o.flows {
		units <- f
	}
	close(units)
	wg.Wait()
	close(errs)
	return <-errs
}

func createUnit(ctx context.Context, c client.Client, ns string, f int, o options) error {
	flow := fmt.Sprintf("flow-%d", f)
	objs := []client.Object{&flowsv1alpha1.Flow{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: flow},
		Spec:       flowsv1alpha1.FlowSpec{Title: flow, Designation: flowsv1alpha1.FlowDesignationAuthentication},
	}}
	for s := f; s < o.stages; s += o.flows {
		name := fmt.Sprintf("stage-%d", s)
		var stage client.Object
		var kind flowsv1alpha1.StageKind
		switch s % 3 {
		case 0:
			kind = flowsv1alpha1.StageKindIdentification
			stage = &flowsv1alpha1.IdentificationStage{Spec: flowsv1alpha1.IdentificationStageSpec{UserFields: []flowsv1alpha1.UserField{"username"}}}
		case 1:
			kind = flowsv1alpha1.StageKindPassword
			stage = &flowsv1alpha1.PasswordStage{Spec: flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}}}
		default:
			kind = flowsv1alpha1.StageKindAuthenticatorValidate
			stage = &flowsv1alpha1.AuthenticatorValidateStage{}
		}
		stage.SetNamespace(ns)
		stage.SetName(name)
		objs = append(objs, stage, &flowsv1alpha1.FlowStageBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bind-" + name},
			Spec: flowsv1alpha1.FlowStageBindingSpec{
				TargetRef: flowsv1alpha1.LocalObjectReference{Name: flow},
				StageRef:  flowsv1alpha1.StageReference{Kind: kind, Name: name},
				Order:     int32(s),
			},
		})
	}
	for _, obj := range objs {
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s: %w", flowsv1alpha1.KindOf(obj), obj.GetName(), err)
		}
	}
	return nil
}

// --- watching ----------------------------------------------------------

// tracker watches every stagehand object: which are Ready, and how many
// updates (writes) it has seen.
type tracker struct {
	mu      sync.Mutex
	ready   map[string]bool
	count   int
	changed chan struct{}
	writes  atomic.Int64
}

func newTracker(ctx context.Context, cfg *rest.Config) (*tracker, error) {
	c, err := cache.New(cfg, cache.Options{Scheme: testenv.Scheme(), DefaultTransform: cache.TransformStripManagedFields()})
	if err != nil {
		return nil, err
	}
	t := &tracker{ready: map[string]bool{}, changed: make(chan struct{}, 1)}
	for _, k := range flowsv1alpha1.Kinds {
		if k.Kind == flowsv1alpha1.KindBlueprintExport || k.ClusterScoped {
			continue
		}
		obj, err := flowsv1alpha1.New(k.Kind)
		if err != nil {
			return nil, err
		}
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, err
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: func(o any) { t.observe(o) },
			UpdateFunc: func(old, o any) {
				if old.(client.Object).GetResourceVersion() != o.(client.Object).GetResourceVersion() {
					t.writes.Add(1)
				}
				t.observe(o)
			},
		}); err != nil {
			return nil, err
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, errors.New("the bench's own watches did not sync")
	}
	return t, nil
}

func (t *tracker) observe(o any) {
	obj, ok := o.(flowsv1alpha1.Object)
	if !ok {
		return
	}
	ready := obj.GetObservedGeneration() == obj.GetGeneration() && meta.IsStatusConditionTrue(obj.GetConditions(), flowsv1alpha1.ConditionReady)
	key := string(obj.GetUID())
	t.mu.Lock()
	if t.ready[key] != ready {
		t.ready[key] = ready
		if ready {
			t.count++
		} else {
			t.count--
		}
	}
	t.mu.Unlock()
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// allReady waits until total objects are Ready, and returns how long after
// started that was.
func (t *tracker) allReady(total int, started time.Time, timeout time.Duration) (time.Duration, error) {
	deadline := time.After(timeout)
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	for {
		t.mu.Lock()
		n := t.count
		t.mu.Unlock()
		if n >= total {
			return time.Since(started), nil
		}
		select {
		case <-t.changed:
		case <-progress.C:
			fmt.Fprintf(os.Stderr, "  %d of %d Ready after %s\n", n, total, time.Since(started).Round(time.Second))
		case <-deadline:
			return 0, fmt.Errorf("%d of %d objects Ready after %s", n, total, timeout)
		}
	}
}

// --- loading -----------------------------------------------------------

// audience is stagehand's token audience (the API group); the bench's token
// also carries kube-apiserver's, so that one token reads both.
const audience = "flows.stagehand.dev"

type target struct {
	name   string
	url    string
	client *http.Client
	token  string
}

type loadResult struct {
	ok, failed int
	elapsed    time.Duration
	latencies  []time.Duration
}

func (r *loadResult) merge(o *loadResult) {
	r.ok += o.ok
	r.failed += o.failed
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
}

func (r *loadResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r *loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// loadTargets sets up the servers to load: stagehand's retrieve and list,
// kube-apiserver's GET and list of the same, and a bare net/http server
// answering stagehand's bytes, in a process of its own (stopped by the
// function returned); all with one ServiceAccount token.
func loadTargets(ctx context.Context, env *testenv.Env, base, ns, dir string) ([]target, func(), error) {
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		return nil, nil, err
	}
	// A reader: the viewer role, as a caller of the API is given.
	viewer, err := readClusterRole(filepath.Join(testenv.Root(), "config", "rbac", "viewer_role.yaml"))
	if err != nil {
		return nil, nil, err
	}
	viewer.Name = "bench-viewer"
	if err := env.Client.Create(ctx, viewer); err != nil {
		return nil, nil, err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench-reader"}}
	if err := env.Client.Create(ctx, sa); err != nil {
		return nil, nil, err
	}
	if err := env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: viewer.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa.Name}},
	}); err != nil {
		return nil, nil, err
	}
	// kube-apiserver's audience, read from a token minted without one.
	plain, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, err
	}
	auds, err := tokenAudiences(plain.Status.Token)
	if err != nil {
		return nil, nil, err
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: append(auds, audience)},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, err
	}
	token := tr.Status.Token

	// The object: the first identification stage.
	var stage flowsv1alpha1.IdentificationStage
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "stage-0"}, &stage); err != nil {
		return nil, nil, err
	}
	plainClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}
	retrieveURL := base + "/api/v3/stages/identification/" + string(stage.UID) + "/"
	listURL := base + "/api/v3/stages/identification/?page_size=20"
	var retrieveBody, listBody []byte
	if err := waitFor(time.Minute, func() error {
		var err error
		if retrieveBody, err = fetch(plainClient, retrieveURL, token); err != nil {
			return err
		}
		listBody, err = fetch(plainClient, listURL, token)
		return err
	}); err != nil {
		return nil, nil, fmt.Errorf("stagehand's API does not answer the bench's reader: %w", err)
	}

	tlsCfg, err := rest.TLSConfigFor(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: env.Config.CAData}})
	if err != nil {
		return nil, nil, err
	}
	apiClient := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, MaxIdleConnsPerHost: 1024, ForceAttemptHTTP2: false, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	host := strings.TrimSuffix(env.Config.Host, "/")
	apiRetrieve := fmt.Sprintf("%s/apis/flows.stagehand.dev/v1alpha1/namespaces/%s/identificationstages/%s", host, ns, stage.Name)
	apiList := fmt.Sprintf("%s/apis/flows.stagehand.dev/v1alpha1/namespaces/%s/identificationstages?limit=20", host, ns)
	if _, err := fetch(apiClient, apiRetrieve, token); err != nil {
		return nil, nil, fmt.Errorf("kube-apiserver does not answer the bench's reader: %w", err)
	}

	bare, stop, err := startBare(dir, map[string][]byte{"retrieve": retrieveBody, "list": listBody})
	if err != nil {
		return nil, nil, err
	}
	return []target{
		{name: "stagehand retrieve", url: retrieveURL, client: plainClient, token: token},
		{name: "kube-apiserver GET", url: apiRetrieve, client: apiClient, token: token},
		{name: "bare net/http retrieve", url: bare + "/retrieve", client: plainClient, token: token},
		{name: "stagehand list", url: listURL, client: plainClient, token: token},
		{name: "kube-apiserver list", url: apiList, client: apiClient, token: token},
		{name: "bare net/http list", url: bare + "/list", client: plainClient, token: token},
	}, stop, nil
}

// startBare writes the bodies into dir/bare and runs this program again as
// the bare server over them (serveBare); it returns the server's base URL
// and a function that stops it. The server also stops when this program
// exits, as its standard input closes.
func startBare(dir string, bodies map[string][]byte) (string, func(), error) {
	bareDir, err := filepath.Abs(filepath.Join(dir, "bare"))
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(bareDir, 0o755); err != nil {
		return "", nil, err
	}
	for name, body := range bodies {
		if err := os.WriteFile(filepath.Join(bareDir, name), body, 0o644); err != nil {
			return "", nil, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), bareServerEnv+"="+bareDir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}
	// Its first line is the address it listens on.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("starting the bare server: %w", err)
	}
	return "http://" + strings.TrimSpace(line), stop, nil
}

// serveBare is the bare server: it answers GET /<name> with the bytes of the
// file dir/<name>, as stagehand's API writes them, and nothing else, the
// best a Go HTTP server does on this machine. It prints the address it
// listens on, then serves until its standard input closes.
func serveBare(dir string) error {
	bodies := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		bodies["/"+e.Name()] = b
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})}
	fmt.Println(ln.Addr().String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func fetch(c *http.Client, url, token string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b, nil
}

// load sends GETs to a target from clients keep-alive clients for d.
func load(t target, clients int, d time.Duration) *loadResult {
	results := make([]*loadResult, clients)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		results[i] = &loadResult{latencies: make([]time.Duration, 0, 1<<14)}
		wg.Go(func() {
			r := results[i]
			req, _ := http.NewRequest(http.MethodGet, t.url, nil)
			req.Header.Set("Authorization", "Bearer "+t.token)
			for time.Now().Before(deadline) {
				began := time.Now()
				resp, err := t.client.Do(req)
				if err != nil {
					r.failed++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					r.failed++
					continue
				}
				r.ok++
				r.latencies = append(r.latencies, time.Since(began))
			}
		})
	}
	wg.Wait()
	out := &loadResult{elapsed: time.Since(start)}
	for _, r := range results {
		out.ok += r.ok
		out.failed += r.failed
		out.latencies = append(out.latencies, r.latencies...)
	}
	return out
}

// --- the table ---------------------------------------------------------

func printTable(w io.Writer, o options, created, ready time.Duration, writes, idle, peakCreate, peak int64, total int, targets []target, results map[string]*loadResult) {
	fmt.Fprintf(w, "\n## stagehand bench: %d stages, %d flows, %d bindings (%d objects)\n\n", o.stages, o.flows, o.stages, total)
	fmt.Fprintf(w, "| what | figure |\n|---|---|\n")
	fmt.Fprintf(w, "| created by %d clients in | %s |\n", o.createClients, created.Round(10*time.Millisecond))
	fmt.Fprintf(w, "| all Ready after | %s (%.2f× the creates) |\n", ready.Round(10*time.Millisecond), ready.Seconds()/created.Seconds())
	fmt.Fprintf(w, "| writes in a steady %s | %d |\n", o.steady, writes)
	perObject := float64(peakCreate-idle) / float64(total)
	fmt.Fprintf(w, "| manager memory (RSS): idle / peak while creating / peak overall | %.0f MiB / %.0f MiB / %.0f MiB |\n", float64(idle)/1024, float64(peakCreate)/1024, float64(peak)/1024)
	fmt.Fprintf(w, "| memory per object over idle | %.1f KiB |\n", perObject)
	fmt.Fprintf(w, "\n%d keep-alive clients, one ServiceAccount token, %d rounds of %s per server, servers taking turns:\n\n", o.loadClients, o.rounds, o.loadTime)
	fmt.Fprintf(w, "| server | req/s | p50 | p99 | failed | vs kube-apiserver | vs bare net/http |\n|---|---|---|---|---|---|---|\n")
	for _, t := range targets {
		r := results[t.name]
		kind := "retrieve"
		if strings.HasSuffix(t.name, "list") {
			kind = "list"
		}
		api := results["kube-apiserver GET"]
		if kind == "list" {
			api = results["kube-apiserver list"]
		}
		bare := results["bare net/http "+kind]
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %d | %.2f× | %.2f× |\n", t.name, r.rate(), ms(r.percentile(0.5)), ms(r.percentile(0.99)), r.failed,
			r.rate()/api.rate(), r.rate()/bare.rate())
	}
	fmt.Fprintln(w)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// --- helpers -----------------------------------------------------------

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

func waitFor(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["bench"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "bench"}
	kc.CurrentContext = "bench"
	return clientcmd.WriteToFile(*kc, path)
}

// tokenAudiences reads the aud claim of a JWT, without checking it.
func tokenAudiences(token string) ([]string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims struct {
		Aud []string `json:"aud"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, err
	}
	return claims.Aud, nil
}

func readClusterRole(path string) (*rbacv1.ClusterRole, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(b, &role); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	role.ObjectMeta = metav1.ObjectMeta{}
	return &role, nil
}

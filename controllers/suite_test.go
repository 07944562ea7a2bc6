package controllers

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// The envtest scenarios run against one control plane and one real manager,
// started once for the package; each test works in a namespace of its own.

var (
	env *testenv.Env
	// k8s reads straight from the API server, never from the manager's cache.
	k8s client.Client
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	e, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = e.Stop() }()
	env, k8s = e, e.Client

	if err := startManager(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { stopManager() }()
	if err := warmUp(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// stopManager stops the manager startManager started.
var stopManager func()

// startManager starts the package's manager, as cmd/ runs it.
func startManager() error {
	_, stop, err := env.StartManager(testenv.ManagerOptions{
		Setup: SetupWithManager,
		Cache: CacheOptions(),
		// BlueprintExports with secrets: Inline write Secrets.
		ExtraRoles:    []string{"config/components/blueprint-secrets/role.yaml"},
		WrapTransport: secretRequests.wrap,
	})
	if err != nil {
		return err
	}
	stopManager = stop
	return nil
}

// restartManager stops the manager and starts another, with nothing of the
// first but what it wrote to the API server: what a restart of the manager's
// Pod leaves. Between the two, the test may change objects no manager sees.
func restartManager(t *testing.T, between func()) {
	t.Helper()
	stopManager()
	if between != nil {
		between()
	}
	if err := startManager(); err != nil {
		t.Fatal(err)
	}
}

// secretRequests records the manager's requests for Secrets: which it
// reads, and how.
var secretRequests requestLog

// requestLog records the requests of a transport it wraps whose path
// names Secrets.
type requestLog struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if strings.Contains(req.URL.Path, "/secrets") {
			l.mu.Lock()
			l.reqs = append(l.reqs, req.Clone(context.Background()))
			l.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// all returns the requests recorded so far.
func (l *requestLog) all() []*http.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// warmUp waits until every controller runs: until one object of each kind
// has a Ready condition. The tests then measure reconciles, not start-up.
func warmUp() error {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "warm-up-"}}
	if err := k8s.Create(ctx, ns); err != nil {
		return err
	}
	dt := newDeviceType(ns.Name, "warm-up", "00000000-0000-0000-0000-000000000000")
	defer func() { _ = k8s.Delete(ctx, dt) }()
	objs := []client.Object{
		newFlow(ns.Name, "flow", flowsv1alpha1.FlowDesignationAuthentication),
		newBinding(ns.Name, "binding", "flow", flowsv1alpha1.StageKindPassword, "password", 0),
		newIdentificationStage(ns.Name, "identification"),
		newPasswordStage(ns.Name, "password"),
		newValidateStage(ns.Name, "validate"),
		newCaptchaStage(ns.Name, "captcha", "secret", "key"),
		newSource(ns.Name, "source"),
		&flowsv1alpha1.UserLoginStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "login"}},
		&flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "export"}},
		dt,
	}
	for _, o := range objs {
		if err := k8s.Create(ctx, o); err != nil {
			return fmt.Errorf("warming up: %w", err)
		}
	}
	var failure string
	g := NewGomega(func(message string, _ ...int) { failure = message })
	ok := g.Eventually(func(g Gomega) {
		for _, o := range objs {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(o), o)).To(Succeed())
			g.Expect(meta.FindStatusCondition(o.(flowsv1alpha1.Object).GetConditions(), flowsv1alpha1.ConditionReady)).NotTo(BeNil(),
				"%s %s has no Ready condition: is its controller running?", flowsv1alpha1.KindOf(o), o.GetName())
		}
	}).Should(Succeed())
	if !ok {
		return fmt.Errorf("warming up: %s", failure)
	}
	return nil
}

// namespace creates a namespace for one test.
func namespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), ns) })
	return ns.Name
}

// create creates objects, failing the test on error.
func create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %s %s: %v", flowsv1alpha1.KindOf(o), o.GetName(), err)
		}
	}
}

// remove deletes objects, failing the test on error.
func remove(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Delete(context.Background(), o); err != nil {
			t.Fatalf("deleting %s %s: %v", flowsv1alpha1.KindOf(o), o.GetName(), err)
		}
	}
}

// update reads obj, applies change and writes it back, retrying on conflict.
func update[T client.Object](t *testing.T, obj T, change func(T)) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		change(obj)
		g.Expect(k8s.Update(context.Background(), obj)).To(Succeed())
	}).Should(Succeed())
}

// condition reads obj and returns one of its conditions, once the status
// describes the object's current generation.
func condition(g Gomega, obj client.Object, typ string) *metav1.Condition {
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	st := obj.(flowsv1alpha1.Object)
	g.Expect(st.GetObservedGeneration()).To(Equal(obj.GetGeneration()), "status.observedGeneration of %s", obj.GetName())
	return meta.FindStatusCondition(st.GetConditions(), typ)
}

// expectReady waits until obj's Ready condition has the status and reason,
// and its message contains each of parts.
func expectReady(t testing.TB, obj client.Object, status metav1.ConditionStatus, reason string, parts ...string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		c := condition(g, obj, flowsv1alpha1.ConditionReady)
		g.Expect(c).NotTo(BeNil(), "no Ready condition on %s", obj.GetName())
		g.Expect(c.Status).To(Equal(status), "Ready of %s: %s", obj.GetName(), c.Message)
		g.Expect(c.Reason).To(Equal(reason), "Ready of %s: %s", obj.GetName(), c.Message)
		for _, p := range parts {
			g.Expect(c.Message).To(ContainSubstring(p))
		}
	}).Should(Succeed())
}

// expectReadyMessage waits until obj's Ready condition has the status, the
// reason and exactly the message. Use it where an earlier status's message
// would also contain the parts expectReady looks for.
func expectReadyMessage(t *testing.T, obj client.Object, status metav1.ConditionStatus, reason, message string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		c := condition(g, obj, flowsv1alpha1.ConditionReady)
		g.Expect(c).NotTo(BeNil(), "no Ready condition on %s", obj.GetName())
		g.Expect([]string{string(c.Status), c.Reason, c.Message}).To(Equal([]string{string(status), reason, message}), "Ready of %s", obj.GetName())
	}).Should(Succeed())
}

// expectWarning waits until obj's Warning condition is True with the reason
// and its message contains each of parts.
func expectWarning(t *testing.T, obj client.Object, reason string, parts ...string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		c := condition(g, obj, flowsv1alpha1.ConditionWarning)
		g.Expect(c).NotTo(BeNil(), "no Warning condition on %s", obj.GetName())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Reason).To(Equal(reason))
		for _, p := range parts {
			g.Expect(c.Message).To(ContainSubstring(p))
		}
	}).Should(Succeed())
}

// expectNoWarning waits until obj has no Warning condition.
func expectNoWarning(t *testing.T, obj client.Object) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(condition(g, obj, flowsv1alpha1.ConditionWarning)).To(BeNil())
	}).Should(Succeed())
}

// expectEvent waits for a Warning Event about obj with the reason and a
// note containing each of parts.
func expectEvent(t *testing.T, obj client.Object, reason string, parts ...string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		found := eventsAbout(g, obj, reason)
		g.Expect(found).NotTo(BeEmpty(), "no %s Event about %s", reason, obj.GetName())
		for _, p := range parts {
			g.Expect(found[0].Note).To(ContainSubstring(p))
		}
	}).Should(Succeed())
}

// eventsAbout lists the events.k8s.io Events stagehand recorded about obj
// with the reason.
func eventsAbout(g Gomega, obj client.Object, reason string) []eventsv1.Event {
	ns := obj.GetNamespace()
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	var list eventsv1.EventList
	g.Expect(k8s.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == obj.GetName() && e.Regarding.UID == obj.GetUID() && e.Reason == reason {
			g.Expect(e.Type).To(Equal(corev1.EventTypeWarning))
			g.Expect(e.ReportingController).To(Equal(EventSource))
			out = append(out, e)
		}
	}
	return out
}

// Objects, minimal and valid.

func ref(name string) *flowsv1alpha1.LocalObjectReference {
	return &flowsv1alpha1.LocalObjectReference{Name: name}
}

func newFlow(ns, name string, d flowsv1alpha1.FlowDesignation) *flowsv1alpha1.Flow {
	return &flowsv1alpha1.Flow{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       flowsv1alpha1.FlowSpec{Title: name, Designation: d},
	}
}

func newBinding(ns, name, flow string, kind flowsv1alpha1.StageKind, stage string, order int32) *flowsv1alpha1.FlowStageBinding {
	return &flowsv1alpha1.FlowStageBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: flowsv1alpha1.FlowStageBindingSpec{
			TargetRef: flowsv1alpha1.LocalObjectReference{Name: flow},
			StageRef:  flowsv1alpha1.StageReference{Kind: kind, Name: stage},
			Order:     order,
		},
	}
}

func newPasswordStage(ns, name string) *flowsv1alpha1.PasswordStage {
	return &flowsv1alpha1.PasswordStage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}},
	}
}

func newIdentificationStage(ns, name string) *flowsv1alpha1.IdentificationStage {
	return &flowsv1alpha1.IdentificationStage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       flowsv1alpha1.IdentificationStageSpec{UserFields: []flowsv1alpha1.UserField{"username"}},
	}
}

func newValidateStage(ns, name string, classes ...flowsv1alpha1.DeviceClass) *flowsv1alpha1.AuthenticatorValidateStage {
	return &flowsv1alpha1.AuthenticatorValidateStage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       flowsv1alpha1.AuthenticatorValidateStageSpec{DeviceClasses: classes},
	}
}

func newCaptchaStage(ns, name, secret, key string) *flowsv1alpha1.CaptchaStage {
	return &flowsv1alpha1.CaptchaStage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: flowsv1alpha1.CaptchaStageSpec{
			PublicKey:           "public",
			PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: secret, Key: key},
		},
	}
}

func newSource(ns, name string) *flowsv1alpha1.Source {
	return &flowsv1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// newSecret makes a Secret marked for stagehand (LabelSecretReadable).
func newSecret(ns, name string, data map[string]string) *corev1.Secret {
	s := newUnmarkedSecret(ns, name, data)
	s.Labels = map[string]string{flowsv1alpha1.LabelSecretReadable: "true"}
	return s
}

// newUnmarkedSecret makes a Secret without stagehand's mark.
func newUnmarkedSecret(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// newDeviceType makes a cluster-scoped device type whose name starts with
// the test's namespace, so tests do not collide.
func newDeviceType(ns, name, aaguid string) *flowsv1alpha1.WebAuthnDeviceType {
	return &flowsv1alpha1.WebAuthnDeviceType{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name, Labels: map[string]string{"test": ns}},
		Spec:       flowsv1alpha1.WebAuthnDeviceTypeSpec{AAGUID: aaguid, Description: strings.ToUpper(name)},
	}
}

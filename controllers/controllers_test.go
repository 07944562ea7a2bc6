package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

const (
	notFound   = flowsv1alpha1.ReasonReferenceNotFound
	resolves   = flowsv1alpha1.ReasonResolved
	notChecked = flowsv1alpha1.ReasonNotChecked
)

// A stage applied before the objects it names reports each missing one,
// turns Ready as they appear, loses Ready when one is deleted and regains it
// when it returns.
func TestStageBeforeItsReferences(t *testing.T) {
	ns := namespace(t)
	id := newIdentificationStage(ns, "login")
	id.Spec.PasswordStageRef = ref("password")
	id.Spec.RecoveryFlowRef = ref("recovery")
	id.Spec.SourceRefs = []flowsv1alpha1.LocalObjectReference{{Name: "github"}}
	create(t, id)

	expectReady(t, id, metav1.ConditionFalse, notFound,
		`PasswordStage "password" (spec.passwordStageRef) not found`,
		`Flow "recovery" (spec.recoveryFlowRef) not found`,
		`Source "github" (spec.sourceRefs[0]) not found`)

	password := newPasswordStage(ns, "password")
	create(t, password)
	// The whole message, not parts of it: the status from before the
	// PasswordStage existed also contains the other two.
	expectReadyMessage(t, id, metav1.ConditionFalse, notFound,
		`Flow "recovery" (spec.recoveryFlowRef) not found in namespace `+ns+`; Source "github" (spec.sourceRefs[0]) not found in namespace `+ns)

	create(t, newFlow(ns, "recovery", flowsv1alpha1.FlowDesignationRecovery), newSource(ns, "github"))
	expectReady(t, id, metav1.ConditionTrue, resolves, "All 3 references resolve")
	expectNoWarning(t, id)

	remove(t, password)
	expectReady(t, id, metav1.ConditionFalse, notFound, `PasswordStage "password" (spec.passwordStageRef) not found`)

	create(t, newPasswordStage(ns, "password"))
	expectReady(t, id, metav1.ConditionTrue, resolves)

	// A spec change is evaluated too: observedGeneration follows.
	update(t, id, func(s *flowsv1alpha1.IdentificationStage) { s.Spec.CaptchaStageRef = ref("captcha") })
	expectReady(t, id, metav1.ConditionFalse, notFound, `CaptchaStage "captcha" (spec.captchaStageRef) not found`)
}

// A binding is Ready when its flow and its stage exist, whichever comes
// first, and reports whichever is missing.
func TestBindingReadyWhenFlowAndStageExist(t *testing.T) {
	ns := namespace(t)
	b := newBinding(ns, "bind", "login", flowsv1alpha1.StageKindPassword, "password", 10)
	create(t, b)
	expectReady(t, b, metav1.ConditionFalse, notFound,
		`Flow "login" (spec.targetRef) not found`, `PasswordStage "password" (spec.stageRef) not found`)

	stage := newPasswordStage(ns, "password")
	create(t, stage)
	expectReadyMessage(t, b, metav1.ConditionFalse, notFound, `Flow "login" (spec.targetRef) not found in namespace `+ns)

	flow := newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication)
	create(t, flow)
	expectReady(t, b, metav1.ConditionTrue, resolves, "All 2 references resolve")

	// Nothing is deleted in cascade: the binding stays and reports.
	remove(t, flow)
	expectReady(t, b, metav1.ConditionFalse, notFound, `Flow "login" (spec.targetRef) not found`)
	create(t, newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication))
	expectReady(t, b, metav1.ConditionTrue, resolves)
}

// expectPlan waits until the flow's status.stages is want.
func expectPlan(t *testing.T, flow *flowsv1alpha1.Flow, want ...flowsv1alpha1.FlowPlanStage) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		condition(g, flow, flowsv1alpha1.ConditionReady)
		if len(want) == 0 {
			g.Expect(flow.Status.Stages).To(BeEmpty())
			return
		}
		g.Expect(flow.Status.Stages).To(Equal(want))
	}).Should(Succeed())
}

func planStage(order int32, kind flowsv1alpha1.StageKind, name, binding string, ready bool) flowsv1alpha1.FlowPlanStage {
	return flowsv1alpha1.FlowPlanStage{Order: order, Kind: kind, Name: name, Binding: binding, Ready: ready}
}

// A flow's plan follows its bindings: added, reordered, pointed at a missing
// stage, colliding, removed.
func TestFlowPlanFollowsBindings(t *testing.T) {
	ns := namespace(t)
	flow := newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication)
	flow.Spec.Slug = "default-login"
	create(t, flow)
	expectReady(t, flow, metav1.ConditionTrue, resolves, "No stages bound")
	NewWithT(t).Expect(flow.Status.Slug).To(Equal("default-login"))
	expectPlan(t, flow)

	// Bindings before their stages: the plan shows them, not ready.
	create(t,
		newBinding(ns, "b-password", "login", flowsv1alpha1.StageKindPassword, "password", 20),
		newBinding(ns, "b-ident", "login", flowsv1alpha1.StageKindIdentification, "ident", 10),
	)
	expectPlan(t, flow,
		planStage(10, flowsv1alpha1.StageKindIdentification, "ident", "b-ident", false),
		planStage(20, flowsv1alpha1.StageKindPassword, "password", "b-password", false))
	expectReady(t, flow, metav1.ConditionFalse, flowsv1alpha1.ReasonStagesNotReady,
		`IdentificationStage "ident" (order 10, FlowStageBinding "b-ident") not found`,
		`PasswordStage "password" (order 20, FlowStageBinding "b-password") not found`)

	// The stages arrive; one is not Ready itself (it names a missing source).
	ident := newIdentificationStage(ns, "ident")
	ident.Spec.SourceRefs = []flowsv1alpha1.LocalObjectReference{{Name: "github"}}
	create(t, ident, newPasswordStage(ns, "password"))
	expectPlan(t, flow,
		planStage(10, flowsv1alpha1.StageKindIdentification, "ident", "b-ident", false),
		planStage(20, flowsv1alpha1.StageKindPassword, "password", "b-password", true))
	expectReady(t, flow, metav1.ConditionFalse, flowsv1alpha1.ReasonStagesNotReady,
		`IdentificationStage "ident" (order 10, FlowStageBinding "b-ident") not Ready`)

	create(t, newSource(ns, "github"))
	expectReady(t, flow, metav1.ConditionTrue, resolves, "All 2 stages are Ready")
	expectPlan(t, flow,
		planStage(10, flowsv1alpha1.StageKindIdentification, "ident", "b-ident", true),
		planStage(20, flowsv1alpha1.StageKindPassword, "password", "b-password", true))

	// Reorder: the password stage moves first.
	pw := &flowsv1alpha1.FlowStageBinding{}
	pw.Namespace, pw.Name = ns, "b-password"
	update(t, pw, func(b *flowsv1alpha1.FlowStageBinding) { b.Spec.Order = 5 })
	expectPlan(t, flow,
		planStage(5, flowsv1alpha1.StageKindPassword, "password", "b-password", true),
		planStage(10, flowsv1alpha1.StageKindIdentification, "ident", "b-ident", true))

	// A colliding binding (same stage, same order) is reported, not merged:
	// on the flow, and by each binding of the pair itself, so that a health
	// check on either one fails.
	again := newBinding(ns, "b-ident-again", "login", flowsv1alpha1.StageKindIdentification, "ident", 10)
	create(t, again)
	expectPlan(t, flow,
		planStage(5, flowsv1alpha1.StageKindPassword, "password", "b-password", true),
		planStage(10, flowsv1alpha1.StageKindIdentification, "ident", "b-ident", false),
		planStage(10, flowsv1alpha1.StageKindIdentification, "ident", "b-ident-again", false))
	expectReady(t, flow, metav1.ConditionFalse, flowsv1alpha1.ReasonBindingConflict,
		`FlowStageBindings "b-ident", "b-ident-again" all bind IdentificationStage "ident" at order 10`)
	first := &flowsv1alpha1.FlowStageBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "b-ident"}}
	expectReadyMessage(t, first, metav1.ConditionFalse, flowsv1alpha1.ReasonBindingConflict,
		`FlowStageBinding "b-ident-again" also binds IdentificationStage "ident" to Flow "login" at order 10: authentik allows one binding of a stage to a flow at an order`)
	expectReady(t, again, metav1.ConditionFalse, flowsv1alpha1.ReasonBindingConflict, `FlowStageBinding "b-ident" also binds`)
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(condition(g, again, flowsv1alpha1.ConditionStalled)).NotTo(BeNil(), "a conflict is Stalled for kstatus")
	}).Should(Succeed())

	remove(t, again)
	expectReady(t, flow, metav1.ConditionTrue, resolves, "All 2 stages are Ready")
	expectReady(t, first, metav1.ConditionTrue, resolves)

	// A stage deleted: the flow loses Ready, its binding stays.
	remove(t, &flowsv1alpha1.PasswordStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "password"}})
	expectReady(t, flow, metav1.ConditionFalse, flowsv1alpha1.ReasonStagesNotReady, `PasswordStage "password" (order 5, FlowStageBinding "b-password") not found`)

	// A binding deleted leaves the plan.
	remove(t, pw)
	expectPlan(t, flow, planStage(10, flowsv1alpha1.StageKindIdentification, "ident", "b-ident", true))
	expectReady(t, flow, metav1.ConditionTrue, resolves, "The stage is Ready")

	// A binding moved to another flow leaves this plan and joins the other.
	other := newFlow(ns, "other", flowsv1alpha1.FlowDesignationAuthentication)
	create(t, other)
	update(t, &flowsv1alpha1.FlowStageBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "b-ident"}},
		func(b *flowsv1alpha1.FlowStageBinding) { b.Spec.TargetRef.Name = "other" })
	expectPlan(t, flow)
	expectPlan(t, other, planStage(10, flowsv1alpha1.StageKindIdentification, "ident", "b-ident", true))
}

// A CaptchaStage reads its Secret: missing, lacking the key, then complete.
func TestCaptchaStageSecret(t *testing.T) {
	ns := namespace(t)
	cs := newCaptchaStage(ns, "captcha", "captcha-keys", "private")
	create(t, cs)
	expectReady(t, cs, metav1.ConditionFalse, notFound, `Secret "captcha-keys" (spec.privateKeySecretRef) not found`)

	secret := newSecret(ns, "captcha-keys", map[string]string{"other": "x"})
	create(t, secret)
	expectReady(t, cs, metav1.ConditionFalse, flowsv1alpha1.ReasonReferenceInvalid,
		`Secret "captcha-keys" (spec.privateKeySecretRef) has no key "private"`)

	update(t, secret, func(s *corev1.Secret) { s.Data["private"] = []byte("key") })
	expectReady(t, cs, metav1.ConditionTrue, resolves)

	remove(t, secret)
	expectReady(t, cs, metav1.ConditionFalse, notFound, `Secret "captcha-keys"`)
}

// An AuthenticatorValidateStage resolves configuration stages of any kind and
// cluster-scoped device types.
func TestAuthenticatorValidateStageReferences(t *testing.T) {
	ns := namespace(t)
	v := newValidateStage(ns, "mfa")
	v.Spec.NotConfiguredAction = flowsv1alpha1.NotConfiguredActionConfigure
	v.Spec.ConfigurationStageRefs = []flowsv1alpha1.StageReference{{Kind: flowsv1alpha1.StageKindPassword, Name: "setup"}}
	dt := newDeviceType(ns, "yubikey", "cb69481e-8ff7-4039-93ec-0a2729a154a8")
	v.Spec.WebAuthnAllowedDeviceTypeRefs = []flowsv1alpha1.LocalObjectReference{{Name: dt.Name}}
	create(t, v)
	expectReady(t, v, metav1.ConditionFalse, notFound,
		`PasswordStage "setup" (spec.configurationStageRefs[0]) not found`,
		`WebAuthnDeviceType "`+dt.Name+`" (spec.webauthnAllowedDeviceTypeRefs[0]) not found`)

	create(t, newPasswordStage(ns, "setup"), dt)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), dt) })
	expectReady(t, v, metav1.ConditionTrue, resolves)
	expectReady(t, dt, metav1.ConditionTrue, resolves, "No references to resolve")

	remove(t, dt)
	expectReady(t, v, metav1.ConditionFalse, notFound, `WebAuthnDeviceType "`+dt.Name+`"`)
}

// Problems authentik accepts are warnings: a condition while they last and
// an Event when they appear, never a loss of Ready.
func TestWarningsAreConditionsAndEvents(t *testing.T) {
	ns := namespace(t)
	create(t,
		newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication),
		newValidateStage(ns, "totp-only", flowsv1alpha1.DeviceClassTOTP),
	)
	// Named after the namespace: a stage of its kind with its name in
	// another test's namespace would add a warning of its own
	// (DuplicateStageName).
	id := newIdentificationStage(ns, ns+"-ident")
	id.Spec.RecoveryFlowRef = ref("login")
	id.Spec.WebAuthnStageRef = ref("totp-only")
	pw := newPasswordStage(ns, "password")
	pw.Spec.ConfigureFlowRef = ref("login")
	create(t, id, pw)

	expectReady(t, id, metav1.ConditionTrue, resolves)
	expectWarning(t, id, flowsv1alpha1.ReasonDesignationMismatch,
		`Flow "login" (spec.recoveryFlowRef) has designation "authentication", expected "recovery"`,
		`AuthenticatorValidateStage "totp-only" (spec.webauthnStageRef) does not allow the webauthn device class`)
	expectEvent(t, id, flowsv1alpha1.ReasonDesignationMismatch, `Flow "login" (spec.recoveryFlowRef)`)
	expectEvent(t, id, flowsv1alpha1.ReasonWebAuthnNotAllowed, `AuthenticatorValidateStage "totp-only"`)
	expectReady(t, pw, metav1.ConditionTrue, resolves)
	expectWarning(t, pw, flowsv1alpha1.ReasonDesignationMismatch, `expected "stage_configuration"`)
	expectEvent(t, pw, flowsv1alpha1.ReasonDesignationMismatch, `Flow "login" (spec.configureFlowRef)`)

	// Fixing the referenced objects clears the warnings.
	update(t, &flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "totp-only"}},
		func(v *flowsv1alpha1.AuthenticatorValidateStage) {
			v.Spec.DeviceClasses = append(v.Spec.DeviceClasses, flowsv1alpha1.DeviceClassWebAuthn)
		})
	expectWarning(t, id, flowsv1alpha1.ReasonDesignationMismatch, `spec.recoveryFlowRef`)
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(condition(g, id, flowsv1alpha1.ConditionWarning).Message).NotTo(ContainSubstring("webauthn"))
	}).Should(Succeed())
	update(t, &flowsv1alpha1.Flow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "login"}},
		func(f *flowsv1alpha1.Flow) { f.Spec.Designation = flowsv1alpha1.FlowDesignationRecovery })
	expectNoWarning(t, id)
	expectWarning(t, pw, flowsv1alpha1.ReasonDesignationMismatch, `has designation "recovery", expected "stage_configuration"`)

	// One Event per warning appearing, not one per reconcile: client-go's
	// recorder folds a repeat into the first Event's series, so an Event
	// with a series means the warning was announced again.
	g := NewWithT(t)
	for _, reason := range []string{flowsv1alpha1.ReasonDesignationMismatch, flowsv1alpha1.ReasonWebAuthnNotAllowed} {
		events := eventsAbout(g, id, reason)
		g.Expect(events).To(HaveLen(1), reason)
		g.Expect(events[0].Series).To(BeNil(), "%s was announced %d times", reason, seriesCount(events[0]))
	}
}

// Two flows with one slug in a namespace both warn, and both stop when one
// is renamed.
func TestDuplicateSlug(t *testing.T) {
	ns := namespace(t)
	// A slug of this test's own: slugs are global, and other tests' flows
	// stay in the cluster.
	slug := ns + "-login"
	a := newFlow(ns, "a", flowsv1alpha1.FlowDesignationAuthentication)
	a.Spec.Slug = slug
	b := newFlow(ns, "b", flowsv1alpha1.FlowDesignationAuthentication)
	b.Spec.Slug = slug
	create(t, a)
	expectReady(t, a, metav1.ConditionTrue, resolves)
	create(t, b)
	expectWarning(t, a, flowsv1alpha1.ReasonDuplicateSlug, `Flow "b" has the same slug "`+slug+`"`)
	expectWarning(t, b, flowsv1alpha1.ReasonDuplicateSlug, `Flow "a" has the same slug "`+slug+`"`)
	expectReady(t, a, metav1.ConditionTrue, resolves)
	expectEvent(t, a, flowsv1alpha1.ReasonDuplicateSlug, `Flow "b"`)
	expectEvent(t, b, flowsv1alpha1.ReasonDuplicateSlug, `Flow "a"`)

	update(t, b, func(f *flowsv1alpha1.Flow) { f.Spec.Slug = ns + "-b" })
	expectNoWarning(t, a)
	expectNoWarning(t, b)

	update(t, b, func(f *flowsv1alpha1.Flow) { f.Spec.Slug = slug })
	expectWarning(t, a, flowsv1alpha1.ReasonDuplicateSlug)
	remove(t, b)
	expectNoWarning(t, a)
}

// Two device types with one aaguid both warn until one goes.
func TestDuplicateAAGUID(t *testing.T) {
	ns := namespace(t)
	const aaguid = "2fc0579f-8113-47ea-b116-bb5a8db9202a"
	a, b := newDeviceType(ns, "a", aaguid), newDeviceType(ns, "b", aaguid)
	create(t, a, b)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), a); _ = k8s.Delete(context.Background(), b) })
	expectWarning(t, a, flowsv1alpha1.ReasonDuplicateAAGUID, `WebAuthnDeviceType "`+b.Name+`" has the same aaguid "`+aaguid+`"`)
	expectWarning(t, b, flowsv1alpha1.ReasonDuplicateAAGUID, `WebAuthnDeviceType "`+a.Name+`"`)
	expectEvent(t, a, flowsv1alpha1.ReasonDuplicateAAGUID)
	expectReady(t, a, metav1.ConditionTrue, resolves)

	remove(t, b)
	expectNoWarning(t, a)
}

// Once everything is evaluated, the operator writes nothing: no object's
// resourceVersion moves, no Event is recorded or repeated.
func TestSteadyStateWritesNothing(t *testing.T) {
	ns := namespace(t)
	dt := newDeviceType(ns, "key", "8876631b-d4a0-427f-5773-0ec71c9e0279")
	create(t, dt)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), dt) })

	id := newIdentificationStage(ns, "ident")
	id.Spec.PasswordStageRef = ref("password")
	id.Spec.CaptchaStageRef = ref("captcha")
	id.Spec.EnrollmentFlowRef = ref("enroll")
	id.Spec.RecoveryFlowRef = ref("login") // a warning, which must not repeat either
	id.Spec.SourceRefs = []flowsv1alpha1.LocalObjectReference{{Name: "github"}}
	id.Spec.WebAuthnStageRef = ref("mfa")
	pw := newPasswordStage(ns, "password")
	pw.Spec.ConfigureFlowRef = ref("setup")
	mfa := newValidateStage(ns, "mfa")
	mfa.Spec.ConfigurationStageRefs = []flowsv1alpha1.StageReference{{Kind: flowsv1alpha1.StageKindPassword, Name: "password"}}
	mfa.Spec.WebAuthnAllowedDeviceTypeRefs = []flowsv1alpha1.LocalObjectReference{{Name: dt.Name}}
	objs := []client.Object{
		id, pw, mfa,
		newCaptchaStage(ns, "captcha", "keys", "private"),
		newSecret(ns, "keys", map[string]string{"private": "k"}),
		newSource(ns, "github"),
		newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication),
		newFlow(ns, "enroll", flowsv1alpha1.FlowDesignationEnrollment),
		newFlow(ns, "setup", flowsv1alpha1.FlowDesignationStageConfiguration),
		newBinding(ns, "login-ident", "login", flowsv1alpha1.StageKindIdentification, "ident", 10),
		newBinding(ns, "login-password", "login", flowsv1alpha1.StageKindPassword, "password", 20),
		newBinding(ns, "login-mfa", "login", flowsv1alpha1.StageKindAuthenticatorValidate, "mfa", 30),
		newBinding(ns, "enroll-captcha", "enroll", flowsv1alpha1.StageKindCaptcha, "captcha", 10),
	}
	create(t, objs...)
	for _, o := range append(objs, dt) {
		if _, isSecret := o.(*corev1.Secret); isSecret {
			continue
		}
		expectReady(t, o, metav1.ConditionTrue, resolves)
	}
	expectWarning(t, id, flowsv1alpha1.ReasonDesignationMismatch)
	expectEvent(t, id, flowsv1alpha1.ReasonDesignationMismatch)
	// Publishing, too, writes once and then nothing.
	bx := &flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "authentik"}}
	create(t, bx)
	expectReady(t, bx, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished, "All 3 flows are published")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: flowsv1alpha1.DefaultBlueprintConfigMap}}
	objs = append(objs, bx, cm)

	versions := func(g Gomega) map[string]string {
		out := map[string]string{}
		for _, o := range append(objs, dt) {
			g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(o), o)).To(Succeed())
			out[flowsv1alpha1.KindOf(o)+"/"+o.GetName()] = o.GetResourceVersion()
		}
		var evs eventsv1.EventList
		g.Expect(k8s.List(context.Background(), &evs, client.InNamespace(ns))).To(Succeed())
		for _, e := range evs.Items {
			out["event/"+e.Name] = e.ResourceVersion
		}
		return out
	}
	g := NewWithT(t)
	steady := versions(g)
	g.Consistently(func(g Gomega) {
		g.Expect(versions(g)).To(Equal(steady))
	}).WithTimeout(5 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
}

// seriesCount is how many times an Event was recorded.
func seriesCount(e eventsv1.Event) int32 {
	if e.Series == nil {
		return 1
	}
	return e.Series.Count
}

// A binding may name a stage that lives only in authentik (by model and
// name): stagehand cannot check it, so the binding is Ready once its flow
// exists, with a reason of its own (NotChecked) that names the stage, kubectl
// get shows the model where a kind would be, and the flow's plan lists it
// by model. A validate stage's configuration stages may be such stages too;
// a flow that binds a NotChecked stage is NotChecked itself.
func TestExternalStages(t *testing.T) {
	ns := namespace(t)
	flow := newFlow(ns, "enroll", flowsv1alpha1.FlowDesignationEnrollment)
	login := &flowsv1alpha1.UserLoginStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "login"}}
	write := newBinding(ns, "enroll-write", "enroll", "", "default-source-enrollment-write", 10)
	write.Spec.StageRef.Model = "authentik_stages_user_write.userwritestage"
	create(t, flow, login, write, newBinding(ns, "enroll-login", "enroll", flowsv1alpha1.StageKindUserLogin, "login", 20))

	expectReady(t, write, metav1.ConditionTrue, notChecked,
		`authentik stage authentik_stages_user_write.userwritestage "default-source-enrollment-write" (spec.stageRef)`, "not checked")
	expectReady(t, login, metav1.ConditionTrue, resolves, "No references to resolve")
	expectReady(t, flow, metav1.ConditionTrue, notChecked, "All 2 stages are Ready, 1 of them external")
	expectPlan(t, flow,
		flowsv1alpha1.FlowPlanStage{Order: 10, Model: "authentik_stages_user_write.userwritestage", Name: "default-source-enrollment-write", Binding: "enroll-write", Ready: true},
		planStage(20, flowsv1alpha1.StageKindUserLogin, "login", "enroll-login", true),
	)
	for name, want := range map[string]string{"enroll-write": "authentik_stages_user_write.userwritestage", "enroll-login": "UserLoginStage"} {
		if got := printedColumn(t, "flowstagebindings", ns, name, "Stage Kind"); got != want {
			t.Errorf("kubectl get fsb %s: Stage Kind %q, want %q", name, got, want)
		}
	}

	mfa := newValidateStage(ns, "mfa")
	mfa.Spec.NotConfiguredAction = flowsv1alpha1.NotConfiguredActionConfigure
	mfa.Spec.ConfigurationStageRefs = []flowsv1alpha1.StageReference{
		{Model: "authentik_stages_authenticator_totp.authenticatortotpstage", Name: "default-authenticator-totp-setup"},
		{Model: "authentik_stages_authenticator_webauthn.authenticatorwebauthnstage", Name: "default-authenticator-webauthn-setup"},
	}
	create(t, mfa)
	expectReady(t, mfa, metav1.ConditionTrue, notChecked, "All 2 references resolve, 2 of them external",
		`authentik stage authentik_stages_authenticator_totp.authenticatortotpstage "default-authenticator-totp-setup" (spec.configurationStageRefs[0])`)

	// Bound, the validate stage makes its flow NotChecked; unbound, the
	// flow is back to what its own bindings say.
	other := newFlow(ns, "mfa-flow", flowsv1alpha1.FlowDesignationAuthentication)
	mfaBinding := newBinding(ns, "mfa-flow-mfa", "mfa-flow", flowsv1alpha1.StageKindAuthenticatorValidate, "mfa", 10)
	create(t, other, mfaBinding)
	expectReady(t, mfaBinding, metav1.ConditionTrue, resolves)
	expectReady(t, other, metav1.ConditionTrue, notChecked, `AuthenticatorValidateStage "mfa" (order 10, FlowStageBinding "mfa-flow-mfa") refers to stages that live only in authentik, not checked`)
	update(t, mfa, func(s *flowsv1alpha1.AuthenticatorValidateStage) {
		s.Spec.NotConfiguredAction = flowsv1alpha1.NotConfiguredActionSkip
		s.Spec.ConfigurationStageRefs = nil
	})
	expectReady(t, mfa, metav1.ConditionTrue, resolves)
	expectReady(t, other, metav1.ConditionTrue, resolves, "The stage is Ready")
}

// printedColumn is the cell of column in the row kubectl get prints for
// the object: the API server's Table of it.
func printedColumn(t *testing.T, resource, ns, name, column string) string {
	t.Helper()
	hc, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("%s/apis/%s/namespaces/%s/%s/%s", strings.TrimSuffix(env.Config.Host, "/"), flowsv1alpha1.GroupVersion, ns, resource, name)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var table metav1.Table
	if err := json.NewDecoder(resp.Body).Decode(&table); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s as a Table: %d, %v", url, resp.StatusCode, err)
	}
	for i, c := range table.ColumnDefinitions {
		if c.Name == column && len(table.Rows) == 1 && i < len(table.Rows[0].Cells) {
			s, _ := table.Rows[0].Cells[i].(string)
			return s
		}
	}
	t.Fatalf("GET %s as a Table: no column %q in %d row(s)", url, column, len(table.Rows))
	return ""
}

// A stage that is not found is looked for in the referring object's
// namespace, and the message says so; a stageRef whose name is taken by
// another stage kind says which, since the kind is then most likely wrong.
func TestNotFoundSaysWhereAndWhatElse(t *testing.T) {
	ns := namespace(t)
	b := newBinding(ns, "bind", "login", flowsv1alpha1.StageKindPassword, "ident", 10)
	create(t, newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication), newIdentificationStage(ns, "ident"), b)
	expectReadyMessage(t, b, metav1.ConditionFalse, notFound,
		`PasswordStage "ident" (spec.stageRef) not found in namespace `+ns+`, but an IdentificationStage "ident" exists there`)
	update(t, b, func(b *flowsv1alpha1.FlowStageBinding) { b.Spec.StageRef.Kind = flowsv1alpha1.StageKindIdentification })
	expectReady(t, b, metav1.ConditionTrue, resolves)
}

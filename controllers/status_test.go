package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// Pure tests of the status computation: no API server.

func reference(field, kind, name string) refs.Reference {
	return refs.Reference{Field: field, Kind: kind, Namespace: "ns", Name: name}
}

func TestReadyFromReferences(t *testing.T) {
	password := reference("spec.passwordStageRef", "PasswordStage", "x")
	recovery := reference("spec.recoveryFlowRef", "Flow", "y")
	secret := reference("spec.privateKeySecretRef", "Secret", "keys")
	found := func(r refs.Reference) resolved { return resolved{Reference: r, Obj: &flowsv1alpha1.Flow{}} }
	missing := func(r refs.Reference) resolved { return resolved{Reference: r} }
	invalid := func(r refs.Reference, why string) resolved {
		return resolved{Reference: r, Obj: &corev1.Secret{}, Invalid: why}
	}

	for _, tc := range []struct {
		name    string
		rs      []resolved
		status  metav1.ConditionStatus
		reason  string
		message string
	}{
		{"no references", nil, metav1.ConditionTrue, flowsv1alpha1.ReasonResolved, "No references to resolve"},
		{"one resolves", []resolved{found(password)}, metav1.ConditionTrue, flowsv1alpha1.ReasonResolved, "The reference resolves"},
		{"all resolve", []resolved{found(password), found(recovery)}, metav1.ConditionTrue, flowsv1alpha1.ReasonResolved, "All 2 references resolve"},
		{
			"one missing", []resolved{found(password), missing(recovery)},
			metav1.ConditionFalse, flowsv1alpha1.ReasonReferenceNotFound,
			`Flow "y" (spec.recoveryFlowRef) not found in namespace ns`,
		},
		{
			"every missing one named, in field order", []resolved{missing(password), missing(recovery)},
			metav1.ConditionFalse, flowsv1alpha1.ReasonReferenceNotFound,
			`PasswordStage "x" (spec.passwordStageRef) not found in namespace ns; Flow "y" (spec.recoveryFlowRef) not found in namespace ns`,
		},
		{
			"a stage of another kind by that name is pointed out", []resolved{{Reference: password, OtherKind: "IdentificationStage"}},
			metav1.ConditionFalse, flowsv1alpha1.ReasonReferenceNotFound,
			`PasswordStage "x" (spec.passwordStageRef) not found in namespace ns, but an IdentificationStage "x" exists there`,
		},
		{
			"invalid", []resolved{invalid(secret, `has no key "private"`)},
			metav1.ConditionFalse, flowsv1alpha1.ReasonReferenceInvalid,
			`Secret "keys" (spec.privateKeySecretRef) has no key "private"`,
		},
		{
			"an external stage is taken on trust, and said to be",
			[]resolved{found(password), {Reference: refs.Reference{Field: "spec.stageRef", Model: "authentik_stages_user_write.userwritestage", Namespace: "ns", Name: "write"}}},
			metav1.ConditionTrue, flowsv1alpha1.ReasonNotChecked,
			`All 2 references resolve, 1 of them external (a stage that lives only in authentik, not checked); authentik stage authentik_stages_user_write.userwritestage "write" (spec.stageRef)`,
		},
		{
			"missing outranks invalid, both named", []resolved{invalid(secret, `has no key "private"`), missing(recovery)},
			metav1.ConditionFalse, flowsv1alpha1.ReasonReferenceNotFound,
			`Secret "keys" (spec.privateKeySecretRef) has no key "private"; Flow "y" (spec.recoveryFlowRef) not found in namespace ns`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c := readyFromReferences(tc.rs)
			g.Expect(c.Type).To(Equal(flowsv1alpha1.ConditionReady))
			g.Expect(c.Status).To(Equal(tc.status))
			g.Expect(c.Reason).To(Equal(tc.reason))
			g.Expect(c.Message).To(Equal(tc.message))
		})
	}
}

func TestReadyMessageStaysWithinTheAPILimit(t *testing.T) {
	g := NewWithT(t)
	var rs []resolved
	for i := range 512 {
		rs = append(rs, resolved{Reference: refs.Reference{
			Field: fmt.Sprintf("spec.webauthnAllowedDeviceTypeRefs[%d]", i),
			Kind:  flowsv1alpha1.KindWebAuthnDeviceType,
			Name:  strings.Repeat("n", 250) + fmt.Sprint(i),
		}})
	}
	c := readyFromReferences(rs)
	g.Expect(len(c.Message)).To(BeNumerically("<=", maxMessage))
	g.Expect(c.Message).To(HavePrefix(`WebAuthnDeviceType "nnn`))
	g.Expect(c.Message).To(MatchRegexp(`; and \d+ more$`))
}

func TestJoinLimited(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items []string
		limit int
		want  string
	}{
		{"fits", []string{"a", "b"}, 100, "a; b"},
		{"empty", nil, 100, ""},
		{"leaves out the tail and counts it", []string{strings.Repeat("a", 30), strings.Repeat("b", 30), "c", "d"}, 30 + len("; and 2147483647 more"), strings.Repeat("a", 30) + "; and 3 more"},
		{"cuts a first item too long", []string{strings.Repeat("x", 50), "y"}, 20, strings.Repeat("x", 17) + "..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := joinLimited(tc.items, tc.limit)
			g.Expect(got).To(Equal(tc.want))
			g.Expect(len(got)).To(BeNumerically("<=", tc.limit))
		})
	}
}

func TestSetConditions(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Hour))
	resolvedReady := readyFromReferences(nil)
	notFound := readyFromReferences([]resolved{{Reference: reference("spec.configureFlowRef", "Flow", "f")}})
	mismatch := warning{Reason: flowsv1alpha1.ReasonDesignationMismatch, Message: "flow mismatch"}
	webauthn := warning{Reason: flowsv1alpha1.ReasonWebAuthnNotAllowed, Message: "no webauthn"}

	t.Run("first evaluation", func(t *testing.T) {
		g := NewWithT(t)
		st := &flowsv1alpha1.PasswordStage{}
		fresh := setConditions(generation(st, 3), resolvedReady, nil, t0)
		g.Expect(fresh).To(BeEmpty())
		g.Expect(st.Status.ObservedGeneration).To(Equal(int64(3)))
		g.Expect(st.Status.Conditions).To(HaveLen(1))
		c := st.Status.Conditions[0]
		g.Expect(c.Type).To(Equal(flowsv1alpha1.ConditionReady))
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.ObservedGeneration).To(Equal(int64(3)))
		g.Expect(c.LastTransitionTime).To(Equal(t0))
	})

	t.Run("the same outcome changes nothing", func(t *testing.T) {
		g := NewWithT(t)
		st := &flowsv1alpha1.PasswordStage{}
		setConditions(generation(st, 3), resolvedReady, []warning{mismatch}, t0)
		before := st.DeepCopy()
		fresh := setConditions(generation(st, 3), resolvedReady, []warning{mismatch}, t1)
		g.Expect(fresh).To(BeEmpty(), "a warning already reported is not fresh")
		g.Expect(st).To(Equal(before))
	})

	t.Run("a new generation moves observedGeneration, not lastTransitionTime", func(t *testing.T) {
		g := NewWithT(t)
		st := &flowsv1alpha1.PasswordStage{}
		setConditions(generation(st, 3), resolvedReady, nil, t0)
		setConditions(generation(st, 4), resolvedReady, nil, t1)
		c := meta.FindStatusCondition(st.Status.Conditions, flowsv1alpha1.ConditionReady)
		g.Expect(st.Status.ObservedGeneration).To(Equal(int64(4)))
		g.Expect(c.ObservedGeneration).To(Equal(int64(4)))
		g.Expect(c.LastTransitionTime).To(Equal(t0))
	})

	t.Run("a transition moves lastTransitionTime", func(t *testing.T) {
		g := NewWithT(t)
		st := &flowsv1alpha1.PasswordStage{}
		setConditions(generation(st, 3), resolvedReady, nil, t0)
		setConditions(generation(st, 3), notFound, nil, t1)
		c := meta.FindStatusCondition(st.Status.Conditions, flowsv1alpha1.ConditionReady)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(flowsv1alpha1.ReasonReferenceNotFound))
		g.Expect(c.Message).To(Equal(`Flow "f" (spec.configureFlowRef) not found in namespace ns`))
		g.Expect(c.LastTransitionTime).To(Equal(t1))
	})

	t.Run("kstatus: Reconciling while a reference may still appear, Stalled while it needs a fix, neither when Ready", func(t *testing.T) {
		g := NewWithT(t)
		invalid := readyFromReferences([]resolved{{Reference: reference("spec.privateKeySecretRef", "Secret", "s"), Obj: &corev1.Secret{}, Invalid: `has no key "k"`}})
		conflict := metav1.Condition{Type: flowsv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: flowsv1alpha1.ReasonBindingConflict, Message: "collide"}
		types := func(st *flowsv1alpha1.PasswordStage) []string {
			var out []string
			for _, c := range st.Status.Conditions {
				out = append(out, c.Type+"="+string(c.Status)+"/"+c.Reason)
			}
			return out
		}
		st := &flowsv1alpha1.PasswordStage{}
		setConditions(generation(st, 1), notFound, nil, t0)
		g.Expect(types(st)).To(ConsistOf("Ready=False/ReferenceNotFound", "Reconciling=True/ReferenceNotFound"))
		g.Expect(meta.FindStatusCondition(st.Status.Conditions, flowsv1alpha1.ConditionReconciling).Message).To(Equal(`Flow "f" (spec.configureFlowRef) not found in namespace ns`))
		setConditions(generation(st, 1), invalid, nil, t1)
		g.Expect(types(st)).To(ConsistOf("Ready=False/ReferenceInvalid", "Stalled=True/ReferenceInvalid"))
		setConditions(generation(st, 1), conflict, nil, t1)
		g.Expect(types(st)).To(ConsistOf("Ready=False/BindingConflict", "Stalled=True/BindingConflict"))
		setConditions(generation(st, 1), resolvedReady, nil, t1)
		g.Expect(types(st)).To(ConsistOf("Ready=True/Resolved"))
	})

	t.Run("warnings: present while they last, fresh when they appear", func(t *testing.T) {
		g := NewWithT(t)
		st := &flowsv1alpha1.PasswordStage{}
		fresh := setConditions(generation(st, 1), resolvedReady, []warning{mismatch}, t0)
		g.Expect(fresh).To(Equal([]warning{mismatch}))
		w := meta.FindStatusCondition(st.Status.Conditions, flowsv1alpha1.ConditionWarning)
		g.Expect(w).NotTo(BeNil())
		g.Expect(w.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(w.Reason).To(Equal(flowsv1alpha1.ReasonDesignationMismatch))
		g.Expect(w.Message).To(Equal("flow mismatch"))
		g.Expect(meta.IsStatusConditionTrue(st.Status.Conditions, flowsv1alpha1.ConditionReady)).To(BeTrue(), "a warning does not make an object not Ready")

		fresh = setConditions(generation(st, 1), resolvedReady, []warning{mismatch, webauthn}, t1)
		g.Expect(fresh).To(Equal([]warning{webauthn}), "only the warning that appeared is fresh")
		w = meta.FindStatusCondition(st.Status.Conditions, flowsv1alpha1.ConditionWarning)
		g.Expect(w.Message).To(Equal("flow mismatch; no webauthn"))
		g.Expect(w.Reason).To(Equal(flowsv1alpha1.ReasonDesignationMismatch), "the first warning's reason")
		g.Expect(w.LastTransitionTime).To(Equal(t0))

		fresh = setConditions(generation(st, 1), resolvedReady, nil, t1)
		g.Expect(fresh).To(BeEmpty())
		g.Expect(meta.FindStatusCondition(st.Status.Conditions, flowsv1alpha1.ConditionWarning)).To(BeNil(), "removed once no warning is left")

		fresh = setConditions(generation(st, 1), resolvedReady, []warning{mismatch}, t1)
		g.Expect(fresh).To(Equal([]warning{mismatch}), "a warning that comes back is fresh again")
	})

	t.Run("many warnings: a new one is announced once, the others never again", func(t *testing.T) {
		g := NewWithT(t)
		many := func(n int) []warning {
			out := make([]warning, n)
			for i := range out {
				out[i] = warning{Reason: flowsv1alpha1.ReasonDesignationMismatch, Message: fmt.Sprintf("Flow %q (spec.x) has designation %q, expected %q%s", fmt.Sprint("flow-", i), "authentication", "recovery", strings.Repeat(" padding", 20))}
			}
			return out
		}
		st := &flowsv1alpha1.PasswordStage{}
		fresh := setConditions(generation(st, 1), resolvedReady, many(200), t0)
		g.Expect(fresh).To(HaveLen(maxWarnings), "the listed warnings are announced, the rest counted")
		w := meta.FindStatusCondition(st.Status.Conditions, flowsv1alpha1.ConditionWarning)
		g.Expect(len(w.Message)).To(BeNumerically("<=", maxMessage))
		g.Expect(w.Message).To(HaveSuffix(fmt.Sprintf("; and %d more", 200-maxWarnings)))

		fresh = setConditions(generation(st, 1), resolvedReady, many(200), t1)
		g.Expect(fresh).To(BeEmpty(), "the same 200 warnings again announce nothing")

		added := append([]warning{{Reason: flowsv1alpha1.ReasonWebAuthnNotAllowed, Message: "a new one"}}, many(200)...)
		fresh = setConditions(generation(st, 1), resolvedReady, added, t1)
		g.Expect(fresh).To(Equal(added[:1]), "only the new warning is announced")

		long := []warning{{Reason: flowsv1alpha1.ReasonDuplicateSlug, Message: strings.Repeat("x", 5000)}}
		fresh = setConditions(generation(st, 1), resolvedReady, long, t1)
		g.Expect(fresh).To(HaveLen(1))
		g.Expect(fresh[0].Message).To(HaveLen(maxWarningMessage), "a long message is cut, as the condition lists it")
		fresh = setConditions(generation(st, 1), resolvedReady, long, t1)
		g.Expect(fresh).To(BeEmpty(), "a cut message is recognised as already listed")
	})
}

// generation sets obj's metadata.generation, for setConditions to evaluate.
func generation[T flowsv1alpha1.Object](obj T, g int64) T {
	obj.SetGeneration(g)
	return obj
}

func flowWithDesignation(name string, d flowsv1alpha1.FlowDesignation) *flowsv1alpha1.Flow {
	return &flowsv1alpha1.Flow{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: flowsv1alpha1.FlowSpec{Designation: d}}
}

func TestDesignationWarnings(t *testing.T) {
	for _, tc := range []struct {
		field string
		flow  flowsv1alpha1.FlowDesignation
		want  string
	}{
		{"spec.enrollmentFlowRef", flowsv1alpha1.FlowDesignationEnrollment, ""},
		{"spec.enrollmentFlowRef", flowsv1alpha1.FlowDesignationAuthentication, `Flow "f" (spec.enrollmentFlowRef) has designation "authentication", expected "enrollment"`},
		{"spec.recoveryFlowRef", flowsv1alpha1.FlowDesignationRecovery, ""},
		{"spec.recoveryFlowRef", flowsv1alpha1.FlowDesignationEnrollment, `Flow "f" (spec.recoveryFlowRef) has designation "enrollment", expected "recovery"`},
		{"spec.passwordlessFlowRef", flowsv1alpha1.FlowDesignationAuthentication, ""},
		{"spec.passwordlessFlowRef", flowsv1alpha1.FlowDesignationRecovery, `Flow "f" (spec.passwordlessFlowRef) has designation "recovery", expected "authentication"`},
		{"spec.configureFlowRef", flowsv1alpha1.FlowDesignationStageConfiguration, ""},
		{"spec.configureFlowRef", flowsv1alpha1.FlowDesignationAuthorization, `Flow "f" (spec.configureFlowRef) has designation "authorization", expected "stage_configuration"`},
	} {
		t.Run(tc.field+"="+string(tc.flow), func(t *testing.T) {
			g := NewWithT(t)
			f := flowWithDesignation("f", tc.flow)
			ws := designationWarnings([]resolved{{Reference: reference(tc.field, flowsv1alpha1.KindFlow, "f"), Obj: f}})
			if tc.want == "" {
				g.Expect(ws).To(BeEmpty())
				return
			}
			g.Expect(ws).To(Equal([]warning{{Reason: flowsv1alpha1.ReasonDesignationMismatch, Message: tc.want, Related: f}}))
		})
	}
	t.Run("a missing flow is not a warning", func(t *testing.T) {
		NewWithT(t).Expect(designationWarnings([]resolved{{Reference: reference("spec.recoveryFlowRef", flowsv1alpha1.KindFlow, "f")}})).To(BeEmpty())
	})
}

// The checks key on refs.Of's field names: make sure they are the ones it
// produces.
func TestCheckedFieldsAreRefsFields(t *testing.T) {
	g := NewWithT(t)
	id := &flowsv1alpha1.IdentificationStage{Spec: flowsv1alpha1.IdentificationStageSpec{
		EnrollmentFlowRef: ref("a"), RecoveryFlowRef: ref("b"), PasswordlessFlowRef: ref("c"), WebAuthnStageRef: ref("d"),
	}}
	pw := &flowsv1alpha1.PasswordStage{Spec: flowsv1alpha1.PasswordStageSpec{ConfigureFlowRef: ref("e")}}
	cs := &flowsv1alpha1.CaptchaStage{Spec: flowsv1alpha1.CaptchaStageSpec{PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: "s", Key: "k"}}}
	fields := map[string]bool{}
	for _, o := range []client.Object{id, pw, cs} {
		for _, r := range refs.Of(o) {
			fields[r.Field] = true
		}
	}
	for f := range expectedDesignation {
		g.Expect(fields).To(HaveKey(f))
	}
	g.Expect(fields).To(HaveKey("spec.webauthnStageRef"))
	g.Expect(fields).To(HaveKey("spec.privateKeySecretRef"))
}

func TestWebAuthnWarnings(t *testing.T) {
	r := reference("spec.webauthnStageRef", string(flowsv1alpha1.StageKindAuthenticatorValidate), "v")
	stage := func(classes ...flowsv1alpha1.DeviceClass) *flowsv1alpha1.AuthenticatorValidateStage {
		return &flowsv1alpha1.AuthenticatorValidateStage{Spec: flowsv1alpha1.AuthenticatorValidateStageSpec{DeviceClasses: classes}}
	}
	for _, tc := range []struct {
		name string
		obj  client.Object
		want string
	}{
		{"allows webauthn", stage(flowsv1alpha1.DeviceClassTOTP, flowsv1alpha1.DeviceClassWebAuthn), ""},
		{"no classes is all of them", stage(), ""},
		{"missing stage", nil, ""},
		{"lacks webauthn", stage(flowsv1alpha1.DeviceClassTOTP, flowsv1alpha1.DeviceClassStatic),
			`AuthenticatorValidateStage "v" (spec.webauthnStageRef) does not allow the webauthn device class (deviceClasses: totp, static)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			rs := []resolved{{Reference: r}}
			if tc.obj != nil {
				rs[0].Obj = tc.obj
			}
			ws := webauthnWarnings(rs)
			if tc.want == "" {
				g.Expect(ws).To(BeEmpty())
				return
			}
			g.Expect(ws).To(HaveLen(1))
			g.Expect(ws[0].Reason).To(Equal(flowsv1alpha1.ReasonWebAuthnNotAllowed))
			g.Expect(ws[0].Message).To(Equal(tc.want))
		})
	}
}

func TestCheckSecretKey(t *testing.T) {
	cs := &flowsv1alpha1.CaptchaStage{Spec: flowsv1alpha1.CaptchaStageSpec{PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: "keys", Key: "private"}}}
	r := reference("spec.privateKeySecretRef", refs.KindSecret, "keys")
	for _, tc := range []struct {
		name   string
		secret *corev1.Secret
		want   string
	}{
		{"has the key", &corev1.Secret{Data: map[string][]byte{"private": []byte("k")}}, ""},
		{"lacks the key", &corev1.Secret{Data: map[string][]byte{"public": []byte("k")}}, `has no key "private"`},
		{"empty value", &corev1.Secret{Data: map[string][]byte{"private": {}}}, `has an empty value under key "private"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			rs := []resolved{{Reference: r, Obj: tc.secret}}
			checkSecretKey(cs, rs)
			g.Expect(rs[0].Invalid).To(Equal(tc.want))
			if tc.want != "" {
				c := readyFromReferences(rs)
				g.Expect(c.Reason).To(Equal(flowsv1alpha1.ReasonReferenceInvalid))
				g.Expect(c.Message).To(Equal(`Secret "keys" (spec.privateKeySecretRef) ` + tc.want))
			}
		})
	}
	t.Run("a missing Secret stays not found", func(t *testing.T) {
		g := NewWithT(t)
		rs := []resolved{{Reference: r}}
		checkSecretKey(cs, rs)
		g.Expect(rs[0].Invalid).To(BeEmpty())
		g.Expect(readyFromReferences(rs).Reason).To(Equal(flowsv1alpha1.ReasonReferenceNotFound))
	})
}

func TestDuplicateWarning(t *testing.T) {
	flow := func(name string) client.Object {
		return &flowsv1alpha1.Flow{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)}}
	}
	self := flow("a")
	for _, tc := range []struct {
		name  string
		peers []client.Object
		want  string
	}{
		{"alone", []client.Object{self}, ""},
		{"no peers listed", nil, ""},
		{"one other", []client.Object{self, flow("b")}, `Flow "b" has the same slug "login"`},
		{"several others, sorted", []client.Object{flow("c"), self, flow("b")}, `Flows "b", "c" have the same slug "login"`},
		{"in other namespaces, named with them, after those of its own", []client.Object{inNamespace(flow("b"), "team-b"), self, flow("c"), inNamespace(flow("b"), "team-a")},
			`Flows "c", "b" in namespace team-a, "b" in namespace team-b have the same slug "login": authentik's slugs are global, so they are one object in authentik, which stagehand deletes only once none of them declares it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ws := duplicateWarning(self, flowsv1alpha1.KindFlow, "slug", "login", flowsv1alpha1.ReasonDuplicateSlug, tc.peers)
			if tc.want == "" {
				g.Expect(ws).To(BeEmpty())
				return
			}
			g.Expect(ws).To(HaveLen(1))
			g.Expect(ws[0].Reason).To(Equal(flowsv1alpha1.ReasonDuplicateSlug))
			g.Expect(ws[0].Message).To(Equal(tc.want))
			g.Expect(ws[0].Related.GetName()).To(Equal(strings.Fields(strings.SplitN(tc.want, `"`, 3)[1])[0]), "the first named")
		})
	}
}

func inNamespace(o client.Object, ns string) client.Object {
	o.SetNamespace(ns)
	o.SetUID(types.UID(ns + "-" + string(o.GetUID())))
	return o
}

func TestFlowPlan(t *testing.T) {
	const (
		ident    = flowsv1alpha1.StageKindIdentification
		password = flowsv1alpha1.StageKindPassword
	)
	readyStatus := flowsv1alpha1.Status{Conditions: []metav1.Condition{{Type: flowsv1alpha1.ConditionReady, Status: metav1.ConditionTrue}}}
	notReadyStatus := flowsv1alpha1.Status{Conditions: []metav1.Condition{{Type: flowsv1alpha1.ConditionReady, Status: metav1.ConditionFalse}}}
	binding := func(name string, kind flowsv1alpha1.StageKind, stage string, order int32, ready bool) flowsv1alpha1.FlowStageBinding {
		b := flowsv1alpha1.FlowStageBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Spec: flowsv1alpha1.FlowStageBindingSpec{
				TargetRef: flowsv1alpha1.LocalObjectReference{Name: "flow"},
				StageRef:  flowsv1alpha1.StageReference{Kind: kind, Name: stage},
				Order:     order,
			},
		}
		if ready {
			b.Status = readyStatus
		}
		return b
	}
	readyIdent := &flowsv1alpha1.IdentificationStage{Status: readyStatus}
	readyPassword := &flowsv1alpha1.PasswordStage{Status: readyStatus}
	stages := func(kv ...any) map[string]client.Object {
		m := map[string]client.Object{}
		for i := 0; i < len(kv); i += 2 {
			k := kv[i].(string)
			if kv[i+1] == nil {
				m[k] = nil
				continue
			}
			m[k] = kv[i+1].(client.Object)
		}
		return m
	}
	identKey := refs.Key(string(ident), "ns", "id")
	passwordKey := refs.Key(string(password), "ns", "pw")
	plan := func(order int32, kind flowsv1alpha1.StageKind, name, binding string, ready bool) flowsv1alpha1.FlowPlanStage {
		return flowsv1alpha1.FlowPlanStage{Order: order, Kind: kind, Name: name, Binding: binding, Ready: ready}
	}

	for _, tc := range []struct {
		name     string
		bindings []flowsv1alpha1.FlowStageBinding
		stages   map[string]client.Object
		plan     []flowsv1alpha1.FlowPlanStage
		status   metav1.ConditionStatus
		reason   string
		message  string
	}{
		{
			name:   "no bindings",
			plan:   []flowsv1alpha1.FlowPlanStage{},
			status: metav1.ConditionTrue, reason: flowsv1alpha1.ReasonResolved, message: "No stages bound",
		},
		{
			name:     "one stage",
			bindings: []flowsv1alpha1.FlowStageBinding{binding("b", ident, "id", 10, true)},
			stages:   stages(identKey, readyIdent),
			plan:     []flowsv1alpha1.FlowPlanStage{plan(10, ident, "id", "b", true)},
			status:   metav1.ConditionTrue, reason: flowsv1alpha1.ReasonResolved, message: "The stage is Ready",
		},
		{
			name: "sorted by order, then binding name",
			bindings: []flowsv1alpha1.FlowStageBinding{
				binding("z", password, "pw", 20, true),
				binding("y", ident, "id", 10, true),
				binding("x", password, "pw", 10, true),
			},
			stages: stages(identKey, readyIdent, passwordKey, readyPassword),
			plan: []flowsv1alpha1.FlowPlanStage{
				plan(10, password, "pw", "x", true),
				plan(10, ident, "id", "y", true),
				plan(20, password, "pw", "z", true),
			},
			status: metav1.ConditionTrue, reason: flowsv1alpha1.ReasonResolved, message: "All 3 stages are Ready",
		},
		{
			name: "stage missing, stage not Ready, binding not Ready",
			bindings: []flowsv1alpha1.FlowStageBinding{
				binding("b1", ident, "id", 10, false),
				binding("b2", password, "pw", 20, true),
				binding("b3", password, "gone", 30, false),
			},
			stages: stages(identKey, readyIdent, passwordKey, &flowsv1alpha1.PasswordStage{Status: notReadyStatus}, refs.Key(string(password), "ns", "gone"), nil),
			plan: []flowsv1alpha1.FlowPlanStage{
				plan(10, ident, "id", "b1", false),
				plan(20, password, "pw", "b2", false),
				plan(30, password, "gone", "b3", false),
			},
			status: metav1.ConditionFalse, reason: flowsv1alpha1.ReasonStagesNotReady,
			message: `FlowStageBinding "b1" (order 10) not Ready; ` +
				`PasswordStage "pw" (order 20, FlowStageBinding "b2") not Ready; ` +
				`PasswordStage "gone" (order 30, FlowStageBinding "b3") not found`,
		},
		{
			name: "a stage never looked up counts as missing",
			bindings: []flowsv1alpha1.FlowStageBinding{
				binding("b", ident, "id", 10, true),
			},
			plan:   []flowsv1alpha1.FlowPlanStage{plan(10, ident, "id", "b", false)},
			status: metav1.ConditionFalse, reason: flowsv1alpha1.ReasonStagesNotReady,
			message: `IdentificationStage "id" (order 10, FlowStageBinding "b") not found`,
		},
		{
			name: "a binding to a stage that lives only in authentik: Ready with its binding, unchecked",
			bindings: func() []flowsv1alpha1.FlowStageBinding {
				ext := binding("w", "", "default-source-enrollment-write", 20, true)
				ext.Spec.StageRef.Model = "authentik_stages_user_write.userwritestage"
				notYet := binding("v", "", "later", 30, false)
				notYet.Spec.StageRef.Model = "authentik_stages_user_login.userloginstage"
				return []flowsv1alpha1.FlowStageBinding{binding("b", ident, "id", 10, true), ext, notYet}
			}(),
			stages: stages(identKey, readyIdent),
			plan: []flowsv1alpha1.FlowPlanStage{
				plan(10, ident, "id", "b", true),
				{Order: 20, Model: "authentik_stages_user_write.userwritestage", Name: "default-source-enrollment-write", Binding: "w", Ready: true},
				{Order: 30, Model: "authentik_stages_user_login.userloginstage", Name: "later", Binding: "v", Ready: false},
			},
			status: metav1.ConditionFalse, reason: flowsv1alpha1.ReasonStagesNotReady,
			message: `FlowStageBinding "v" (order 30) not Ready`,
		},
		{
			name: "all Ready, one external",
			bindings: func() []flowsv1alpha1.FlowStageBinding {
				ext := binding("w", "", "default-source-enrollment-write", 20, true)
				ext.Spec.StageRef.Model = "authentik_stages_user_write.userwritestage"
				return []flowsv1alpha1.FlowStageBinding{binding("b", ident, "id", 10, true), ext}
			}(),
			stages: stages(identKey, readyIdent),
			plan: []flowsv1alpha1.FlowPlanStage{
				plan(10, ident, "id", "b", true),
				{Order: 20, Model: "authentik_stages_user_write.userwritestage", Name: "default-source-enrollment-write", Binding: "w", Ready: true},
			},
			status: metav1.ConditionTrue, reason: flowsv1alpha1.ReasonNotChecked,
			message: `All 2 stages are Ready, 1 of them external (a stage that lives only in authentik, not checked)`,
		},
		{
			name:     "all Ready, one stage NotChecked itself",
			bindings: []flowsv1alpha1.FlowStageBinding{binding("b", ident, "id", 10, true), binding("c", password, "pw", 20, true)},
			stages: stages(identKey, readyIdent, passwordKey, &flowsv1alpha1.PasswordStage{Status: flowsv1alpha1.Status{Conditions: []metav1.Condition{
				{Type: flowsv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: flowsv1alpha1.ReasonNotChecked},
			}}}),
			plan:   []flowsv1alpha1.FlowPlanStage{plan(10, ident, "id", "b", true), plan(20, password, "pw", "c", true)},
			status: metav1.ConditionTrue, reason: flowsv1alpha1.ReasonNotChecked,
			message: `All 2 stages are Ready; PasswordStage "pw" (order 20, FlowStageBinding "c") refers to stages that live only in authentik, not checked`,
		},
		{
			name: "colliding bindings are listed and reported",
			bindings: []flowsv1alpha1.FlowStageBinding{
				binding("b", ident, "id", 10, true),
				binding("a", ident, "id", 10, true),
				binding("c", ident, "id", 20, true),
				binding("d", password, "pw", 10, false),
			},
			stages: stages(identKey, readyIdent, passwordKey, readyPassword),
			plan: []flowsv1alpha1.FlowPlanStage{
				plan(10, ident, "id", "a", true),
				plan(10, ident, "id", "b", true),
				plan(10, password, "pw", "d", false),
				plan(20, ident, "id", "c", true),
			},
			status: metav1.ConditionFalse, reason: flowsv1alpha1.ReasonBindingConflict,
			message: `FlowStageBindings "a", "b" all bind IdentificationStage "id" at order 10; FlowStageBinding "d" (order 10) not Ready`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			plan, ready := flowPlan(tc.bindings, tc.stages)
			g.Expect(plan).To(Equal(tc.plan))
			g.Expect(ready.Type).To(Equal(flowsv1alpha1.ConditionReady))
			g.Expect(ready.Status).To(Equal(tc.status))
			g.Expect(ready.Reason).To(Equal(tc.reason))
			g.Expect(ready.Message).To(Equal(tc.message))
		})
	}

	t.Run("the plan in status is capped at its MaxItems", func(t *testing.T) {
		g := NewWithT(t)
		var bs []flowsv1alpha1.FlowStageBinding
		for i := range maxPlan + 5 {
			bs = append(bs, binding(fmt.Sprintf("b%05d", i), ident, "id", int32(i), true))
		}
		plan, ready := flowPlan(bs, stages(identKey, readyIdent))
		g.Expect(plan).To(HaveLen(maxPlan))
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(ready.Message).To(Equal(fmt.Sprintf("All %d stages are Ready (status.stages lists the first %d of %d)", maxPlan+5, maxPlan, maxPlan+5)))
	})
}

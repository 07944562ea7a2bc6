package controllers

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// published waits until the export's ConfigMap (or, with fromSecret, its
// Secret) holds key, decoded, and check passes on it.
func published(t *testing.T, ns, name, key string, fromSecret bool, check func(g Gomega, doc *blueprint.Blueprint, text string)) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var text string
		if fromSecret {
			var s corev1.Secret
			g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s)).To(Succeed())
			g.Expect(s.Data).To(HaveKey(key))
			text = string(s.Data[key])
		} else {
			var cm corev1.ConfigMap
			g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cm)).To(Succeed())
			g.Expect(cm.Data).To(HaveKey(key))
			text = cm.Data[key]
		}
		doc, err := blueprint.Decode(key, []byte(text))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(doc.Validate()).To(Succeed())
		check(g, doc, text)
	}).Should(Succeed())
}

// entry finds a document's entry of model whose identifier key is value.
func entry(doc *blueprint.Blueprint, model, key string, value any) *blueprint.Entry {
	for i := range doc.Entries {
		e := &doc.Entries[i]
		if e.Model != model {
			continue
		}
		if v, ok := e.Identifiers.Get(key); ok && blueprint.Equal(v, value) {
			return e
		}
	}
	return nil
}

// A BlueprintExport publishes its namespace's Ready flows into a ConfigMap
// it owns, one document per flow; a change of a stage changes the
// document; a broken flow keeps its last good document; a deleted binding
// is published as a deletion.
func TestBlueprintExportPublishes(t *testing.T) {
	ns := namespace(t)
	const cm = "stagehand-blueprints-authentik"
	flow := newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication)
	pw := newPasswordStage(ns, "password")
	login := &flowsv1alpha1.UserLoginStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sign-in"}}
	bx := &flowsv1alpha1.BlueprintExport{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "authentik"},
		Spec:       flowsv1alpha1.BlueprintExportSpec{ConfigMapName: cm},
	}
	create(t, flow, pw, login,
		newBinding(ns, "login-password", "login", flowsv1alpha1.StageKindPassword, "password", 20),
		newBinding(ns, "login-sign-in", "login", flowsv1alpha1.StageKindUserLogin, "sign-in", 100),
		bx)

	expectReady(t, bx, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished, "The flow is published")
	published(t, ns, cm, "login.yaml", false, func(g Gomega, doc *blueprint.Blueprint, text string) {
		g.Expect(doc.Metadata.Name).To(Equal("stagehand " + ns + "/login"))
		g.Expect(entry(doc, "authentik_flows.flow", "slug", "login")).NotTo(BeNil())
		pe := entry(doc, "authentik_stages_password.passwordstage", "name", "password")
		g.Expect(pe).NotTo(BeNil())
		attempts, _ := pe.Attrs.Get("failed_attempts_before_cancel")
		g.Expect(attempts).To(Equal(int64(5)))
		g.Expect(entry(doc, "authentik_stages_user_login.userloginstage", "name", "sign-in")).NotTo(BeNil())
	})
	var owned corev1.ConfigMap
	g := NewWithT(t)
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: cm}, &owned)).To(Succeed())
	g.Expect(metav1.IsControlledBy(&owned, bx)).To(BeTrue(), "the export owns its ConfigMap, which goes with it")
	g.Expect(owned.Labels).To(HaveKeyWithValue(LabelManagedBy, "stagehand"))
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(bx), bx)).To(Succeed())
	g.Expect(bx.Status.ConfigMap).To(Equal(cm))
	g.Expect(bx.Status.Flows).To(HaveLen(1))
	g.Expect(bx.Status.Flows[0].Hash).To(Equal(blueprint.Hash([]byte(owned.Data["login.yaml"]))))

	// A stage changes: the document follows.
	update(t, pw, func(p *flowsv1alpha1.PasswordStage) { p.Spec.FailedAttemptsBeforeCancel = ptrTo(int32(3)) })
	published(t, ns, cm, "login.yaml", false, func(g Gomega, doc *blueprint.Blueprint, _ string) {
		attempts, _ := entry(doc, "authentik_stages_password.passwordstage", "name", "password").Attrs.Get("failed_attempts_before_cancel")
		g.Expect(attempts).To(Equal(int64(3)))
	})
	var good corev1.ConfigMap
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: cm}, &good)).To(Succeed())

	// A reference breaks: the flow is not Ready, its last good document
	// stays, and the export says which flow is held back and why.
	broken := newBinding(ns, "login-missing", "login", flowsv1alpha1.StageKindPassword, "missing", 30)
	create(t, broken)
	expectReady(t, bx, metav1.ConditionFalse, flowsv1alpha1.ReasonFlowsHeldBack, `Flow "login" is held back`, `PasswordStage "missing"`)
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: cm}, &owned)).To(Succeed())
	g.Expect(owned.Data).To(Equal(good.Data), "the last good document is kept")
	g.Eventually(func(g Gomega) {
		// Held back first, maybe, because the render found the stage
		// missing; then because the flow itself says it is not Ready.
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(bx), bx)).To(Succeed())
		g.Expect(bx.Status.Flows[0].HeldBack).To(ContainSubstring("the Flow is not Ready"))
	}).Should(Succeed())
	g.Expect(bx.Status.Flows[0].Hash).To(Equal(blueprint.Hash([]byte(good.Data["login.yaml"]))))

	// Fixed by deleting the broken binding and the login stage's: the
	// deleted binding (published before) becomes a deletion; the stage,
	// still in the cluster, stays in authentik.
	remove(t, broken, &flowsv1alpha1.FlowStageBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "login-sign-in"}})
	expectReadyMessage(t, bx, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished, "The flow is published, with 1 deletion")
	published(t, ns, cm, "login.yaml", false, func(g Gomega, doc *blueprint.Blueprint, _ string) {
		var absent []blueprint.Entry
		for _, e := range doc.Entries {
			if e.State == blueprint.StateAbsent {
				absent = append(absent, e)
			}
		}
		g.Expect(absent).To(HaveLen(1))
		g.Expect(absent[0].Model).To(Equal("authentik_flows.flowstagebinding"))
		order, _ := absent[0].Identifiers.Get("order")
		g.Expect(order).To(Equal(int64(100)))
		g.Expect(entry(doc, "authentik_stages_user_login.userloginstage", "name", "sign-in")).To(BeNil(), "no longer bound: not in the document, not deleted")
	})
}

// A captcha stage's private key: with secrets Mount (the default) the
// document reads it from where authentik mounts the Secret and carries no
// secret; with Inline, the document carries it and is written to a Secret,
// never to the ConfigMap.
func TestBlueprintExportSecrets(t *testing.T) {
	ns := namespace(t)
	const key = "not-a-real-key-0123456789"
	create(t,
		newFlow(ns, "recovery", flowsv1alpha1.FlowDesignationRecovery),
		newCaptchaStage(ns, "captcha", "captcha-keys", "private"),
		newSecret(ns, "captcha-keys", map[string]string{"private": key}),
		newBinding(ns, "recovery-captcha", "recovery", flowsv1alpha1.StageKindCaptcha, "captcha", 10),
		newFlow(ns, "plain", flowsv1alpha1.FlowDesignationAuthentication),
	)
	mount := &flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mount"}, Spec: flowsv1alpha1.BlueprintExportSpec{ConfigMapName: "stagehand-blueprints-mount"}}
	create(t, mount)
	expectReady(t, mount, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished)
	published(t, ns, "stagehand-blueprints-mount", "recovery.yaml", false, func(g Gomega, _ *blueprint.Blueprint, text string) {
		g.Expect(text).To(ContainSubstring("!File /blueprints/mounted/secret-captcha-keys/private"))
		g.Expect(text).NotTo(ContainSubstring(key))
	})
	g := NewWithT(t)
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(mount), mount)).To(Succeed())
	g.Expect(mount.Status.MountedSecrets).To(Equal([]string{"captcha-keys"}))

	inline := &flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "inline"}, Spec: flowsv1alpha1.BlueprintExportSpec{
		ConfigMapName: "stagehand-blueprints-inline", Secrets: flowsv1alpha1.SecretHandlingInline,
	}}
	create(t, inline)
	expectReady(t, inline, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished)
	published(t, ns, "stagehand-blueprints-inline", "recovery.yaml", true, func(g Gomega, _ *blueprint.Blueprint, text string) {
		g.Expect(text).To(ContainSubstring(key))
	})
	published(t, ns, "stagehand-blueprints-inline", "plain.yaml", false, func(Gomega, *blueprint.Blueprint, string) {})
	var cm corev1.ConfigMap
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "stagehand-blueprints-inline"}, &cm)).To(Succeed())
	g.Expect(cm.Data).NotTo(HaveKey("recovery.yaml"), "a document with secret material is never in the ConfigMap")
	for k, v := range cm.Data {
		g.Expect(strings.Contains(v, key)).To(BeFalse(), "the ConfigMap's %s holds the key", k)
	}
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(inline), inline)).To(Succeed())
	g.Expect(inline.Status.Secret).To(Equal("stagehand-blueprints-inline"))
	for _, f := range inline.Status.Flows {
		want := "ConfigMap"
		if f.Name == "recovery" {
			want = "Secret"
		}
		g.Expect(f.In).To(Equal(want), f.Name)
	}
}

// A ConfigMap of that name that is not the export's is never overwritten.
func TestBlueprintExportLeavesOthersConfigMaps(t *testing.T) {
	ns := namespace(t)
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: flowsv1alpha1.DefaultBlueprintConfigMap}, Data: map[string]string{"mine.yaml": "version: 1\n"}}
	bx := &flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "authentik"}}
	create(t, theirs, newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication), bx)
	expectReady(t, bx, metav1.ConditionFalse, flowsv1alpha1.ReasonNotOwned, `ConfigMap "stagehand-blueprints" exists and is not this BlueprintExport's`)
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(condition(g, bx, flowsv1alpha1.ConditionStalled)).NotTo(BeNil())
	}).Should(Succeed())
	var cm corev1.ConfigMap
	g := NewWithT(t)
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(theirs), &cm)).To(Succeed())
	g.Expect(cm.Data).To(Equal(theirs.Data))
	g.Expect(cm.OwnerReferences).To(BeEmpty())
}

func ptrTo[T any](v T) *T { return &v }

// A document first applies the documents of the flows it finds, found by
// their objects whatever their slugs; an order that would close a cycle is
// left out, and the export says so (Warning condition and Event).
func TestBlueprintExportApplyOrder(t *testing.T) {
	ns := namespace(t)
	const cm = "stagehand-blueprints-order"
	recovery := newFlow(ns, "recovery", flowsv1alpha1.FlowDesignationRecovery)
	recovery.Spec.Slug = "recover-me" // not the object's name
	id := newIdentificationStage(ns, "id")
	id.Spec.RecoveryFlowRef = ref("recovery")
	bx := &flowsv1alpha1.BlueprintExport{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "order"},
		Spec:       flowsv1alpha1.BlueprintExportSpec{ConfigMapName: cm},
	}
	create(t, newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication), recovery, id,
		newPasswordStage(ns, "pw"),
		newBinding(ns, "login-id", "login", flowsv1alpha1.StageKindIdentification, "id", 10),
		newBinding(ns, "recovery-pw", "recovery", flowsv1alpha1.StageKindPassword, "pw", 10),
		bx)
	applies := func(doc *blueprint.Blueprint) []string {
		var out []string
		for _, e := range doc.Entries {
			if e.Model == "authentik_blueprints.metaapplyblueprint" {
				ids, _ := e.Attrs.Get("identifiers")
				name, _ := ids.(blueprint.Map).Get("name")
				out = append(out, name.(string))
			}
		}
		return out
	}
	expectReady(t, bx, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished, "All 2 flows are published")
	published(t, ns, cm, "login.yaml", false, func(g Gomega, doc *blueprint.Blueprint, _ string) {
		g.Expect(applies(doc)).To(Equal([]string{"stagehand " + ns + "/recovery"}))
		g.Expect(doc.Entries[0].Model).To(Equal("authentik_blueprints.metaapplyblueprint"), "applied first")
	})
	expectNoWarning(t, bx)

	// The recovery flow's password stage finds the login flow back: a
	// cycle. login's document (first by name) keeps its order; recovery's
	// does not wait for login's, and the export says why.
	update(t, &flowsv1alpha1.PasswordStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"}}, func(p *flowsv1alpha1.PasswordStage) { p.Spec.ConfigureFlowRef = ref("login") })
	expectWarning(t, bx, flowsv1alpha1.ReasonApplyOrderCycle, `Flow "recovery" finds Flow "login"`, `Flow "login" waits for Flow "recovery"`)
	expectEvent(t, bx, flowsv1alpha1.ReasonApplyOrderCycle, `Flow "recovery" finds Flow "login"`)
	published(t, ns, cm, "recovery.yaml", false, func(g Gomega, doc *blueprint.Blueprint, _ string) {
		configure, _ := entry(doc, "authentik_stages_password.passwordstage", "name", "pw").Attrs.Get("configure_flow")
		g.Expect(configure).To(BeAssignableToTypeOf(&blueprint.Find{}))
		g.Expect(applies(doc)).To(BeEmpty())
	})
	published(t, ns, cm, "login.yaml", false, func(g Gomega, doc *blueprint.Blueprint, _ string) {
		g.Expect(applies(doc)).To(Equal([]string{"stagehand " + ns + "/recovery"}))
	})
	expectReady(t, bx, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished, "All 2 flows are published")
}

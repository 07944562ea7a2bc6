package controllers

import (
	"context"
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export"
)

// What a tenant who may create stagehand's kinds in a namespace, but not
// read its Secrets, can make the manager read, publish and create.

// A Secret without the mark is never read, and a CaptchaStage naming one
// reports exactly what it reports for a Secret that does not exist, key or
// no key: its status says nothing of the namespace's other Secrets. Once
// marked, it is read.
func TestUnmarkedSecretIsNeverRead(t *testing.T) {
	ns := namespace(t)
	create(t,
		newUnmarkedSecret(ns, "unmarked", map[string]string{"private": "hunter2-unmarked"}),
		newUnmarkedSecret(ns, "unmarked-nokey", map[string]string{"other": "x"}),
		newCaptchaStage(ns, "missing", "missing", "private"),
		newCaptchaStage(ns, "unmarked", "unmarked", "private"),
		newCaptchaStage(ns, "unmarked-nokey", "unmarked-nokey", "private"),
		newFlow(ns, "recovery", flowsv1alpha1.FlowDesignationRecovery),
		newBinding(ns, "recovery-captcha", "recovery", flowsv1alpha1.StageKindCaptcha, "unmarked", 10),
	)
	bx := &flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "inline"}, Spec: flowsv1alpha1.BlueprintExportSpec{
		ConfigMapName: "stagehand-blueprints-inline", Secrets: flowsv1alpha1.SecretHandlingInline,
	}}
	create(t, bx)

	// The same words for each, but for the Secret's name.
	expectReady(t, &flowsv1alpha1.CaptchaStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "missing"}}, metav1.ConditionFalse, notFound,
		`Secret "missing" (spec.privateKeySecretRef) not found in namespace `+ns+` with the label flows.stagehand.dev/readable=true`)
	g := NewWithT(t)
	var want metav1.Condition
	g.Eventually(func(g Gomega) {
		c := condition(g, &flowsv1alpha1.CaptchaStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "missing"}}, flowsv1alpha1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		want = *c
	}).Should(Succeed())
	for _, name := range []string{"unmarked", "unmarked-nokey"} {
		g.Eventually(func(g Gomega) {
			c := condition(g, &flowsv1alpha1.CaptchaStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, flowsv1alpha1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect([]string{string(c.Status), c.Reason, strings.ReplaceAll(c.Message, `"`+name+`"`, `"missing"`)}).
				To(Equal([]string{string(want.Status), want.Reason, want.Message}), "CaptchaStage %s says more than a missing Secret's does", name)
		}).Should(Succeed())
	}
	// The export, Inline, holds the flow back; it has not read the value
	// to publish it.
	expectReady(t, bx, metav1.ConditionFalse, flowsv1alpha1.ReasonFlowsHeldBack, `Flow "recovery" is held back`)

	// No request of the manager's returned an unmarked Secret's data:
	// every read of a Secret is of metadata only, or selects the mark.
	for _, req := range secretRequests.all() {
		if req.Method != "GET" || !strings.Contains(req.URL.Path, "/namespaces/"+ns+"/") && !strings.HasPrefix(req.URL.Path, "/api/v1/secrets") {
			continue
		}
		q := req.URL.Query()
		metadataOnly := strings.Contains(req.Header.Get("Accept"), "as=PartialObjectMetadata")
		marked := selects(q, "labelSelector", flowsv1alpha1.LabelSecretReadable+"=true")
		// The export's own Secret, which it reads back.
		own := strings.Contains(req.URL.Path, "/secrets/"+flowsv1alpha1.DefaultBlueprintConfigMap)
		g.Expect(metadataOnly || marked || own).To(BeTrue(), "the manager read Secrets with %s %s?%s (Accept %s)", req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Get("Accept"))
		g.Expect(req.URL.Path).NotTo(HaveSuffix("/secrets/unmarked"))
		g.Expect(req.URL.Path).NotTo(HaveSuffix("/secrets/unmarked-nokey"))
	}

	// Marked by someone who may write it, it is read and published.
	update(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unmarked"}}, func(s *corev1.Secret) {
		s.Labels = map[string]string{flowsv1alpha1.LabelSecretReadable: "true"}
	})
	expectReady(t, &flowsv1alpha1.CaptchaStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unmarked"}}, metav1.ConditionTrue, resolves)
	expectReady(t, bx, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished)
	published(t, ns, "stagehand-blueprints-inline", "recovery.yaml", true, func(g Gomega, _ *blueprint.Blueprint, text string) {
		g.Expect(text).To(ContainSubstring("hunter2-unmarked"))
	})
}

// selects says whether the query's selector of that name has the term.
func selects(q url.Values, name, term string) bool {
	for _, t := range strings.Split(q.Get(name), ",") {
		if t == term {
			return true
		}
	}
	return false
}

// The status's hash of a document in the Secret is no function of the
// secret: two keys give the same status, so it cannot be used to guess the
// key offline (the rest of the document is known to whoever reads the
// stagehand objects).
func TestSecretDocumentHashIsNoFunctionOfTheSecret(t *testing.T) {
	ns := namespace(t)
	secret := newSecret(ns, "captcha-keys", map[string]string{"private": "first-key-0123"})
	create(t, secret,
		newCaptchaStage(ns, "captcha", "captcha-keys", "private"),
		newFlow(ns, "recovery", flowsv1alpha1.FlowDesignationRecovery),
		newBinding(ns, "recovery-captcha", "recovery", flowsv1alpha1.StageKindCaptcha, "captcha", 10),
	)
	const name = "stagehand-blueprints-inline"
	bx := &flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "inline"}, Spec: flowsv1alpha1.BlueprintExportSpec{
		ConfigMapName: name, Secrets: flowsv1alpha1.SecretHandlingInline,
	}}
	create(t, bx)

	// statusOnce waits until the Secret holds the key and the status
	// describes that document, and returns the status's flows.
	statusOnce := func(key string) []flowsv1alpha1.PublishedFlow {
		var flows []flowsv1alpha1.PublishedFlow
		NewWithT(t).Eventually(func(g Gomega) {
			var s corev1.Secret
			g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s)).To(Succeed())
			text := s.Data["recovery.yaml"]
			g.Expect(string(text)).To(ContainSubstring(key))
			doc, err := blueprint.Decode("recovery.yaml", text)
			g.Expect(err).NotTo(HaveOccurred())
			redacted, err := blueprint.Encode(export.WithoutSecrets(doc))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(redacted)).NotTo(ContainSubstring(key))
			g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(bx), bx)).To(Succeed())
			g.Expect(bx.Status.Flows).To(HaveLen(1))
			g.Expect(bx.Status.Flows[0].In).To(Equal("Secret"))
			g.Expect(bx.Status.Flows[0].Hash).NotTo(Equal(blueprint.Hash(text)), "the hash of the document with its key")
			g.Expect(bx.Status.Flows[0].Hash).To(Equal(blueprint.Hash(redacted)), "the hash of the document with its key left out")
			flows = bx.Status.Flows
		}).Should(Succeed())
		return flows
	}
	first := statusOnce("first-key-0123")
	update(t, secret, func(s *corev1.Secret) { s.Data["private"] = []byte("second-key-4567") })
	second := statusOnce("second-key-4567")
	NewWithT(t).Expect(second).To(Equal(first), "the published status is the same for either key")
}

// An export may only write a ConfigMap (and Secret) named
// stagehand-blueprints or stagehand-blueprints-*: the API server refuses
// any other name, so no tenant can take a name something else expects.
func TestBlueprintExportNames(t *testing.T) {
	ns := namespace(t)
	g := NewWithT(t)
	for _, name := range []string{"kube-root-ca.crt", "authentik-blueprints", "stagehand-blueprintsx"} {
		bx := &flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "export"}, Spec: flowsv1alpha1.BlueprintExportSpec{ConfigMapName: name}}
		err := k8s.Create(context.Background(), bx)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "configMapName %s: %v", name, err)
		g.Expect(err.Error()).To(ContainSubstring("spec.configMapName: Invalid value"))
		g.Expect(err.Error()).To(ContainSubstring("must be stagehand-blueprints or begin with stagehand-blueprints-"))
	}
	var cms corev1.ConfigMapList
	g.Expect(k8s.List(context.Background(), &cms, client.InNamespace(ns), client.MatchingLabels{LabelManagedBy: managedBy})).To(Succeed())
	g.Expect(cms.Items).To(BeEmpty())

	ok := &flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "export"}, Spec: flowsv1alpha1.BlueprintExportSpec{ConfigMapName: "stagehand-blueprints-team-a"}}
	create(t, ok)
	expectReady(t, ok, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished)
}

// A Secret of the export's name that is not the export's is never
// overwritten, and the status names it as a Secret.
func TestBlueprintExportLeavesOthersSecrets(t *testing.T) {
	ns := namespace(t)
	const name = "stagehand-blueprints-inline"
	theirs := newUnmarkedSecret(ns, name, map[string]string{"mine": "theirs"})
	bx := &flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "inline"}, Spec: flowsv1alpha1.BlueprintExportSpec{
		ConfigMapName: name, Secrets: flowsv1alpha1.SecretHandlingInline,
	}}
	create(t, theirs, bx)
	expectReadyMessage(t, bx, metav1.ConditionFalse, flowsv1alpha1.ReasonNotOwned,
		`Secret "stagehand-blueprints-inline" exists and is not this BlueprintExport's: stagehand does not overwrite it (choose another spec.configMapName, or delete it)`)
	var s corev1.Secret
	g := NewWithT(t)
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(theirs), &s)).To(Succeed())
	g.Expect(s.Data).To(Equal(theirs.Data))
	g.Expect(s.OwnerReferences).To(BeEmpty())
}

package controllers

import (
	"context"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/refs"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// world is a namespace's objects, from which publish's input is built.
type world struct {
	flows    []*flowsv1alpha1.Flow
	bindings []*flowsv1alpha1.FlowStageBinding
	stages   []client.Object
}

func (w *world) flow(name string) *flowsv1alpha1.Flow {
	f := &flowsv1alpha1.Flow{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: flowsv1alpha1.FlowSpec{Title: name, Designation: flowsv1alpha1.FlowDesignationAuthentication}}
	w.flows = append(w.flows, f)
	return f
}

func (w *world) bind(flow string, kind flowsv1alpha1.StageKind, stage string, order int32) {
	w.bindings = append(w.bindings, &flowsv1alpha1.FlowStageBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: flow + "-" + stage},
		Spec: flowsv1alpha1.FlowStageBindingSpec{
			TargetRef: flowsv1alpha1.LocalObjectReference{Name: flow},
			StageRef:  flowsv1alpha1.StageReference{Kind: kind, Name: stage},
			Order:     order,
		},
	})
}

func (w *world) password(name string) {
	w.stages = append(w.stages, &flowsv1alpha1.PasswordStage{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}}})
}

func (w *world) login(name string) {
	w.stages = append(w.stages, &flowsv1alpha1.UserLoginStage{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}})
}

// input is what the export reconciler gathers (exportReconciler.input,
// the production path) from a cache holding the world's objects, every
// flow selected and Ready but those held back, over what was published
// before: its documents in the export's ConfigMap (or Secret), its
// inventory in the export's status.
func (w *world) input(t *testing.T, prev *publication, now time.Time, heldBack ...string) publishInput {
	t.Helper()
	bx := &flowsv1alpha1.BlueprintExport{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "export", UID: "export-uid"},
		Spec:       flowsv1alpha1.BlueprintExportSpec{DeletionRetentionHours: ptrTo(int32(1))},
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: bx.ConfigMapName()}, Data: map[string]string{}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: bx.ConfigMapName()}, Data: map[string][]byte{}}
	if prev != nil {
		for _, d := range prev.docs {
			b, err := blueprint.Encode(d.doc)
			if err != nil {
				t.Fatal(err)
			}
			if d.secret {
				secret.Data[d.key] = b
			} else {
				cm.Data[d.key] = string(b)
			}
		}
		bx.Status.Inventory = prev.inventory
	}
	objs := []client.Object{bx}
	for _, f := range w.flows {
		f := f.DeepCopy()
		ready := metav1.Condition{Type: flowsv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: flowsv1alpha1.ReasonResolved}
		if slices.Contains(heldBack, f.Name) {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, flowsv1alpha1.ReasonStagesNotReady, "a stage is not Ready"
		}
		f.Status.Conditions = []metav1.Condition{ready}
		objs = append(objs, f)
	}
	for _, b := range w.bindings {
		objs = append(objs, b.DeepCopy())
	}
	for _, st := range w.stages {
		objs = append(objs, st.DeepCopyObject().(client.Object))
	}
	builder := fake.NewClientBuilder().WithScheme(testenv.Scheme()).WithObjects(objs...)
	indexer := builderIndexer{builder}
	if err := refs.Register(context.Background(), indexer); err != nil {
		t.Fatal(err)
	}
	if err := registerInventoryIndexes(context.Background(), indexer); err != nil {
		t.Fatal(err)
	}
	c := builder.Build()
	r := &exportReconciler{client: c, live: c}
	in, _, err := r.input(context.Background(), bx, labels.Everything(), cm, secret, now)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// builderIndexer registers a cache's indexes (refs.Register, the
// inventory's) with a fake client, as the manager registers them with its
// cache.
type builderIndexer struct{ b *fake.ClientBuilder }

func (i builderIndexer) IndexField(_ context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	i.b.WithIndex(obj, field, extract)
	return nil
}

// absentOf lists "model name-or-slug-or-order" of a publication's absent
// entries, by document key.
func absentOf(p *publication) map[string][]string {
	out := map[string][]string{}
	for _, d := range p.docs {
		for _, e := range d.doc.Entries {
			if e.State != blueprint.StateAbsent {
				continue
			}
			what := e.Model
			for _, f := range e.Identifiers {
				switch v := f.Value.(type) {
				case string:
					what += " " + v
				case int64:
					what += " order"
				}
			}
			out[d.key] = append(out[d.key], what)
		}
	}
	return out
}

// deletedOf lists the identities a publication's inventory holds as
// Deleted.
func deletedOf(p *publication) []identity {
	var out []identity
	for _, d := range p.inventory {
		for _, o := range d.Objects {
			if o.State == flowsv1alpha1.InventoryDeleted {
				out = append(out, identityOfObject(o))
			}
		}
	}
	return out
}

func keys(p *publication) []string {
	var out []string
	for _, d := range p.docs {
		out = append(out, d.key)
	}
	return out
}

func encoded(t *testing.T, b *blueprint.Blueprint) string {
	t.Helper()
	out, err := blueprint.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func mustPublish(t *testing.T, in publishInput) *publication {
	t.Helper()
	p, err := publish(in)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPublish(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	const binding = "authentik_flows.flowstagebinding"

	t.Run("every Ready flow, one document each, nothing to delete", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.flow("other")
		w.password("pw")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		p := mustPublish(t, w.input(t, nil, t0))
		g.Expect(keys(p)).To(Equal([]string{"login.yaml", "other.yaml"}))
		g.Expect(p.deletions).To(BeZero())
		g.Expect(p.nextExpiry).To(BeZero())
	})

	t.Run("a held-back flow keeps its last document; one never published has none", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.password("pw")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		first := mustPublish(t, w.input(t, nil, t0))
		w.flow("new")
		p := mustPublish(t, w.input(t, first, t0.Add(time.Minute), "login", "new"))
		g.Expect(keys(p)).To(Equal([]string{"login.yaml"}))
		g.Expect(encoded(t, p.docs[0].doc)).To(Equal(encoded(t, first.docs[0].doc)), "the last good document, unchanged")
	})

	t.Run("a deleted binding is deleted in authentik; its stage, still in the cluster, is not", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.password("pw")
		w.login("sign-in")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		w.bind("login", flowsv1alpha1.StageKindUserLogin, "sign-in", 20)
		first := mustPublish(t, w.input(t, nil, t0))
		w.bindings = w.bindings[:1]
		p := mustPublish(t, w.input(t, first, t0.Add(time.Minute)))
		g.Expect(absentOf(p)).To(Equal(map[string][]string{"login.yaml": {binding + " order"}}))
		g.Expect(p.deletions).To(Equal(1))
		g.Expect(p.nextExpiry).To(Equal(time.Hour))
	})

	t.Run("a stage deleted with its binding is deleted in authentik, binding first", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.password("pw")
		w.login("sign-in")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		w.bind("login", flowsv1alpha1.StageKindUserLogin, "sign-in", 20)
		first := mustPublish(t, w.input(t, nil, t0))
		w.bindings, w.stages = w.bindings[:1], w.stages[:1]
		p := mustPublish(t, w.input(t, first, t0.Add(time.Minute)))
		g.Expect(absentOf(p)).To(Equal(map[string][]string{"login.yaml": {binding + " order", "authentik_stages_user_login.userloginstage sign-in"}}))
	})

	t.Run("a stage another document still declares is not deleted", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("a")
		w.flow("b")
		w.password("pw")
		w.bind("a", flowsv1alpha1.StageKindPassword, "pw", 10)
		w.bind("b", flowsv1alpha1.StageKindPassword, "pw", 10)
		first := mustPublish(t, w.input(t, nil, t0))
		// The stage object is gone, b is held back and still declares it.
		w.bindings, w.stages = w.bindings[1:], nil
		p := mustPublish(t, w.input(t, first, t0.Add(time.Minute), "b"))
		g.Expect(absentOf(p)).To(Equal(map[string][]string{"a.yaml": {binding + " order"}}))
	})

	t.Run("a deleted flow is deleted in authentik, by a document of its own, until the retention ends", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.password("pw")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		first := mustPublish(t, w.input(t, nil, t0))
		w.flows, w.bindings, w.stages = nil, nil, nil
		p := mustPublish(t, w.input(t, first, t0.Add(time.Minute)))
		g.Expect(keys(p)).To(Equal([]string{"login.yaml"}))
		g.Expect(absentOf(p)).To(Equal(map[string][]string{"login.yaml": {binding + " order", "authentik_stages_password.passwordstage pw", "authentik_flows.flow login"}}))
		g.Expect(p.docs[0].doc.Metadata.Name).To(Equal("stagehand ns/login"))

		// Later, within the retention: the same deletions, the same first
		// publication time.
		later := mustPublish(t, w.input(t, p, t0.Add(30*time.Minute)))
		g.Expect(absentOf(later)).To(Equal(absentOf(p)))
		g.Expect(later.inventory).To(Equal(p.inventory))
		g.Expect(later.nextExpiry).To(Equal(31 * time.Minute))

		// Past it: nothing left to publish.
		done := mustPublish(t, w.input(t, later, t0.Add(2*time.Hour)))
		g.Expect(done.docs).To(BeEmpty())
	})

	t.Run("a flow that is deselected is no longer published, and nothing of it is deleted", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.password("pw")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		first := mustPublish(t, w.input(t, nil, t0))
		in := w.input(t, first, t0.Add(time.Minute))
		in.flows = nil // still in the namespace, no longer selected
		p := mustPublish(t, in)
		g.Expect(p.docs).To(BeEmpty())
	})

	t.Run("a deletion stops when the object is declared again", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.password("pw")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		first := mustPublish(t, w.input(t, nil, t0))
		saved := w.bindings
		w.bindings = nil
		deleting := mustPublish(t, w.input(t, first, t0.Add(time.Minute)))
		g.Expect(deleting.deletions).To(Equal(1))
		w.bindings = saved
		back := mustPublish(t, w.input(t, deleting, t0.Add(2*time.Minute)))
		g.Expect(back.deletions).To(BeZero())
		g.Expect(deletedOf(back)).To(BeEmpty())
	})

	t.Run("a stage kept when its binding went is deleted when it goes, later", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.password("pw")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		first := mustPublish(t, w.input(t, nil, t0))
		w.bindings = nil
		kept := mustPublish(t, w.input(t, first, t0.Add(time.Minute)))
		g.Expect(absentOf(kept)).To(Equal(map[string][]string{"login.yaml": {binding + " order"}}))
		w.stages = nil
		p := mustPublish(t, w.input(t, kept, t0.Add(2*time.Minute)))
		g.Expect(absentOf(p)).To(Equal(map[string][]string{"login.yaml": {binding + " order", "authentik_stages_password.passwordstage pw"}}))
	})

	t.Run("pending deletions are in the inventory: a hand edit of the ConfigMap drops none", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.password("pw")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		first := mustPublish(t, w.input(t, nil, t0))
		w.bindings, w.stages = nil, nil
		deleting := mustPublish(t, w.input(t, first, t0.Add(time.Minute)))
		g.Expect(deleting.deletions).To(Equal(2))
		in := w.input(t, deleting, t0.Add(2*time.Minute))
		in.prev["login.yaml"] = presentPart(in.prev["login.yaml"]) // the absent entries edited out
		g.Expect(absentOf(mustPublish(t, in))).To(Equal(absentOf(deleting)))
	})

	t.Run("what a document published counts even when the status write that recorded it was lost", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.password("pw")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		first := mustPublish(t, w.input(t, nil, t0))
		w.bindings, w.stages = nil, nil
		in := w.input(t, first, t0.Add(time.Minute))
		in.inventory = nil
		g.Expect(mustPublish(t, in).deletions).To(Equal(2))
	})

	t.Run("a binding that moves is a new binding: the old one is deleted", func(t *testing.T) {
		g := NewWithT(t)
		var w world
		w.flow("login")
		w.password("pw")
		w.bind("login", flowsv1alpha1.StageKindPassword, "pw", 10)
		first := mustPublish(t, w.input(t, nil, t0))
		w.bindings[0].Spec.Order = 20
		p := mustPublish(t, w.input(t, first, t0.Add(time.Minute)))
		g.Expect(p.deletions).To(Equal(1))
		last := p.docs[0].doc.Entries[len(p.docs[0].doc.Entries)-1]
		g.Expect(last.State).To(Equal(blueprint.StateAbsent))
		order, _ := last.Identifiers.Get("order")
		g.Expect(order).To(Equal(int64(10)))
	})
}

// TestApplyOrder: a document applies first the documents of the flows it
// finds, found by their objects, whatever their slugs; an order that would
// close a cycle is left out, and said.
func TestApplyOrder(t *testing.T) {
	g := NewWithT(t)
	var w world
	w.flow("login")
	w.flow("recovery").Spec.Slug = "recover-me" // a slug that is not the object's name
	w.flow("change").Spec.Slug = "change-password"
	w.flow("elsewhere")
	// login finds recovery; recovery finds login back (a cycle); change
	// finds recovery.
	w.stages = append(w.stages,
		&flowsv1alpha1.IdentificationStage{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "id"}, Spec: flowsv1alpha1.IdentificationStageSpec{RecoveryFlowRef: &flowsv1alpha1.LocalObjectReference{Name: "recovery"}}},
		&flowsv1alpha1.PasswordStage{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pw-back"}, Spec: flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}, ConfigureFlowRef: &flowsv1alpha1.LocalObjectReference{Name: "login"}}},
		&flowsv1alpha1.PasswordStage{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pw-change"}, Spec: flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}, ConfigureFlowRef: &flowsv1alpha1.LocalObjectReference{Name: "recovery"}}},
	)
	w.bind("login", flowsv1alpha1.StageKindIdentification, "id", 10)
	w.bind("recovery", flowsv1alpha1.StageKindPassword, "pw-back", 10)
	w.bind("change", flowsv1alpha1.StageKindPassword, "pw-change", 10)
	in := w.input(t, nil, time.Now(), "elsewhere")
	got, cycles := applyOrder("ns", in.flows)
	g.Expect(got).To(Equal(map[string][]string{
		"change": {"stagehand ns/recovery"},
		"login":  {"stagehand ns/recovery"},
	}))
	g.Expect(cycles).To(HaveLen(1))
	g.Expect(cycles[0].Reason).To(Equal(flowsv1alpha1.ReasonApplyOrderCycle))
	g.Expect(cycles[0].Message).To(And(ContainSubstring(`Flow "recovery"`), ContainSubstring(`Flow "login"`)))
}

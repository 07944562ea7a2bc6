package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// What is deleted in the cluster is deleted in authentik, whatever the order
// and timing of the deletes, across restarts of the manager, and never while
// another namespace still declares it.

// flowFile is what one manifest file of a login flow holds: the Flow, two
// stages and the bindings that put them in it, with a BlueprintExport that
// publishes it. Its authentik names (slug, stage names) start with base:
// they are global, and a test's objects stay in the cluster after it (a
// namespace is never emptied under envtest), so each test names its own.
type flowFile struct {
	ns, base string
	export   *flowsv1alpha1.BlueprintExport
	flow     *flowsv1alpha1.Flow
	stages   []client.Object
	bindings []client.Object
}

const deletesConfigMap = "stagehand-blueprints-deletes"

func newFlowFile(ns, base string) *flowFile {
	f := &flowFile{ns: ns, base: base}
	f.flow = newFlow(ns, base+"-login", flowsv1alpha1.FlowDesignationAuthentication)
	f.stages = []client.Object{
		newPasswordStage(ns, base+"-password"),
		&flowsv1alpha1.UserLoginStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: base + "-sign-in"}},
	}
	f.bindings = []client.Object{
		newBinding(ns, base+"-login-password", f.flow.Name, flowsv1alpha1.StageKindPassword, base+"-password", 20),
		newBinding(ns, base+"-login-sign-in", f.flow.Name, flowsv1alpha1.StageKindUserLogin, base+"-sign-in", 100),
	}
	f.export = &flowsv1alpha1.BlueprintExport{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "authentik"},
		Spec:       flowsv1alpha1.BlueprintExportSpec{ConfigMapName: deletesConfigMap},
	}
	return f
}

func (f *flowFile) objects() []client.Object {
	return slices.Concat([]client.Object{f.flow}, f.stages, f.bindings)
}

// key is the flow's document's key.
func (f *flowFile) key() string { return f.flow.Name + ".yaml" }

// applied creates the file's objects and its export, and waits until the
// flow is published with its stages and bindings.
func (f *flowFile) applied(t *testing.T) {
	t.Helper()
	create(t, append(f.objects(), f.export)...)
	expectReady(t, f.export, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished, "The flow is published")
	f.expect(t, nil, f.all(), nil)
}

// Descriptions of the file's authentik objects, as describe writes them.
func (f *flowFile) flowEntry() string { return "flow " + f.flow.Name }
func (f *flowFile) stageEntries() []string {
	return []string{"stage " + f.base + "-password", "stage " + f.base + "-sign-in"}
}
func (f *flowFile) bindingEntries() []string {
	return []string{"binding " + f.flow.Name + " " + f.base + "-password 20", "binding " + f.flow.Name + " " + f.base + "-sign-in 100"}
}
func (f *flowFile) all() []string {
	return slices.Concat([]string{f.flowEntry()}, f.stageEntries(), f.bindingEntries())
}

// describe lists a document's entries of state absent and present (flows,
// stages and bindings; not the meta entries), each as "flow <slug>",
// "stage <name>" or "binding <flow slug> <stage name> <order>", sorted.
func describe(g Gomega, doc *blueprint.Blueprint) (absent, present []string) {
	for i := range doc.Entries {
		e := &doc.Entries[i]
		if len(e.Identifiers) == 0 {
			continue
		}
		// Identifiers with every !KeyOf replaced by its !Find.
		a, err := blueprint.Absent(doc, e)
		g.Expect(err).NotTo(HaveOccurred())
		get := func(key string) any { v, _ := a.Identifiers.Get(key); return v }
		found := func(key string) any {
			f, ok := get(key).(*blueprint.Find)
			g.Expect(ok).To(BeTrue(), "%s of a %s entry: %s", key, e.Model, blueprint.Show(e.Identifiers))
			return f.Conditions[0].Value
		}
		var what string
		switch e.Model {
		case "authentik_flows.flow":
			what = fmt.Sprintf("flow %v", get("slug"))
		case "authentik_flows.flowstagebinding":
			what = fmt.Sprintf("binding %v %v %v", found("target"), found("stage"), get("order"))
		default:
			what = fmt.Sprintf("stage %v", get("name"))
		}
		if e.State == blueprint.StateAbsent {
			absent = append(absent, what)
		} else {
			present = append(present, what)
		}
	}
	slices.Sort(absent)
	slices.Sort(present)
	return absent, present
}

// document reads the flow's published document; nil when there is none.
func (f *flowFile) document(g Gomega) *blueprint.Blueprint {
	var cm corev1.ConfigMap
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: deletesConfigMap}, &cm)).To(Succeed())
	text, ok := cm.Data[f.key()]
	if !ok {
		return nil
	}
	doc, err := blueprint.Decode(f.key(), []byte(text))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(doc.Validate()).To(Succeed())
	return doc
}

// expect waits until the flow's document deletes exactly absent and
// declares exactly present (a nil present: no document at all, when absent
// is empty too), and check, when set, passes.
func (f *flowFile) expect(t *testing.T, absent, present []string, check func(g Gomega)) {
	t.Helper()
	absent, present = slices.Sorted(slices.Values(absent)), slices.Sorted(slices.Values(present))
	NewWithT(t).Eventually(func(g Gomega) {
		doc := f.document(g)
		if absent == nil && present == nil {
			g.Expect(doc).To(BeNil(), "no document for %s", f.key())
		} else {
			g.Expect(doc).NotTo(BeNil(), "a document for %s", f.key())
			gotAbsent, gotPresent := describe(g, doc)
			g.Expect(gotAbsent).To(Equal(absent), "deleted")
			g.Expect(gotPresent).To(Equal(present), "declared")
		}
		if check != nil {
			check(g)
		}
	}).Should(Succeed())
}

// gone is the end of every order of deletes: one document that deletes the
// flow, its stages and its bindings, and nothing else.
func (f *flowFile) gone(t *testing.T) {
	t.Helper()
	f.expect(t, f.all(), []string{}, func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(f.export), f.export)).To(Succeed())
		g.Expect(f.export.Status.Deletions).To(Equal(int32(5)))
	})
	expectReady(t, f.export, metav1.ConditionTrue, flowsv1alpha1.ReasonPublished, "No flow selected; deletions are published, with 5 deletions")
}

// The groups of a flow file's objects, deleted one group at a time.
const (
	theFlow     = "flow"
	theBindings = "bindings"
	theStages   = "stages"
)

// Deleting a flow file's objects, a group at a time in every order, or all
// at once, deletes each of them in authentik. Between two groups, the test
// waits until the export shows what it can of the first: a deleted flow is
// published as deleted; bindings deleted before their flow leave the flow
// without them; stages deleted before their bindings hold the flow back.
func TestDeletesConvergeInEveryOrder(t *testing.T) {
	orders := [][]string{
		{theFlow, theBindings, theStages},
		{theFlow, theStages, theBindings},
		{theBindings, theFlow, theStages},
		{theBindings, theStages, theFlow}, // docs/status.md's clean-up order
		{theStages, theFlow, theBindings},
		{theStages, theBindings, theFlow},
		nil, // all at once, as kubectl delete -f does
	}
	for _, order := range orders {
		name := strings.Join(order, ", then ")
		if order == nil {
			name = "all at once"
		}
		t.Run(name, func(t *testing.T) {
			ns := namespace(t)
			f := newFlowFile(ns, ns)
			f.applied(t)
			if order == nil {
				remove(t, f.objects()...)
				f.gone(t)
				return
			}
			deleted := map[string]bool{}
			for _, group := range order {
				switch group {
				case theFlow:
					remove(t, f.flow)
				case theBindings:
					remove(t, f.bindings...)
				case theStages:
					remove(t, f.stages...)
				}
				deleted[group] = true
				f.settled(t, deleted)
			}
			f.gone(t)
		})
	}
}

// settled waits until the export shows what it can of the groups deleted so
// far.
func (f *flowFile) settled(t *testing.T, deleted map[string]bool) {
	t.Helper()
	switch {
	case deleted[theFlow]:
		NewWithT(t).Eventually(func(g Gomega) {
			doc := f.document(g)
			g.Expect(doc).NotTo(BeNil())
			absent, _ := describe(g, doc)
			g.Expect(absent).To(ContainElement(f.flowEntry()))
		}).Should(Succeed())
	case deleted[theBindings] && deleted[theStages]:
		f.expect(t, slices.Concat(f.bindingEntries(), f.stageEntries()), []string{f.flowEntry()}, nil)
	case deleted[theBindings]:
		// The stages, still in the cluster, are kept.
		f.expect(t, f.bindingEntries(), []string{f.flowEntry()}, nil)
	case deleted[theStages]:
		expectReady(t, f.export, metav1.ConditionFalse, flowsv1alpha1.ReasonFlowsHeldBack, fmt.Sprintf("Flow %q is held back", f.flow.Name))
	}
}

// The manager keeps nothing in memory that deletes depend on: a restart
// between deletes, and deletes while no manager runs, still end with every
// object deleted in authentik.
func TestDeletesSurviveRestarts(t *testing.T) {
	ns := namespace(t)
	f := newFlowFile(ns, ns)
	f.applied(t)

	// The bindings go: the stages, still in the cluster, are kept.
	remove(t, f.bindings...)
	f.expect(t, f.bindingEntries(), []string{f.flowEntry()}, nil)

	// The stages go while no manager runs.
	restartManager(t, func() { remove(t, f.stages...) })
	f.expect(t, slices.Concat(f.bindingEntries(), f.stageEntries()), []string{f.flowEntry()}, nil)

	restartManager(t, nil)
	remove(t, f.flow)
	f.gone(t)
}

// authentik's slugs and stage names are global: two namespaces that declare
// the same ones write the same authentik objects. Both are warned, naming
// the other; deleting one namespace's copy deletes nothing in authentik
// while the other declares it, and deleting the other's then deletes it.
func TestDeletesLeaveOtherNamespacesObjects(t *testing.T) {
	nsA, nsB := namespace(t), namespace(t)
	a, b := newFlowFile(nsA, nsA), newFlowFile(nsB, nsA)
	a.applied(t)
	b.applied(t)

	for _, pair := range [][2]*flowFile{{a, b}, {b, a}} {
		mine, theirs := pair[0], pair[1]
		expectWarning(t, mine.flow, flowsv1alpha1.ReasonDuplicateSlug,
			fmt.Sprintf(`Flow %q in namespace %s has the same slug %q: authentik's slugs are global`, theirs.flow.Name, theirs.ns, theirs.flow.Name))
		expectEvent(t, mine.flow, flowsv1alpha1.ReasonDuplicateSlug, "in namespace "+theirs.ns)
		for i, s := range mine.stages {
			expectWarning(t, s, flowsv1alpha1.ReasonDuplicateStageName,
				fmt.Sprintf(`%s %q in namespace %s has the same stage name %q: authentik's stage names are global`,
					flowsv1alpha1.KindOf(s), theirs.stages[i].GetName(), theirs.ns, theirs.stages[i].GetName()))
		}
	}
	expectReady(t, a.flow, metav1.ConditionTrue, resolves)

	// A's copy goes: B still declares every one of its objects, so A's
	// export deletes none, and B's declares them still.
	remove(t, a.objects()...)
	a.expect(t, nil, nil, func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(a.export), a.export)).To(Succeed())
		g.Expect(a.export.Status.Deletions).To(BeZero())
		var kept []string
		for _, d := range a.export.Status.Inventory {
			for _, o := range d.Objects {
				g.Expect(o.State).To(Equal(flowsv1alpha1.InventoryKept), "%s %s%s", o.Model, o.Slug, o.Name)
				kept = append(kept, o.Model)
			}
		}
		g.Expect(kept).To(HaveLen(5), "the flow, its stages and its bindings are kept")
	})
	b.expect(t, nil, b.all(), nil)
	expectNoWarning(t, b.flow)
	for _, s := range b.stages {
		expectNoWarning(t, s)
	}

	// B's copy goes too: now both exports delete them.
	remove(t, b.objects()...)
	b.gone(t)
	a.gone(t)
}

// The export's inventory is in its status: a hand edit of the ConfigMap that
// takes pending deletions out is overwritten with them.
func TestDeletesSurviveHandEdits(t *testing.T) {
	ns := namespace(t)
	f := newFlowFile(ns, ns)
	f.applied(t)
	remove(t, f.stages...)
	f.settled(t, map[string]bool{theStages: true})
	remove(t, f.bindings...)
	deleting := slices.Concat(f.bindingEntries(), f.stageEntries())
	f.expect(t, deleting, []string{f.flowEntry()}, nil)

	NewWithT(t).Eventually(func(g Gomega) {
		var cm corev1.ConfigMap
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: deletesConfigMap}, &cm)).To(Succeed())
		doc, err := blueprint.Decode(f.key(), []byte(cm.Data[f.key()]))
		g.Expect(err).NotTo(HaveOccurred())
		edited, err := blueprint.Encode(presentPart(doc))
		g.Expect(err).NotTo(HaveOccurred())
		cm.Data[f.key()] = string(edited)
		g.Expect(k8s.Update(context.Background(), &cm)).To(Succeed())
	}).Should(Succeed())
	f.expect(t, deleting, []string{f.flowEntry()}, nil)
}

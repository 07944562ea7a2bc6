package controllers

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export"
)

// The pure part of publishing: from the flows a BlueprintExport selects,
// rendered (or held back), what it published before and its inventory, to
// the documents it publishes now and its new inventory. Nothing here talks
// to the API server.
//
// Deleting in authentik what was deleted in the cluster. authentik applies
// each blueprint file it finds, but does not delete an object when its entry
// leaves a file (or the file disappears). So the export keeps an inventory
// (status.inventory): for each document, every authentik object it declared
// (a flow by slug, a stage by model and name, a binding by flow, stage and
// order). An object its document no longer declares is
//
//   - Kept while something else still declares it: another document (of
//     this export or of any other, in any namespace), or an object of the
//     cluster in any namespace (a Flow with its slug, a stage of its kind
//     with its name; a stage a flow stops using may be another flow's, or
//     simply unbound, and authentik's slugs and stage names are global);
//   - Deleted once nothing does: the document says so with an entry of
//     state absent, for the export's deletionRetention, which authentik
//     applies (deleting the object) the next time it reads the file.
//
// Each reconcile compares the inventory with what exists now, so a deletion
// is published whatever the order and timing of the deletes in the cluster,
// and after a restart of the manager. A binding is Kept only while a
// document declares it: its identifiers are its flow, stage and order, so a
// binding that moves is a new binding, and the old one must go.
//
// A flow that is deselected (its labels no longer match the selector) is no
// longer published, and its document's inventory is forgotten: deselecting
// stops managing, it does not delete. A deletion stops being published once
// its retention has passed, or as soon as something declares the object
// again.

// document is one published blueprint.
type document struct {
	// key is the document's key in the ConfigMap (or Secret): <flow>.yaml.
	key string
	// flow is the name of the Flow the document is for.
	flow string
	// doc is the document.
	doc *blueprint.Blueprint
	// secret is true when the document carries secret material, and so
	// must be stored in a Secret.
	secret bool
}

// flowState is one selected flow: its rendered document, or why it is
// held back.
type flowState struct {
	name string
	// result is the flow's current document; nil when it is held back.
	result *export.Result
	// heldBack says why the flow's current state is not published.
	heldBack string
}

// publishInput is what a publication is computed from.
type publishInput struct {
	namespace string
	// flows are the selected flows, each rendered or held back.
	flows []flowState
	// flowNames holds every Flow of the namespace, selected or not: the
	// document of one that exists but is not selected is deselected.
	flowNames map[string]bool
	// prev are the documents published before, by key, as read back.
	prev map[string]*blueprint.Blueprint
	// prevSecret holds the keys of prev stored in the Secret: they carry
	// secret material.
	prevSecret map[string]bool
	// inventory is the export's inventory, as its status holds it.
	inventory []flowsv1alpha1.InventoryDocument
	// held reports whether something other than this export's current
	// documents declares an object: an object of the cluster, in any
	// namespace, or another export's document.
	held      func(identity) (bool, error)
	now       time.Time
	retention time.Duration
}

// publication is what to publish now.
type publication struct {
	// docs are the documents, sorted by key.
	docs []document
	// inventory is the export's new inventory, sorted by key.
	inventory []flowsv1alpha1.InventoryDocument
	// deletions counts the entries of state absent in docs.
	deletions int
	// nextExpiry is how long until the first deletion's retention ends; 0
	// when no deletion is published.
	nextExpiry time.Duration
}

// identity is an authentik object as an inventory tracks it: a flow by
// slug, a stage by model and name, a binding by its flow's slug, its stage's
// model and name, and its order. Comparable: equal for two entries exactly
// when authentik finds the same object for both.
type identity struct {
	model, slug, name, stageModel string
	order                         int32
}

// key is the identity as one string, for the cache indexes.
func (id identity) key() string {
	return fmt.Sprintf("%s %q %q %q %d", id.model, id.slug, id.name, id.stageModel, id.order)
}

// rank orders deletions within a document: what depends on an object is
// deleted before it (bindings, then stages, then flows).
func (id identity) rank() int {
	switch id.model {
	case modelBinding:
		return 0
	case modelFlow:
		return 2
	}
	return 1
}

// absent is the entry that deletes the object in authentik. Its references
// are all !Find, so it means the same in any document.
func (id identity) absent() blueprint.Entry {
	e := blueprint.Entry{Model: id.model, State: blueprint.StateAbsent}
	switch id.model {
	case modelFlow:
		e.Identifiers = blueprint.Map{{Key: "slug", Value: id.slug}}
	case modelBinding:
		e.Identifiers = blueprint.Map{
			{Key: "target", Value: blueprint.FindBy(modelFlow, "slug", id.slug)},
			{Key: "stage", Value: blueprint.FindBy(id.stageModel, "name", id.name)},
			{Key: "order", Value: int64(id.order)},
		}
	default:
		e.Identifiers = blueprint.Map{{Key: "name", Value: id.name}}
	}
	return e
}

// object is the identity as status.inventory holds it.
func (id identity) object(state flowsv1alpha1.InventoryState, since time.Time) flowsv1alpha1.InventoryObject {
	o := flowsv1alpha1.InventoryObject{Model: id.model, Slug: id.slug, Name: id.name, StageModel: id.stageModel, State: state}
	if id.model == modelBinding {
		o.Order = &id.order
	}
	if state == flowsv1alpha1.InventoryDeleted {
		t := metav1.NewTime(since)
		o.Since = &t
	}
	return o
}

// identityOfObject is the identity of an inventory's object.
func identityOfObject(o flowsv1alpha1.InventoryObject) identity {
	id := identity{model: o.Model, slug: o.Slug, name: o.Name, stageModel: o.StageModel}
	if o.Order != nil {
		id.order = *o.Order
	}
	return id
}

// identityOf is the identity of an entry of b; false for an entry that
// stands for no object an inventory tracks (an entry without identifiers,
// of another model, or one whose identifiers are not as stagehand writes
// them: a document edited by hand).
func identityOf(b *blueprint.Blueprint, e *blueprint.Entry) (identity, bool) {
	if len(e.Identifiers) == 0 {
		return identity{}, false
	}
	a, err := blueprint.Absent(b, e)
	if err != nil {
		return identity{}, false
	}
	str := func(v any) (string, bool) { s, ok := v.(string); return s, ok && s != "" }
	only := func(key string) (string, bool) {
		if len(a.Identifiers) != 1 {
			return "", false
		}
		v, _ := a.Identifiers.Get(key)
		return str(v)
	}
	// find is the model and value of a !Find [model, [field, value]].
	find := func(v any, field string) (string, string, bool) {
		f, ok := v.(*blueprint.Find)
		if !ok || f.Object || len(f.Conditions) != 1 || f.Conditions[0].Field != field {
			return "", "", false
		}
		model, okm := str(f.Model)
		value, okv := str(f.Conditions[0].Value)
		return model, value, okm && okv
	}
	switch {
	case e.Model == modelFlow:
		slug, ok := only("slug")
		return identity{model: modelFlow, slug: slug}, ok
	case e.Model == modelBinding:
		if len(a.Identifiers) != 3 {
			return identity{}, false
		}
		target, _ := a.Identifiers.Get("target")
		stage, _ := a.Identifiers.Get("stage")
		order, _ := a.Identifiers.Get("order")
		flowModel, slug, okf := find(target, "slug")
		stageModel, name, oks := find(stage, "name")
		n, okn := order.(int64)
		if !okf || !oks || !okn || flowModel != modelFlow || n != int64(int32(n)) {
			return identity{}, false
		}
		return identity{model: modelBinding, slug: slug, stageModel: stageModel, name: name, order: int32(n)}, true
	case stageModels[e.Model]:
		name, ok := only("name")
		return identity{model: e.Model, name: name}, ok
	}
	return identity{}, false
}

// tracked is one object of a document's inventory.
type tracked struct {
	state flowsv1alpha1.InventoryState
	since time.Time
}

// publish computes the publication.
func publish(in publishInput) (*publication, error) {
	out := &publication{}

	// The present part of every document: a rendered flow's current
	// document, or a held-back flow's last published one.
	selected, rendered := map[string]bool{}, map[string]bool{}
	current := map[string]*document{}
	for _, f := range in.flows {
		selected[f.name] = true
		key := documentKey(f.name)
		switch {
		case f.result != nil:
			rendered[key] = true
			current[key] = &document{key: key, flow: f.name, doc: f.result.Blueprint, secret: f.result.SecretMaterial}
		case in.prev[key] != nil:
			current[key] = &document{key: key, flow: f.name, doc: presentPart(in.prev[key]), secret: in.prevSecret[key]}
		}
	}
	// What the documents declare, by key and all together.
	declares := map[string][]identity{}
	declared := map[identity]bool{}
	for key, d := range current {
		seen := map[identity]bool{}
		for i := range d.doc.Entries {
			e := &d.doc.Entries[i]
			if e.State == blueprint.StateAbsent {
				continue
			}
			id, ok := identityOf(d.doc, e)
			if !ok {
				if len(e.Identifiers) > 0 && rendered[key] {
					// Every entry with identifiers stagehand renders is
					// one an inventory tracks.
					return nil, fmt.Errorf("%s: the %s entry cannot be tracked for deletion", key, e.Model)
				}
				continue
			}
			if !seen[id] {
				seen[id] = true
				declares[key] = append(declares[key], id)
			}
			declared[id] = true
		}
	}

	// The inventory as it was: the status's, and what the published
	// documents hold that it does not (written by a reconcile whose status
	// write was lost): an entry present there was declared, an absent one
	// is being deleted.
	before := map[string]map[identity]tracked{}
	for _, d := range in.inventory {
		m := map[identity]tracked{}
		for _, o := range d.Objects {
			t := tracked{state: o.State}
			if o.Since != nil {
				t.since = o.Since.Time
			}
			m[identityOfObject(o)] = t
		}
		before[d.Key] = m
	}
	for key, doc := range in.prev {
		m := before[key]
		if m == nil {
			m = map[identity]tracked{}
			before[key] = m
		}
		for i := range doc.Entries {
			id, ok := identityOf(doc, &doc.Entries[i])
			if !ok {
				continue
			}
			if _, known := m[id]; known {
				continue
			}
			if doc.Entries[i].State == blueprint.StateAbsent {
				m[id] = tracked{state: flowsv1alpha1.InventoryDeleted, since: in.now}
			} else {
				m[id] = tracked{state: flowsv1alpha1.InventoryDeclared}
			}
		}
	}

	keys := map[string]bool{}
	for k := range current {
		keys[k] = true
	}
	for k := range before {
		keys[k] = true
	}
	deleting := map[identity]bool{} // published as absent by one document
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		flowName := flowOfKey(key)
		if !selected[flowName] && in.flowNames[flowName] {
			// Deselected: no longer published, nothing deleted.
			continue
		}
		cur := current[key]
		inv := flowsv1alpha1.InventoryDocument{Key: key}
		mine := map[identity]bool{}
		for _, id := range declares[key] {
			mine[id] = true
			inv.Objects = append(inv.Objects, id.object(flowsv1alpha1.InventoryDeclared, time.Time{}))
		}
		var absent []identity
		prev := before[key]
		for _, id := range slices.SortedFunc(maps.Keys(prev), compareIdentities) {
			if mine[id] || declared[id] {
				// Declared here, or by another of the export's documents,
				// whose inventory tracks it from now on.
				continue
			}
			held, err := in.held(id)
			if err != nil {
				return nil, err
			}
			if held {
				inv.Objects = append(inv.Objects, id.object(flowsv1alpha1.InventoryKept, time.Time{}))
				continue
			}
			first := in.now
			if t := prev[id]; t.state == flowsv1alpha1.InventoryDeleted && !t.since.IsZero() {
				first = t.since
			}
			if !in.now.Before(first.Add(in.retention)) || deleting[id] {
				continue // retention over (authentik has had its chance), or another document deletes it
			}
			deleting[id] = true
			absent = append(absent, id)
			inv.Objects = append(inv.Objects, id.object(flowsv1alpha1.InventoryDeleted, first))
			left := first.Add(in.retention).Sub(in.now)
			if out.nextExpiry == 0 || left < out.nextExpiry {
				out.nextExpiry = left
			}
		}
		if len(inv.Objects) > 0 {
			out.inventory = append(out.inventory, inv)
		}
		if cur == nil && len(absent) == 0 {
			continue // nothing to publish for it
		}
		d := cur
		if d == nil {
			d = &document{key: key, flow: flowName, doc: &blueprint.Blueprint{
				Version:  blueprint.Version,
				Metadata: deletionMetadata(in.namespace, flowName, in.flowNames[flowName]),
			}}
		}
		if len(absent) > 0 {
			slices.SortStableFunc(absent, func(a, b identity) int { return a.rank() - b.rank() })
			// A copy: cur.doc may be a rendered result the caller keeps.
			doc := *d.doc
			doc.Entries = slices.Clone(doc.Entries)
			for _, id := range absent {
				doc.Entries = append(doc.Entries, id.absent())
			}
			d = &document{key: d.key, flow: d.flow, doc: &doc, secret: d.secret}
			out.deletions += len(absent)
		}
		out.docs = append(out.docs, *d)
	}
	return out, nil
}

func compareIdentities(a, b identity) int { return strings.Compare(a.key(), b.key()) }

// The authentik models an inventory tells apart.
var (
	modelFlow    = mustModel(flowsv1alpha1.KindFlow)
	modelBinding = mustModel(flowsv1alpha1.KindFlowStageBinding)
	// stageModels holds the stage kinds' models; stageKindOf the kind of
	// each.
	stageModels, stageKindOf = func() (map[string]bool, map[string]flowsv1alpha1.StageKind) {
		models, kinds := map[string]bool{}, map[string]flowsv1alpha1.StageKind{}
		for _, k := range flowsv1alpha1.StageKinds() {
			m := mustModel(string(k))
			models[m], kinds[m] = true, k
		}
		return models, kinds
	}()
)

func mustModel(kind string) string {
	m, ok := export.Model(kind)
	if !ok {
		panic("no authentik model for " + kind)
	}
	return m
}

// presentPart is a published document without its deletions, which
// publish computes anew.
func presentPart(b *blueprint.Blueprint) *blueprint.Blueprint {
	out := *b
	out.Entries = nil
	for _, e := range b.Entries {
		if e.State != blueprint.StateAbsent {
			out.Entries = append(out.Entries, e)
		}
	}
	return &out
}

// deletionMetadata is the metadata of a document that only deletes: that
// of a flow deleted in the cluster, or of one that exists but has no
// document yet (it has never been Ready since it was created again).
func deletionMetadata(namespace, flow string, exists bool) *blueprint.Metadata {
	what := fmt.Sprintf("Managed by stagehand: Flow %s/%s was deleted in Kubernetes, and this deletes it in authentik.", namespace, flow)
	if exists {
		what = fmt.Sprintf("Managed by stagehand: Flow %s/%s is not published yet; this deletes in authentik what was deleted in Kubernetes.", namespace, flow)
	}
	return &blueprint.Metadata{
		Name:   export.BlueprintName(namespace, flow),
		Labels: map[string]string{blueprint.LabelDescription: what},
	}
}

// documentKey is the ConfigMap key of a flow's document.
func documentKey(flow string) string { return flow + ".yaml" }

// flowOfKey is the flow a ConfigMap key is for.
func flowOfKey(key string) string { return key[:len(key)-len(".yaml")] }

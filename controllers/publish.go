package controllers

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export"
)

// The pure part of publishing: from the flows a BlueprintExport selects,
// rendered (or held back), and what it published before, to the documents
// it publishes now. Nothing here talks to the API server.
//
// Deleting in authentik what was deleted in the cluster. authentik applies
// each blueprint file it finds, but does not delete an object when its entry
// leaves a file (or the file disappears). So when an object leaves a
// published document, the document says so with an entry of state absent,
// for as long as the export's deletionRetention, which authentik applies
// (deleting the object) the next time it reads the file. An object is only
// deleted in authentik when it is gone from the cluster:
//
//   - a binding, whenever it leaves its flow's document (its identifiers are
//     its flow, stage and order, so a binding that moves is a new binding,
//     and the old one must go);
//   - a stage, only when no stage object of the namespace has its name in
//     authentik any more, and no document of the export declares it (a stage
//     a flow stops using may be another flow's, or simply unbound);
//   - a flow, only when no Flow of the namespace has its slug any more.
//
// A flow that is deselected (its labels no longer match the selector) is no
// longer published, but nothing of it is deleted: deselecting stops
// managing, it does not delete. A deletion stops being published once its
// retention has passed, or as soon as a document declares the object again.

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
	// flowNames and flowSlugs hold every Flow of the namespace, selected or
	// not: a flow that exists is never deleted in authentik.
	flowNames, flowSlugs map[string]bool
	// stages holds stageIdentity(model, authentik name) of every stage
	// object of the namespace.
	stages map[string]bool
	// prev are the documents published before, by key, as read back.
	prev map[string]*blueprint.Blueprint
	// prevSecret holds the keys of prev stored in the Secret: they carry
	// secret material.
	prevSecret map[string]bool
	// since holds, by key and entry identity, when each deletion was first
	// published.
	since     map[string]map[string]time.Time
	now       time.Time
	retention time.Duration
}

// publication is what to publish now.
type publication struct {
	// docs are the documents, sorted by key.
	docs []document
	// since holds, by key and entry identity, when each deletion in docs
	// was first published.
	since map[string]map[string]time.Time
	// deletions counts the entries of state absent in docs.
	deletions int
	// nextExpiry is how long until the first deletion's retention ends; 0
	// when no deletion is published.
	nextExpiry time.Duration
}

// stageIdentity names a stage in authentik: model and name.
func stageIdentity(model, name string) string { return model + "\x00" + name }

// publish computes the publication.
func publish(in publishInput) (*publication, error) {
	out := &publication{since: map[string]map[string]time.Time{}}

	// The present part of every document: a rendered flow's current
	// document, or a held-back flow's last published one.
	current := map[string]*document{}
	for _, f := range in.flows {
		key := documentKey(f.name)
		switch {
		case f.result != nil:
			current[key] = &document{key: key, flow: f.name, doc: f.result.Blueprint, secret: f.result.SecretMaterial}
		case in.prev[key] != nil:
			current[key] = &document{key: key, flow: f.name, doc: presentPart(in.prev[key]), secret: in.prevSecret[key]}
		}
	}
	// What the documents declare, by identity: never deleted.
	declared := map[string]bool{}
	for _, d := range current {
		for i := range d.doc.Entries {
			e := &d.doc.Entries[i]
			if len(e.Identifiers) == 0 || e.State == blueprint.StateAbsent {
				continue
			}
			id, err := blueprint.Identity(d.doc, e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.key, err)
			}
			declared[id] = true
		}
	}

	keys := map[string]bool{}
	for k := range current {
		keys[k] = true
	}
	for k := range in.prev {
		keys[k] = true
	}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		prev, cur := in.prev[key], current[key]
		flowName := flowOfKey(key)
		if cur == nil && in.flowNames[flowName] {
			// Deselected: no longer published, nothing deleted.
			continue
		}
		var absent []blueprint.Entry
		since := map[string]time.Time{}
		keep := func(e blueprint.Entry, doc *blueprint.Blueprint, first time.Time) error {
			id, err := blueprint.Identity(doc, &e)
			if err != nil {
				return err
			}
			if declared[id] || since[id] != (time.Time{}) {
				return nil
			}
			if !in.now.Before(first.Add(in.retention)) {
				return nil // retention over: authentik has had its chance
			}
			since[id] = first
			absent = append(absent, e)
			left := first.Add(in.retention).Sub(in.now)
			if out.nextExpiry == 0 || left < out.nextExpiry {
				out.nextExpiry = left
			}
			return nil
		}
		if prev != nil {
			// Deletions published before, still within their retention.
			for i := range prev.Entries {
				e := prev.Entries[i]
				if e.State != blueprint.StateAbsent {
					continue
				}
				id, err := blueprint.Identity(prev, &e)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", key, err)
				}
				first, ok := in.since[key][id]
				if !ok {
					first = in.now
				}
				if err := keep(e, prev, first); err != nil {
					return nil, fmt.Errorf("%s: %w", key, err)
				}
			}
			// What left the document since, and is gone from the cluster.
			now := cur
			if now == nil {
				now = &document{doc: &blueprint.Blueprint{Version: blueprint.Version}}
			}
			removed, err := blueprint.Removed(prev, now.doc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			for _, e := range removed {
				if !in.gone(e) {
					continue
				}
				if err := keep(e, prev, in.now); err != nil {
					return nil, fmt.Errorf("%s: %w", key, err)
				}
			}
		}
		if cur == nil && len(absent) == 0 {
			continue // a deleted flow, whose deletions are all published
		}
		d := cur
		if d == nil {
			d = &document{key: key, flow: flowName, doc: &blueprint.Blueprint{
				Version:  blueprint.Version,
				Metadata: deletionMetadata(in.namespace, flowName),
			}}
		}
		if len(absent) > 0 {
			// A copy: cur.doc may be a rendered result the caller keeps.
			doc := *d.doc
			doc.Entries = append(slices.Clone(doc.Entries), absent...)
			d = &document{key: d.key, flow: d.flow, doc: &doc, secret: d.secret}
			out.since[key] = since
			out.deletions += len(absent)
		}
		out.docs = append(out.docs, *d)
	}
	return out, nil
}

// gone reports whether the object an absent entry stands for is gone from
// the cluster: bindings always (they belong to one flow's document), a
// stage when no stage object has its authentik name, a flow when no Flow
// has its slug.
func (in publishInput) gone(e blueprint.Entry) bool {
	str := func(key string) string {
		v, _ := e.Identifiers.Get(key)
		s, _ := v.(string)
		return s
	}
	switch e.Model {
	case modelBinding:
		return true
	case modelFlow:
		return !in.flowSlugs[str("slug")]
	default:
		return !in.stages[stageIdentity(e.Model, str("name"))]
	}
}

// The authentik models whose absent entries gone tells apart.
var (
	modelFlow    = mustModel("Flow")
	modelBinding = mustModel("FlowStageBinding")
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

// deletionMetadata is the metadata of the document that deletes, in
// authentik, a flow deleted in the cluster.
func deletionMetadata(namespace, flow string) *blueprint.Metadata {
	return &blueprint.Metadata{
		Name: export.BlueprintName(namespace, flow),
		Labels: map[string]string{
			blueprint.LabelDescription: fmt.Sprintf("Managed by stagehand: Flow %s/%s was deleted in Kubernetes, and this deletes it in authentik.", namespace, flow),
		},
	}
}

// documentKey is the ConfigMap key of a flow's document.
func documentKey(flow string) string { return flow + ".yaml" }

// flowOfKey is the flow a ConfigMap key is for.
func flowOfKey(key string) string { return key[:len(key)-len(".yaml")] }

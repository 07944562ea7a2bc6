package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// Map functions turn an event on a referenced object into requests for the
// objects that reference it, found through the cache's field indexes (never
// by listing a whole kind). Predicates keep only the events that can change
// what a referrer reports.

// referrers enqueues the objects of the referring kind that reference the
// event's object as a kind (refs.Index).
func referrers(c client.Reader, kind, referring string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		list, err := flowsv1alpha1.NewList(referring)
		if err == nil {
			err = c.List(ctx, list, client.MatchingFields{refs.Index: refs.KeyOf(kind, obj)})
		}
		if err != nil {
			log.FromContext(ctx).Error(err, "listing the "+referring+"s that reference a "+kind, "name", obj.GetName(), "namespace", obj.GetNamespace())
			return nil
		}
		return requests(list, nil)
	})
}

// peers enqueues the other objects, listed with newList, that share the
// event's object's value in a field index: flows with the same slug, device
// types with the same aaguid.
func peers(c client.Reader, index string, value func(client.Object) string, newList func() client.ObjectList) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		list := newList()
		if err := c.List(ctx, list, client.MatchingFields{index: value(obj)}); err != nil {
			log.FromContext(ctx).Error(err, "listing objects by "+index, "name", obj.GetName(), "namespace", obj.GetNamespace())
			return nil
		}
		return requests(list, obj)
	})
}

// bindingFlow enqueues the Flow a FlowStageBinding binds a stage to.
func bindingFlow() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		b, ok := obj.(*flowsv1alpha1.FlowStageBinding)
		if !ok {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: b.Namespace, Name: b.Spec.TargetRef.Name}}}
	})
}

// stageFlows enqueues the Flows a stage is bound to: the stage's bindings
// (refs.Index), then their flows.
func stageFlows(c client.Reader, kind string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		var bindings flowsv1alpha1.FlowStageBindingList
		if err := c.List(ctx, &bindings, client.MatchingFields{refs.Index: refs.KeyOf(kind, obj)}); err != nil {
			log.FromContext(ctx).Error(err, "listing the bindings of a "+kind, "name", obj.GetName(), "namespace", obj.GetNamespace())
			return nil
		}
		seen := map[types.NamespacedName]bool{}
		var out []reconcile.Request
		for _, b := range bindings.Items {
			n := types.NamespacedName{Namespace: b.Namespace, Name: b.Spec.TargetRef.Name}
			if !seen[n] {
				seen[n] = true
				out = append(out, reconcile.Request{NamespacedName: n})
			}
		}
		return out
	})
}

// requests turns a list into requests, leaving out skip.
func requests(list client.ObjectList, skip client.Object) []reconcile.Request {
	var out []reconcile.Request
	for _, obj := range listObjects(list) {
		if skip != nil && obj.GetNamespace() == skip.GetNamespace() && obj.GetName() == skip.GetName() {
			continue
		}
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
	}
	return out
}

// ownChanges is the predicate of each controller's own kind: every change
// (creations, deletions, and any update but the informer's resyncs). Spec
// changes are the point; a status change is almost always the controller's
// own write, and the reconcile it causes computes the same status and writes
// nothing. It is there for the reconciles that read their object from a
// cache not yet showing the controller's previous write: one that computes
// a status equal to the stale one writes nothing, one that computes another
// has its write refused as a conflict (statusWriter.write); either way, when
// the previous write reaches the cache, the reconcile it causes sees the
// current copy and corrects what needs correcting. A change of metadata
// alone (a label) costs a reconcile that writes nothing.
var ownChanges = predicate.ResourceVersionChangedPredicate{}

// onExistence passes creations and deletions: for references whose target
// matters only by existing.
var onExistence = predicate.Funcs{
	UpdateFunc: func(event.UpdateEvent) bool { return false },
}

// onReadiness passes creations, deletions and changes of the Ready
// condition's status, or of whether it is NotChecked: for a Flow watching
// its stages.
var onReadiness = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool { return readiness(e.ObjectOld) != readiness(e.ObjectNew) },
}

// onSpecOrReadiness passes spec changes too: for a Flow watching its
// bindings, whose flow, stage and order are spec.
var onSpecOrReadiness = predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, onReadiness)

// isReady tells whether obj, a stagehand object, has a Ready condition that
// is True.
func isReady(obj client.Object) bool { return readiness(obj) != readinessNone }

// isNotChecked tells whether obj is Ready with reason NotChecked.
func isNotChecked(obj client.Object) bool { return readiness(obj) == readinessNotChecked }

// Readiness as a watcher sees it: a Flow's Ready condition follows its
// stages' and bindings' readiness, and whether they are NotChecked.
const (
	readinessNone       = ""
	readinessReady      = flowsv1alpha1.ReasonResolved
	readinessNotChecked = flowsv1alpha1.ReasonNotChecked
)

// readiness is obj's: readinessNone (not Ready), readinessReady, or
// readinessNotChecked (Ready, with a reference stagehand cannot check).
func readiness(obj client.Object) string {
	o, ok := obj.(flowsv1alpha1.Object)
	if !ok {
		return readinessNone
	}
	c := meta.FindStatusCondition(o.GetConditions(), flowsv1alpha1.ConditionReady)
	switch {
	case c == nil || c.Status != metav1.ConditionTrue:
		return readinessNone
	case c.Reason == flowsv1alpha1.ReasonNotChecked:
		return readinessNotChecked
	}
	return readinessReady
}

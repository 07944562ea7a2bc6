package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
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

// referrers enqueues the objects, listed with newList, that reference the
// event's object as a kind (refs.Index).
func referrers(c client.Reader, kind string, newList func() client.ObjectList) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		list := newList()
		if err := c.List(ctx, list, client.MatchingFields{refs.Index: refs.KeyOf(kind, obj)}); err != nil {
			log.FromContext(ctx).Error(err, "listing the objects that reference a "+kind, "name", obj.GetName(), "namespace", obj.GetNamespace())
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

// onSpecOrStatus is the predicate of each controller's own kind: creations,
// deletions, spec changes, and status changes. A status change is almost
// always the controller's own write, and the reconcile it causes computes
// the same status and writes nothing. It is there for the write that raced
// a change: a reconcile that reads its object from a cache not yet showing
// the controller's previous write computes a status equal to the stale one
// and writes nothing (a referenced object created and deleted in quick
// succession, say); when the previous write reaches the cache, the
// reconcile it causes sees the difference and corrects it.
var onSpecOrStatus = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
			!equality.Semantic.DeepEqual(wholeStatus(e.ObjectOld), wholeStatus(e.ObjectNew))
	},
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// wholeStatus is an object's entire status: a Flow's plan and slug as well
// as the conditions every kind has.
func wholeStatus(obj client.Object) any {
	if f, ok := obj.(*flowsv1alpha1.Flow); ok {
		return &f.Status
	}
	return statusOf(obj)
}

// onExistence passes creations and deletions: for references whose target
// matters only by existing.
var onExistence = predicate.Funcs{
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// onExistenceOrSpec also passes spec changes: for references whose target's
// spec feeds a warning (a flow's designation, a validate stage's device
// classes), and for flows' slugs.
var onExistenceOrSpec = predicate.Funcs{
	UpdateFunc:  func(e event.UpdateEvent) bool { return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// onReadiness passes creations, deletions and changes of the Ready
// condition's status: for a Flow watching its stages.
var onReadiness = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return isReady(statusOf(e.ObjectOld)) != isReady(statusOf(e.ObjectNew))
	},
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// onSpecOrReadiness passes spec changes too: for a Flow watching its
// bindings, whose flow, stage and order are spec.
var onSpecOrReadiness = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
			isReady(statusOf(e.ObjectOld)) != isReady(statusOf(e.ObjectNew))
	},
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// onContentChange passes every change but the informer's resyncs: for
// Secrets, which have no generation and whose data is what matters.
var onContentChange = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetResourceVersion() != e.ObjectNew.GetResourceVersion()
	},
	GenericFunc: func(event.GenericEvent) bool { return false },
}

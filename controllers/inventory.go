package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// What one BlueprintExport's deletions depend on outside its namespace:
// the objects of every namespace with the slugs and stage names it keeps,
// and what the other exports' documents declare. Found through the cache's
// indexes, never by listing a whole kind.

// Field indexes of BlueprintExports, by identity key (identity.key) of the
// objects of their inventory.
const (
	// indexDeclared holds the objects the export's documents declare.
	indexDeclared = "stagehand.dev/inventory-declared"
	// indexUndeclared holds those they keep or delete: the export must be
	// evaluated again when something that declares one comes or goes.
	indexUndeclared = "stagehand.dev/inventory-undeclared"
)

// inventoryKeys lists the identity keys of an export's inventory objects,
// those declared or the others.
func inventoryKeys(bx *flowsv1alpha1.BlueprintExport, declared bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range bx.Status.Inventory {
		for _, o := range d.Objects {
			if (o.State == flowsv1alpha1.InventoryDeclared) != declared {
				continue
			}
			if k := identityOfObject(o).key(); !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// registerInventoryIndexes adds the indexes to the manager's cache.
func registerInventoryIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	for name, declared := range map[string]bool{indexDeclared: true, indexUndeclared: false} {
		if err := indexer.IndexField(ctx, &flowsv1alpha1.BlueprintExport{}, name, func(o client.Object) []string {
			return inventoryKeys(o.(*flowsv1alpha1.BlueprintExport), declared)
		}); err != nil {
			return err
		}
	}
	return nil
}

// held is publishInput.held for bx: an object is held while an object of
// the cluster, in any namespace, has its slug (a flow) or its kind and name
// (a stage), or while another export declares it.
func (r *exportReconciler) held(ctx context.Context, bx *flowsv1alpha1.BlueprintExport) func(identity) (bool, error) {
	return func(id identity) (bool, error) {
		var list client.ObjectList
		value := id.name
		switch {
		case id.model == modelFlow:
			list, value = &flowsv1alpha1.FlowList{}, id.slug
		case stageModels[id.model]:
			var err error
			if list, err = flowsv1alpha1.NewList(string(stageKindOf[id.model])); err != nil {
				return false, err
			}
		}
		if list != nil {
			if err := r.client.List(ctx, list, client.MatchingFields{refs.AuthentikName: value}); err != nil {
				return false, err
			}
			if meta.LenList(list) > 0 {
				return true, nil
			}
		}
		var exports flowsv1alpha1.BlueprintExportList
		if err := r.client.List(ctx, &exports, client.MatchingFields{indexDeclared: id.key()}); err != nil {
			return false, err
		}
		for _, o := range exports.Items {
			if o.UID != bx.UID {
				return true, nil
			}
		}
		return false, nil
	}
}

// identityOfStagehand is the identity of a Flow or a stage; false for the
// other kinds.
func identityOfStagehand(obj client.Object) (identity, bool) {
	switch o := obj.(type) {
	case *flowsv1alpha1.Flow:
		return identity{model: modelFlow, slug: o.EffectiveSlug()}, true
	case flowsv1alpha1.Stage:
		m, ok := stageModelOf(flowsv1alpha1.KindOf(o))
		return identity{model: m, name: o.StageName()}, ok
	}
	return identity{}, false
}

func stageModelOf(kind string) (string, bool) {
	for m, k := range stageKindOf {
		if string(k) == kind {
			return m, true
		}
	}
	return "", false
}

// keepers enqueues the exports, in any namespace, that keep or delete the
// event's object (a Flow or a stage): its coming may stop a deletion, its
// going allow one.
func keepers(c client.Reader) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		id, ok := identityOfStagehand(obj)
		if !ok {
			return nil
		}
		return exportsByKey(ctx, c, []string{id.key()}, nil)
	})
}

// exportsByKey lists the exports whose inventory keeps or deletes one of
// the identity keys, but skip.
func exportsByKey(ctx context.Context, c client.Reader, keys []string, skip *flowsv1alpha1.BlueprintExport) []reconcile.Request {
	seen := map[types.NamespacedName]bool{}
	var out []reconcile.Request
	for _, k := range keys {
		var list flowsv1alpha1.BlueprintExportList
		if err := c.List(ctx, &list, client.MatchingFields{indexUndeclared: k}); err != nil {
			log.FromContext(ctx).Error(err, "listing the BlueprintExports that keep an object")
			return out
		}
		for i := range list.Items {
			n := client.ObjectKeyFromObject(&list.Items[i])
			if skip != nil && list.Items[i].UID == skip.UID || seen[n] {
				continue
			}
			seen[n] = true
			out = append(out, reconcile.Request{NamespacedName: n})
		}
	}
	return out
}

// otherExports enqueues, when an export starts or stops declaring objects,
// the other exports that keep or delete them.
func otherExports(c client.Reader) handler.EventHandler {
	enqueue := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], bx *flowsv1alpha1.BlueprintExport, keys []string) {
		for _, r := range exportsByKey(ctx, c, keys, bx) {
			q.Add(r)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			bx := e.Object.(*flowsv1alpha1.BlueprintExport)
			enqueue(ctx, q, bx, inventoryKeys(bx, true))
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			bx, ok := e.Object.(*flowsv1alpha1.BlueprintExport)
			if !ok {
				return // a tombstone: the exports that kept its objects are evaluated on their own events
			}
			enqueue(ctx, q, bx, inventoryKeys(bx, true))
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			old, cur := e.ObjectOld.(*flowsv1alpha1.BlueprintExport), e.ObjectNew.(*flowsv1alpha1.BlueprintExport)
			before, after := map[string]bool{}, map[string]bool{}
			for _, k := range inventoryKeys(old, true) {
				before[k] = true
			}
			var changed []string
			for _, k := range inventoryKeys(cur, true) {
				after[k] = true
				if !before[k] {
					changed = append(changed, k)
				}
			}
			for k := range before {
				if !after[k] {
					changed = append(changed, k)
				}
			}
			enqueue(ctx, q, cur, changed)
		},
	}
}

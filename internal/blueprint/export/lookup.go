package export

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// Lookup finds the object of a stagehand kind ("PasswordStage", "Flow", as
// flowsv1alpha1.Kinds names them) with that name: in the namespace of the flow being
// rendered, or, for a cluster-scoped kind (WebAuthnDeviceType), in the
// cluster. When there is none, it returns an error for which
// apierrors.IsNotFound is true; the renderer then reports the object as
// missing. Any other error stops the render.
//
// The renderer never modifies what Lookup returns, so a Lookup over a cache
// may hand out the cache's own objects.
type Lookup func(kind, name string) (client.Object, error)

// Reader is a Lookup over a client.Reader, such as the manager's cache,
// for a flow in namespace. opts are passed to every Get
// (client.UnsafeDisableDeepCopy spares a copy per object).
func Reader(ctx context.Context, r client.Reader, namespace string, opts ...client.GetOption) Lookup {
	return func(kind, name string) (client.Object, error) {
		obj, err := flowsv1alpha1.New(kind)
		if err != nil {
			return nil, err
		}
		key := types.NamespacedName{Namespace: namespace, Name: name}
		if clusterScoped(kind) {
			key.Namespace = ""
		}
		if err := r.Get(ctx, key, obj, opts...); err != nil {
			return nil, err
		}
		return obj, nil
	}
}

// Objects is a Lookup over the objects given: tests, and callers that
// already hold every object (the importer's round trip). Objects of one
// namespace are expected, as the flow's namespace is not checked.
func Objects(objs ...client.Object) (Lookup, error) {
	byKey := map[string]client.Object{}
	for _, obj := range objs {
		kind := flowsv1alpha1.KindOf(obj)
		if kind == "" {
			return nil, fmt.Errorf("object %q (a %T) is of no stagehand kind", obj.GetName(), obj)
		}
		byKey[kind+"/"+obj.GetName()] = obj
	}
	return func(kind, name string) (client.Object, error) {
		if obj, ok := byKey[kind+"/"+name]; ok {
			return obj, nil
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: flowsv1alpha1.GroupVersion.Group, Resource: kind}, name)
	}, nil
}

// clusterScoped reports whether objects of kind are cluster-scoped.
func clusterScoped(kind string) bool {
	k, _ := flowsv1alpha1.LookupKind(kind)
	return k.ClusterScoped
}

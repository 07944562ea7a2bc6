// Package controllers holds stagehand's reconcilers: one per kind, each
// resolving the object's references through the cache and writing its status.
//
// Every reconciler is level-triggered: it reads the object and what it
// references, computes the whole status in pure functions (status.go,
// warnings.go, flowPlan), and writes it in one status patch, or not at all
// when nothing changed. Referenced objects are watched through the refs
// field indexes, so an event re-reconciles exactly the objects that point at
// the object it is about. A problem only the user can fix is a condition, not
// an error: errors (retried with backoff) are failures to talk to the API
// server.
package controllers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// The manager's permissions, generated into config/rbac/role.yaml by
// `make manifests`: it reads every stagehand kind and Secrets (metadata
// watched; the data of a Secret marked for stagehand, read live, for each
// CaptchaStage that names one: readableSecret), patches status, and records
// Events.
//
// +kubebuilder:rbac:groups=flows.stagehand.dev,resources=flows;flowstagebindings;identificationstages;passwordstages;authenticatorvalidatestages;captchastages;userloginstages;sources;webauthndevicetypes;blueprintexports,verbs=get;list;watch
// +kubebuilder:rbac:groups=flows.stagehand.dev,resources=flows/status;flowstagebindings/status;identificationstages/status;passwordstages/status;authenticatorvalidatestages/status;captchastages/status;userloginstages/status;sources/status;webauthndevicetypes/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// EventSource is the reporting controller of stagehand's Events.
const EventSource = "stagehand"

// CacheOptions are the manager's cache options: it caches only the
// ConfigMaps stagehand writes (BlueprintExports'), not every ConfigMap of
// the cluster, and no object's managedFields, which nothing reads and which
// would otherwise take a good part of the cache's memory.
//
// With namespaces (--watch-namespaces), it watches namespaced kinds in
// those namespaces only, each with an informer of its own, so that a Role
// in each is all the manager needs; cluster-scoped kinds
// (WebAuthnDeviceType) are still watched cluster-wide. Controllers and the
// API read through it unchanged: a list across namespaces is the union of
// the watched ones.
func CacheOptions(namespaces ...string) cache.Options {
	o := cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Label: labels.SelectorFromSet(labels.Set{LabelManagedBy: managedBy})},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	}
	if len(namespaces) > 0 {
		o.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			o.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return o
}

// SetupWithManager registers every stagehand reconciler with the manager:
// one controller per kind of flowsv1alpha1.Kinds, the Flow's and the
// BlueprintExport's of their own and the shared reconciler for every other
// kind. The manager's cache must have the refs indexes (refs.Register)
// before it starts, and be set up with CacheOptions.
func SetupWithManager(mgr ctrl.Manager) error {
	c := mgr.GetClient()
	w := statusWriter{client: c, recorder: mgr.GetEventRecorder(EventSource)}
	for _, k := range flowsv1alpha1.Kinds {
		var err error
		switch k.Kind {
		case flowsv1alpha1.KindFlow:
			err = (&flowReconciler{client: c, status: w}).setup(mgr)
		case flowsv1alpha1.KindBlueprintExport:
			err = (&exportReconciler{client: c, live: mgr.GetAPIReader(), status: w, now: time.Now}).setup(mgr)
		default:
			r := &reconciler{kind: k.Kind, behaviour: behaviours[k.Kind], client: c, live: mgr.GetAPIReader(), status: w}
			err = r.setup(mgr)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

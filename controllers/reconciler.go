package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// behaviour tells the shared reconciler what differs between the kinds
// whose readiness is that their references resolve: every kind but Flow,
// whose readiness is its plan's and which has a reconciler of its own.
type behaviour struct {
	// Watches are the kinds the kind references, each with the events on
	// them that can change what an object of the kind reports. Objects that
	// reference the event's object are found through refs.Index.
	Watches []dependency
	// Inspect, when set, looks beyond existence: it may mark resolved
	// references Invalid, and returns the object's warnings. It may read the
	// cache.
	Inspect func(ctx context.Context, c client.Reader, obj flowsv1alpha1.Object, rs []resolved) ([]warning, error)
	// Conflict, when set, looks for what makes the object unusable however
	// its references resolve (a binding that collides with another), and
	// says so: the object is then not Ready, BindingConflict. It may read
	// the cache.
	Conflict func(ctx context.Context, c client.Reader, obj flowsv1alpha1.Object) (string, error)
	// Extra, when set, adds watches that are not references, such as a
	// device type's on the others with the same aaguid.
	Extra func(b *builder.Builder, c client.Reader) *builder.Builder
}

// dependency is a referenced kind a kind watches.
type dependency struct {
	// Kind is the referenced kind, as refs names it.
	Kind string
	// When filters the referenced object's events.
	When predicate.Predicate
}

// reconciler is the reconciler of one kind: Get from the cache, resolve
// every reference refs.Of lists, compute the status, patch it when it
// changed.
type reconciler struct {
	kind      string
	behaviour behaviour
	client    client.Client
	// live reads from the API server. Used for Secrets only, which are not
	// cached (only their metadata is watched), and only for those marked
	// for stagehand (readableSecret).
	live   client.Reader
	status statusWriter
}

// Reconcile evaluates one object of the kind and writes its status.
func (r *reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj, err := flowsv1alpha1.New(r.kind)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	rs, err := resolve(ctx, r.client, r.live, obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	var warnings []warning
	if r.behaviour.Inspect != nil {
		if warnings, err = r.behaviour.Inspect(ctx, r.client, obj, rs); err != nil {
			return ctrl.Result{}, err
		}
	}
	// Last: the warnings above are about this object's own fields.
	named, err := stageNameWarning(ctx, r.client, obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	warnings = append(warnings, named...)
	ready := readyFromReferences(rs)
	if r.behaviour.Conflict != nil {
		conflict, err := r.behaviour.Conflict(ctx, r.client, obj)
		if err != nil {
			return ctrl.Result{}, err
		}
		ready = withConflict(ready, conflict)
	}
	before := obj.DeepCopyObject().(flowsv1alpha1.Object)
	fresh := setConditions(obj, ready, warnings, metav1.Now())
	return ctrl.Result{}, r.status.write(ctx, obj, before, fresh)
}

// setup registers the reconciler with the manager: For the kind itself
// (ownChanges says on which events), and on each referenced kind through
// refs.Index.
func (r *reconciler) setup(mgr ctrl.Manager) error {
	own, err := flowsv1alpha1.New(r.kind)
	if err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(r.kind)).
		For(own, builder.WithPredicates(ownChanges))
	for _, d := range r.behaviour.Watches {
		h := referrers(mgr.GetClient(), d.Kind, r.kind)
		if d.Kind == refs.KindSecret {
			// Metadata only: the manager never caches Secrets' data.
			b = b.WatchesMetadata(&corev1.Secret{}, h, builder.WithPredicates(d.When))
			continue
		}
		obj, err := flowsv1alpha1.New(d.Kind)
		if err != nil {
			return err
		}
		b = b.Watches(obj, h, builder.WithPredicates(d.When))
	}
	if info, _ := flowsv1alpha1.LookupKind(r.kind); info.Stage {
		// A stage is evaluated again when another of its kind, in any
		// namespace, takes or gives up its name in authentik.
		b = b.Watches(own.DeepCopyObject().(client.Object),
			peers(mgr.GetClient(), refs.AuthentikName, refs.AuthentikNameOf, func() client.ObjectList {
				list, _ := flowsv1alpha1.NewList(r.kind)
				return list
			}),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	}
	if r.behaviour.Extra != nil {
		b = r.behaviour.Extra(b, mgr.GetClient())
	}
	return b.Complete(r)
}

// resolve looks up every reference obj makes: stagehand objects in the
// cache, Secrets (marked for stagehand only: readableSecret) on the API
// server. A missing object is a finding, not an error; an error is a
// failure to look.
func resolve(ctx context.Context, cache, live client.Reader, obj client.Object) ([]resolved, error) {
	var out []resolved
	for _, ref := range refs.Of(obj) {
		if ref.External() {
			// A stage that lives only in authentik: nothing to look up.
			out = append(out, resolved{Reference: ref})
			continue
		}
		if ref.Kind == refs.KindSecret {
			// Only a Secret marked for stagehand is read; one that is
			// not is reported as one that does not exist.
			s, err := readableSecret(ctx, live, ref.Namespace, ref.Name)
			if err != nil {
				return nil, fmt.Errorf("looking up %s (%s): %w", ref, ref.Field, err)
			}
			r := resolved{Reference: ref}
			if s != nil {
				r.Obj = s
			}
			out = append(out, r)
			continue
		}
		target, err := flowsv1alpha1.New(ref.Kind)
		if err != nil {
			return nil, err
		}
		err = cache.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, target)
		switch {
		case apierrors.IsNotFound(err):
			hint, err := otherStageKind(ctx, cache, ref)
			if err != nil {
				return nil, err
			}
			out = append(out, resolved{Reference: ref, OtherKind: hint})
		case err != nil:
			return nil, fmt.Errorf("looking up %s (%s): %w", ref, ref.Field, err)
		default:
			out = append(out, resolved{Reference: ref, Obj: target})
		}
	}
	return out, nil
}

// otherStageKind returns, for a reference to a stage that does not exist,
// another stage kind that has an object of that name in the namespace (a
// stageRef with the wrong kind is an easy mistake), or "".
func otherStageKind(ctx context.Context, cache client.Reader, ref refs.Reference) (string, error) {
	info, ok := flowsv1alpha1.LookupKind(ref.Kind)
	if !ok || !info.Stage {
		return "", nil
	}
	for _, k := range flowsv1alpha1.StageKinds() {
		if string(k) == ref.Kind {
			continue
		}
		other, err := flowsv1alpha1.New(string(k))
		if err != nil {
			return "", err
		}
		err = cache.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, other)
		switch {
		case err == nil:
			return string(k), nil
		case !apierrors.IsNotFound(err):
			return "", fmt.Errorf("looking up %s %q: %w", k, ref.Name, err)
		}
	}
	return "", nil
}

// statusWriter writes what a reconcile computed.
type statusWriter struct {
	client   client.Client
	recorder events.EventRecorder
}

// write patches obj's status from before's when it changed (one patch, a
// JSON merge patch of the status only), then announces each fresh warning as
// a Warning Event. When nothing changed it writes nothing.
//
// The patch carries before's resourceVersion: a reconcile that read a stale
// copy of obj from the cache (one that does not show this controller's
// previous write yet) would otherwise write again what was just written,
// with only its times changed. Such a write is refused as a conflict, and
// dropped: the event of the write it lost to brings a reconcile that reads
// the current copy.
func (w statusWriter) write(ctx context.Context, obj, before client.Object, fresh []warning) error {
	if equality.Semantic.DeepEqual(before, obj) {
		return nil
	}
	patch := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	if err := w.client.Status().Patch(ctx, obj, patch); err != nil {
		switch {
		case apierrors.IsNotFound(err):
			// Deleted since we read it: nothing left to report on.
			return nil
		case apierrors.IsConflict(err):
			log.FromContext(ctx).V(1).Info("status changed since it was read; the newer copy is evaluated next")
			return nil
		}
		return fmt.Errorf("patching status: %w", err)
	}
	log.FromContext(ctx).V(1).Info("status written", "generation", obj.GetGeneration())
	for _, warn := range fresh {
		w.recorder.Eventf(obj, warn.Related, corev1.EventTypeWarning, warn.Reason, eventAction, "%s", truncate(warn.Message, maxEventNote))
	}
	return nil
}

// eventAction is the action of stagehand's Events (events.k8s.io/v1 requires
// one): resolving the object's references.
const eventAction = "ResolveReferences"

package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// The BlueprintExport controller writes its namespace's Ready flows as
// authentik blueprints into a ConfigMap (and, for documents that carry
// secret material, a Secret) that authentik's Helm chart mounts for its
// worker, which applies them.
//
// It writes ConfigMaps: RBAC cannot limit create to names or labels, so the
// rule is cluster-wide, but the controller only ever writes the one
// ConfigMap an export names, created with the export as its controller
// (garbage-collected with it), and refuses to touch one that belongs to
// something else. It never deletes one. Its cache holds only ConfigMaps
// labelled as stagehand's (CacheOptions), and Secrets' metadata only.
// Writing Secrets, which only secrets: Inline needs, is not in the
// manager's role: a deployment grants it on purpose, with
// config/components/blueprint-secrets.
//
// +kubebuilder:rbac:groups=flows.stagehand.dev,resources=blueprintexports,verbs=get;list;watch
// +kubebuilder:rbac:groups=flows.stagehand.dev,resources=blueprintexports/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update

// Labels and annotations of the ConfigMaps and Secrets an export writes.
const (
	// LabelManagedBy marks them as stagehand's: the manager caches only
	// ConfigMaps with it.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "stagehand"
	// labelExport names the export that writes them.
	labelExport = "flows.stagehand.dev/blueprint-export"
	// annotationHash, on the Secret, is the hash of the documents it holds
	// (empty when it holds none): whether to write it is decided from its
	// metadata, without reading its data.
	annotationHash = "flows.stagehand.dev/documents-hash"
	// annotationDeletions holds, as JSON, when each published deletion
	// (an entry of state absent) was first published, by document key and
	// entry identity, so that it is published for the export's retention.
	annotationDeletions = "flows.stagehand.dev/deletions"
)

// maxData is the most data a ConfigMap or Secret holds.
const maxData = 1 << 20

// defaultRetention is deletionRetention's default.
const defaultRetention = 168 * time.Hour

// exportReconciler publishes BlueprintExports.
type exportReconciler struct {
	client client.Client
	// live reads Secrets, which the cache holds only the metadata of.
	live   client.Reader
	status statusWriter
	now    func() time.Time
}

// Reconcile publishes one BlueprintExport.
func (r *exportReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var bx flowsv1alpha1.BlueprintExport
	if err := r.client.Get(ctx, req.NamespacedName, &bx); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := bx.DeepCopy()
	now := r.now()
	ready, requeue, err := r.publish(ctx, &bx, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	fresh := setConditions(&bx, ready, nil, metav1.NewTime(now))
	if err := r.status.write(ctx, &bx, before, fresh); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// publish renders the selected flows, writes the ConfigMap and Secret when
// they change, and fills in the status but for its conditions. It returns
// the Ready condition, and when a deletion's retention ends.
func (r *exportReconciler) publish(ctx context.Context, bx *flowsv1alpha1.BlueprintExport, now time.Time) (metav1.Condition, time.Duration, error) {
	ns, name := bx.Namespace, bx.ConfigMapName()
	bx.Status.ConfigMap = name
	notReady := func(reason, msg string) metav1.Condition {
		return metav1.Condition{Type: flowsv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: truncate(msg, maxMessage)}
	}

	selector, err := bx.Spec.FlowSelector.Selector()
	if err != nil {
		// The schema bounds a selector; what makes one valid (label key
		// syntax, values for In and NotIn only) is checked here.
		return notReady(flowsv1alpha1.ReasonReferenceInvalid, "spec.flowSelector: "+err.Error()), 0, nil
	}

	// What is published now.
	var cm corev1.ConfigMap
	cmExists, err := r.owned(ctx, r.client, bx, types.NamespacedName{Namespace: ns, Name: name}, &cm)
	if err != nil {
		var notOwned notOwnedError
		if errors.As(err, &notOwned) {
			return notReady(flowsv1alpha1.ReasonNotOwned, notOwned.Error()), 0, nil
		}
		return metav1.Condition{}, 0, err
	}
	// The Secret: its metadata from the cache; its data, live, only when
	// it holds documents (the manager never caches Secret data).
	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	secretExists, err := r.owned(ctx, r.client, bx, types.NamespacedName{Namespace: ns, Name: name}, secretMeta)
	if err != nil {
		var notOwned notOwnedError
		if errors.As(err, &notOwned) {
			return notReady(flowsv1alpha1.ReasonNotOwned, notOwned.Error()), 0, nil
		}
		return metav1.Condition{}, 0, err
	}
	var secret corev1.Secret
	if secretExists && secretMeta.Annotations[annotationHash] != "" {
		if err := r.live.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &secret); err != nil {
			return metav1.Condition{}, 0, err
		}
	}
	in := publishInput{
		namespace:  ns,
		flowNames:  map[string]bool{},
		flowSlugs:  map[string]bool{},
		stages:     map[string]bool{},
		prev:       map[string]*blueprint.Blueprint{},
		prevSecret: map[string]bool{},
		since:      map[string]map[string]time.Time{},
		now:        now,
		retention:  defaultRetention,
	}
	if h := bx.Spec.DeletionRetentionHours; h != nil {
		in.retention = time.Duration(*h) * time.Hour
	}
	if raw := cm.Annotations[annotationDeletions]; raw != "" {
		// Unreadable (edited by hand): deletions restart their retention.
		_ = json.Unmarshal([]byte(raw), &in.since)
	}
	read := func(data map[string]string, inSecret bool) {
		for key, text := range data {
			if !strings.HasSuffix(key, ".yaml") {
				continue
			}
			doc, err := blueprint.Decode(key, []byte(text))
			if err != nil {
				// Not ours to understand (edited by hand): it is replaced,
				// and nothing is deleted for it.
				log.FromContext(ctx).Info("a published blueprint cannot be read back; it is replaced", "key", key, "error", err.Error())
				continue
			}
			in.prev[key] = doc
			in.prevSecret[key] = inSecret
		}
	}
	read(cm.Data, false)
	secretData := map[string]string{}
	for k, v := range secret.Data {
		secretData[k] = string(v)
	}
	read(secretData, true)

	// The namespace's flows and stages: what exists is never deleted in
	// authentik, what is selected is published.
	var flows flowsv1alpha1.FlowList
	if err := r.client.List(ctx, &flows, client.InNamespace(ns)); err != nil {
		return metav1.Condition{}, 0, err
	}
	for i := range flows.Items {
		in.flowNames[flows.Items[i].Name] = true
		in.flowSlugs[flows.Items[i].EffectiveSlug()] = true
	}
	for _, k := range flowsv1alpha1.StageKinds() {
		list, err := flowsv1alpha1.NewList(string(k))
		if err != nil {
			return metav1.Condition{}, 0, err
		}
		if err := r.client.List(ctx, list, client.InNamespace(ns)); err != nil {
			return metav1.Condition{}, 0, err
		}
		model := mustModel(string(k))
		for _, o := range listObjects(list) {
			if s, ok := o.(flowsv1alpha1.Stage); ok {
				in.stages[stageIdentity(model, s.StageName())] = true
			}
		}
	}

	opts := export.Options{SecretMountRoot: bx.Spec.SecretMountRoot}
	if bx.Spec.Secrets == flowsv1alpha1.SecretHandlingInline {
		opts.SecretValue = func(ref flowsv1alpha1.SecretKeyReference) (string, error) {
			var s corev1.Secret
			if err := r.live.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &s); err != nil {
				return "", err
			}
			v, ok := s.Data[ref.Key]
			if !ok {
				return "", fmt.Errorf("the Secret %q has no key %q", ref.Name, ref.Key)
			}
			return string(v), nil
		}
	}
	lookup := export.Reader(ctx, r.client, ns)
	// By name: the cache lists in no particular order, and status.flows must
	// not change with it.
	selected := slices.DeleteFunc(slices.Clone(flows.Items), func(f flowsv1alpha1.Flow) bool { return !selector.Matches(labels.Set(f.Labels)) })
	slices.SortFunc(selected, func(a, b flowsv1alpha1.Flow) int { return strings.Compare(a.Name, b.Name) })
	states := make([]flowState, 0, len(selected))
	rendered := map[string]*flowsv1alpha1.Flow{}
	bindingsOf := map[string][]flowsv1alpha1.FlowStageBinding{}
	for i := range selected {
		f := &selected[i]
		st := flowState{name: f.Name}
		if c := meta.FindStatusCondition(f.Status.Conditions, flowsv1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue || f.Status.ObservedGeneration != f.Generation {
			st.heldBack = "the Flow is not Ready"
			if c != nil && c.Status != metav1.ConditionTrue {
				st.heldBack += ": " + c.Message
			}
			states = append(states, st)
			continue
		}
		var bindings flowsv1alpha1.FlowStageBindingList
		if err := r.client.List(ctx, &bindings, client.MatchingFields{refs.Index: refs.KeyOf(flowsv1alpha1.KindFlow, f)}); err != nil {
			return metav1.Condition{}, 0, err
		}
		bindingsOf[f.Name] = bindings.Items
		res, err := export.Render(f, bindings.Items, lookup, opts)
		if err != nil {
			// The cache moved on since the flow was last evaluated (a stage
			// just deleted, say): held back until it is evaluated again.
			st.heldBack = err.Error()
			states = append(states, st)
			continue
		}
		st.result = res
		rendered[f.Name] = f
		states = append(states, st)
	}

	// authentik finds a flow another document declares (a recovery flow,
	// say) by slug: it applies that document first, if it is one of ours
	// and no cycle forbids it.
	applyFirst := applyOrder(ns, states)
	for i := range states {
		st := &states[i]
		if st.result == nil || len(applyFirst[st.name]) == 0 {
			continue
		}
		o := opts
		o.ApplyFirst = applyFirst[st.name]
		f := rendered[st.name]
		res, err := export.Render(f, bindingsOf[f.Name], lookup, o)
		if err != nil {
			st.result, st.heldBack = nil, err.Error()
			continue
		}
		st.result = res
	}
	in.flows = states

	pub, err := publish(in)
	if err != nil {
		return metav1.Condition{}, 0, err
	}

	// Encode, split between the ConfigMap and the Secret.
	cmData, secData := map[string]string{}, map[string][]byte{}
	status := make([]flowsv1alpha1.PublishedFlow, 0, len(states))
	published := map[string]flowsv1alpha1.PublishedFlow{}
	mounted := map[string]bool{}
	var size, secretSize int
	for _, d := range pub.docs {
		b, err := blueprint.Encode(d.doc)
		if err != nil {
			return metav1.Condition{}, 0, fmt.Errorf("encoding %s: %w", d.key, err)
		}
		p := flowsv1alpha1.PublishedFlow{Name: d.flow, Key: d.key, Hash: blueprint.Hash(b), In: "ConfigMap"}
		if d.secret {
			p.In = "Secret"
			secData[d.key] = b
			secretSize += len(d.key) + len(b)
		} else {
			cmData[d.key] = string(b)
			size += len(d.key) + len(b)
		}
		published[d.flow] = p
	}
	var heldBack []string
	for _, st := range states {
		p := published[st.name]
		p.Name = st.name
		p.HeldBack = truncate(st.heldBack, 1024)
		if st.heldBack != "" {
			heldBack = append(heldBack, fmt.Sprintf("Flow %q is held back (%s)", st.name, st.heldBack))
		}
		if st.result != nil {
			for _, s := range st.result.MountedSecrets {
				mounted[s] = true
			}
		}
		status = append(status, p)
	}
	if len(status) > 1024 {
		status = status[:1024]
	}
	bx.Status.Flows = status
	bx.Status.MountedSecrets = slices.Sorted(maps.Keys(mounted))
	if len(bx.Status.MountedSecrets) > 1024 {
		bx.Status.MountedSecrets = bx.Status.MountedSecrets[:1024]
	}
	bx.Status.Deletions = int32(min(pub.deletions, 1<<30))
	bx.Status.Secret = ""
	if len(secData) > 0 {
		bx.Status.Secret = name
	}

	if size > maxData || secretSize > maxData {
		return notReady(flowsv1alpha1.ReasonTooLarge, fmt.Sprintf(
			"the documents of %d flows take %d bytes in ConfigMap %q and %d in its Secret; each holds at most %d: select fewer flows (spec.flowSelector), or split them between BlueprintExports",
			len(pub.docs), size, name, secretSize, maxData)), 0, nil
	}

	since, err := json.Marshal(pub.since)
	if err != nil {
		return metav1.Condition{}, 0, err
	}
	annotation := ""
	if len(pub.since) > 0 {
		annotation = string(since)
	}
	if err := r.writeConfigMap(ctx, bx, &cm, cmExists, cmData, annotation); err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			// The namespace, and the export with it, is going away.
			return metav1.Condition{}, 0, reconcile.TerminalError(err)
		}
		var notOwned notOwnedError
		if errors.As(err, &notOwned) {
			return notReady(flowsv1alpha1.ReasonNotOwned, notOwned.Error()), 0, nil
		}
		return metav1.Condition{}, 0, err
	}
	if len(secData) > 0 || secretExists {
		if err := r.writeSecret(ctx, bx, secretMeta, secretExists, secData); apierrors.IsForbidden(err) {
			return notReady(flowsv1alpha1.ReasonSecretsForbidden, fmt.Sprintf(
				"secrets is Inline, and the documents of %d flows carry secret material, but the manager may not write Secret %q: deploy it with that permission (config/components/blueprint-secrets; Helm: blueprints.inlineSecrets=true), or use secrets: Mount: %v",
				len(secData), name, err)), pub.nextExpiry, nil
		} else if err != nil {
			return metav1.Condition{}, 0, err
		}
	}

	if len(heldBack) > 0 {
		msg := joinLimited(heldBack, maxMessage)
		return notReady(flowsv1alpha1.ReasonFlowsHeldBack, msg), pub.nextExpiry, nil
	}
	msg := "No flow selected"
	switch n := len(pub.docs); {
	case len(states) == 1:
		msg = "The flow is published"
	case len(states) > 1:
		msg = fmt.Sprintf("All %d flows are published", len(states))
	case n > 0:
		msg = "No flow selected; deletions are published"
	}
	switch {
	case pub.deletions == 1:
		msg += ", with 1 deletion"
	case pub.deletions > 1:
		msg += fmt.Sprintf(", with %d deletions", pub.deletions)
	}
	ready := metav1.Condition{Type: flowsv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: flowsv1alpha1.ReasonPublished, Message: msg}
	return ready, pub.nextExpiry, nil
}

// notOwnedError is a ConfigMap or Secret to write that belongs to something
// else.
type notOwnedError struct {
	kind, name string
}

func (e notOwnedError) Error() string {
	return fmt.Sprintf("%s %q exists and is not this BlueprintExport's: stagehand does not overwrite it (choose another spec.configMapName, or delete it)", e.kind, e.name)
}

// owned reads the ConfigMap or Secret key into obj, reporting whether it
// exists; a notOwnedError when it is not the export's.
func (r *exportReconciler) owned(ctx context.Context, reader client.Reader, bx *flowsv1alpha1.BlueprintExport, key types.NamespacedName, obj client.Object) (bool, error) {
	if err := reader.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	if !metav1.IsControlledBy(obj, bx) {
		kind := "ConfigMap"
		if _, ok := obj.(*corev1.Secret); ok {
			kind = "Secret"
		}
		return true, notOwnedError{kind: kind, name: key.Name}
	}
	return true, nil
}

// writeConfigMap creates or updates the export's ConfigMap, when its data
// or deletions differ from what it holds.
func (r *exportReconciler) writeConfigMap(ctx context.Context, bx *flowsv1alpha1.BlueprintExport, cm *corev1.ConfigMap, exists bool, data map[string]string, deletions string) error {
	if exists && equality.Semantic.DeepEqual(nonNilMap(cm.Data), data) && cm.Annotations[annotationDeletions] == deletions {
		return nil
	}
	if !exists {
		*cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: bx.Namespace, Name: bx.ConfigMapName()}}
	}
	cm.Labels = withLabels(cm.Labels, bx)
	cm.Annotations = withAnnotation(cm.Annotations, annotationDeletions, deletions)
	cm.Data = data
	if err := controllerutil.SetControllerReference(bx, cm, r.client.Scheme()); err != nil {
		return err
	}
	if !exists {
		// The cache holds only stagehand's ConfigMaps: one of that name
		// that is not is found only now.
		if err := r.client.Create(ctx, cm); apierrors.IsAlreadyExists(err) {
			return notOwnedError{kind: "ConfigMap", name: cm.Name}
		} else if err != nil {
			return err
		}
		return nil
	}
	return r.client.Update(ctx, cm)
}

// writeSecret creates or updates the export's Secret, when the hash of its
// documents (annotationHash, read from the cached metadata) differs. An
// emptied Secret stays, empty: the manager may not delete Secrets.
func (r *exportReconciler) writeSecret(ctx context.Context, bx *flowsv1alpha1.BlueprintExport, meta *metav1.PartialObjectMetadata, exists bool, data map[string][]byte) error {
	hash := dataHash(data)
	if exists && meta.Annotations[annotationHash] == hash {
		return nil
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: bx.Namespace, Name: bx.ConfigMapName()}, Type: corev1.SecretTypeOpaque}
	if exists {
		s.ObjectMeta = *meta.ObjectMeta.DeepCopy()
	}
	s.Labels = withLabels(s.Labels, bx)
	s.Annotations = withAnnotation(s.Annotations, annotationHash, hash)
	s.Data = data
	if err := controllerutil.SetControllerReference(bx, s, r.client.Scheme()); err != nil {
		return err
	}
	if !exists {
		return r.client.Create(ctx, s)
	}
	// An update replaces the whole Secret: type and data as here, metadata
	// as read (its resourceVersion guards against a concurrent change).
	return r.client.Update(ctx, s)
}

// dataHash is the hash of a Secret's documents, "" for none.
func dataHash(data map[string][]byte) string {
	if len(data) == 0 {
		return ""
	}
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(data[k]))
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func nonNilMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

func withLabels(l map[string]string, bx *flowsv1alpha1.BlueprintExport) map[string]string {
	if l == nil {
		l = map[string]string{}
	}
	l[LabelManagedBy] = managedBy
	l[labelExport] = bx.Name
	return l
}

func withAnnotation(a map[string]string, key, value string) map[string]string {
	if value == "" {
		delete(a, key)
		return a
	}
	if a == nil {
		a = map[string]string{}
	}
	a[key] = value
	return a
}

// applyOrder returns, for each rendered flow, the blueprints (of this
// namespace's published flows) authentik must apply before it: those of the
// flows it finds by slug. An edge that would close a cycle is left out:
// authentik waits for the blueprint it applies first, so two documents
// naming each other would wait forever.
func applyOrder(namespace string, states []flowState) map[string][]string {
	published := map[string]bool{}
	refs := map[string][]string{}
	for _, st := range states {
		if st.result != nil {
			published[st.name] = true
			refs[st.name] = st.result.FlowRefs
		}
	}
	// FlowRefs are slugs; map them to the published flows of those slugs.
	slugs := map[string]string{}
	for _, st := range states {
		if st.result != nil && st.result.Blueprint != nil {
			for _, e := range st.result.Blueprint.Entries {
				if e.Model == modelFlow && e.ID == "flow" {
					if v, ok := e.Identifiers.Get("slug"); ok {
						if s, ok := v.(string); ok {
							slugs[s] = st.name
						}
					}
				}
			}
		}
	}
	edges := map[string][]string{}
	reaches := func(from, to string) bool {
		seen := map[string]bool{}
		stack := []string{from}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == to {
				return true
			}
			if seen[n] {
				continue
			}
			seen[n] = true
			stack = append(stack, edges[n]...)
		}
		return false
	}
	out := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(refs)) {
		for _, slug := range refs[name] {
			target, ok := slugs[slug]
			if !ok || target == name || reaches(target, name) {
				continue
			}
			edges[name] = append(edges[name], target)
			out[name] = append(out[name], export.BlueprintName(namespace, target))
		}
	}
	return out
}

// setup registers the controller. An export is published again when it
// changes, when its ConfigMap or Secret changes (someone edited it), and
// when any stagehand object of its namespace (a cluster-scoped one: of any
// namespace) or a Secret of its namespace changes: any of them may be in a
// published document.
func (r *exportReconciler) setup(mgr ctrl.Manager) error {
	c := mgr.GetClient()
	inNamespace := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list flowsv1alpha1.BlueprintExportList
		opts := []client.ListOption{}
		if obj.GetNamespace() != "" {
			opts = append(opts, client.InNamespace(obj.GetNamespace()))
		}
		if err := c.List(ctx, &list, opts...); err != nil {
			log.FromContext(ctx).Error(err, "listing the BlueprintExports of a namespace", "namespace", obj.GetNamespace())
			return nil
		}
		return requests(&list, nil)
	})
	b := ctrl.NewControllerManagedBy(mgr).
		Named("blueprintexport").
		For(&flowsv1alpha1.BlueprintExport{}, builder.WithPredicates(ownChanges)).
		Owns(&corev1.ConfigMap{}, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		// Secrets' metadata only: the manager never caches Secret data.
		WatchesMetadata(&corev1.Secret{}, inNamespace, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{}))
	for _, k := range flowsv1alpha1.Kinds {
		if k.Kind == flowsv1alpha1.KindBlueprintExport {
			continue
		}
		obj, err := flowsv1alpha1.New(k.Kind)
		if err != nil {
			return err
		}
		b = b.Watches(obj, inNamespace, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{}))
	}
	return b.Complete(r)
}

package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// ConfigMap an export names (stagehand-blueprints or
// stagehand-blueprints-*: flowsv1alpha1.ValidBlueprintConfigMapName),
// labelled as stagehand's and created with the export as its controller
// (garbage-collected with it), and refuses to touch one that belongs to
// something else. It never deletes one. kube-apiserver holds the manager to
// exactly that: config/rbac/blueprint_writes_policy.yaml, a
// ValidatingAdmissionPolicy, refuses its ServiceAccount any other write of a
// ConfigMap or Secret outside its own namespace. Its cache holds only
// ConfigMaps labelled as stagehand's (CacheOptions), and Secrets' metadata
// only; it reads the data of Secrets marked for it only (readableSecret).
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
	ready, warnings, requeue, err := r.publish(ctx, &bx, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	fresh := setConditions(&bx, ready, warnings, metav1.NewTime(now))
	if err := r.status.write(ctx, &bx, before, fresh); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// publish renders the selected flows, writes the ConfigMap and Secret when
// they change, and fills in the status but for its conditions. It returns
// the Ready condition, the warnings (an apply order left out because it
// would close a cycle), and when a deletion's retention ends.
func (r *exportReconciler) publish(ctx context.Context, bx *flowsv1alpha1.BlueprintExport, now time.Time) (metav1.Condition, []warning, time.Duration, error) {
	ns, name := bx.Namespace, bx.ConfigMapName()
	bx.Status.ConfigMap = name
	notReady := func(reason, msg string) metav1.Condition {
		return metav1.Condition{Type: flowsv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: truncate(msg, maxMessage)}
	}

	if !flowsv1alpha1.ValidBlueprintConfigMapName(name) {
		// The schema refuses such a name; an export stored before it did
		// is not written either.
		return notReady(flowsv1alpha1.ReasonReferenceInvalid, fmt.Sprintf(
			"spec.configMapName %q: must be %s or begin with %s-: an export writes no ConfigMap or Secret of another name",
			name, flowsv1alpha1.DefaultBlueprintConfigMap, flowsv1alpha1.DefaultBlueprintConfigMap)), nil, 0, nil
	}

	selector, err := bx.Spec.FlowSelector.Selector()
	if err != nil {
		// The schema bounds a selector; what makes one valid (label key
		// syntax, values for In and NotIn only) is checked here.
		return notReady(flowsv1alpha1.ReasonReferenceInvalid, "spec.flowSelector: "+err.Error()), nil, 0, nil
	}

	// What is published now.
	var cm corev1.ConfigMap
	cmExists, err := r.owned(ctx, r.client, bx, kindConfigMap, types.NamespacedName{Namespace: ns, Name: name}, &cm)
	if err != nil {
		var notOwned notOwnedError
		if errors.As(err, &notOwned) {
			return notReady(flowsv1alpha1.ReasonNotOwned, notOwned.Error()), nil, 0, nil
		}
		return metav1.Condition{}, nil, 0, err
	}
	// The Secret: its metadata from the cache; its data, live, only when
	// it holds documents (the manager never caches Secret data).
	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	secretExists, err := r.owned(ctx, r.client, bx, kindSecret, types.NamespacedName{Namespace: ns, Name: name}, secretMeta)
	if err != nil {
		var notOwned notOwnedError
		if errors.As(err, &notOwned) {
			return notReady(flowsv1alpha1.ReasonNotOwned, notOwned.Error()), nil, 0, nil
		}
		return metav1.Condition{}, nil, 0, err
	}
	var secret corev1.Secret
	if secretExists && secretMeta.Annotations[annotationHash] != "" {
		if err := r.live.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &secret); err != nil {
			return metav1.Condition{}, nil, 0, err
		}
	}
	in, cycles, err := r.input(ctx, bx, selector, &cm, &secret, now)
	if err != nil {
		return metav1.Condition{}, nil, 0, err
	}
	states := in.flows

	pub, err := publish(in)
	if err != nil {
		return metav1.Condition{}, cycles, 0, err
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
			return metav1.Condition{}, cycles, 0, fmt.Errorf("encoding %s: %w", d.key, err)
		}
		p := flowsv1alpha1.PublishedFlow{Name: d.flow, Key: d.key, Hash: blueprint.Hash(b), In: kindConfigMap}
		if d.secret {
			// The status is read by many more than the Secret, and the
			// rest of the document is known to them: the hash of the
			// whole would let them guess the secret offline.
			redacted, err := blueprint.Encode(export.WithoutSecrets(d.doc))
			if err != nil {
				return metav1.Condition{}, cycles, 0, fmt.Errorf("encoding %s: %w", d.key, err)
			}
			p.Hash = blueprint.Hash(redacted)
			p.In = kindSecret
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
			len(pub.docs), size, name, secretSize, maxData)), cycles, 0, nil
	}

	if err := r.writeConfigMap(ctx, bx, &cm, cmExists, cmData); err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			// The namespace, and the export with it, is going away.
			return metav1.Condition{}, cycles, 0, reconcile.TerminalError(err)
		}
		var notOwned notOwnedError
		if errors.As(err, &notOwned) {
			return notReady(flowsv1alpha1.ReasonNotOwned, notOwned.Error()), cycles, 0, nil
		}
		return metav1.Condition{}, cycles, 0, err
	}
	// What is published now: the inventory follows (until then, it is
	// what was published before).
	bx.Status.Inventory = pub.inventory
	if len(secData) > 0 || secretExists {
		var notOwned notOwnedError
		if err := r.writeSecret(ctx, bx, secretMeta, secretExists, secData); errors.As(err, &notOwned) {
			return notReady(flowsv1alpha1.ReasonNotOwned, notOwned.Error()), cycles, 0, nil
		} else if apierrors.IsForbidden(err) {
			return notReady(flowsv1alpha1.ReasonSecretsForbidden, fmt.Sprintf(
				"secrets is Inline, and the documents of %d flows carry secret material, but the manager may not write Secret %q: deploy it with that permission (config/components/blueprint-secrets; Helm: blueprints.inlineSecrets=true), or use secrets: Mount: %v",
				len(secData), name, err)), cycles, pub.nextExpiry, nil
		} else if err != nil {
			return metav1.Condition{}, cycles, 0, err
		}
	}

	if len(heldBack) > 0 {
		msg := joinLimited(heldBack, maxMessage)
		return notReady(flowsv1alpha1.ReasonFlowsHeldBack, msg), cycles, pub.nextExpiry, nil
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
	switch pub.deletions {
	case 0:
	case 1:
		msg += ", with 1 deletion"
	default:
		msg += fmt.Sprintf(", with %d deletions", pub.deletions)
	}
	ready := metav1.Condition{Type: flowsv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: flowsv1alpha1.ReasonPublished, Message: msg}
	return ready, cycles, pub.nextExpiry, nil
}

// input gathers what a publication of bx is computed from: the flows of
// its namespace, those selected rendered (or held back, when not Ready or
// when they cannot be rendered), what it published before (cm and secret,
// read back), its inventory, and the apply order of the documents, with the
// orders left out for a cycle as warnings.
func (r *exportReconciler) input(ctx context.Context, bx *flowsv1alpha1.BlueprintExport, selector labels.Selector, cm *corev1.ConfigMap, secret *corev1.Secret, now time.Time) (publishInput, []warning, error) {
	ns := bx.Namespace
	in := publishInput{
		namespace:  ns,
		flowNames:  map[string]bool{},
		prev:       map[string]*blueprint.Blueprint{},
		prevSecret: map[string]bool{},
		inventory:  bx.Status.Inventory,
		held:       r.held(ctx, bx),
		now:        now,
		retention:  defaultRetention,
	}
	if h := bx.Spec.DeletionRetentionHours; h != nil {
		in.retention = time.Duration(*h) * time.Hour
	}
	read := func(data map[string]string, inSecret bool) {
		for key, text := range data {
			if !strings.HasSuffix(key, ".yaml") {
				continue
			}
			doc, err := blueprint.Decode(key, []byte(text))
			if err != nil {
				// Not ours to understand (edited by hand): it is replaced,
				// and nothing is deleted for it but what the inventory
				// holds.
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

	// The namespace's flows: those selected are published, the document of
	// one that exists but is not selected is deselected.
	var flows flowsv1alpha1.FlowList
	if err := r.client.List(ctx, &flows, client.InNamespace(ns)); err != nil {
		return publishInput{}, nil, err
	}
	for i := range flows.Items {
		in.flowNames[flows.Items[i].Name] = true
	}

	opts := export.Options{SecretMountRoot: bx.Spec.SecretMountRoot}
	if bx.Spec.Secrets == flowsv1alpha1.SecretHandlingInline {
		// Only a Secret marked for stagehand is read; one that is not is
		// reported as one that does not exist.
		opts.SecretValue = func(ref flowsv1alpha1.SecretKeyReference) (string, error) {
			s, err := readableSecret(ctx, r.live, ns, ref.Name)
			if err != nil {
				return "", err
			}
			if s == nil {
				return "", fmt.Errorf("the Secret %q is %s", ref.Name, secretNotReadable(ns))
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
			return publishInput{}, nil, err
		}
		res, err := export.Render(f, bindings.Items, lookup, opts)
		if err != nil {
			// The cache moved on since the flow was last evaluated (a stage
			// just deleted, say): held back until it is evaluated again.
			st.heldBack = err.Error()
			states = append(states, st)
			continue
		}
		st.result = res
		states = append(states, st)
	}

	// authentik finds a flow another document declares (a recovery flow,
	// say) by slug: it applies that document first, if it is one of ours
	// and no cycle forbids it.
	applyFirst, cycles := applyOrder(ns, states)
	for i := range states {
		if st := &states[i]; st.result != nil {
			st.result.ApplyFirst(applyFirst[st.name]...)
		}
	}
	in.flows = states
	return in, cycles, nil
}

// The kinds an export writes, as its status and messages name them.
const (
	kindConfigMap = "ConfigMap"
	kindSecret    = "Secret"
)

// notOwnedError is a ConfigMap or Secret to write that belongs to something
// else.
type notOwnedError struct {
	kind, name string
}

func (e notOwnedError) Error() string {
	return fmt.Sprintf("%s %q exists and is not this BlueprintExport's: stagehand does not overwrite it (choose another spec.configMapName, or delete it)", e.kind, e.name)
}

// owned reads the ConfigMap or Secret (kind) key into obj (the object, or
// its metadata), reporting whether it exists; a notOwnedError when it is
// not the export's.
func (r *exportReconciler) owned(ctx context.Context, reader client.Reader, bx *flowsv1alpha1.BlueprintExport, kind string, key types.NamespacedName, obj client.Object) (bool, error) {
	if err := reader.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	if !metav1.IsControlledBy(obj, bx) {
		return true, notOwnedError{kind: kind, name: key.Name}
	}
	return true, nil
}

// writeConfigMap creates or updates the export's ConfigMap, when its data
// differs from what it holds.
func (r *exportReconciler) writeConfigMap(ctx context.Context, bx *flowsv1alpha1.BlueprintExport, cm *corev1.ConfigMap, exists bool, data map[string]string) error {
	if exists && equality.Semantic.DeepEqual(nonNilMap(cm.Data), data) {
		return nil
	}
	if !exists {
		*cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: bx.Namespace, Name: bx.ConfigMapName()}}
	}
	cm.Labels = withLabels(cm.Labels, bx)
	cm.Data = data
	if err := controllerutil.SetControllerReference(bx, cm, r.client.Scheme()); err != nil {
		return err
	}
	if !exists {
		// The cache holds only stagehand's ConfigMaps: one of that name
		// that is not is found only now.
		if err := r.client.Create(ctx, cm); apierrors.IsAlreadyExists(err) {
			return notOwnedError{kind: kindConfigMap, name: cm.Name}
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
		// One the metadata cache does not show yet is found only now.
		if err := r.client.Create(ctx, s); apierrors.IsAlreadyExists(err) {
			return notOwnedError{kind: kindSecret, name: s.Name}
		} else if err != nil {
			return err
		}
		return nil
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
// namespace's flows rendered now) authentik must apply before it: those of
// the flows it finds (export.Result.FlowRefs, Flow object names). An order
// that would close a cycle is left out, and returned as a warning: authentik
// waits for the blueprint it applies first, so two documents naming each
// other would wait forever.
func applyOrder(namespace string, states []flowState) (map[string][]string, []warning) {
	refs := map[string][]string{}
	for _, st := range states {
		if st.result != nil {
			refs[st.name] = st.result.FlowRefs
		}
	}
	edges := map[string][]string{}
	// path is the chain of apply-first orders from from to to, nil when
	// there is none.
	path := func(from, to string) []string {
		prev := map[string]string{from: ""}
		queue := []string{from}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			if n == to {
				var out []string
				for ; n != ""; n = prev[n] {
					out = append(out, n)
				}
				slices.Reverse(out)
				return out
			}
			for _, m := range edges[n] {
				if _, seen := prev[m]; !seen {
					prev[m] = n
					queue = append(queue, m)
				}
			}
		}
		return nil
	}
	out := map[string][]string{}
	var cycles []warning
	for _, name := range slices.Sorted(maps.Keys(refs)) {
		for _, target := range refs[name] {
			if _, rendered := refs[target]; !rendered || target == name {
				continue
			}
			if back := path(target, name); back != nil {
				chain := make([]string, 0, len(back))
				for _, n := range back {
					chain = append(chain, fmt.Sprintf("Flow %q", n))
				}
				cycles = append(cycles, warning{
					Reason: flowsv1alpha1.ReasonApplyOrderCycle,
					Message: fmt.Sprintf("Flow %q finds Flow %q, whose document already waits for its own (%s): authentik cannot apply each first, so Flow %q's document does not wait for Flow %q's, and its reference to that flow is empty until authentik has applied both",
						name, target, strings.Join(chain, " waits for "), name, target),
				})
				continue
			}
			edges[name] = append(edges[name], target)
			out[name] = append(out[name], export.BlueprintName(namespace, target))
		}
	}
	return out, cycles
}

// setup registers the controller. An export is published again when it
// changes, when its ConfigMap or Secret changes (someone edited it), and
// when any stagehand object of its namespace (a cluster-scoped one: of any
// namespace) or a Secret of its namespace changes: any of them may be in a
// published document. It is also published again when a Flow or stage of
// another namespace with a slug or name it keeps comes or goes, or another
// export starts or stops declaring one of the objects it keeps.
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
	if err := registerInventoryIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("blueprintexport").
		For(&flowsv1alpha1.BlueprintExport{}, builder.WithPredicates(ownChanges)).
		// The other exports that keep what an export starts or stops
		// declaring.
		Watches(&flowsv1alpha1.BlueprintExport{}, otherExports(c)).
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
		if k.Kind == flowsv1alpha1.KindFlow || k.Stage {
			// In any namespace: a slug or stage name an export keeps.
			b = b.Watches(obj, keepers(c), builder.WithPredicates(predicate.GenerationChangedPredicate{}))
		}
	}
	return b.Complete(r)
}

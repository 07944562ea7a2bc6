// Package export renders a stagehand Flow as an authentik blueprint: one
// document that, applied by authentik, makes authentik's flow, stages and
// bindings what the cluster declares.
//
// The document holds the flow, each stage bound to it, each stage those
// stages reference (an identification stage's password, captcha and
// WebAuthn stages, a validation stage's configuration stages), each once,
// and the bindings, in that order: authentik applies entries in order, and
// an entry may only point (!KeyOf) at one before it. Objects are identified
// as authentik's own default blueprints identify them (flows by slug, stages
// by name, bindings by target, stage and order), never by a cluster UID,
// so one document means the same on every authentik. What lives outside the
// document is found with !Find: other flows by slug, sources by slug,
// WebAuthn device types by AAGUID.
//
// Every field stagehand knows is written, authentik's default where the
// manifest leaves it unset, with state present: each apply brings authentik
// back to what the cluster declares, whatever was changed by hand in
// authentik meanwhile. Unset references are written as null, so that
// removing one from a manifest removes it in authentik.
//
// The captcha private key does not pass through stagehand: the document
// reads it with !File from where authentik's worker mounts the Secret
// (authentik's Helm chart mounts each Secret listed in blueprints.secrets at
// /blueprints/mounted/secret-<name>/). Options.SecretValue writes it inline
// instead, for documents stored in a Secret.
//
// Render is pure: it reads only through the Lookup it is given, and the
// same objects always give the same document (and, encoded, the same
// bytes).
package export

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// DefaultSecretMountRoot is where authentik's Helm chart mounts, on the
// worker, the Secrets listed in its blueprints.secrets value: each at
// <root>/secret-<name>/, one file per key.
const DefaultSecretMountRoot = "/blueprints/mounted"

// Options change how a flow is rendered. The zero value is the default:
// no secret material in the document, no other blueprint applied first,
// nothing deleted.
type Options struct {
	// SecretValue, when set, supplies the value of a key of a Secret (a
	// CaptchaStage's private key), which the document then carries inline,
	// white space trimmed as authentik trims a file's:
	// Result.SecretMaterial is true, and the document must be stored in a
	// Secret, never a ConfigMap. When nil, the document carries no secret:
	// it reads the key with !File, from where authentik's worker mounts the
	// Secret, and Result.MountedSecrets names the Secrets to mount.
	SecretValue func(ref flowsv1alpha1.SecretKeyReference) (string, error)

	// SecretMountRoot is the directory under which authentik's worker
	// mounts each Secret as secret-<name>/. Empty means
	// DefaultSecretMountRoot, the Helm chart's.
	SecretMountRoot string
}

// Result is a rendered flow.
type Result struct {
	// Blueprint is the document.
	Blueprint *blueprint.Blueprint

	// DependsOn lists every object the document was rendered from, sorted:
	// when one of them changes (or appears), the document may change. A
	// Secret is listed only when its value is in the document.
	DependsOn []Object

	// MountedSecrets names the Secrets the document reads with !File,
	// sorted: authentik's worker must mount each (the Helm chart's
	// blueprints.secrets), or the stages that need them fail to apply.
	MountedSecrets []string

	// SecretMaterial is true when the document carries a secret's value
	// (Options.SecretValue): store it in a Secret, never a ConfigMap.
	SecretMaterial bool

	// FlowRefs names, sorted, the other Flows (their object names) the
	// document finds by slug (a stage's recovery or configure flow, ...):
	// candidates for ApplyFirst.
	FlowRefs []string
}

// ApplyFirst makes the document apply the blueprints named (their
// metadata.name: BlueprintName) before the rest of it, as authentik's own
// default authentication flow applies the password change flow's first: a
// !Find of an object another document creates finds nothing (and sets the
// reference to null) until that document has been applied. Each becomes an
// authentik_blueprints.metaapplyblueprint entry, first in the document and
// not required (a name no blueprint has is skipped). authentik applies the
// named blueprint and waits for it: two documents must never name each
// other, directly or through others.
func (res *Result) ApplyFirst(names ...string) {
	var first []blueprint.Entry
	for _, name := range dedupe(names) {
		first = append(first, blueprint.Entry{
			Model: modelApplyBlueprint,
			Attrs: blueprint.Map{
				{Key: "identifiers", Value: blueprint.Map{{Key: "name", Value: name}}},
				{Key: "required", Value: false},
			},
		})
	}
	res.Blueprint.Entries = append(first, res.Blueprint.Entries...)
}

// Object names an object a document depends on: by kind and name, in the
// flow's namespace (or the cluster, for a cluster-scoped kind).
type Object struct {
	Kind string
	Name string
}

func (o Object) String() string { return fmt.Sprintf("%s %q", o.Kind, o.Name) }

// MissingError is returned by Render when objects the flow needs do not
// exist: a bound stage, a stage a stage references, a flow, a source or a
// device type. A flow that is Ready has none.
type MissingError struct {
	// Flow is the flow being rendered, namespace/name.
	Flow string
	// Missing lists each missing object once, with the first reference to
	// it.
	Missing []Missing
}

// Missing is one object that does not exist, and who needs it.
type Missing struct {
	Object
	// By is the reference, as a person reads it: `spec.passwordStageRef of
	// IdentificationStage "login"`.
	By string
}

func (e *MissingError) Error() string {
	parts := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		parts[i] = fmt.Sprintf("%s (%s)", m.Object, m.By)
	}
	return fmt.Sprintf("flow %s cannot be rendered: not found: %s", e.Flow, strings.Join(parts, "; "))
}

// BlueprintName is the metadata.name of the document of the flow name in
// namespace: unique per Flow object in a cluster.
func BlueprintName(namespace, name string) string {
	return "stagehand " + namespace + "/" + name
}

// Render renders flow, with its bindings (every FlowStageBinding whose
// targetRef names it; others are an error), as one blueprint document.
// lookup finds every other object the document needs. When objects are
// missing, the error is a *MissingError naming all of them.
func Render(flow *flowsv1alpha1.Flow, bindings []flowsv1alpha1.FlowStageBinding, lookup Lookup, opts Options) (*Result, error) {
	if flow == nil || lookup == nil {
		return nil, errors.New("Render needs a flow and a lookup")
	}
	r := &renderer{
		flow:     flow,
		lookup:   lookup,
		opts:     opts,
		ids:      map[string]bool{},
		byKey:    map[string]*stage{},
		deps:     map[Object]bool{},
		secrets:  map[string]bool{},
		flowRefs: map[string]bool{},
		missed:   map[Object]bool{},
	}
	if r.opts.SecretMountRoot == "" {
		r.opts.SecretMountRoot = DefaultSecretMountRoot
	}
	return r.render(bindings)
}

type renderer struct {
	flow   *flowsv1alpha1.Flow
	lookup Lookup
	opts   Options

	ids     map[string]bool   // entry ids taken
	stages  []*stage          // in document order
	byKey   map[string]*stage // by kind/name
	path    []string          // stages being visited, for cycles
	missing []Missing
	missed  map[Object]bool

	deps     map[Object]bool
	secrets  map[string]bool
	flowRefs map[string]bool
	inline   bool
}

// stage is a stage of the document.
type stage struct {
	kind flowsv1alpha1.StageKind
	obj  client.Object
	id   string
	done bool
}

func stageKey(kind flowsv1alpha1.StageKind, name string) string { return string(kind) + "/" + name }

// refKey names the stage a StageReference names: kind/name for a stage
// object, model/name for a stage that lives only in authentik.
func refKey(ref flowsv1alpha1.StageReference) string {
	if ref.IsExternal() {
		return ref.Model + "/" + ref.Name
	}
	return stageKey(ref.Kind, ref.Name)
}

// describeRef names the stage a StageReference names, for a person.
func describeRef(ref flowsv1alpha1.StageReference) string {
	if ref.IsExternal() {
		return fmt.Sprintf("%s %q (in authentik)", ref.Model, ref.Name)
	}
	return fmt.Sprintf("%s %q", ref.Kind, ref.Name)
}

func (r *renderer) flowName() string { return r.flow.Namespace + "/" + r.flow.Name }

func (r *renderer) render(bindings []flowsv1alpha1.FlowStageBinding) (*Result, error) {
	plan, err := r.plan(bindings)
	if err != nil {
		return nil, err
	}
	r.claim(flowEntryID)
	for _, b := range plan {
		if b.Spec.StageRef.IsExternal() {
			continue
		}
		by := fmt.Sprintf("spec.stageRef of FlowStageBinding %q", b.Name)
		if err := r.visit(b.Spec.StageRef.Kind, b.Spec.StageRef.Name, by); err != nil {
			return nil, err
		}
	}
	if err := r.uniqueStageNames(plan); err != nil {
		return nil, err
	}

	doc := &blueprint.Blueprint{
		Version: blueprint.Version,
		Metadata: &blueprint.Metadata{
			Name: BlueprintName(r.flow.Namespace, r.flow.Name),
			Labels: map[string]string{
				blueprint.LabelDescription: fmt.Sprintf("Managed by stagehand from Flow %s in Kubernetes; changes made in authentik are overwritten.", r.flowName()),
			},
		},
	}
	flowAttrs, err := r.flowAttrs()
	if err != nil {
		return nil, err
	}
	doc.Entries = append(doc.Entries, blueprint.Entry{
		Model:       modelFlow,
		ID:          flowEntryID,
		State:       blueprint.StatePresent,
		Identifiers: blueprint.Map{{Key: "slug", Value: r.flow.EffectiveSlug()}},
		Attrs:       flowAttrs,
	})
	for _, s := range r.stages {
		attrs, err := stageKinds[s.kind](r, s.obj)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", s.kind, s.obj.GetName(), err)
		}
		doc.Entries = append(doc.Entries, blueprint.Entry{
			Model:       mustModel(string(s.kind)),
			ID:          s.id,
			State:       blueprint.StatePresent,
			Identifiers: blueprint.Map{{Key: "name", Value: stageName(s.obj)}},
			Attrs:       attrs,
		})
	}
	for i := range plan {
		doc.Entries = append(doc.Entries, r.binding(&plan[i]))
	}

	if len(r.missing) > 0 {
		return nil, &MissingError{Flow: r.flowName(), Missing: r.missing}
	}

	res := &Result{Blueprint: doc, SecretMaterial: r.inline}
	if err := doc.Validate(); err != nil {
		// A bug in the renderer, not in the objects.
		return nil, fmt.Errorf("rendering flow %s gave an invalid document: %w", r.flowName(), err)
	}
	for o := range r.deps {
		res.DependsOn = append(res.DependsOn, o)
	}
	slices.SortFunc(res.DependsOn, func(a, b Object) int {
		return strings.Compare(a.Kind+"\x00"+a.Name, b.Kind+"\x00"+b.Name)
	})
	res.MountedSecrets = slices.Sorted(maps.Keys(r.secrets))
	res.FlowRefs = slices.Sorted(maps.Keys(r.flowRefs))
	return res, nil
}

// plan is the flow's bindings in the order authentik runs them (order,
// then binding name, as the Flow's status lists them), after checking that
// each targets the flow and none repeats another.
func (r *renderer) plan(bindings []flowsv1alpha1.FlowStageBinding) ([]flowsv1alpha1.FlowStageBinding, error) {
	plan := slices.Clone(bindings)
	slices.SortFunc(plan, func(a, b flowsv1alpha1.FlowStageBinding) int {
		if a.Spec.Order != b.Spec.Order {
			if a.Spec.Order < b.Spec.Order {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	seen := map[string]string{}
	for i := range plan {
		b := &plan[i]
		if b.Namespace != r.flow.Namespace || b.Spec.TargetRef.Name != r.flow.Name {
			return nil, fmt.Errorf("FlowStageBinding %s/%s does not bind a stage to flow %s", b.Namespace, b.Name, r.flowName())
		}
		ref := b.Spec.StageRef
		if _, ok := stageKinds[ref.Kind]; !ok && !ref.IsExternal() {
			return nil, fmt.Errorf("FlowStageBinding %q binds a %s, which stagehand cannot render yet", b.Name, ref.Kind)
		}
		key := refKey(ref) + "@" + strconv.Itoa(int(b.Spec.Order))
		if other, dup := seen[key]; dup {
			return nil, fmt.Errorf("FlowStageBindings %q and %q both bind %s at order %d: authentik allows one", other, b.Name, describeRef(ref), b.Spec.Order)
		}
		seen[key] = b.Name
	}
	return plan, nil
}

// visit adds a stage to the document after every stage it references (an
// entry may only point at entries before it).
func (r *renderer) visit(kind flowsv1alpha1.StageKind, name, by string) error {
	key := stageKey(kind, name)
	if s, ok := r.byKey[key]; ok {
		if !s.done {
			cycle := append(slices.Clone(r.path[slices.Index(r.path, key):]), key)
			return fmt.Errorf("stages reference each other in a cycle (%s): a blueprint cannot create them, as each must exist before the other", strings.Join(cycle, " → "))
		}
		return nil
	}
	attrs := stageKinds[kind]
	if attrs == nil {
		return fmt.Errorf("%s %q (%s) is a %s, which stagehand cannot render yet", kind, name, by, kind)
	}
	obj, err := r.get(string(kind), name, by)
	if obj == nil || err != nil {
		return err
	}
	s := &stage{kind: kind, obj: obj}
	r.byKey[key] = s
	r.path = append(r.path, key)
	for _, ref := range refs.Of(obj) {
		if k, _ := flowsv1alpha1.LookupKind(ref.Kind); !k.Stage {
			continue
		}
		if err := r.visit(flowsv1alpha1.StageKind(ref.Kind), ref.Name, fmt.Sprintf("%s of %s %q", ref.Field, kind, name)); err != nil {
			return err
		}
	}
	r.path = r.path[:len(r.path)-1]
	s.done = true
	s.id = r.claim(stageName(obj))
	r.stages = append(r.stages, s)
	return nil
}

// uniqueStageNames refuses two stages of different kinds with one name:
// authentik's stage names are unique across every kind. That includes the
// stages that live only in authentik which the document finds by model and
// name: a stage of the document with that name would be another one.
func (r *renderer) uniqueStageNames(plan []flowsv1alpha1.FlowStageBinding) error {
	byName := map[string]*stage{}
	for _, s := range r.stages {
		name := stageName(s.obj)
		if other, dup := byName[name]; dup {
			return fmt.Errorf("%s have the same name, and authentik's stage names are unique across all kinds: both are %q in authentik; rename one (spec.name)", bothStages(other, s), name)
		}
		byName[name] = s
	}
	external := func(model, name, by string) error {
		if s, ok := byName[name]; ok {
			return fmt.Errorf("%s names authentik's %s %q, but %s %q has that name in the document, and authentik's stage names are unique across all kinds", by, model, name, s.kind, s.obj.GetName())
		}
		return nil
	}
	for _, b := range plan {
		if ref := b.Spec.StageRef; ref.IsExternal() {
			if err := external(ref.Model, ref.Name, fmt.Sprintf("FlowStageBinding %q", b.Name)); err != nil {
				return err
			}
		}
	}
	for _, s := range r.stages {
		for _, ref := range refs.Of(s.obj) {
			if ref.Model != "" {
				if err := external(ref.Model, ref.Name, fmt.Sprintf("%s of %s %q", ref.Field, s.kind, s.obj.GetName())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// stageName is a stage's name in authentik, which identifies it there:
// spec.name, else metadata.name (flowsv1alpha1.Stage).
func stageName(obj client.Object) string {
	if s, ok := obj.(flowsv1alpha1.Stage); ok {
		return s.StageName()
	}
	return obj.GetName()
}

// bothStages names two stage objects for a person.
func bothStages(a, b *stage) string {
	return fmt.Sprintf("%s %q and %s %q", a.kind, a.obj.GetName(), b.kind, b.obj.GetName())
}

// claim takes an entry id: want, or want-2, want-3, ... when taken.
func (r *renderer) claim(want string) string {
	id := want
	for n := 2; r.ids[id]; n++ {
		id = want + "-" + strconv.Itoa(n)
	}
	r.ids[id] = true
	return id
}

// get looks an object up, recording it as a dependency, and as missing
// (returning nil and no error) when it does not exist.
func (r *renderer) get(kind, name, by string) (client.Object, error) {
	o := Object{Kind: kind, Name: name}
	r.deps[o] = true
	obj, err := r.lookup(kind, name)
	if apierrors.IsNotFound(err) || (err == nil && obj == nil) {
		if !r.missed[o] {
			r.missed[o] = true
			r.missing = append(r.missing, Missing{Object: o, By: by})
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", o, err)
	}
	return obj, nil
}

func (r *renderer) binding(b *flowsv1alpha1.FlowStageBinding) blueprint.Entry {
	sp := &b.Spec
	return blueprint.Entry{
		Model: modelBinding,
		State: blueprint.StatePresent,
		Identifiers: blueprint.Map{
			{Key: "target", Value: &blueprint.KeyOf{ID: flowEntryID}},
			{Key: "stage", Value: r.stageRef(sp.StageRef)},
			{Key: "order", Value: int64(sp.Order)},
		},
		Attrs: blueprint.Map{
			{Key: "evaluate_on_plan", Value: boolOr(sp.EvaluateOnPlan, false)},
			{Key: "re_evaluate_policies", Value: boolOr(sp.ReEvaluatePolicies, true)},
			{Key: "policy_engine_mode", Value: orDefault(string(sp.PolicyEngineMode), defaultPolicyEngineMode)},
			{Key: "invalid_response_action", Value: orDefault(string(sp.InvalidResponseAction), defaultInvalidResponseAction)},
		},
	}
}

// stageRef is the value of a reference to a stage: !KeyOf its entry for a
// stage object (nil when it is missing, and the render fails anyway), or a
// !Find by model and name for a stage that lives only in authentik.
func (r *renderer) stageRef(ref flowsv1alpha1.StageReference) any {
	if ref.IsExternal() {
		return blueprint.FindBy(ref.Model, "name", ref.Name)
	}
	s, ok := r.byKey[stageKey(ref.Kind, ref.Name)]
	if !ok {
		return nil
	}
	return &blueprint.KeyOf{ID: s.id}
}

// flowRef is the value of a reference to a flow: blueprint.Null when
// unset, !KeyOf flow for this very flow, else a !Find of the flow by its
// slug.
func (r *renderer) flowRef(ref *flowsv1alpha1.LocalObjectReference, by string) (any, error) {
	if ref == nil {
		return blueprint.Null(modelFlow), nil
	}
	if ref.Name == r.flow.Name {
		return &blueprint.KeyOf{ID: flowEntryID}, nil
	}
	obj, err := r.get(flowsv1alpha1.KindFlow, ref.Name, by)
	if obj == nil || err != nil {
		return nil, err
	}
	f, ok := obj.(*flowsv1alpha1.Flow)
	if !ok {
		return nil, fmt.Errorf("lookup of Flow %q gave a %T", ref.Name, obj)
	}
	r.flowRefs[ref.Name] = true
	return blueprint.FindBy(modelFlow, "slug", f.EffectiveSlug()), nil
}

// source is a !Find of a source by its slug.
func (r *renderer) source(ref flowsv1alpha1.LocalObjectReference, by string) (any, error) {
	obj, err := r.get(flowsv1alpha1.KindSource, ref.Name, by)
	if obj == nil || err != nil {
		return nil, err
	}
	s, ok := obj.(*flowsv1alpha1.Source)
	if !ok {
		return nil, fmt.Errorf("lookup of Source %q gave a %T", ref.Name, obj)
	}
	slug := s.Spec.Slug
	if slug == "" {
		slug = s.Name
	}
	return blueprint.FindBy(modelSource, "slug", slug), nil
}

// deviceType is a !Find of a WebAuthn device type by its AAGUID.
func (r *renderer) deviceType(ref flowsv1alpha1.LocalObjectReference, by string) (any, error) {
	obj, err := r.get(flowsv1alpha1.KindWebAuthnDeviceType, ref.Name, by)
	if obj == nil || err != nil {
		return nil, err
	}
	dt, ok := obj.(*flowsv1alpha1.WebAuthnDeviceType)
	if !ok {
		return nil, fmt.Errorf("lookup of WebAuthnDeviceType %q gave a %T", ref.Name, obj)
	}
	return blueprint.FindBy(modelDeviceType, "aaguid", strings.ToLower(dt.Spec.AAGUID)), nil
}

// secret is the value of a Secret's key: inline when the caller supplies
// it, else a !File of where authentik's worker mounts it.
func (r *renderer) secret(ref flowsv1alpha1.SecretKeyReference) (any, error) {
	if r.opts.SecretValue != nil {
		v, err := r.opts.SecretValue(ref)
		if err != nil {
			return nil, fmt.Errorf("reading key %q of Secret %q: %w", ref.Key, ref.Name, err)
		}
		r.deps[Object{Kind: refs.KindSecret, Name: ref.Name}] = true
		r.inline = true
		// As !File does: authentik strips the file's content, so a key
		// written with a trailing newline (kubectl create secret
		// --from-file) works the same either way.
		return strings.TrimSpace(v), nil
	}
	r.secrets[ref.Name] = true
	return &blueprint.File{Path: SecretPath(r.opts.SecretMountRoot, ref)}, nil
}

// SecretPath is where authentik's worker reads the key of a Secret mounted
// under root (DefaultSecretMountRoot with authentik's Helm chart).
func SecretPath(root string, ref flowsv1alpha1.SecretKeyReference) string {
	return path.Join(root, "secret-"+ref.Name, ref.Key)
}

func dedupe(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// Flow is authentik 2026.8's FlowSerializer.
//
// What stagehand cannot know is sent as authentik sends it for a flow just
// created: policies [] (stagehand models no policies), cache_count 0 (no
// plan of the flow is in authentik's cache), background_themed_urls null
// (authentik's when the background has no %(theme)s variants).
//
// background: authentik 2025.12 sends the background's URL there; 2026.8
// sends the stored value, which for a /static path or an http(s) URL (all
// stagehand admits) is the URL too, except that a flow without a background
// has "" there in 2026.8. stagehand sends the URL, as background_url, so
// that a 2025.12 client shows the default image and a 2026.8 client reads a
// background that is the one shown.
type Flow struct {
	PK                      string                           `json:"pk"`
	PolicyBindingModelPtrID string                           `json:"policybindingmodel_ptr_id"`
	Name                    string                           `json:"name"`
	Slug                    string                           `json:"slug"`
	Title                   string                           `json:"title"`
	Designation             flowsv1alpha1.FlowDesignation    `json:"designation"`
	Background              string                           `json:"background"`
	BackgroundURL           string                           `json:"background_url"`
	BackgroundThemedURLs    *ThemedURLs                      `json:"background_themed_urls"`
	Stages                  []string                         `json:"stages"`
	Policies                []string                         `json:"policies"`
	CacheCount              int                              `json:"cache_count"`
	PolicyEngineMode        flowsv1alpha1.PolicyEngineMode   `json:"policy_engine_mode"`
	CompatibilityMode       bool                             `json:"compatibility_mode"`
	ExportURL               string                           `json:"export_url"`
	Layout                  flowsv1alpha1.FlowLayout         `json:"layout"`
	DeniedAction            flowsv1alpha1.DeniedAction       `json:"denied_action"`
	Authentication          flowsv1alpha1.FlowAuthentication `json:"authentication"`
}

// ThemedURLs is authentik's ThemedUrls: a file's URL for each theme, for a
// file whose name holds %(theme)s. stagehand always sends null.
type ThemedURLs struct {
	Light *string `json:"light"`
	Dark  *string `json:"dark"`
}

// Stage is authentik's StageSerializer, the stage_obj of a binding: the
// fields every stage body starts with.
type Stage struct {
	stageMeta
}

// FlowStageBinding is authentik's FlowStageBindingSerializer.
type FlowStageBinding struct {
	PK                      string                              `json:"pk"`
	PolicyBindingModelPtrID string                              `json:"policybindingmodel_ptr_id"`
	Target                  string                              `json:"target"`
	Stage                   string                              `json:"stage"`
	StageObj                Stage                               `json:"stage_obj"`
	EvaluateOnPlan          bool                                `json:"evaluate_on_plan"`
	ReEvaluatePolicies      bool                                `json:"re_evaluate_policies"`
	Order                   int32                               `json:"order"`
	PolicyEngineMode        flowsv1alpha1.PolicyEngineMode      `json:"policy_engine_mode"`
	InvalidResponseAction   flowsv1alpha1.InvalidResponseAction `json:"invalid_response_action"`

	// stage is the bound stage, for finish to render stage_obj's flow_set.
	stage client.Object
}

// authentik's defaults for a flow's and a binding's fields, rendered when a
// field is unset in an object the API server did not default.
const (
	defaultAuthentication        = flowsv1alpha1.FlowAuthentication("none")
	defaultInvalidResponseAction = flowsv1alpha1.InvalidResponseAction("retry")
)

// flow renders a Flow without its stages.
func (rv *resolver) flow(_ context.Context, f *flowsv1alpha1.Flow) (*Flow, error) {
	sp := &f.Spec
	slug := f.EffectiveSlug()
	bg := backgroundURL(f)
	out := &Flow{
		PK:                      string(f.UID),
		PolicyBindingModelPtrID: PolicyBindingModelPtrID(f.UID),
		Name:                    f.EffectiveName(),
		Slug:                    slug,
		Title:                   sp.Title,
		Designation:             sp.Designation,
		Background:              bg,
		BackgroundURL:           bg,
		Stages:                  []string{},
		Policies:                []string{},
		PolicyEngineMode:        flowsv1alpha1.PolicyEngineMode(orDefault(string(sp.PolicyEngineMode), defaultPolicyEngineMode)),
		CompatibilityMode:       boolOr(sp.CompatibilityMode, false),
		ExportURL:               ExportURL(slug),
		Layout:                  flowsv1alpha1.FlowLayout(orDefault(string(sp.Layout), defaultLayout)),
		DeniedAction:            flowsv1alpha1.DeniedAction(orDefault(string(sp.DeniedAction), defaultDeniedAction)),
		Authentication:          flowsv1alpha1.FlowAuthentication(orDefault(string(sp.Authentication), string(defaultAuthentication))),
	}
	return out, nil
}

// bindingsOf lists the FlowStageBindings that reference obj (of kind kind)
// by name in its namespace, through the refs index.
func (rv *resolver) bindingsOf(ctx context.Context, kind string, obj client.Object) ([]flowsv1alpha1.FlowStageBinding, error) {
	var bindings flowsv1alpha1.FlowStageBindingList
	key := refs.KeyOf(kind, obj)
	if err := rv.r.List(ctx, &bindings, client.MatchingFields{refs.Index: key}, noCopy); err != nil {
		return nil, fmt.Errorf("listing the bindings of %s: %w", key, err)
	}
	return bindings.Items, nil
}

// A request's cost must be linear in what it reads and returns, however
// many bindings one tenant creates: so nothing here scans a flow's bindings
// once per binding. What a stage's or a flow's bindings give is worked out
// once, as a plan, and kept for the request (and, with the memo, until the
// next change in the namespace): a stage's plan says which of its bindings
// authentik would have (shadowing) and holds its flow_set; a flow's plan
// holds its stages.

// shadowKey is what authentik's FlowStageBinding is unique on: a flow, a
// stage and an order.
type shadowKey struct {
	target flowsv1alpha1.LocalObjectReference
	stage  flowsv1alpha1.StageReference
	order  int32
}

// shadowedIn returns the names of the bindings, among bindings (of one
// namespace), that another binding of the same flow, stage and order
// shadows: the one there first (created earlier; by name when created in
// the same second) is served, the others not. authentik has one binding per
// flow, stage and order (FlowStageBinding is unique on them): it would have
// refused the later ones, so the API serves only the first, in flow_set, a
// flow's stages and the bindings endpoint. (The controllers report every
// binding of such a set not Ready, naming the others.) bindings must hold
// every binding of each set: all the bindings of a flow, or of a stage, do.
func shadowedIn(bindings []flowsv1alpha1.FlowStageBinding) map[string]bool {
	first := make(map[shadowKey]*flowsv1alpha1.FlowStageBinding, len(bindings))
	var shadowed map[string]bool
	for i := range bindings {
		b := &bindings[i]
		k := shadowKey{b.Spec.TargetRef, b.Spec.StageRef, b.Spec.Order}
		f, ok := first[k]
		if !ok {
			first[k] = b
			continue
		}
		if shadowed == nil {
			shadowed = map[string]bool{}
		}
		if c := b.CreationTimestamp.Compare(f.CreationTimestamp.Time); c < 0 || (c == 0 && b.Name < f.Name) {
			shadowed[f.Name] = true
			first[k] = b
		} else {
			shadowed[b.Name] = true
		}
	}
	return shadowed
}

// stagePlan is what a stage's bindings give: which of them authentik would
// have, and the stage's flow_set. Shared: never modify it.
type stagePlan struct {
	// shadowed names the stage's bindings another shadows (shadowedIn).
	shadowed map[string]bool
	// flowSet is the stage's flow_set: one element per FlowStageBinding
	// that binds the stage, for each binding whose flow exists (a binding
	// whose flow is gone is left out, as authentik leaves out a deleted
	// row), but for the bindings shadowed, sorted by the flow's slug, then
	// the binding's order, then the binding's name, so the order is stable
	// across requests and replicas.
	flowSet []FlowSet

	// flowSetJSON is flowSet's JSON, encoded when first asked for.
	flowSetJSON func() []byte
}

// json is the JSON of the stage's flow_set, encoded once however many
// bodies hold it (a page of bindings of one stage holds it once each).
func (p *stagePlan) json() []byte { return p.flowSetJSON() }

// stagePlan returns the plan of a stage of kind kind.
func (rv *resolver) stagePlan(ctx context.Context, kind flowsv1alpha1.StageKind, stage client.Object) (*stagePlan, error) {
	key := "stage/" + refs.KeyOf(string(kind), stage)
	p, err := rv.plan(ctx, stage.GetNamespace(), key, func() (any, error) { return rv.buildStagePlan(ctx, kind, stage) })
	if err != nil {
		return nil, err
	}
	return p.(*stagePlan), nil
}

// buildStagePlan lists the stage's bindings once, and reads each of their
// flows once.
func (rv *resolver) buildStagePlan(ctx context.Context, kind flowsv1alpha1.StageKind, stage client.Object) (*stagePlan, error) {
	bindings, err := rv.bindingsOf(ctx, string(kind), stage)
	if err != nil {
		return nil, err
	}
	// The index key already names the stage's kind, namespace and name;
	// check anyway, so that a binding can never lend its flow to a stage it
	// does not bind.
	bindings = slices.DeleteFunc(bindings, func(b flowsv1alpha1.FlowStageBinding) bool {
		return b.Spec.StageRef.Kind != kind || b.Spec.StageRef.Name != stage.GetName() || b.Namespace != stage.GetNamespace()
	})
	plan := &stagePlan{shadowed: shadowedIn(bindings)}
	type bound struct {
		set     *FlowSet
		order   int32
		binding string
	}
	out := make([]bound, 0, len(bindings))
	// Each flow is read and rendered once, however many bindings bind the
	// stage to it; nil for a flow that does not exist.
	flows := map[string]*FlowSet{}
	for i := range bindings {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := &bindings[i]
		if plan.shadowed[b.Name] {
			continue // authentik would have one binding of the set
		}
		name := b.Spec.TargetRef.Name
		set, seen := flows[name]
		if !seen {
			var flow flowsv1alpha1.Flow
			if err := rv.r.Get(ctx, types.NamespacedName{Namespace: b.Namespace, Name: name}, &flow, noCopy); err != nil {
				if !apierrors.IsNotFound(err) {
					return nil, fmt.Errorf("reading flow %s/%s: %w", b.Namespace, name, err)
				}
			} else {
				fs := renderFlowSet(&flow)
				set = &fs
			}
			flows[name] = set
		}
		if set != nil {
			out = append(out, bound{set: set, order: b.Spec.Order, binding: b.Name})
		}
	}
	// Sorted by the flow's slug, then the binding's order, then its name,
	// so the order is stable across requests and replicas.
	slices.SortFunc(out, func(a, b bound) int {
		return cmp.Or(strings.Compare(a.set.Slug, b.set.Slug), cmp.Compare(a.order, b.order), strings.Compare(a.binding, b.binding))
	})
	plan.flowSet = make([]FlowSet, len(out))
	for i := range out {
		plan.flowSet[i] = *out[i].set
	}
	plan.flowSetJSON = sync.OnceValue(func() []byte {
		b, err := encodeJSON(plan.flowSet)
		if err != nil {
			return nil // full encodes FlowSet itself
		}
		return b
	})
	return plan, nil
}

// flowStages is a flow's stages: the uid of the stage of each of its
// bindings, in the order the flow runs them (by order, then binding name),
// once per binding as authentik's many-to-many through the bindings gives
// them. A binding whose stage does not exist, or lives only in authentik
// (no uid here), gives none. Shared: never modify it.
func (rv *resolver) flowStages(ctx context.Context, f *flowsv1alpha1.Flow) ([]string, error) {
	p, err := rv.plan(ctx, f.Namespace, "flow/"+refs.KeyOf(flowsv1alpha1.KindFlow, f), func() (any, error) { return rv.buildFlowStages(ctx, f) })
	if err != nil {
		return nil, err
	}
	return p.([]string), nil
}

func (rv *resolver) buildFlowStages(ctx context.Context, f *flowsv1alpha1.Flow) ([]string, error) {
	bindings, err := rv.bindingsOf(ctx, flowsv1alpha1.KindFlow, f)
	if err != nil {
		return nil, err
	}
	bindings = slices.DeleteFunc(bindings, func(b flowsv1alpha1.FlowStageBinding) bool {
		return b.Namespace != f.Namespace || b.Spec.TargetRef.Name != f.Name
	})
	slices.SortFunc(bindings, func(a, b flowsv1alpha1.FlowStageBinding) int {
		return cmp.Or(cmp.Compare(a.Spec.Order, b.Spec.Order), strings.Compare(a.Name, b.Name))
	})
	shadowed := shadowedIn(bindings)
	out := make([]string, 0, len(bindings))
	for i := range bindings {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if shadowed[bindings[i].Name] {
			continue
		}
		stage, err := rv.boundStage(ctx, &bindings[i])
		if err != nil {
			return nil, err
		}
		if stage != nil {
			out = append(out, string(stage.GetUID()))
		}
	}
	return out, nil
}

// boundStage is the stage a binding binds: nil when it does not exist, or
// lives only in authentik.
func (rv *resolver) boundStage(ctx context.Context, b *flowsv1alpha1.FlowStageBinding) (client.Object, error) {
	r := b.Spec.StageRef
	if r.IsExternal() || stageInfos[r.Kind] == nil {
		return nil, nil
	}
	stage, err := flowsv1alpha1.New(string(r.Kind))
	if err != nil {
		return nil, err
	}
	if err := rv.r.Get(ctx, types.NamespacedName{Namespace: b.Namespace, Name: r.Name}, stage, noCopy); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s %s/%s: %w", r.Kind, b.Namespace, r.Name, err)
	}
	return stage, nil
}

// binding renders a FlowStageBinding without its stage_obj's flow_set, or
// nil for a binding authentik could not have: one a binding of the same
// flow, stage and order shadows, one whose flow or stage does not exist (authentik deletes a binding with its flow or its stage), or
// whose stage lives only in authentik (StageReference.model), which has no
// uid to send as stage and no body to send as stage_obj.
func (rv *resolver) binding(ctx context.Context, b *flowsv1alpha1.FlowStageBinding) (*FlowStageBinding, error) {
	var flow flowsv1alpha1.Flow
	target, err := rv.uidOf(ctx, &flow, b.Namespace, b.Spec.TargetRef.Name)
	if err != nil || target == nil {
		return nil, err
	}
	stage, err := rv.boundStage(ctx, b)
	if err != nil || stage == nil {
		return nil, err
	}
	sp := &b.Spec
	// The bindings that could shadow b bind its stage: its stage's plan
	// knows them, worked out once for all of the stage's bindings.
	plan, err := rv.stagePlan(ctx, sp.StageRef.Kind, stage)
	if err != nil || plan.shadowed[b.Name] {
		return nil, err
	}
	return &FlowStageBinding{
		PK:                      string(b.UID),
		PolicyBindingModelPtrID: PolicyBindingModelPtrID(b.UID),
		Target:                  *target,
		Stage:                   string(stage.GetUID()),
		StageObj:                Stage{stageMeta: meta(stageInfos[sp.StageRef.Kind], stage)},
		EvaluateOnPlan:          boolOr(sp.EvaluateOnPlan, false),
		ReEvaluatePolicies:      boolOr(sp.ReEvaluatePolicies, true),
		Order:                   sp.Order,
		PolicyEngineMode:        flowsv1alpha1.PolicyEngineMode(orDefault(string(sp.PolicyEngineMode), defaultPolicyEngineMode)),
		InvalidResponseAction:   flowsv1alpha1.InvalidResponseAction(orDefault(string(sp.InvalidResponseAction), string(defaultInvalidResponseAction))),
		stage:                   stage,
	}, nil
}

// finishStageObj adds the flow_set of a binding's stage_obj.
func (rv *resolver) finishStageObj(ctx context.Context, r *FlowStageBinding) error {
	kind := flowsv1alpha1.StageKind(flowsv1alpha1.KindOf(r.stage))
	p, err := rv.stagePlan(ctx, kind, r.stage)
	if err != nil {
		return err
	}
	r.StageObj.setFlowSet(p)
	return nil
}

package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

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

// shadowed reports whether another binding binds b's stage to b's flow at
// b's order, and was there first (created earlier; by name when created in
// the same second). authentik has one binding per flow, stage and order
// (FlowStageBinding is unique on them): it would have refused the later
// ones, so the API serves only the first, in flow_set, a flow's stages and
// the bindings endpoint. (The controllers report every binding of such a
// set not Ready, naming the others.)
func (rv *resolver) shadowed(ctx context.Context, b *flowsv1alpha1.FlowStageBinding) (bool, error) {
	var same flowsv1alpha1.FlowStageBindingList
	key := refs.Key(flowsv1alpha1.KindFlow, b.Namespace, b.Spec.TargetRef.Name)
	if err := rv.r.List(ctx, &same, client.MatchingFields{refs.Index: key}, noCopy); err != nil {
		return false, fmt.Errorf("listing the bindings of %s: %w", key, err)
	}
	for i := range same.Items {
		o := &same.Items[i]
		if o.Name == b.Name || o.Namespace != b.Namespace || o.Spec.TargetRef != b.Spec.TargetRef || o.Spec.StageRef != b.Spec.StageRef || o.Spec.Order != b.Spec.Order {
			continue
		}
		if c := o.CreationTimestamp.Compare(b.CreationTimestamp.Time); c < 0 || (c == 0 && o.Name < b.Name) {
			return true, nil
		}
	}
	return false, nil
}

// flowStages is a flow's stages: the uid of the stage of each of its
// bindings, in the order the flow runs them (by order, then binding name),
// once per binding as authentik's many-to-many through the bindings gives
// them. A binding whose stage does not exist, or lives only in authentik
// (no uid here), gives none.
func (rv *resolver) flowStages(ctx context.Context, f *flowsv1alpha1.Flow) ([]string, error) {
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
	out := make([]string, 0, len(bindings))
	for i := range bindings {
		if shadow, err := rv.shadowed(ctx, &bindings[i]); err != nil || shadow {
			if err != nil {
				return nil, err
			}
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
	if shadow, err := rv.shadowed(ctx, b); err != nil || shadow {
		return nil, err
	}
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
func (rv *resolver) finishStageObj(ctx context.Context, r *FlowStageBinding) (err error) {
	kind := flowsv1alpha1.StageKind(flowsv1alpha1.KindOf(r.stage))
	r.StageObj.FlowSet, err = rv.flowSet(ctx, kind, r.stage)
	return err
}

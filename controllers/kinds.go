package controllers

import (
	"context"
	"fmt"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// What each kind the shared reconciler serves references, and what it checks
// beyond existence. The references themselves are refs.Of's; the watches
// here must name every kind refs.Of can return for the kind. A kind with no
// entry (Source, say) references nothing and checks nothing.
var behaviours = map[string]behaviour{
	flowsv1alpha1.KindFlowStageBinding: {
		Watches:  append([]dependency{{Kind: flowsv1alpha1.KindFlow, When: onExistence}}, stageDependencies()...),
		Conflict: bindingConflict,
		// A binding is re-evaluated when another binding of its flow comes,
		// goes or moves: it may collide with it, or stop colliding.
		Extra: func(b *builder.Builder, c client.Reader) *builder.Builder {
			return b.Watches(&flowsv1alpha1.FlowStageBinding{},
				peers(c, refs.Index, bindingFlowKey, func() client.ObjectList { return &flowsv1alpha1.FlowStageBindingList{} }),
				builder.WithPredicates(predicate.GenerationChangedPredicate{}))
		},
	},
	string(flowsv1alpha1.StageKindIdentification): {
		Watches: []dependency{
			{Kind: string(flowsv1alpha1.StageKindPassword), When: onExistence},
			{Kind: string(flowsv1alpha1.StageKindCaptcha), When: onExistence},
			// A flow's designation and a validate stage's device classes
			// feed warnings.
			{Kind: flowsv1alpha1.KindFlow, When: predicate.GenerationChangedPredicate{}},
			{Kind: flowsv1alpha1.KindSource, When: onExistence},
			{Kind: string(flowsv1alpha1.StageKindAuthenticatorValidate), When: predicate.GenerationChangedPredicate{}},
		},
		Inspect: func(_ context.Context, _ client.Reader, _ flowsv1alpha1.Object, rs []resolved) ([]warning, error) {
			return append(designationWarnings(rs), webauthnWarnings(rs)...), nil
		},
	},
	string(flowsv1alpha1.StageKindPassword): {
		Watches: []dependency{{Kind: flowsv1alpha1.KindFlow, When: predicate.GenerationChangedPredicate{}}},
		Inspect: func(_ context.Context, _ client.Reader, _ flowsv1alpha1.Object, rs []resolved) ([]warning, error) {
			return designationWarnings(rs), nil
		},
	},
	string(flowsv1alpha1.StageKindAuthenticatorValidate): {
		Watches: append(stageDependencies(), dependency{Kind: flowsv1alpha1.KindWebAuthnDeviceType, When: onExistence}),
	},
	string(flowsv1alpha1.StageKindCaptcha): {
		// A Secret's keys are in its data, which has no generation.
		Watches: []dependency{{Kind: refs.KindSecret, When: predicate.ResourceVersionChangedPredicate{}}},
		Inspect: func(_ context.Context, _ client.Reader, obj flowsv1alpha1.Object, rs []resolved) ([]warning, error) {
			checkSecretKey(obj.(*flowsv1alpha1.CaptchaStage), rs)
			return nil, nil
		},
	},
	flowsv1alpha1.KindWebAuthnDeviceType: {
		Inspect: func(ctx context.Context, c client.Reader, obj flowsv1alpha1.Object, _ []resolved) ([]warning, error) {
			dt := obj.(*flowsv1alpha1.WebAuthnDeviceType)
			var same flowsv1alpha1.WebAuthnDeviceTypeList
			if err := c.List(ctx, &same, client.MatchingFields{refs.AAGUID: dt.Spec.AAGUID}); err != nil {
				return nil, err
			}
			return duplicateWarning(dt, flowsv1alpha1.KindWebAuthnDeviceType, "aaguid", dt.Spec.AAGUID, flowsv1alpha1.ReasonDuplicateAAGUID, listObjects(&same)), nil
		},
		// A device type is re-evaluated when another with its aaguid comes
		// or goes (the aaguid is immutable).
		Extra: func(b *builder.Builder, c client.Reader) *builder.Builder {
			aaguid := func(o client.Object) string { return o.(*flowsv1alpha1.WebAuthnDeviceType).Spec.AAGUID }
			return b.Watches(&flowsv1alpha1.WebAuthnDeviceType{},
				peers(c, refs.AAGUID, aaguid, func() client.ObjectList { return &flowsv1alpha1.WebAuthnDeviceTypeList{} }),
				builder.WithPredicates(predicate.GenerationChangedPredicate{}))
		},
	},
}

// stageDependencies watches every stage kind by existence: for a
// FlowStageBinding's stageRef and a validate stage's configurationStageRefs,
// which may name any of them.
func stageDependencies() []dependency {
	var out []dependency
	for _, k := range flowsv1alpha1.StageKinds() {
		out = append(out, dependency{Kind: string(k), When: onExistence})
	}
	return out
}

// bindingFlowKey is the refs.Index key of a binding's flow.
func bindingFlowKey(o client.Object) string {
	b := o.(*flowsv1alpha1.FlowStageBinding)
	return refs.Key(flowsv1alpha1.KindFlow, b.Namespace, b.Spec.TargetRef.Name)
}

// bindingConflict names the other bindings that bind the same stage to the
// same flow at the same order: authentik allows one such binding (its
// FlowStageBinding is unique on target, stage and order), so every binding
// of a colliding set says so, and none is Ready until one is left.
func bindingConflict(ctx context.Context, c client.Reader, obj flowsv1alpha1.Object) (string, error) {
	b := obj.(*flowsv1alpha1.FlowStageBinding)
	var same flowsv1alpha1.FlowStageBindingList
	if err := c.List(ctx, &same, client.MatchingFields{refs.Index: bindingFlowKey(b)}); err != nil {
		return "", fmt.Errorf("listing the bindings of Flow %q: %w", b.Spec.TargetRef.Name, err)
	}
	var others []string
	for _, o := range same.Items {
		if o.Name != b.Name && o.Spec.TargetRef == b.Spec.TargetRef && o.Spec.StageRef == b.Spec.StageRef && o.Spec.Order == b.Spec.Order {
			others = append(others, o.Name)
		}
	}
	if len(others) == 0 {
		return "", nil
	}
	sort.Strings(others)
	subject := fmt.Sprintf("%s %q also binds", flowsv1alpha1.KindFlowStageBinding, others[0])
	if len(others) > 1 {
		subject = fmt.Sprintf("%ss %s also bind", flowsv1alpha1.KindFlowStageBinding, quotedNames(others))
	}
	return fmt.Sprintf("%s %s to Flow %q at order %d: authentik allows one binding of a stage to a flow at an order",
		subject, stageName(b.Spec.StageRef), b.Spec.TargetRef.Name, b.Spec.Order), nil
}

package controllers

import (
	"context"

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
		Watches: append([]dependency{{Kind: flowsv1alpha1.KindFlow, When: onExistence}}, stageDependencies()...),
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

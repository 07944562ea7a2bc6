package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// What each kind the shared reconciler serves references, and what it checks
// beyond existence. The references themselves are refs.Of's; the Watches
// here must name every kind refs.Of can return for the kind.

// stageDependencies watches every stage kind by existence: for a
// FlowStageBinding's stageRef and a validate stage's configurationStageRefs,
// which may name any of them.
func stageDependencies() []dependency {
	out := make([]dependency, len(flowsv1alpha1.StageKinds))
	for i, k := range flowsv1alpha1.StageKinds {
		out[i] = dependency{Kind: string(k), When: onExistence}
	}
	return out
}

func flowStageBindingKind() kind[*flowsv1alpha1.FlowStageBinding] {
	return kind[*flowsv1alpha1.FlowStageBinding]{
		Name:    refs.KindFlowStageBinding,
		New:     func() *flowsv1alpha1.FlowStageBinding { return &flowsv1alpha1.FlowStageBinding{} },
		NewList: func() client.ObjectList { return &flowsv1alpha1.FlowStageBindingList{} },
		Watches: append([]dependency{{Kind: refs.KindFlow, When: onExistence}}, stageDependencies()...),
	}
}

func identificationStageKind() kind[*flowsv1alpha1.IdentificationStage] {
	return kind[*flowsv1alpha1.IdentificationStage]{
		Name:    string(flowsv1alpha1.StageKindIdentification),
		New:     func() *flowsv1alpha1.IdentificationStage { return &flowsv1alpha1.IdentificationStage{} },
		NewList: func() client.ObjectList { return &flowsv1alpha1.IdentificationStageList{} },
		Watches: []dependency{
			{Kind: string(flowsv1alpha1.StageKindPassword), When: onExistence},
			{Kind: string(flowsv1alpha1.StageKindCaptcha), When: onExistence},
			// A flow's designation and a validate stage's device classes
			// feed warnings.
			{Kind: refs.KindFlow, When: onExistenceOrSpec},
			{Kind: refs.KindSource, When: onExistence},
			{Kind: string(flowsv1alpha1.StageKindAuthenticatorValidate), When: onExistenceOrSpec},
		},
		Inspect: func(_ context.Context, _ client.Reader, _ *flowsv1alpha1.IdentificationStage, rs []resolved) ([]warning, error) {
			return append(designationWarnings(rs), webauthnWarnings(rs)...), nil
		},
	}
}

func passwordStageKind() kind[*flowsv1alpha1.PasswordStage] {
	return kind[*flowsv1alpha1.PasswordStage]{
		Name:    string(flowsv1alpha1.StageKindPassword),
		New:     func() *flowsv1alpha1.PasswordStage { return &flowsv1alpha1.PasswordStage{} },
		NewList: func() client.ObjectList { return &flowsv1alpha1.PasswordStageList{} },
		Watches: []dependency{{Kind: refs.KindFlow, When: onExistenceOrSpec}},
		Inspect: func(_ context.Context, _ client.Reader, _ *flowsv1alpha1.PasswordStage, rs []resolved) ([]warning, error) {
			return designationWarnings(rs), nil
		},
	}
}

func authenticatorValidateStageKind() kind[*flowsv1alpha1.AuthenticatorValidateStage] {
	return kind[*flowsv1alpha1.AuthenticatorValidateStage]{
		Name:    string(flowsv1alpha1.StageKindAuthenticatorValidate),
		New:     func() *flowsv1alpha1.AuthenticatorValidateStage { return &flowsv1alpha1.AuthenticatorValidateStage{} },
		NewList: func() client.ObjectList { return &flowsv1alpha1.AuthenticatorValidateStageList{} },
		Watches: append(stageDependencies(), dependency{Kind: refs.KindWebAuthnDeviceType, When: onExistence}),
	}
}

func captchaStageKind() kind[*flowsv1alpha1.CaptchaStage] {
	return kind[*flowsv1alpha1.CaptchaStage]{
		Name:    string(flowsv1alpha1.StageKindCaptcha),
		New:     func() *flowsv1alpha1.CaptchaStage { return &flowsv1alpha1.CaptchaStage{} },
		NewList: func() client.ObjectList { return &flowsv1alpha1.CaptchaStageList{} },
		// A Secret's keys are in its data, which has no generation.
		Watches: []dependency{{Kind: refs.KindSecret, When: onContentChange}},
		Inspect: func(_ context.Context, _ client.Reader, cs *flowsv1alpha1.CaptchaStage, rs []resolved) ([]warning, error) {
			checkSecretKey(cs, rs)
			return nil, nil
		},
	}
}

func sourceKind() kind[*flowsv1alpha1.Source] {
	return kind[*flowsv1alpha1.Source]{
		Name:    refs.KindSource,
		New:     func() *flowsv1alpha1.Source { return &flowsv1alpha1.Source{} },
		NewList: func() client.ObjectList { return &flowsv1alpha1.SourceList{} },
	}
}

func webAuthnDeviceTypeKind() kind[*flowsv1alpha1.WebAuthnDeviceType] {
	aaguid := func(o client.Object) string { return o.(*flowsv1alpha1.WebAuthnDeviceType).Spec.AAGUID }
	newList := func() client.ObjectList { return &flowsv1alpha1.WebAuthnDeviceTypeList{} }
	return kind[*flowsv1alpha1.WebAuthnDeviceType]{
		Name:    refs.KindWebAuthnDeviceType,
		New:     func() *flowsv1alpha1.WebAuthnDeviceType { return &flowsv1alpha1.WebAuthnDeviceType{} },
		NewList: newList,
		Inspect: func(ctx context.Context, c client.Reader, dt *flowsv1alpha1.WebAuthnDeviceType, _ []resolved) ([]warning, error) {
			var same flowsv1alpha1.WebAuthnDeviceTypeList
			if err := c.List(ctx, &same, client.MatchingFields{refs.AAGUID: dt.Spec.AAGUID}); err != nil {
				return nil, err
			}
			return duplicateWarning(dt, refs.KindWebAuthnDeviceType, "aaguid", dt.Spec.AAGUID, flowsv1alpha1.ReasonDuplicateAAGUID, listObjects(&same)), nil
		},
		// A device type is re-evaluated when another with its aaguid comes
		// or goes (the aaguid is immutable).
		Extra: func(b *builder.Builder, c client.Reader) *builder.Builder {
			return b.Watches(&flowsv1alpha1.WebAuthnDeviceType{}, peers(c, refs.AAGUID, aaguid, newList), builder.WithPredicates(onExistenceOrSpec))
		},
	}
}

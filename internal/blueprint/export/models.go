package export

import (
	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// Model is the authentik model of a stagehand kind, as blueprints name it
// ("authentik_flows.flow"), from api/v1alpha1's table of kinds, and whether
// the kind is a stagehand kind.
func Model(kind string) (string, bool) {
	k, ok := flowsv1alpha1.LookupKind(kind)
	return k.Model, ok && k.Model != ""
}

func mustModel(kind string) string {
	m, ok := Model(kind)
	if !ok {
		panic("no authentik model for kind " + kind)
	}
	return m
}

var (
	modelFlow    = mustModel(flowsv1alpha1.KindFlow)
	modelBinding = mustModel(flowsv1alpha1.KindFlowStageBinding)
	// Sources and WebAuthn device types are only ever found: sources keep
	// their settings in authentik, and authentik manages device types
	// itself (a blueprint may not write them; its schema has no entry for
	// the model).
	modelSource     = mustModel(flowsv1alpha1.KindSource)
	modelDeviceType = mustModel(flowsv1alpha1.KindWebAuthnDeviceType)
)

// modelApplyBlueprint is authentik's meta model that applies another
// blueprint, found by its metadata.name, before the rest of this one.
const modelApplyBlueprint = "authentik_blueprints.metaapplyblueprint"

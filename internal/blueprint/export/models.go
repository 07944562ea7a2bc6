package export

import (
	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// authentik's models, as blueprints name them.
//
// TEMPORARY: api/v1alpha1 is getting one table of kinds (kind, plural,
// authentik model, stage or not). When it lands, Model reads it and this map
// goes.
var models = map[string]string{
	refs.KindFlow:                                        modelFlow,
	refs.KindFlowStageBinding:                            modelBinding,
	string(flowsv1alpha1.StageKindIdentification):        "authentik_stages_identification.identificationstage",
	string(flowsv1alpha1.StageKindPassword):              "authentik_stages_password.passwordstage",
	string(flowsv1alpha1.StageKindAuthenticatorValidate): "authentik_stages_authenticator_validate.authenticatorvalidatestage",
	string(flowsv1alpha1.StageKindCaptcha):               "authentik_stages_captcha.captchastage",
	refs.KindSource:                                      modelSource,
	refs.KindWebAuthnDeviceType:                          modelDeviceType,
}

// Model is the authentik model of a stagehand kind, as blueprints name it
// ("authentik_flows.flow"), and whether the kind has one.
func Model(kind string) (string, bool) {
	m, ok := models[kind]
	return m, ok
}

const (
	modelFlow    = "authentik_flows.flow"
	modelBinding = "authentik_flows.flowstagebinding"
	// Sources and WebAuthn device types are only ever found: sources keep
	// their settings in authentik, and authentik manages device types
	// itself (a blueprint may not write them; its schema has no entry for
	// the model).
	modelSource     = "authentik_core.source"
	modelDeviceType = "authentik_stages_authenticator_webauthn.webauthndevicetype"
	// modelApplyBlueprint is authentik's meta model that applies another
	// blueprint, by its metadata.name, before the rest of this one.
	modelApplyBlueprint = "authentik_blueprints.metaapplyblueprint"
)

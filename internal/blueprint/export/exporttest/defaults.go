// Package exporttest holds what tests of blueprint documents share: what
// authentik itself does, written down apart from stagehand's renderer so
// that tests can hold the renderer (and the importer's round trip) to it.
package exporttest

import "github.com/stagehand-dev/stagehand/internal/blueprint"

// AuthentikDefaults is, for each model stagehand writes, authentik's
// default for every field stagehand writes that a manifest may leave
// unset: the field's default in authentik's model (authentik/flows/models.py,
// authentik/stages/*/models.py; policy_engine_mode is PolicyBindingModel's),
// null for a foreign key without one, [] for a many-to-many. Kept apart
// from the renderer's own defaults on purpose: the tests compare the two.
var AuthentikDefaults = map[string]blueprint.Map{
	"authentik_flows.flow": {
		{Key: "background", Value: ""}, // no background: authentik shows its default one
		{Key: "policy_engine_mode", Value: "any"},
		{Key: "compatibility_mode", Value: false},
		{Key: "layout", Value: "stacked"},
		{Key: "denied_action", Value: "message_continue"},
		{Key: "authentication", Value: "none"},
	},
	"authentik_flows.flowstagebinding": {
		{Key: "evaluate_on_plan", Value: false},
		{Key: "re_evaluate_policies", Value: true},
		{Key: "policy_engine_mode", Value: "any"},
		{Key: "invalid_response_action", Value: "retry"},
	},
	"authentik_stages_identification.identificationstage": {
		{Key: "password_stage", Value: nil},
		{Key: "captcha_stage", Value: nil},
		{Key: "case_insensitive_matching", Value: true},
		{Key: "show_matched_user", Value: true},
		{Key: "enrollment_flow", Value: nil},
		{Key: "recovery_flow", Value: nil},
		{Key: "passwordless_flow", Value: nil},
		{Key: "sources", Value: []any{}},
		{Key: "show_source_labels", Value: false},
		{Key: "pretend_user_exists", Value: true},
		{Key: "enable_remember_me", Value: false},
		{Key: "webauthn_stage", Value: nil},
	},
	"authentik_stages_password.passwordstage": {
		{Key: "configure_flow", Value: nil},
		{Key: "failed_attempts_before_cancel", Value: int64(5)},
		{Key: "allow_show_password", Value: false},
	},
	"authentik_stages_authenticator_validate.authenticatorvalidatestage": {
		{Key: "not_configured_action", Value: "skip"},
		{Key: "device_classes", Value: []any{"static", "totp", "webauthn", "duo", "sms", "email"}},
		{Key: "configuration_stages", Value: []any{}},
		{Key: "last_auth_threshold", Value: "seconds=0"},
		{Key: "webauthn_user_verification", Value: "preferred"},
		{Key: "webauthn_hints", Value: []any{}},
		{Key: "webauthn_allowed_device_types", Value: []any{}},
		{Key: "email_otp_throttling_factor", Value: 1.0},
		{Key: "sms_otp_throttling_factor", Value: 1.0},
		{Key: "totp_otp_throttling_factor", Value: 1.0},
		{Key: "static_otp_throttling_factor", Value: 1.0},
	},
	"authentik_stages_captcha.captchastage": {
		{Key: "js_url", Value: "https://www.recaptcha.net/recaptcha/api.js"},
		{Key: "api_url", Value: "https://www.recaptcha.net/recaptcha/api/siteverify"},
		{Key: "request_content_type", Value: "application/x-www-form-urlencoded"},
		{Key: "interactive", Value: false},
		{Key: "score_min_threshold", Value: 0.5},
		{Key: "score_max_threshold", Value: 1.0},
		{Key: "error_on_invalid_score", Value: true},
	},
	"authentik_stages_user_login.userloginstage": {
		{Key: "session_duration", Value: "seconds=0"},
		{Key: "terminate_other_sessions", Value: false},
		{Key: "remember_me_offset", Value: "seconds=0"},
		{Key: "network_binding", Value: "no_binding"},
		{Key: "geoip_binding", Value: "no_binding"},
		{Key: "remember_device", Value: "days=30"},
	},
}

// Applied is v as authentik's serializers receive it, for comparing a
// rendered value with authentik's default: every blueprint.Null (an unset
// reference, a !Find that finds nothing) is the null authentik resolves it
// to. Other tags are left as they are.
func Applied(v any) any {
	switch v := v.(type) {
	case blueprint.Map:
		out := make(blueprint.Map, len(v))
		for i, f := range v {
			out[i] = blueprint.Field{Key: f.Key, Value: Applied(f.Value)}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = Applied(e)
		}
		return out
	}
	if blueprint.IsNull(v) {
		return nil
	}
	return v
}

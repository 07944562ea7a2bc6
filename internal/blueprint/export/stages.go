package export

import (
	"errors"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// The id of the flow's entry, as in authentik's own blueprints.
const flowEntryID = "flow"

// authentik's defaults (its models' field defaults, as the CRDs' default
// markers state them; TestDefaults holds them to exporttest's separate
// list of authentik's defaults), written where a field is unset.
// The API server fills most of them in from the CRDs' defaults; objects
// stored before a default existed, or built in Go, may lack them.
const (
	defaultPolicyEngineMode      = string(flowsv1alpha1.PolicyEngineModeAny)
	defaultLayout                = "stacked"
	defaultDeniedAction          = "message_continue"
	defaultAuthentication        = "none"
	defaultInvalidResponseAction = "retry"
	defaultFailedAttempts        = int64(5)
	defaultNotConfiguredAction   = string(flowsv1alpha1.NotConfiguredActionSkip)
	defaultUserVerification      = "preferred"
	defaultCaptchaJSURL          = "https://www.recaptcha.net/recaptcha/api.js"
	defaultCaptchaAPIURL         = "https://www.recaptcha.net/recaptcha/api/siteverify"
	defaultScoreMinThreshold     = 0.5
	defaultScoreMaxThreshold     = 1.0
	defaultThrottlingFactor      = 1.0
	defaultTimeDelta             = "seconds=0" // session duration, remember-me offset
	defaultRememberDevice        = "days=30"
	defaultSessionBinding        = "no_binding" // network and GeoIP
)

// defaultDeviceClasses is every device class: authentik's default.
var defaultDeviceClasses = []flowsv1alpha1.DeviceClass{
	flowsv1alpha1.DeviceClassStatic,
	flowsv1alpha1.DeviceClassTOTP,
	flowsv1alpha1.DeviceClassWebAuthn,
	flowsv1alpha1.DeviceClassDuo,
	flowsv1alpha1.DeviceClassSMS,
	flowsv1alpha1.DeviceClassEmail,
}

// stageAttrs renders the attrs of one stage: every field stagehand knows,
// in the order of authentik's serializer (and blueprint schema), defaults
// written out. References to other stages are !KeyOf their entries, which
// the renderer has put before this one.
type stageAttrs func(r *renderer, obj client.Object) (blueprint.Map, error)

// stageKinds is every stage kind the renderer writes. A kind's authentik
// model comes from Model; adding a stage kind is one entry here and its
// function below.
var stageKinds = map[flowsv1alpha1.StageKind]stageAttrs{
	flowsv1alpha1.StageKindIdentification:        typed(identificationAttrs),
	flowsv1alpha1.StageKindPassword:              typed(passwordAttrs),
	flowsv1alpha1.StageKindAuthenticatorValidate: typed(authenticatorValidateAttrs),
	flowsv1alpha1.StageKindCaptcha:               typed(captchaAttrs),
	flowsv1alpha1.StageKindUserLogin:             typed(userLoginAttrs),
}

// typed adapts a function of one stage type to a stageAttrs.
func typed[T client.Object](fn func(r *renderer, s T) (blueprint.Map, error)) stageAttrs {
	return func(r *renderer, obj client.Object) (blueprint.Map, error) {
		s, ok := obj.(T)
		if !ok {
			var want T
			return nil, fmt.Errorf("lookup gave a %T where a %T was expected", obj, want)
		}
		return fn(r, s)
	}
}

// refErrs collects the errors of the lookups of one stage's references.
type refErrs struct{ err error }

func (e *refErrs) v(v any, err error) any {
	e.err = errors.Join(e.err, err)
	return v
}

// by names a field of an object for MissingError.
func by(field, kind, name string) string { return fmt.Sprintf("%s of %s %q", field, kind, name) }

// flowAttrs are the flow's attrs (its slug is its identifier).
func (r *renderer) flowAttrs() (blueprint.Map, error) {
	f := r.flow
	return blueprint.Map{
		{Key: "name", Value: f.EffectiveName()},
		{Key: "title", Value: f.Spec.Title},
		{Key: "designation", Value: string(f.Spec.Designation)},
		// Empty is authentik's default: its default background.
		{Key: "background", Value: f.Spec.Background},
		{Key: "policy_engine_mode", Value: orDefault(string(f.Spec.PolicyEngineMode), defaultPolicyEngineMode)},
		{Key: "compatibility_mode", Value: boolOr(f.Spec.CompatibilityMode, false)},
		{Key: "layout", Value: orDefault(string(f.Spec.Layout), defaultLayout)},
		{Key: "denied_action", Value: orDefault(string(f.Spec.DeniedAction), defaultDeniedAction)},
		{Key: "authentication", Value: orDefault(string(f.Spec.Authentication), defaultAuthentication)},
	}, nil
}

func identificationAttrs(r *renderer, s *flowsv1alpha1.IdentificationStage) (blueprint.Map, error) {
	sp := &s.Spec
	const kind = string(flowsv1alpha1.StageKindIdentification)
	var e refErrs
	sources := make([]any, 0, len(sp.SourceRefs))
	for i, ref := range sp.SourceRefs {
		if v := e.v(r.source(ref, by(fmt.Sprintf("spec.sourceRefs[%d]", i), kind, s.Name))); v != nil {
			sources = append(sources, v)
		}
	}
	attrs := blueprint.Map{
		{Key: "user_fields", Value: list(sp.UserFields)},
		{Key: "password_stage", Value: r.localStage(flowsv1alpha1.StageKindPassword, sp.PasswordStageRef)},
		{Key: "captcha_stage", Value: r.localStage(flowsv1alpha1.StageKindCaptcha, sp.CaptchaStageRef)},
		{Key: "case_insensitive_matching", Value: boolOr(sp.CaseInsensitiveMatching, true)},
		{Key: "show_matched_user", Value: boolOr(sp.ShowMatchedUser, true)},
		{Key: "enrollment_flow", Value: e.v(r.flowRef(sp.EnrollmentFlowRef, by("spec.enrollmentFlowRef", kind, s.Name)))},
		{Key: "recovery_flow", Value: e.v(r.flowRef(sp.RecoveryFlowRef, by("spec.recoveryFlowRef", kind, s.Name)))},
		{Key: "passwordless_flow", Value: e.v(r.flowRef(sp.PasswordlessFlowRef, by("spec.passwordlessFlowRef", kind, s.Name)))},
		{Key: "sources", Value: sources},
		{Key: "show_source_labels", Value: boolOr(sp.ShowSourceLabels, false)},
		{Key: "pretend_user_exists", Value: boolOr(sp.PretendUserExists, true)},
		{Key: "enable_remember_me", Value: boolOr(sp.EnableRememberMe, false)},
		{Key: "webauthn_stage", Value: r.localStage(flowsv1alpha1.StageKindAuthenticatorValidate, sp.WebAuthnStageRef)},
	}
	return attrs, e.err
}

func passwordAttrs(r *renderer, s *flowsv1alpha1.PasswordStage) (blueprint.Map, error) {
	sp := &s.Spec
	var e refErrs
	attempts := defaultFailedAttempts
	if sp.FailedAttemptsBeforeCancel != nil {
		attempts = int64(*sp.FailedAttemptsBeforeCancel)
	}
	attrs := blueprint.Map{
		{Key: "backends", Value: list(sp.Backends)},
		{Key: "configure_flow", Value: e.v(r.flowRef(sp.ConfigureFlowRef, by("spec.configureFlowRef", string(flowsv1alpha1.StageKindPassword), s.Name)))},
		{Key: "failed_attempts_before_cancel", Value: attempts},
		{Key: "allow_show_password", Value: boolOr(sp.AllowShowPassword, false)},
	}
	return attrs, e.err
}

func authenticatorValidateAttrs(r *renderer, s *flowsv1alpha1.AuthenticatorValidateStage) (blueprint.Map, error) {
	sp := &s.Spec
	const kind = string(flowsv1alpha1.StageKindAuthenticatorValidate)
	var e refErrs
	classes := sp.DeviceClasses
	if len(classes) == 0 {
		classes = defaultDeviceClasses
	}
	stages := make([]any, 0, len(sp.ConfigurationStageRefs))
	for _, ref := range sp.ConfigurationStageRefs {
		if v := r.stageRef(ref); v != nil {
			stages = append(stages, v)
		}
	}
	deviceTypes := make([]any, 0, len(sp.WebAuthnAllowedDeviceTypeRefs))
	for i, ref := range sp.WebAuthnAllowedDeviceTypeRefs {
		if v := e.v(r.deviceType(ref, by(fmt.Sprintf("spec.webauthnAllowedDeviceTypeRefs[%d]", i), kind, s.Name))); v != nil {
			deviceTypes = append(deviceTypes, v)
		}
	}
	attrs := blueprint.Map{
		{Key: "not_configured_action", Value: orDefault(string(sp.NotConfiguredAction), defaultNotConfiguredAction)},
		{Key: "device_classes", Value: list(classes)},
		{Key: "configuration_stages", Value: stages},
		{Key: "last_auth_threshold", Value: orDefault(string(sp.LastAuthThreshold), flowsv1alpha1.DefaultLastAuthThreshold)},
		{Key: "webauthn_user_verification", Value: orDefault(string(sp.WebAuthnUserVerification), defaultUserVerification)},
		{Key: "webauthn_hints", Value: list(sp.WebAuthnHints)},
		{Key: "webauthn_allowed_device_types", Value: deviceTypes},
		// authentik 2026.8's; an older authentik ignores fields it does not
		// know.
		{Key: "email_otp_throttling_factor", Value: floatOr(sp.EmailOTPThrottlingFactor, defaultThrottlingFactor)},
		{Key: "sms_otp_throttling_factor", Value: floatOr(sp.SMSOTPThrottlingFactor, defaultThrottlingFactor)},
		{Key: "totp_otp_throttling_factor", Value: floatOr(sp.TOTPOTPThrottlingFactor, defaultThrottlingFactor)},
		{Key: "static_otp_throttling_factor", Value: floatOr(sp.StaticOTPThrottlingFactor, defaultThrottlingFactor)},
	}
	return attrs, e.err
}

// secretAttrs are, by model, the attrs that can carry a Secret's value
// (Options.SecretValue): WithoutSecrets leaves them out.
var secretAttrs = map[string][]string{
	mustModel(string(flowsv1alpha1.StageKindCaptcha)): {"private_key"},
}

// WithoutSecrets is doc with every value that may come from a Secret left
// out (the key stays, with the value "(secret)"), for a hash that says when
// the document changes but is no function of a secret: the rest of a
// document is known to whoever can read the cluster's stagehand objects,
// so the hash of the whole would let them guess the secret offline. doc
// is not changed.
func WithoutSecrets(doc *blueprint.Blueprint) *blueprint.Blueprint {
	out := *doc
	out.Entries = slices.Clone(doc.Entries)
	for i := range out.Entries {
		e := &out.Entries[i]
		keys := secretAttrs[e.Model]
		if len(keys) == 0 || e.Attrs == nil {
			continue
		}
		e.Attrs = slices.Clone(e.Attrs)
		for j := range e.Attrs {
			if slices.Contains(keys, e.Attrs[j].Key) {
				e.Attrs[j].Value = secretLeftOut
			}
		}
	}
	return &out
}

// secretLeftOut stands for a secret's value in WithoutSecrets.
const secretLeftOut = "(secret)"

func captchaAttrs(r *renderer, s *flowsv1alpha1.CaptchaStage) (blueprint.Map, error) {
	sp := &s.Spec
	key, err := r.secret(sp.PrivateKeySecretRef)
	if err != nil {
		return nil, err
	}
	return blueprint.Map{
		{Key: "public_key", Value: sp.PublicKey},
		{Key: "private_key", Value: key},
		{Key: "js_url", Value: orDefault(sp.JSURL, defaultCaptchaJSURL)},
		{Key: "api_url", Value: orDefault(sp.APIURL, defaultCaptchaAPIURL)},
		{Key: "request_content_type", Value: orDefault(string(sp.RequestContentType), string(flowsv1alpha1.RequestContentTypeForm))},
		{Key: "interactive", Value: boolOr(sp.Interactive, false)},
		{Key: "score_min_threshold", Value: floatOr(sp.ScoreMinThreshold, defaultScoreMinThreshold)},
		{Key: "score_max_threshold", Value: floatOr(sp.ScoreMaxThreshold, defaultScoreMaxThreshold)},
		{Key: "error_on_invalid_score", Value: boolOr(sp.ErrorOnInvalidScore, true)},
	}, nil
}

func userLoginAttrs(_ *renderer, s *flowsv1alpha1.UserLoginStage) (blueprint.Map, error) {
	sp := &s.Spec
	return blueprint.Map{
		{Key: "session_duration", Value: orDefault(string(sp.SessionDuration), defaultTimeDelta)},
		{Key: "terminate_other_sessions", Value: boolOr(sp.TerminateOtherSessions, false)},
		{Key: "remember_me_offset", Value: orDefault(string(sp.RememberMeOffset), defaultTimeDelta)},
		{Key: "network_binding", Value: orDefault(string(sp.NetworkBinding), defaultSessionBinding)},
		{Key: "geoip_binding", Value: orDefault(string(sp.GeoIPBinding), defaultSessionBinding)},
		{Key: "remember_device", Value: orDefault(string(sp.RememberDevice), defaultRememberDevice)},
	}, nil
}

// localStage is a reference to a stage of the document by name, or, when
// unset, blueprint.Null of the stage's model.
func (r *renderer) localStage(kind flowsv1alpha1.StageKind, ref *flowsv1alpha1.LocalObjectReference) any {
	if ref == nil {
		return blueprint.Null(mustModel(string(kind)))
	}
	return r.stageRef(flowsv1alpha1.StageReference{Kind: kind, Name: ref.Name})
}

// list writes a list of strings (enum values) as a sequence, empty rather
// than null when there are none.
func list[T ~string](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func floatOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

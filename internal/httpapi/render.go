package httpapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// The JSON bodies. encoding/json writes struct fields in declaration order,
// so each struct's field order is authentik's field order (its serializers'
// Meta.fields). Nullable references are *string (null when the target does
// not exist); lists are never nil, so they encode as [] rather than null.

// stageMeta is the part every stage serializer shares (authentik's
// StageSerializer): pk, name, component, verbose_name, verbose_name_plural,
// meta_model_name, flow_set.
type stageMeta struct {
	PK                string    `json:"pk"`
	Name              string    `json:"name"`
	Component         string    `json:"component"`
	VerboseName       string    `json:"verbose_name"`
	VerboseNamePlural string    `json:"verbose_name_plural"`
	MetaModelName     string    `json:"meta_model_name"`
	FlowSet           []FlowSet `json:"flow_set"`

	// flowSetJSON, when set, is FlowSet's JSON, encoded once for every
	// body that holds this stage's flow_set (stagePlan.json): full splices
	// it in instead of encoding FlowSet again.
	flowSetJSON []byte
}

// stageMetaOf gives the stageMeta of a body that has one (a stage's, and a
// binding's stage_obj), for full to splice its flow_set.
func (m *stageMeta) stageMetaOf() *stageMeta { return m }

func (r *FlowStageBinding) stageMetaOf() *stageMeta { return &r.StageObj.stageMeta }

// setFlowSet sets the flow_set of a body from the stage's plan.
func (m *stageMeta) setFlowSet(p *stagePlan) {
	m.FlowSet, m.flowSetJSON = p.flowSet, p.json()
}

// FlowSet is one element of a stage's flow_set (authentik's FlowSetSerializer,
// a stripped-down flow). authentik 2025.12 calls the background's URL
// background, 2026.8 background_url; both are written, with the same value,
// so that old and new clients find theirs.
type FlowSet struct {
	PK                      string `json:"pk"`
	PolicyBindingModelPtrID string `json:"policybindingmodel_ptr_id"`
	Name                    string `json:"name"`
	Slug                    string `json:"slug"`
	Title                   string `json:"title"`
	Designation             string `json:"designation"`
	Background              string `json:"background"`
	BackgroundURL           string `json:"background_url"`
	PolicyEngineMode        string `json:"policy_engine_mode"`
	CompatibilityMode       bool   `json:"compatibility_mode"`
	ExportURL               string `json:"export_url"`
	Layout                  string `json:"layout"`
	DeniedAction            string `json:"denied_action"`
}

// IdentificationStage is authentik's IdentificationStageSerializer.
type IdentificationStage struct {
	stageMeta
	UserFields              []flowsv1alpha1.UserField `json:"user_fields"`
	PasswordStage           *string                   `json:"password_stage"`
	CaptchaStage            *string                   `json:"captcha_stage"`
	CaseInsensitiveMatching bool                      `json:"case_insensitive_matching"`
	ShowMatchedUser         bool                      `json:"show_matched_user"`
	EnrollmentFlow          *string                   `json:"enrollment_flow"`
	RecoveryFlow            *string                   `json:"recovery_flow"`
	PasswordlessFlow        *string                   `json:"passwordless_flow"`
	Sources                 []string                  `json:"sources"`
	ShowSourceLabels        bool                      `json:"show_source_labels"`
	PretendUserExists       bool                      `json:"pretend_user_exists"`
	EnableRememberMe        bool                      `json:"enable_remember_me"`
	WebAuthnStage           *string                   `json:"webauthn_stage"`
}

// PasswordStage is authentik's PasswordStageSerializer.
type PasswordStage struct {
	stageMeta
	Backends                   []flowsv1alpha1.PasswordBackend `json:"backends"`
	ConfigureFlow              *string                         `json:"configure_flow"`
	FailedAttemptsBeforeCancel int32                           `json:"failed_attempts_before_cancel"`
	AllowShowPassword          bool                            `json:"allow_show_password"`
}

// AuthenticatorValidateStage is authentik's AuthenticatorValidateStageSerializer
// (2026.8: webauthn_hints and the four OTP throttling factors are newer than
// 2025.12).
type AuthenticatorValidateStage struct {
	stageMeta
	NotConfiguredAction flowsv1alpha1.NotConfiguredAction `json:"not_configured_action"`
	DeviceClasses       []flowsv1alpha1.DeviceClass       `json:"device_classes"`
	// ConfigurationStages is nil, and left out of the body, when a
	// configuration stage lives only in authentik (by model): stagehand has
	// no pk to send for it, and a list without it would say what is not so.
	ConfigurationStages           *[]string                      `json:"configuration_stages,omitempty"`
	LastAuthThreshold             string                         `json:"last_auth_threshold"`
	WebAuthnUserVerification      flowsv1alpha1.UserVerification `json:"webauthn_user_verification"`
	WebAuthnHints                 []flowsv1alpha1.WebAuthnHint   `json:"webauthn_hints"`
	WebAuthnAllowedDeviceTypes    []string                       `json:"webauthn_allowed_device_types"`
	WebAuthnAllowedDeviceTypesObj []WebAuthnDeviceType           `json:"webauthn_allowed_device_types_obj"`
	EmailOTPThrottlingFactor      pyFloat                        `json:"email_otp_throttling_factor"`
	SMSOTPThrottlingFactor        pyFloat                        `json:"sms_otp_throttling_factor"`
	TOTPOTPThrottlingFactor       pyFloat                        `json:"totp_otp_throttling_factor"`
	StaticOTPThrottlingFactor     pyFloat                        `json:"static_otp_throttling_factor"`

	// ownConfigurationStages are the pks of the configuration stages that
	// are stagehand objects, served or not: what the configuration_stages
	// filter matches.
	ownConfigurationStages []string
}

// WebAuthnDeviceType is authentik's WebAuthnDeviceTypeSerializer.
type WebAuthnDeviceType struct {
	AAGUID      string `json:"aaguid"`
	Description string `json:"description"`
}

// CaptchaStage is authentik's CaptchaStageSerializer. The provider's secret
// key is write-only in authentik, so it is never in a body; stagehand never
// reads it at all (it stays in the Secret privateKeySecretRef names).
type CaptchaStage struct {
	stageMeta
	PublicKey           string                           `json:"public_key"`
	JSURL               string                           `json:"js_url"`
	APIURL              string                           `json:"api_url"`
	RequestContentType  flowsv1alpha1.RequestContentType `json:"request_content_type"`
	Interactive         bool                             `json:"interactive"`
	ScoreMinThreshold   pyFloat                          `json:"score_min_threshold"`
	ScoreMaxThreshold   pyFloat                          `json:"score_max_threshold"`
	ErrorOnInvalidScore bool                             `json:"error_on_invalid_score"`
}

// UserLoginStage is authentik's UserLoginStageSerializer.
type UserLoginStage struct {
	stageMeta
	SessionDuration        string                       `json:"session_duration"`
	TerminateOtherSessions bool                         `json:"terminate_other_sessions"`
	RememberMeOffset       string                       `json:"remember_me_offset"`
	NetworkBinding         flowsv1alpha1.NetworkBinding `json:"network_binding"`
	GeoIPBinding           flowsv1alpha1.GeoIPBinding   `json:"geoip_binding"`
	RememberDevice         string                       `json:"remember_device"`
}

// authentik's defaults, rendered when a field is unset in an object the API
// server did not default (an object stored before the default existed, or
// one built in a test).
const (
	defaultPolicyEngineMode    = string(flowsv1alpha1.PolicyEngineModeAny)
	defaultLayout              = "stacked"
	defaultDeniedAction        = "message_continue"
	defaultFailedAttempts      = int32(5)
	defaultNotConfiguredAction = flowsv1alpha1.NotConfiguredActionSkip
	defaultUserVerification    = flowsv1alpha1.UserVerification("preferred")
	defaultThrottlingFactor    = 1.0

	defaultCaptchaJSURL       = "https://www.recaptcha.net/recaptcha/api.js"
	defaultCaptchaAPIURL      = "https://www.recaptcha.net/recaptcha/api/siteverify"
	defaultCaptchaContentType = flowsv1alpha1.RequestContentTypeForm
	defaultScoreMinThreshold  = 0.5
	defaultScoreMaxThreshold  = 1.0

	defaultSessionDuration  = "seconds=0"
	defaultRememberMeOffset = "seconds=0"
	defaultRememberDevice   = "days=30"
	defaultNoBinding        = "no_binding"
)

var defaultDeviceClasses = []flowsv1alpha1.DeviceClass{
	flowsv1alpha1.DeviceClassStatic,
	flowsv1alpha1.DeviceClassTOTP,
	flowsv1alpha1.DeviceClassWebAuthn,
	flowsv1alpha1.DeviceClassDuo,
	flowsv1alpha1.DeviceClassSMS,
	flowsv1alpha1.DeviceClassEmail,
}

// policyBindingModelNamespace is the UUIDv5 namespace under which a flow's
// policybindingmodel_ptr_id is derived from its uid. It is itself
// uuid.NewSHA1(uuid.NameSpaceURL, "https://stagehand.dev/policybindingmodel"),
// written out so that it can never change by accident: changing it would
// change every flow's policybindingmodel_ptr_id.
var policyBindingModelNamespace = uuid.MustParse("cfa419e9-42c9-5972-9d14-89f906db7ca7")

// PolicyBindingModelPtrID is a flow's or a binding's
// policybindingmodel_ptr_id: a UUIDv5 of its uid. In authentik it is the
// primary key of the object's parent row (PolicyBindingModel's pbm_uuid), a
// different UUID from the object's own; here it is derived, so it is stable
// across restarts and replicas and (a version-5 UUID, where uids are version
// 4) never equal to the uid.
func PolicyBindingModelPtrID(flowUID types.UID) string {
	return uuid.NewSHA1(policyBindingModelNamespace, []byte(flowUID)).String()
}

// ExportURL is authentik's export URL of a flow.
func ExportURL(slug string) string { return "/api/v3/flows/instances/" + slug + "/export/" }

// backgroundURL is a flow's background_url: its background, served as
// written (a /static path or an http(s) URL, which authentik returns as-is),
// or authentik's default image.
func backgroundURL(f *flowsv1alpha1.Flow) string {
	if f.Spec.Background == "" {
		return flowsv1alpha1.DefaultFlowBackground
	}
	return f.Spec.Background
}

// renderFlowSet renders one flow as an element of flow_set.
func renderFlowSet(f *flowsv1alpha1.Flow) FlowSet {
	slug := f.EffectiveSlug()
	bg := backgroundURL(f)
	return FlowSet{
		PK:                      string(f.UID),
		PolicyBindingModelPtrID: PolicyBindingModelPtrID(f.UID),
		Name:                    f.EffectiveName(),
		Slug:                    slug,
		Title:                   f.Spec.Title,
		Designation:             string(f.Spec.Designation),
		Background:              bg,
		BackgroundURL:           bg,
		PolicyEngineMode:        orDefault(string(f.Spec.PolicyEngineMode), defaultPolicyEngineMode),
		CompatibilityMode:       boolOr(f.Spec.CompatibilityMode, false),
		ExportURL:               ExportURL(slug),
		Layout:                  orDefault(string(f.Spec.Layout), defaultLayout),
		DeniedAction:            orDefault(string(f.Spec.DeniedAction), defaultDeniedAction),
	}
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

// resolver renders stages, looking up what they reference in a client.Reader
// (the manager's cache in production, a fake client in tests). It never
// writes and never mutates what it reads, so it reads without deep copies.
//
// The server holds one, and each request renders with one of its own
// (forRequest), which keeps the plans it works out (render_flows.go).
type resolver struct {
	r client.Reader
	// memo, when set, keeps plans across requests (memo.go).
	memo *memo
	// plans are this request's plans, by key (see plan).
	plans map[string]any
}

// forRequest is a resolver for one request: rv's reader and memo, with
// plans of its own.
func (rv *resolver) forRequest() *resolver { return &resolver{r: rv.r, memo: rv.memo} }

// ctxReader is a reader that honours the request's context: once it has
// ended (the request timed out, or its client went away), every read fails
// with the context's error, so that a render stops at the next read instead
// of running to its end. (The cache itself reads from memory and ignores
// contexts.)
type ctxReader struct{ client.Reader }

func (r ctxReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.Reader.Get(ctx, key, obj, opts...)
}

func (r ctxReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.Reader.List(ctx, list, opts...)
}

// noCopy reads straight from the cache's store. Safe because nothing here
// mutates an object it reads.
var noCopy = client.UnsafeDisableDeepCopy

// uidOf is the uid of the object of the given kind, namespace and name, or
// nil when it does not exist: authentik renders a deleted foreign key as null.
func (rv *resolver) uidOf(ctx context.Context, obj client.Object, namespace, name string) (*string, error) {
	if err := rv.r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, obj, noCopy); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s %s/%s: %w", flowsv1alpha1.KindOf(obj), namespace, name, err)
	}
	uid := string(obj.GetUID())
	return &uid, nil
}

func (rv *resolver) localRef(ctx context.Context, obj client.Object, namespace string, ref *flowsv1alpha1.LocalObjectReference) (*string, error) {
	if ref == nil {
		return nil, nil
	}
	return rv.uidOf(ctx, obj, namespace, ref.Name)
}

// meta is the common part of a stage's body, without its flow_set. Its name
// is the stage's name in authentik: spec.name, else metadata.name.
func meta(k *stageInfo, obj client.Object) stageMeta {
	name := obj.GetName()
	if s, ok := obj.(flowsv1alpha1.Stage); ok {
		name = s.StageName()
	}
	return stageMeta{
		PK:                string(obj.GetUID()),
		Name:              name,
		Component:         k.component,
		VerboseName:       k.verboseName,
		VerboseNamePlural: k.verboseNamePlural,
		MetaModelName:     k.metaModelName,
		FlowSet:           []FlowSet{},
	}
}

// errs joins the errors of several lookups; nil when there were none.
type errs struct{ err error }

func (e *errs) uid(p *string, err error) *string {
	if err != nil {
		e.err = errors.Join(e.err, err)
	}
	return p
}

// identification renders an IdentificationStage without its flow_set.
func (rv *resolver) identification(ctx context.Context, s *flowsv1alpha1.IdentificationStage) (*IdentificationStage, error) {
	ns, sp := s.Namespace, &s.Spec
	var e errs
	out := &IdentificationStage{
		stageMeta:               meta(stageInfos[flowsv1alpha1.StageKindIdentification], s),
		UserFields:              nonNil(sp.UserFields),
		PasswordStage:           e.uid(rv.localRef(ctx, &flowsv1alpha1.PasswordStage{}, ns, sp.PasswordStageRef)),
		CaptchaStage:            e.uid(rv.localRef(ctx, &flowsv1alpha1.CaptchaStage{}, ns, sp.CaptchaStageRef)),
		CaseInsensitiveMatching: boolOr(sp.CaseInsensitiveMatching, true),
		ShowMatchedUser:         boolOr(sp.ShowMatchedUser, true),
		EnrollmentFlow:          e.uid(rv.localRef(ctx, &flowsv1alpha1.Flow{}, ns, sp.EnrollmentFlowRef)),
		RecoveryFlow:            e.uid(rv.localRef(ctx, &flowsv1alpha1.Flow{}, ns, sp.RecoveryFlowRef)),
		PasswordlessFlow:        e.uid(rv.localRef(ctx, &flowsv1alpha1.Flow{}, ns, sp.PasswordlessFlowRef)),
		Sources:                 make([]string, 0, len(sp.SourceRefs)),
		ShowSourceLabels:        boolOr(sp.ShowSourceLabels, false),
		PretendUserExists:       boolOr(sp.PretendUserExists, true),
		EnableRememberMe:        boolOr(sp.EnableRememberMe, false),
		WebAuthnStage:           e.uid(rv.localRef(ctx, &flowsv1alpha1.AuthenticatorValidateStage{}, ns, sp.WebAuthnStageRef)),
	}
	var src flowsv1alpha1.Source
	for _, r := range sp.SourceRefs {
		if uid := e.uid(rv.uidOf(ctx, &src, ns, r.Name)); uid != nil {
			out.Sources = append(out.Sources, *uid)
		}
	}
	return out, e.err
}

// password renders a PasswordStage without its flow_set.
func (rv *resolver) password(ctx context.Context, s *flowsv1alpha1.PasswordStage) (*PasswordStage, error) {
	var e errs
	attempts := defaultFailedAttempts
	if s.Spec.FailedAttemptsBeforeCancel != nil {
		attempts = *s.Spec.FailedAttemptsBeforeCancel
	}
	out := &PasswordStage{
		stageMeta:                  meta(stageInfos[flowsv1alpha1.StageKindPassword], s),
		Backends:                   nonNil(s.Spec.Backends),
		ConfigureFlow:              e.uid(rv.localRef(ctx, &flowsv1alpha1.Flow{}, s.Namespace, s.Spec.ConfigureFlowRef)),
		FailedAttemptsBeforeCancel: attempts,
		AllowShowPassword:          boolOr(s.Spec.AllowShowPassword, false),
	}
	return out, e.err
}

// authenticatorValidate renders an AuthenticatorValidateStage without its
// flow_set.
func (rv *resolver) authenticatorValidate(ctx context.Context, s *flowsv1alpha1.AuthenticatorValidateStage) (*AuthenticatorValidateStage, error) {
	var e errs
	sp := &s.Spec
	classes := sp.DeviceClasses
	if len(classes) == 0 {
		classes = defaultDeviceClasses
	}
	out := &AuthenticatorValidateStage{
		stageMeta:                     meta(stageInfos[flowsv1alpha1.StageKindAuthenticatorValidate], s),
		NotConfiguredAction:           sp.NotConfiguredAction,
		DeviceClasses:                 classes,
		LastAuthThreshold:             orDefault(string(sp.LastAuthThreshold), flowsv1alpha1.DefaultLastAuthThreshold),
		WebAuthnUserVerification:      sp.WebAuthnUserVerification,
		WebAuthnHints:                 nonNil(sp.WebAuthnHints),
		WebAuthnAllowedDeviceTypes:    make([]string, 0, len(sp.WebAuthnAllowedDeviceTypeRefs)),
		WebAuthnAllowedDeviceTypesObj: make([]WebAuthnDeviceType, 0, len(sp.WebAuthnAllowedDeviceTypeRefs)),
		EmailOTPThrottlingFactor:      floatOr(sp.EmailOTPThrottlingFactor, defaultThrottlingFactor),
		SMSOTPThrottlingFactor:        floatOr(sp.SMSOTPThrottlingFactor, defaultThrottlingFactor),
		TOTPOTPThrottlingFactor:       floatOr(sp.TOTPOTPThrottlingFactor, defaultThrottlingFactor),
		StaticOTPThrottlingFactor:     floatOr(sp.StaticOTPThrottlingFactor, defaultThrottlingFactor),
	}
	if out.NotConfiguredAction == "" {
		out.NotConfiguredAction = defaultNotConfiguredAction
	}
	if out.WebAuthnUserVerification == "" {
		out.WebAuthnUserVerification = defaultUserVerification
	}
	external := false
	out.ownConfigurationStages = make([]string, 0, len(sp.ConfigurationStageRefs))
	for _, r := range sp.ConfigurationStageRefs {
		if r.IsExternal() {
			external = true // a stage only authentik knows: it has no uid here
			continue
		}
		obj, err := flowsv1alpha1.New(string(r.Kind))
		if err != nil {
			continue // admission allows only the stage kinds
		}
		if uid := e.uid(rv.uidOf(ctx, obj, s.Namespace, r.Name)); uid != nil {
			out.ownConfigurationStages = append(out.ownConfigurationStages, *uid)
		}
	}
	if !external {
		out.ConfigurationStages = &out.ownConfigurationStages
	}
	var dt flowsv1alpha1.WebAuthnDeviceType
	for _, r := range sp.WebAuthnAllowedDeviceTypeRefs {
		if err := rv.r.Get(ctx, types.NamespacedName{Name: r.Name}, &dt, noCopy); err != nil {
			if !apierrors.IsNotFound(err) {
				e.err = errors.Join(e.err, fmt.Errorf("reading WebAuthnDeviceType %s: %w", r.Name, err))
			}
			continue
		}
		// A device type's pk is its aaguid, which authentik writes in
		// canonical (lowercase) form.
		aaguid := dt.Spec.AAGUID
		if u, err := uuid.Parse(aaguid); err == nil {
			aaguid = u.String()
		}
		out.WebAuthnAllowedDeviceTypes = append(out.WebAuthnAllowedDeviceTypes, aaguid)
		out.WebAuthnAllowedDeviceTypesObj = append(out.WebAuthnAllowedDeviceTypesObj, WebAuthnDeviceType{AAGUID: aaguid, Description: dt.Spec.Description})
	}
	return out, e.err
}

// captcha renders a CaptchaStage without its flow_set.
func (rv *resolver) captcha(_ context.Context, s *flowsv1alpha1.CaptchaStage) (*CaptchaStage, error) {
	sp := &s.Spec
	ct := sp.RequestContentType
	if ct == "" {
		ct = defaultCaptchaContentType
	}
	return &CaptchaStage{
		stageMeta:           meta(stageInfos[flowsv1alpha1.StageKindCaptcha], s),
		PublicKey:           sp.PublicKey,
		JSURL:               orDefault(sp.JSURL, defaultCaptchaJSURL),
		APIURL:              orDefault(sp.APIURL, defaultCaptchaAPIURL),
		RequestContentType:  ct,
		Interactive:         boolOr(sp.Interactive, false),
		ScoreMinThreshold:   floatOr(sp.ScoreMinThreshold, defaultScoreMinThreshold),
		ScoreMaxThreshold:   floatOr(sp.ScoreMaxThreshold, defaultScoreMaxThreshold),
		ErrorOnInvalidScore: boolOr(sp.ErrorOnInvalidScore, true),
	}, nil
}

// userLogin renders a UserLoginStage without its flow_set.
func (rv *resolver) userLogin(_ context.Context, s *flowsv1alpha1.UserLoginStage) (*UserLoginStage, error) {
	sp := &s.Spec
	return &UserLoginStage{
		stageMeta:              meta(stageInfos[flowsv1alpha1.StageKindUserLogin], s),
		SessionDuration:        orDefault(string(sp.SessionDuration), defaultSessionDuration),
		TerminateOtherSessions: boolOr(sp.TerminateOtherSessions, false),
		RememberMeOffset:       orDefault(string(sp.RememberMeOffset), defaultRememberMeOffset),
		NetworkBinding:         flowsv1alpha1.NetworkBinding(orDefault(string(sp.NetworkBinding), defaultNoBinding)),
		GeoIPBinding:           flowsv1alpha1.GeoIPBinding(orDefault(string(sp.GeoIPBinding), defaultNoBinding)),
		RememberDevice:         orDefault(string(sp.RememberDevice), defaultRememberDevice),
	}, nil
}

func floatOr(p *float64, def float64) pyFloat {
	if p == nil {
		return pyFloat(def)
	}
	return pyFloat(*p)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

package export

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

const ns = "team-a"

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
func ref(name string) *flowsv1alpha1.LocalObjectReference {
	return &flowsv1alpha1.LocalObjectReference{Name: name}
}

// login is a flow that uses every field and every kind of reference
// stagehand knows, each set to something other than authentik's default:
//
//	login (slug team-login)
//	  10 login-id         IdentificationStage
//	       password login-pw, captcha login-captcha, webauthn login-passkey,
//	       enrollment enroll (slug enroll-slug), recovery recover,
//	       passwordless login itself, sources github and corp (slug corp-sso)
//	  20 login-pw         PasswordStage, configure flow change-pw
//	  30 login-mfa        AuthenticatorValidateStage, all defaults
//	  40 login-write      a user write stage that lives only in authentik
//	 100 login-session    UserLoginStage
//	login-passkey         AuthenticatorValidateStage, configures with login-pw
//	                      and authentik's TOTP setup stage, allows the
//	                      yubikey device type
//	login-captcha         CaptchaStage, key in Secret captcha-keys
type fixture struct {
	flow     *flowsv1alpha1.Flow
	bindings []flowsv1alpha1.FlowStageBinding
	objects  []client.Object
}

func login() *fixture {
	f := &fixture{}
	f.flow = &flowsv1alpha1.Flow{ObjectMeta: meta("login"), Spec: flowsv1alpha1.FlowSpec{
		Slug:              "team-login",
		Name:              "Team login",
		Title:             "Sign in to Team A",
		Designation:       flowsv1alpha1.FlowDesignationAuthentication,
		Background:        "https://example.com/bg.png",
		PolicyEngineMode:  flowsv1alpha1.PolicyEngineModeAll,
		CompatibilityMode: ptr.To(true),
		Layout:            "sidebar_left",
		DeniedAction:      "continue",
		Authentication:    "require_unauthenticated",
	}}
	id := &flowsv1alpha1.IdentificationStage{ObjectMeta: meta("login-id"), Spec: flowsv1alpha1.IdentificationStageSpec{
		UserFields:              []flowsv1alpha1.UserField{"username", "upn"},
		PasswordStageRef:        ref("login-pw"),
		CaptchaStageRef:         ref("login-captcha"),
		CaseInsensitiveMatching: ptr.To(false),
		ShowMatchedUser:         ptr.To(false),
		EnrollmentFlowRef:       ref("enroll"),
		RecoveryFlowRef:         ref("recover"),
		PasswordlessFlowRef:     ref("login"),
		SourceRefs:              []flowsv1alpha1.LocalObjectReference{{Name: "github"}, {Name: "corp"}},
		ShowSourceLabels:        ptr.To(true),
		PretendUserExists:       ptr.To(false),
		EnableRememberMe:        ptr.To(true),
		WebAuthnStageRef:        ref("login-passkey"),
	}}
	pw := &flowsv1alpha1.PasswordStage{ObjectMeta: meta("login-pw"), Spec: flowsv1alpha1.PasswordStageSpec{
		Backends:                   []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend", "authentik.sources.ldap.auth.LDAPBackend"},
		ConfigureFlowRef:           ref("change-pw"),
		FailedAttemptsBeforeCancel: ptr.To(int32(3)),
		AllowShowPassword:          ptr.To(true),
	}}
	captcha := &flowsv1alpha1.CaptchaStage{ObjectMeta: meta("login-captcha"), Spec: flowsv1alpha1.CaptchaStageSpec{
		PublicKey:           "10000000-ffff-ffff-ffff-000000000001",
		PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: "captcha-keys", Key: "private"},
		JSURL:               "https://js.hcaptcha.com/1/api.js",
		APIURL:              "https://api.hcaptcha.com/siteverify",
		RequestContentType:  flowsv1alpha1.RequestContentTypeJSON,
		Interactive:         ptr.To(true),
		ScoreMinThreshold:   ptr.To(0.2),
		ScoreMaxThreshold:   ptr.To(0.9),
		ErrorOnInvalidScore: ptr.To(false),
	}}
	passkey := &flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: meta("login-passkey"), Spec: flowsv1alpha1.AuthenticatorValidateStageSpec{
		NotConfiguredAction: flowsv1alpha1.NotConfiguredActionConfigure,
		DeviceClasses:       []flowsv1alpha1.DeviceClass{flowsv1alpha1.DeviceClassWebAuthn},
		ConfigurationStageRefs: []flowsv1alpha1.StageReference{
			{Kind: flowsv1alpha1.StageKindPassword, Name: "login-pw"},
			{Model: "authentik_stages_authenticator_totp.authenticatortotpstage", Name: "default-authenticator-totp-setup"},
		},
		LastAuthThreshold:             "hours=1;minutes=30",
		WebAuthnUserVerification:      "required",
		WebAuthnHints:                 []flowsv1alpha1.WebAuthnHint{"security-key", "hybrid"},
		WebAuthnAllowedDeviceTypeRefs: []flowsv1alpha1.LocalObjectReference{{Name: "yubikey"}},
		EmailOTPThrottlingFactor:      ptr.To(0.0),
		SMSOTPThrottlingFactor:        ptr.To(2.5),
		TOTPOTPThrottlingFactor:       ptr.To(1.5),
		StaticOTPThrottlingFactor:     ptr.To(0.5),
	}}
	mfa := &flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: meta("login-mfa")}
	session := &flowsv1alpha1.UserLoginStage{ObjectMeta: meta("login-session"), Spec: flowsv1alpha1.UserLoginStageSpec{
		SessionDuration:        "hours=8",
		TerminateOtherSessions: ptr.To(true),
		RememberMeOffset:       "days=14",
		NetworkBinding:         "bind_asn_network",
		GeoIPBinding:           "bind_continent_country",
		RememberDevice:         "days=7",
	}}
	f.bindings = []flowsv1alpha1.FlowStageBinding{
		// Out of order, to show the document orders them.
		binding("login-30-mfa", "login", flowsv1alpha1.StageKindAuthenticatorValidate, "login-mfa", 30),
		binding("login-10-id", "login", flowsv1alpha1.StageKindIdentification, "login-id", 10),
		binding("login-20-pw", "login", flowsv1alpha1.StageKindPassword, "login-pw", 20),
		binding("login-100-session", "login", flowsv1alpha1.StageKindUserLogin, "login-session", 100),
		binding("login-40-write", "login", "", "login-write", 40),
	}
	f.bindings[4].Spec.StageRef.Model = "authentik_stages_user_write.userwritestage"
	b := &f.bindings[1].Spec
	b.EvaluateOnPlan, b.ReEvaluatePolicies = ptr.To(true), ptr.To(false)
	b.InvalidResponseAction, b.PolicyEngineMode = "restart_with_context", flowsv1alpha1.PolicyEngineModeAll

	f.objects = []client.Object{
		f.flow, id, pw, captcha, passkey, mfa, session,
		&flowsv1alpha1.Flow{ObjectMeta: meta("enroll"), Spec: flowsv1alpha1.FlowSpec{Slug: "enroll-slug", Title: "Join", Designation: flowsv1alpha1.FlowDesignationEnrollment}},
		&flowsv1alpha1.Flow{ObjectMeta: meta("recover"), Spec: flowsv1alpha1.FlowSpec{Title: "Recover", Designation: flowsv1alpha1.FlowDesignationRecovery}},
		&flowsv1alpha1.Flow{ObjectMeta: meta("change-pw"), Spec: flowsv1alpha1.FlowSpec{Title: "Change", Designation: flowsv1alpha1.FlowDesignationStageConfiguration}},
		&flowsv1alpha1.Source{ObjectMeta: meta("github")},
		&flowsv1alpha1.Source{ObjectMeta: meta("corp"), Spec: flowsv1alpha1.SourceSpec{Slug: "corp-sso"}},
		&flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: metav1.ObjectMeta{Name: "yubikey"}, Spec: flowsv1alpha1.WebAuthnDeviceTypeSpec{AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Description: "YubiKey 5"}},
	}
	for i := range f.bindings {
		f.objects = append(f.objects, &f.bindings[i])
	}
	return f
}

func binding(name, flow string, kind flowsv1alpha1.StageKind, stage string, order int32) flowsv1alpha1.FlowStageBinding {
	return flowsv1alpha1.FlowStageBinding{ObjectMeta: meta(name), Spec: flowsv1alpha1.FlowStageBindingSpec{
		TargetRef: flowsv1alpha1.LocalObjectReference{Name: flow},
		StageRef:  flowsv1alpha1.StageReference{Kind: kind, Name: stage},
		Order:     order,
	}}
}

func (f *fixture) lookup() Lookup {
	l, err := Objects(f.objects...)
	if err != nil {
		panic(err)
	}
	return l
}

func (f *fixture) render(opts Options) (*Result, error) {
	return Render(f.flow, f.bindings, f.lookup(), opts)
}

// without is the fixture less the objects named.
func (f *fixture) without(names ...string) *fixture {
	out := &fixture{flow: f.flow, bindings: f.bindings}
	for _, o := range f.objects {
		keep := true
		for _, n := range names {
			if o.GetName() == n {
				keep = false
			}
		}
		if keep {
			out.objects = append(out.objects, o)
		}
	}
	return out
}

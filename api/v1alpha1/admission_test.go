package v1alpha1_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// stagehand has no admission webhook: the CRDs' OpenAPI schemas and CEL rules,
// generated from the markers in *_types.go, are the whole of admission. These
// tests hold the real kube-apiserver to every rule: for each, a manifest it
// must accept and one it must refuse, with the message a user will read
// (authentik's own, word for word, where authentik has one).
//
// Checks run as server-side dry-run creates: the API server's full admission
// (defaulting, schema, CEL) without storing anything. Each case is a merge
// patch over a valid object of its kind (bases below), so a case shows only
// what it changes.

// bases holds a valid object of every kind, written as a person would. Every
// case patches one of them; TestAdmissionBasesAreValid proves they pass on
// their own, so a refusal is caused by the patch.
var bases = map[string]string{
	"Flow":                       `{"spec":{"title":"Welcome to authentik!","designation":"authentication"}}`,
	"FlowStageBinding":           `{"spec":{"targetRef":{"name":"default-authentication-flow"},"stageRef":{"kind":"PasswordStage","name":"default-authentication-password"},"order":20}}`,
	"IdentificationStage":        `{"spec":{"userFields":["email","username"]}}`,
	"PasswordStage":              `{"spec":{"backends":["authentik.core.auth.InbuiltBackend"]}}`,
	"AuthenticatorValidateStage": `{}`,
	"CaptchaStage":               `{"spec":{"publicKey":"6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI","privateKeySecretRef":{"name":"recaptcha","key":"privateKey"}}}`,
	"Source":                     `{}`,
	"WebAuthnDeviceType":         `{"spec":{"aaguid":"cb69481e-8ff7-4039-93ec-0a2729a154a8","description":"YubiKey 5 Series"}}`,
	"UserLoginStage":             `{}`,
	"BlueprintExport":            `{}`,
}

// admissionCase is one manifest and what the API server must do with it.
type admissionCase struct {
	kind  string
	name  string
	patch string // JSON merge patch over bases[kind]; "" for the base itself
	// refused lists the causes the API server must give; empty means the
	// object must be accepted.
	refused []refusal
}

func accept(kind, name, patch string) admissionCase {
	return admissionCase{kind: kind, name: name, patch: patch}
}

func refuse(kind, name, patch, field, message string) admissionCase {
	return admissionCase{kind: kind, name: name, patch: patch, refused: []refusal{{field, message}}}
}

// runAdmission dry-runs every case, in parallel, in a namespace of the test's
// own.
func runAdmission(t *testing.T, cases []admissionCase) {
	t.Helper()
	ns := namespace(t)
	seen := map[string]bool{}
	for _, c := range cases {
		name := c.kind + "/" + c.name
		if seen[name] {
			t.Fatalf("two cases named %q", name)
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := dryRunCreate(t, manifest(t, c.kind, ns, bases[c.kind], c.patch))
			if len(c.refused) == 0 {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			checkRefusal(t, err, c.refused...)
		})
	}
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestAdmissionBasesAreValid(t *testing.T) {
	var cases []admissionCase
	for kind := range bases {
		cases = append(cases, accept(kind, "base", ""))
	}
	runAdmission(t, cases)
}

// enumField is a field whose values are an OpenAPI enum: authentik's values,
// verbatim.
type enumField struct {
	kind string
	// patch sets the field; %s is the JSON-quoted value.
	patch string
	// field is where the API server reports a value outside the enum.
	field string
	// values are authentik's values, in the order of the enum.
	values []string
	// bad is a value authentik does not know, a plausible mistake.
	bad string
}

var (
	flowDesignations = []string{"authentication", "authorization", "invalidation", "enrollment", "unenrollment", "recovery", "stage_configuration"}
	policyModes      = []string{"all", "any"}
	layouts          = []string{"stacked", "content_left", "content_right", "sidebar_left", "sidebar_right", "sidebar_left_frame_background", "sidebar_right_frame_background"}
	deniedActions    = []string{"message_continue", "message", "continue"}
	authentications  = []string{"none", "require_authenticated", "require_unauthenticated", "require_superuser", "require_redirect", "require_outpost", "require_token"}
	invalidResponses = []string{"retry", "restart", "restart_with_context"}
	userFields       = []string{"email", "username", "upn"}
	backends         = []string{"authentik.core.auth.InbuiltBackend", "authentik.core.auth.TokenBackend", "authentik.sources.ldap.auth.LDAPBackend", "authentik.sources.kerberos.auth.KerberosBackend"}
	notConfigured    = []string{"skip", "deny", "configure"}
	deviceClasses    = []string{"static", "totp", "webauthn", "duo", "sms", "email"}
	userVerification = []string{"required", "preferred", "discouraged"}
	stageKinds       = []string{"IdentificationStage", "PasswordStage", "AuthenticatorValidateStage", "CaptchaStage", "UserLoginStage"}
	webauthnHints    = []string{"security-key", "client-device", "hybrid"}
	networkBindings  = []string{"no_binding", "bind_asn", "bind_asn_network", "bind_asn_network_ip"}
	geoipBindings    = []string{"no_binding", "bind_continent", "bind_continent_country", "bind_continent_country_city"}
	contentTypes     = []string{"application/x-www-form-urlencoded", "application/json"}
)

var enumFields = []enumField{
	{"Flow", `{"spec":{"designation":%s}}`, "spec.designation", flowDesignations, "login"},
	{"Flow", `{"spec":{"policyEngineMode":%s}}`, "spec.policyEngineMode", policyModes, "ALL"},
	{"Flow", `{"spec":{"layout":%s}}`, "spec.layout", layouts, "content-left"},
	{"Flow", `{"spec":{"deniedAction":%s}}`, "spec.deniedAction", deniedActions, "deny"},
	{"Flow", `{"spec":{"authentication":%s}}`, "spec.authentication", authentications, "require_admin"},
	{"FlowStageBinding", `{"spec":{"policyEngineMode":%s}}`, "spec.policyEngineMode", policyModes, "every"},
	{"FlowStageBinding", `{"spec":{"invalidResponseAction":%s}}`, "spec.invalidResponseAction", invalidResponses, "restart-with-context"},
	{"FlowStageBinding", `{"spec":{"stageRef":{"kind":%s}}}`, "spec.stageRef.kind", stageKinds, "UserWriteStage"},
	{"IdentificationStage", `{"spec":{"userFields":[%s]}}`, "spec.userFields[0]", userFields, "phone"},
	{"PasswordStage", `{"spec":{"backends":[%s]}}`, "spec.backends[0]", backends, "authentik.sources.ldap.auth.LdapBackend"},
	// configure needs a configuration stage (see TestAdmissionCrossFieldRules).
	{"AuthenticatorValidateStage", `{"spec":{"notConfiguredAction":%s,"configurationStageRefs":[{"kind":"PasswordStage","name":"p"}]}}`, "spec.notConfiguredAction", notConfigured, "allow"},
	{"AuthenticatorValidateStage", `{"spec":{"deviceClasses":[%s]}}`, "spec.deviceClasses[0]", deviceClasses, "yubikey"},
	{"AuthenticatorValidateStage", `{"spec":{"webauthnUserVerification":%s}}`, "spec.webauthnUserVerification", userVerification, "always"},
	{"AuthenticatorValidateStage", `{"spec":{"configurationStageRefs":[{"kind":%s,"name":"setup"}]}}`, "spec.configurationStageRefs[0].kind", stageKinds, "AuthenticatorTOTPStage"},
	{"AuthenticatorValidateStage", `{"spec":{"webauthnHints":[%s]}}`, "spec.webauthnHints[0]", webauthnHints, "platform"},
	{"UserLoginStage", `{"spec":{"networkBinding":%s}}`, "spec.networkBinding", networkBindings, "bind_ip"},
	{"UserLoginStage", `{"spec":{"geoipBinding":%s}}`, "spec.geoipBinding", geoipBindings, "bind_country"},
	{"BlueprintExport", `{"spec":{"secrets":%s}}`, "spec.secrets", []string{"Mount", "Inline"}, "inline"},
	{"BlueprintExport", `{"spec":{"flowSelector":{"matchExpressions":[{"key":"team","operator":%s,"values":["a"]}]}}}`, "spec.flowSelector.matchExpressions[0].operator", []string{"In", "NotIn", "Exists", "DoesNotExist"}, "Equals"},
	{"CaptchaStage", `{"spec":{"requestContentType":%s}}`, "spec.requestContentType", contentTypes, "multipart/form-data"},
}

// TestAdmissionEnums: every value of every enum is accepted, and a value
// outside it is refused with the API server's list of supported values, which
// the test spells out: the enum is exactly authentik's list, in its order.
func TestAdmissionEnums(t *testing.T) {
	var cases []admissionCase
	for _, e := range enumFields {
		for _, v := range e.values {
			cases = append(cases, accept(e.kind, e.field+"="+v, fmt.Sprintf(e.patch, jsonString(v))))
		}
		cases = append(cases, refuse(e.kind, e.field+"="+e.bad, fmt.Sprintf(e.patch, jsonString(e.bad)),
			e.field, fmt.Sprintf("Unsupported value: %q: supported values: %s", e.bad, quoteAll(e.values))))
	}
	// Lists of enum values may hold every value at once.
	all := func(values []string) string {
		q := make([]string, len(values))
		for i, v := range values {
			q[i] = jsonString(v)
		}
		return "[" + strings.Join(q, ",") + "]"
	}
	cases = append(cases,
		accept("IdentificationStage", "every user field", `{"spec":{"userFields":`+all(userFields)+`}}`),
		accept("PasswordStage", "every backend", `{"spec":{"backends":`+all(backends)+`}}`),
		accept("AuthenticatorValidateStage", "every device class", `{"spec":{"deviceClasses":`+all(deviceClasses)+`}}`),
		accept("AuthenticatorValidateStage", "every webauthn hint", `{"spec":{"webauthnHints":`+all(webauthnHints)+`}}`),
	)
	runAdmission(t, cases)
}

// slugCases are the slug rules of a kind whose slug defaults to its name
// (Flow, Source): spec.slug's own pattern and length, and the root rules that
// hold metadata.name to the same when spec.slug is not set.
func slugCases(kind, noun string) []admissionCase {
	const (
		badPattern = "should match '^[-a-zA-Z0-9_]+$'"
	)
	nameRule := "metadata.name is the " + noun + "'s slug when spec.slug is not set, and a slug may only contain letters, numbers, underscores or hyphens: set spec.slug"
	lenRule := "metadata.name is the " + noun + "'s slug when spec.slug is not set, and a slug has at most 50 characters: set spec.slug"
	return []admissionCase{
		accept(kind, "spec.slug with every allowed character", `{"spec":{"slug":"Default-authentication_flow-2"}}`),
		accept(kind, "spec.slug of 50 characters", `{"spec":{"slug":"`+str(50)+`"}}`),
		refuse(kind, "spec.slug of 51 characters", `{"spec":{"slug":"`+str(51)+`"}}`, "spec.slug", "Too long: may not be more than 50 bytes"),
		refuse(kind, "spec.slug with a dot", `{"spec":{"slug":"default.flow"}}`, "spec.slug", badPattern),
		refuse(kind, "spec.slug with a space", `{"spec":{"slug":"default flow"}}`, "spec.slug", badPattern),
		refuse(kind, "spec.slug with a slash", `{"spec":{"slug":"default/flow"}}`, "spec.slug", badPattern),
		refuse(kind, "spec.slug empty", `{"spec":{"slug":""}}`, "spec.slug", "should be at least 1 chars long"),

		accept(kind, "name is the slug", `{"metadata":{"name":"default-authentication-flow"}}`),
		accept(kind, "name of 50 characters is the slug", `{"metadata":{"name":"`+str(50)+`"}}`),
		refuse(kind, "name of 51 characters without spec.slug", `{"metadata":{"name":"`+str(51)+`"}}`, "<nil>", lenRule),
		accept(kind, "name of 51 characters with spec.slug", `{"metadata":{"name":"`+str(51)+`"},"spec":{"slug":"short"}}`),
		refuse(kind, "name with a dot without spec.slug", `{"metadata":{"name":"default.flow"}}`, "<nil>", nameRule),
		accept(kind, "name with a dot with spec.slug", `{"metadata":{"name":"default.flow"},"spec":{"slug":"default-flow"}}`),
	}
}

// TestAdmissionSlugs: authentik's slug rule, ^[-a-zA-Z0-9_]+$ and at most 50
// characters, on spec.slug and, when spec.slug is absent, on metadata.name
// (which Kubernetes lets hold dots and up to 253 characters).
func TestAdmissionSlugs(t *testing.T) {
	runAdmission(t, append(slugCases("Flow", "flow"), slugCases("Source", "source")...))
}

// TestAdmissionCrossFieldRules: authentik's serializer rules that involve two
// fields, with authentik's messages word for word.
func TestAdmissionCrossFieldRules(t *testing.T) {
	const (
		noSource    = "When no user fields are selected, at least one source must be selected"
		noConfStage = `When "Not configured action" is set to "Configure", you must set a configuration stage.`
		noEval      = "Either evaluation on plan or evaluation on run must be enabled"
	)
	runAdmission(t, []admissionCase{
		// IdentificationStage: user fields, sources, or both.
		accept("IdentificationStage", "user fields without sources", `{"spec":{"userFields":["username"]}}`),
		accept("IdentificationStage", "sources without user fields", `{"spec":{"userFields":null,"sourceRefs":[{"name":"github"}]}}`),
		accept("IdentificationStage", "empty user fields with sources", `{"spec":{"userFields":[],"sourceRefs":[{"name":"github"}]}}`),
		refuse("IdentificationStage", "neither user fields nor sources", `{"spec":{"userFields":null}}`, "spec", noSource),
		refuse("IdentificationStage", "empty user fields and empty sources", `{"spec":{"userFields":[],"sourceRefs":[]}}`, "spec", noSource),

		// AuthenticatorValidateStage: configure needs a stage to configure
		// with. authentik reports it on not_configured_action, and so do we.
		accept("AuthenticatorValidateStage", "configure with a configuration stage", `{"spec":{"notConfiguredAction":"configure","configurationStageRefs":[{"kind":"PasswordStage","name":"setup"}]}}`),
		accept("AuthenticatorValidateStage", "deny without a configuration stage", `{"spec":{"notConfiguredAction":"deny"}}`),
		refuse("AuthenticatorValidateStage", "configure without a configuration stage", `{"spec":{"notConfiguredAction":"configure"}}`, "spec.notConfiguredAction", noConfStage),
		refuse("AuthenticatorValidateStage", "configure with an empty list of configuration stages", `{"spec":{"notConfiguredAction":"configure","configurationStageRefs":[]}}`, "spec.notConfiguredAction", noConfStage),

		// FlowStageBinding: policies are evaluated at planning, at run, or
		// both. The defaults (false, true) apply before the rule runs.
		accept("FlowStageBinding", "defaults: evaluated at run", ``),
		accept("FlowStageBinding", "evaluated at plan and at run", `{"spec":{"evaluateOnPlan":true,"reEvaluatePolicies":true}}`),
		accept("FlowStageBinding", "evaluated at plan only", `{"spec":{"evaluateOnPlan":true,"reEvaluatePolicies":false}}`),
		refuse("FlowStageBinding", "evaluated neither at plan nor at run", `{"spec":{"evaluateOnPlan":false,"reEvaluatePolicies":false}}`, "spec", noEval),
		refuse("FlowStageBinding", "run evaluation off, plan evaluation left to its default", `{"spec":{"reEvaluatePolicies":false}}`, "spec", noEval),
	})
}

// TestAdmissionNonEmptyLists: a PasswordStage needs a backend and an
// AuthenticatorValidateStage a device class; authentik's "This list may not
// be empty." for an empty one.
func TestAdmissionNonEmptyLists(t *testing.T) {
	const empty = "This list may not be empty."
	runAdmission(t, []admissionCase{
		accept("PasswordStage", "one backend", `{"spec":{"backends":["authentik.core.auth.TokenBackend"]}}`),
		refuse("PasswordStage", "no backends", `{"spec":{"backends":[]}}`, "spec.backends", empty),
		refuse("PasswordStage", "backends missing", `{"spec":{"backends":null}}`, "spec.backends", "Required value"),
		accept("AuthenticatorValidateStage", "one device class", `{"spec":{"deviceClasses":["webauthn"]}}`),
		refuse("AuthenticatorValidateStage", "no device classes", `{"spec":{"deviceClasses":[]}}`, "spec.deviceClasses", empty),
	})
}

// TestAdmissionSets: lists of enum values are sets, and lists of references
// are maps keyed by what identifies the target, so a value or a target is
// never listed twice.
func TestAdmissionSets(t *testing.T) {
	runAdmission(t, []admissionCase{
		refuse("IdentificationStage", "userFields twice email", `{"spec":{"userFields":["email","username","email"]}}`, "spec.userFields[2]", `Duplicate value: "email"`),
		refuse("PasswordStage", "backends twice InbuiltBackend", `{"spec":{"backends":["authentik.core.auth.InbuiltBackend","authentik.core.auth.InbuiltBackend"]}}`, "spec.backends[1]", `Duplicate value: "authentik.core.auth.InbuiltBackend"`),
		refuse("AuthenticatorValidateStage", "deviceClasses twice totp", `{"spec":{"deviceClasses":["totp","webauthn","totp"]}}`, "spec.deviceClasses[2]", `Duplicate value: "totp"`),

		accept("IdentificationStage", "sourceRefs distinct", `{"spec":{"sourceRefs":[{"name":"github"},{"name":"google"}]}}`),
		refuse("IdentificationStage", "sourceRefs twice github", `{"spec":{"sourceRefs":[{"name":"github"},{"name":"github"}]}}`, "spec.sourceRefs[1]", `Duplicate value: {"name":"github"}`),

		// A stage is identified by kind and name: one name may be used by
		// two kinds.
		accept("AuthenticatorValidateStage", "configurationStageRefs same name, two kinds", `{"spec":{"configurationStageRefs":[{"kind":"PasswordStage","name":"setup"},{"kind":"CaptchaStage","name":"setup"}]}}`),
		refuse("AuthenticatorValidateStage", "configurationStageRefs twice one stage", `{"spec":{"configurationStageRefs":[{"kind":"PasswordStage","name":"setup"},{"kind":"PasswordStage","name":"setup"}]}}`, "spec.configurationStageRefs", "each configuration stage may be named once"),
		accept("AuthenticatorValidateStage", "configurationStageRefs same name, a kind and a model", `{"spec":{"configurationStageRefs":[{"kind":"PasswordStage","name":"setup"},{"model":"authentik_stages_authenticator_totp.authenticatortotpstage","name":"setup"}]}}`),
		refuse("AuthenticatorValidateStage", "configurationStageRefs twice one authentik stage", `{"spec":{"configurationStageRefs":[{"model":"authentik_stages_authenticator_totp.authenticatortotpstage","name":"setup"},{"model":"authentik_stages_authenticator_totp.authenticatortotpstage","name":"setup"}]}}`, "spec.configurationStageRefs", "each configuration stage may be named once"),
		refuse("AuthenticatorValidateStage", "webauthnHints twice hybrid", `{"spec":{"webauthnHints":["hybrid","security-key","hybrid"]}}`, "spec.webauthnHints[2]", `Duplicate value: "hybrid"`),

		accept("AuthenticatorValidateStage", "webauthnAllowedDeviceTypeRefs distinct", `{"spec":{"webauthnAllowedDeviceTypeRefs":[{"name":"yubikey-5"},{"name":"titan"}]}}`),
		refuse("AuthenticatorValidateStage", "webauthnAllowedDeviceTypeRefs twice yubikey-5", `{"spec":{"webauthnAllowedDeviceTypeRefs":[{"name":"yubikey-5"},{"name":"yubikey-5"}]}}`, "spec.webauthnAllowedDeviceTypeRefs[1]", `Duplicate value: {"name":"yubikey-5"}`),
	})
}

// TestAdmissionInt32Bounds: authentik's integer fields are int32. The values
// are sent as raw JSON numbers; a Go int32 could not even express the ones
// that must be refused.
func TestAdmissionInt32Bounds(t *testing.T) {
	const (
		tooBig   = "should be less than or equal to 2147483647"
		tooSmall = "should be greater than or equal to -2147483648"
	)
	var cases []admissionCase
	for _, f := range []struct{ kind, field, patch string }{
		{"PasswordStage", "spec.failedAttemptsBeforeCancel", `{"spec":{"failedAttemptsBeforeCancel":%s}}`},
		{"FlowStageBinding", "spec.order", `{"spec":{"order":%s}}`},
	} {
		cases = append(cases,
			accept(f.kind, f.field+"=-2147483648", fmt.Sprintf(f.patch, "-2147483648")),
			accept(f.kind, f.field+"=2147483647", fmt.Sprintf(f.patch, "2147483647")),
			refuse(f.kind, f.field+"=2147483648", fmt.Sprintf(f.patch, "2147483648"), f.field, tooBig),
			refuse(f.kind, f.field+"=-2147483649", fmt.Sprintf(f.patch, "-2147483649"), f.field, tooSmall),
		)
	}
	runAdmission(t, cases)
}

// TestAdmissionLastAuthThreshold: authentik's key=value;key=value duration,
// parsed by CEL as authentik's timedelta_from_string parses it. Where
// authentik accepts what it should not (an unknown key, skipped silently) or
// fails with a 500 (a value overflowing a timedelta), stagehand refuses with
// a message of its own.
func TestAdmissionLastAuthThreshold(t *testing.T) {
	runAdmission(t, timeDeltaCases("AuthenticatorValidateStage", "lastAuthThreshold"))
}

// TestAdmissionUserLoginDurations: the user login stage's durations are
// authentik's timedeltas too, with the same rules as lastAuthThreshold.
func TestAdmissionUserLoginDurations(t *testing.T) {
	var cases []admissionCase
	for _, f := range []string{"sessionDuration", "rememberMeOffset", "rememberDevice"} {
		cases = append(cases, timeDeltaCases("UserLoginStage", f)...)
	}
	runAdmission(t, cases)
}

// timeDeltaCases are the rules of one TimeDelta field.
func timeDeltaCases(kind, name string) []admissionCase {
	format := func(v string) string { return v + " is not in the correct format of 'hours=3;minutes=1'." }
	const (
		unknownKey = "keys must be microseconds, milliseconds, seconds, minutes, hours, days or weeks"
		overflow   = "out of range: each part must be within 100000000 days"
	)
	set := func(v string) string { return `{"spec":{"` + name + `":` + jsonString(v) + `}}` }
	field := "spec." + name
	var cases []admissionCase
	for _, v := range []string{
		"hours=3;minutes=1", "HOURS=2", "minutes=1.5", "seconds=-5", "seconds=0",
		"weeks=1;days=2;hours=3;minutes=4;seconds=5;milliseconds=6;microseconds=7",
		"days=99999999", "seconds=+1", "minutes=.5", "hours=1e3",
	} {
		cases = append(cases, accept(kind, name+" "+v, set(v)))
	}
	// An empty value is blank, as authentik's serializer says, not
	// malformed.
	cases = append(cases, refuse(kind, name+" blank", set(""), field, "This field may not be blank."))
	for _, v := range []string{"hours=1;", ";hours=1", "hours", "hours=1=2", "seconds=nan", "seconds=inf", "hours=one", "hours = 1", "=5"} {
		cases = append(cases, refuse(kind, name+" format "+jsonString(v), set(v), field, format(v)))
	}
	cases = append(cases,
		refuse(kind, name+" unknown key", set("foo=1;seconds=1"), field, unknownKey),
		refuse(kind, name+" plural missing", set("hour=1"), field, unknownKey),
		refuse(kind, name+" overflow days=1e10", set("days=1e10"), field, overflow),
		refuse(kind, name+" overflow negative", set("weeks=-1e20"), field, overflow),
	)
	return cases
}

// TestAdmissionAAGUID: a device type's aaguid, its identity, is a UUID in
// canonical form. The API server's format uuid alone would let uppercase and
// unhyphenated spellings through; the pattern refuses them.
func TestAdmissionAAGUID(t *testing.T) {
	const canonical = "should match '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
	set := func(v string) string { return `{"spec":{"aaguid":` + jsonString(v) + `}}` }
	runAdmission(t, []admissionCase{
		accept("WebAuthnDeviceType", "canonical", set("2fc0579f-8113-47ea-b116-bb5a8db9202a")),
		refuse("WebAuthnDeviceType", "not a UUID", set("yubikey-5-series"), "spec.aaguid", `must be of type uuid: "yubikey-5-series"`),
		refuse("WebAuthnDeviceType", "uppercase", set("2FC0579F-8113-47EA-B116-BB5A8DB9202A"), "spec.aaguid", canonical),
		refuse("WebAuthnDeviceType", "without hyphens", set("2fc0579f811347eab116bb5a8db9202a"), "spec.aaguid", canonical),
		refuse("WebAuthnDeviceType", "in braces", set("{2fc0579f-8113-47ea-b116-bb5a8db9202a}"), "spec.aaguid", `must be of type uuid: "{2fc0579f-8113-47ea-b116-bb5a8db9202a}"`),
	})
}

// TestAdmissionFlowBackground: a flow's background is a path under /static or
// an http(s) URL, the two forms authentik returns as they are.
func TestAdmissionFlowBackground(t *testing.T) {
	const msg = "background must be a path under /static or an http(s) URL"
	set := func(v string) string { return `{"spec":{"background":` + jsonString(v) + `}}` }
	runAdmission(t, []admissionCase{
		accept("Flow", "background empty", set("")),
		accept("Flow", "background under /static", set("/static/dist/assets/images/flow_background.jpg")),
		accept("Flow", "background https", set("https://cdn.example.com/login.jpg")),
		accept("Flow", "background http", set("http://cdn.example.com/login.jpg")),
		refuse("Flow", "background relative path", set("static/login.jpg"), "spec.background", msg),
		refuse("Flow", "background other path", set("/media/login.jpg"), "spec.background", msg),
		refuse("Flow", "background ftp", set("ftp://example.com/login.jpg"), "spec.background", msg),
		refuse("Flow", "background javascript", set("javascript:alert(1)"), "spec.background", msg),
	})
}

// TestAdmissionCaptcha: the provider URLs are http(s), the scores within
// [0, 1], and the private key is a reference to a Secret key with a name a
// Secret's data may hold.
func TestAdmissionCaptcha(t *testing.T) {
	const url = "should match '^https?://'"
	runAdmission(t, []admissionCase{
		accept("CaptchaStage", "hCaptcha URLs", `{"spec":{"jsUrl":"https://js.hcaptcha.com/1/api.js","apiUrl":"https://api.hcaptcha.com/siteverify"}}`),
		accept("CaptchaStage", "http URLs", `{"spec":{"jsUrl":"http://captcha.internal/api.js","apiUrl":"http://captcha.internal/verify"}}`),
		refuse("CaptchaStage", "jsUrl javascript", `{"spec":{"jsUrl":"javascript:alert(1)"}}`, "spec.jsUrl", url),
		refuse("CaptchaStage", "jsUrl without scheme", `{"spec":{"jsUrl":"js.hcaptcha.com/1/api.js"}}`, "spec.jsUrl", url),
		refuse("CaptchaStage", "apiUrl ftp", `{"spec":{"apiUrl":"ftp://api.hcaptcha.com/siteverify"}}`, "spec.apiUrl", url),

		accept("CaptchaStage", "scores 0 and 1", `{"spec":{"scoreMinThreshold":0,"scoreMaxThreshold":1}}`),
		accept("CaptchaStage", "scores 0.3 and 0.9", `{"spec":{"scoreMinThreshold":0.3,"scoreMaxThreshold":0.9}}`),
		refuse("CaptchaStage", "scoreMinThreshold below 0", `{"spec":{"scoreMinThreshold":-0.1}}`, "spec.scoreMinThreshold", "should be greater than or equal to 0"),
		refuse("CaptchaStage", "scoreMinThreshold above 1", `{"spec":{"scoreMinThreshold":1.5}}`, "spec.scoreMinThreshold", "should be less than or equal to 1"),
		refuse("CaptchaStage", "scoreMaxThreshold below 0", `{"spec":{"scoreMaxThreshold":-1}}`, "spec.scoreMaxThreshold", "should be greater than or equal to 0"),
		refuse("CaptchaStage", "scoreMaxThreshold above 1", `{"spec":{"scoreMaxThreshold":1.01}}`, "spec.scoreMaxThreshold", "should be less than or equal to 1"),

		accept("CaptchaStage", "secret key with dots, dashes, underscores", `{"spec":{"privateKeySecretRef":{"key":"recaptcha.private-key_v2"}}}`),
		refuse("CaptchaStage", "secret key with a slash", `{"spec":{"privateKeySecretRef":{"key":"recaptcha/private"}}}`, "spec.privateKeySecretRef.key", "should match '^[-._a-zA-Z0-9]+$'"),
		refuse("CaptchaStage", "secret key with a space", `{"spec":{"privateKeySecretRef":{"key":"private key"}}}`, "spec.privateKeySecretRef.key", "should match '^[-._a-zA-Z0-9]+$'"),
		refuse("CaptchaStage", "secret key empty", `{"spec":{"privateKeySecretRef":{"key":""}}}`, "spec.privateKeySecretRef.key", "should be at least 1 chars long"),
		refuse("CaptchaStage", "private key inline", `{"spec":{"privateKeySecretRef":null,"privateKey":"6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe"}}`, "spec.privateKeySecretRef", "Required value"),
	})
}

// TestAdmissionBounds: every string and list is bounded (TestCRDSchemasAreBounded
// checks that statically); here the API server enforces a representative
// of each kind at the limit and one past it.
func TestAdmissionBounds(t *testing.T) {
	tooLong := func(n int) string { return fmt.Sprintf("Too long: may not be more than %d bytes", n) }
	tooMany := func(n int) string { return fmt.Sprintf("must have at most %d items", n) }
	// A lastAuthThreshold of exactly 256 characters that the CEL rules
	// accept: 25 parts of "seconds=1", the last one padded with zeros.
	threshold := strings.Repeat("seconds=1;", 24) + "seconds=1.000000"
	if len(threshold) != 256 {
		t.Fatalf("threshold is %d characters, want 256", len(threshold))
	}
	s := func(n int) string { return jsonString(str(n)) }
	runAdmission(t, []admissionCase{
		accept("Flow", "title of 256", `{"spec":{"title":`+s(256)+`}}`),
		refuse("Flow", "title of 257", `{"spec":{"title":`+s(257)+`}}`, "spec.title", tooLong(256)),
		accept("Flow", "name of 256", `{"spec":{"name":`+s(256)+`}}`),
		refuse("Flow", "name of 257", `{"spec":{"name":`+s(257)+`}}`, "spec.name", tooLong(256)),
		accept("Flow", "background of 2048", `{"spec":{"background":"https://`+str(2040)+`"}}`),
		refuse("Flow", "background of 2049", `{"spec":{"background":"https://`+str(2041)+`"}}`, "spec.background", tooLong(2048)),

		accept("FlowStageBinding", "targetRef name of 253", `{"spec":{"targetRef":{"name":`+s(253)+`}}}`),
		refuse("FlowStageBinding", "targetRef name of 254", `{"spec":{"targetRef":{"name":`+s(254)+`}}}`, "spec.targetRef.name", tooLong(253)),
		accept("FlowStageBinding", "stageRef name of 253", `{"spec":{"stageRef":{"name":`+s(253)+`}}}`),
		refuse("FlowStageBinding", "stageRef name of 254", `{"spec":{"stageRef":{"name":`+s(254)+`}}}`, "spec.stageRef.name", tooLong(253)),

		accept("IdentificationStage", "64 sourceRefs", `{"spec":{"sourceRefs":`+nameRefs(64)+`}}`),
		refuse("IdentificationStage", "65 sourceRefs", `{"spec":{"sourceRefs":`+nameRefs(65)+`}}`, "spec.sourceRefs", tooMany(64)),
		refuse("IdentificationStage", "4 userFields", `{"spec":{"userFields":["email","username","upn","email"]}}`, "spec.userFields", tooMany(3)),
		accept("IdentificationStage", "passwordStageRef name of 253", `{"spec":{"passwordStageRef":{"name":`+s(253)+`}}}`),
		refuse("IdentificationStage", "passwordStageRef name of 254", `{"spec":{"passwordStageRef":{"name":`+s(254)+`}}}`, "spec.passwordStageRef.name", tooLong(253)),

		accept("PasswordStage", "configureFlowRef name of 253", `{"spec":{"configureFlowRef":{"name":`+s(253)+`}}}`),
		refuse("PasswordStage", "configureFlowRef name of 254", `{"spec":{"configureFlowRef":{"name":`+s(254)+`}}}`, "spec.configureFlowRef.name", tooLong(253)),
		refuse("PasswordStage", "5 backends", `{"spec":{"backends":["authentik.core.auth.InbuiltBackend","authentik.core.auth.TokenBackend","authentik.sources.ldap.auth.LDAPBackend","authentik.sources.kerberos.auth.KerberosBackend","authentik.core.auth.InbuiltBackend"]}}`, "spec.backends", tooMany(4)),

		accept("AuthenticatorValidateStage", "32 configurationStageRefs", `{"spec":{"configurationStageRefs":`+stageRefs(32)+`}}`),
		refuse("AuthenticatorValidateStage", "33 configurationStageRefs", `{"spec":{"configurationStageRefs":`+stageRefs(33)+`}}`, "spec.configurationStageRefs", tooMany(32)),
		accept("AuthenticatorValidateStage", "512 webauthnAllowedDeviceTypeRefs", `{"spec":{"webauthnAllowedDeviceTypeRefs":`+nameRefs(512)+`}}`),
		refuse("AuthenticatorValidateStage", "513 webauthnAllowedDeviceTypeRefs", `{"spec":{"webauthnAllowedDeviceTypeRefs":`+nameRefs(513)+`}}`, "spec.webauthnAllowedDeviceTypeRefs", tooMany(512)),
		refuse("AuthenticatorValidateStage", "7 deviceClasses", `{"spec":{"deviceClasses":["static","totp","webauthn","duo","sms","email","totp"]}}`, "spec.deviceClasses", tooMany(6)),
		accept("AuthenticatorValidateStage", "lastAuthThreshold of 256", `{"spec":{"lastAuthThreshold":`+jsonString(threshold)+`}}`),
		refuse("AuthenticatorValidateStage", "lastAuthThreshold of 257", `{"spec":{"lastAuthThreshold":`+jsonString(threshold+"0")+`}}`, "spec.lastAuthThreshold", tooLong(256)),

		accept("CaptchaStage", "publicKey of 1024", `{"spec":{"publicKey":`+s(1024)+`}}`),
		refuse("CaptchaStage", "publicKey of 1025", `{"spec":{"publicKey":`+s(1025)+`}}`, "spec.publicKey", tooLong(1024)),
		accept("CaptchaStage", "jsUrl of 2048", `{"spec":{"jsUrl":"https://`+str(2040)+`"}}`),
		refuse("CaptchaStage", "jsUrl of 2049", `{"spec":{"jsUrl":"https://`+str(2041)+`"}}`, "spec.jsUrl", tooLong(2048)),
		accept("CaptchaStage", "privateKeySecretRef name of 253", `{"spec":{"privateKeySecretRef":{"name":`+s(253)+`}}}`),
		refuse("CaptchaStage", "privateKeySecretRef name of 254", `{"spec":{"privateKeySecretRef":{"name":`+s(254)+`}}}`, "spec.privateKeySecretRef.name", tooLong(253)),

		accept("Source", "name of 256", `{"spec":{"name":`+s(256)+`}}`),
		refuse("Source", "name of 257", `{"spec":{"name":`+s(257)+`}}`, "spec.name", tooLong(256)),

		accept("WebAuthnDeviceType", "description of 256", `{"spec":{"description":`+s(256)+`}}`),
		refuse("WebAuthnDeviceType", "description of 257", `{"spec":{"description":`+s(257)+`}}`, "spec.description", tooLong(256)),
		refuse("WebAuthnDeviceType", "aaguid of 37", `{"spec":{"aaguid":"cb69481e-8ff7-4039-93ec-0a2729a154a8a"}}`, "spec.aaguid", tooLong(36)),
	})
}

// TestAdmissionRequired: fields without which the object means nothing are
// required, and empty names are refused.
func TestAdmissionRequired(t *testing.T) {
	const required = "Required value"
	const empty = "should be at least 1 chars long"
	const exactlyOne = "set exactly one of kind (a stage object in this namespace) and model (an authentik stage stagehand does not model)"
	runAdmission(t, []admissionCase{
		refuse("Flow", "no spec", `{"spec":null}`, "spec", required),
		refuse("Flow", "no title", `{"spec":{"title":null}}`, "spec.title", required),
		refuse("Flow", "empty title", `{"spec":{"title":""}}`, "spec.title", empty),
		refuse("Flow", "no designation", `{"spec":{"designation":null}}`, "spec.designation", required),
		refuse("Flow", "empty name", `{"spec":{"name":""}}`, "spec.name", empty),

		refuse("FlowStageBinding", "no spec", `{"spec":null}`, "spec", required),
		refuse("FlowStageBinding", "no targetRef", `{"spec":{"targetRef":null}}`, "spec.targetRef", required),
		refuse("FlowStageBinding", "no targetRef name", `{"spec":{"targetRef":{"name":null}}}`, "spec.targetRef.name", required),
		refuse("FlowStageBinding", "empty targetRef name", `{"spec":{"targetRef":{"name":""}}}`, "spec.targetRef.name", empty),
		refuse("FlowStageBinding", "no stageRef", `{"spec":{"stageRef":null}}`, "spec.stageRef", required),
		refuse("FlowStageBinding", "no stageRef kind", `{"spec":{"stageRef":{"kind":null}}}`, "spec.stageRef", exactlyOne),
		refuse("FlowStageBinding", "no stageRef name", `{"spec":{"stageRef":{"name":null}}}`, "spec.stageRef.name", required),
		refuse("FlowStageBinding", "no order", `{"spec":{"order":null}}`, "spec.order", required),

		refuse("IdentificationStage", "no spec", `{"spec":null}`, "spec", required),
		refuse("IdentificationStage", "sourceRef without name", `{"spec":{"sourceRefs":[{}]}}`, "spec.sourceRefs[0].name", required),

		refuse("PasswordStage", "no spec", `{"spec":null}`, "spec", required),

		refuse("AuthenticatorValidateStage", "configurationStageRef without kind", `{"spec":{"configurationStageRefs":[{"name":"setup"}]}}`, "spec.configurationStageRefs[0]", exactlyOne),
		refuse("AuthenticatorValidateStage", "webauthnAllowedDeviceTypeRef with empty name", `{"spec":{"webauthnAllowedDeviceTypeRefs":[{"name":""}]}}`, "spec.webauthnAllowedDeviceTypeRefs[0].name", empty),

		refuse("CaptchaStage", "no spec", `{"spec":null}`, "spec", required),
		refuse("CaptchaStage", "no publicKey", `{"spec":{"publicKey":null}}`, "spec.publicKey", required),
		refuse("CaptchaStage", "empty publicKey", `{"spec":{"publicKey":""}}`, "spec.publicKey", empty),
		refuse("CaptchaStage", "no Secret name", `{"spec":{"privateKeySecretRef":{"name":null}}}`, "spec.privateKeySecretRef.name", required),
		refuse("CaptchaStage", "no Secret key", `{"spec":{"privateKeySecretRef":{"key":null}}}`, "spec.privateKeySecretRef.key", required),

		refuse("Source", "empty slug", `{"spec":{"slug":""}}`, "spec.slug", empty),

		refuse("WebAuthnDeviceType", "no spec", `{"spec":null}`, "spec", required),
		refuse("WebAuthnDeviceType", "no aaguid", `{"spec":{"aaguid":null}}`, "spec.aaguid", required),
		refuse("WebAuthnDeviceType", "no description", `{"spec":{"description":null}}`, "spec.description", required),
		refuse("WebAuthnDeviceType", "empty description", `{"spec":{"description":""}}`, "spec.description", empty),
	})
}

// TestAdmissionStageReferences: a stageRef (and a configuration stage
// reference) names a stage object by kind and name, or a stage that lives
// only in authentik by model and authentik's name for it; never both, never
// neither. A stage object's name must be a valid object name; an authentik
// stage's may be anything authentik allows.
func TestAdmissionStageReferences(t *testing.T) {
	const (
		exactlyOne = "set exactly one of kind (a stage object in this namespace) and model (an authentik stage stagehand does not model)"
		objectName = "name must be a valid object name (lowercase letters, digits, '-' and '.') when kind is set: it names a stage object"
		model      = "should match '^authentik_[a-z0-9_]+[.][a-z0-9_]+$'"
	)
	ref := func(r string) string { return `{"spec":{"stageRef":` + r + `}}` }
	conf := func(r string) string { return `{"spec":{"configurationStageRefs":[` + r + `]}}` }
	runAdmission(t, []admissionCase{
		accept("FlowStageBinding", "external stage", ref(`{"kind":null,"model":"authentik_stages_user_write.userwritestage","name":"default-source-enrollment-write"}`)),
		accept("FlowStageBinding", "external stage with authentik's free-form name", ref(`{"kind":null,"model":"authentik_stages_prompt.promptstage","name":"Default enrollment: Prompt (username & password)"}`)),
		refuse("FlowStageBinding", "kind and model", ref(`{"kind":"PasswordStage","model":"authentik_stages_password.passwordstage","name":"pw"}`), "spec.stageRef", exactlyOne),
		refuse("FlowStageBinding", "model not an authentik model", ref(`{"kind":null,"model":"user_write","name":"w"}`), "spec.stageRef.model", model),
		refuse("FlowStageBinding", "stage object name with a space", ref(`{"kind":"PasswordStage","name":"Default password"}`), "spec.stageRef", objectName),
		refuse("FlowStageBinding", "stage object name with a slash", ref(`{"kind":"PasswordStage","name":"default/password"}`), "spec.stageRef", objectName),
		accept("AuthenticatorValidateStage", "configure with an authentik TOTP setup stage", `{"spec":{"notConfiguredAction":"configure","configurationStageRefs":[{"model":"authentik_stages_authenticator_totp.authenticatortotpstage","name":"default-authenticator-totp-setup"}]}}`),
		refuse("AuthenticatorValidateStage", "configuration stage with kind and model", conf(`{"kind":"PasswordStage","model":"authentik_stages_password.passwordstage","name":"pw"}`), "spec.configurationStageRefs[0]", exactlyOne),
	})
}

// TestAdmissionReferenceNames: a reference by name must hold a valid object
// name, or it could never resolve: a namespace-qualified name, say, is
// refused at once instead of staying ReferenceNotFound forever.
func TestAdmissionReferenceNames(t *testing.T) {
	const objectName = "should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'"
	runAdmission(t, []admissionCase{
		accept("IdentificationStage", "recoveryFlowRef with dots", `{"spec":{"recoveryFlowRef":{"name":"default.recovery.flow"}}}`),
		refuse("IdentificationStage", "recoveryFlowRef namespace-qualified", `{"spec":{"recoveryFlowRef":{"name":"default/default-recovery-flow"}}}`, "spec.recoveryFlowRef.name", objectName),
		refuse("IdentificationStage", "passwordStageRef in capitals", `{"spec":{"passwordStageRef":{"name":"Default-Password"}}}`, "spec.passwordStageRef.name", objectName),
		refuse("IdentificationStage", "sourceRef with an underscore", `{"spec":{"sourceRefs":[{"name":"git_hub"}]}}`, "spec.sourceRefs[0].name", objectName),
		refuse("FlowStageBinding", "targetRef with a space", `{"spec":{"targetRef":{"name":"default flow"}}}`, "spec.targetRef.name", objectName),
		refuse("PasswordStage", "configureFlowRef ending in a hyphen", `{"spec":{"configureFlowRef":{"name":"change-"}}}`, "spec.configureFlowRef.name", objectName),
		refuse("AuthenticatorValidateStage", "device type ref in capitals", `{"spec":{"webauthnAllowedDeviceTypeRefs":[{"name":"YubiKey"}]}}`, "spec.webauthnAllowedDeviceTypeRefs[0].name", objectName),
		refuse("CaptchaStage", "Secret name with a colon", `{"spec":{"privateKeySecretRef":{"name":"keys:recaptcha"}}}`, "spec.privateKeySecretRef.name", objectName),
	})
}

// TestAdmissionThrottlingFactors: authentik 2026.8's OTP throttling factors
// are numbers of at least 0 (0 turns the delay off).
func TestAdmissionThrottlingFactors(t *testing.T) {
	var cases []admissionCase
	for _, f := range []string{"emailOTPThrottlingFactor", "smsOTPThrottlingFactor", "totpOTPThrottlingFactor", "staticOTPThrottlingFactor"} {
		cases = append(cases,
			accept("AuthenticatorValidateStage", f+"=0", `{"spec":{"`+f+`":0}}`),
			accept("AuthenticatorValidateStage", f+"=2.5", `{"spec":{"`+f+`":2.5}}`),
			refuse("AuthenticatorValidateStage", f+"=-1", `{"spec":{"`+f+`":-1}}`, "spec."+f, "should be greater than or equal to 0"),
		)
	}
	runAdmission(t, cases)
}

// TestAdmissionBlueprintExport: where an export writes, how long it keeps
// deleting, and its selector's size are checked at admission.
func TestAdmissionBlueprintExport(t *testing.T) {
	const objectName = "should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'"
	const prefixed = "must be stagehand-blueprints or begin with stagehand-blueprints-"
	labels := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`"k%d":"v"`, i)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	runAdmission(t, []admissionCase{
		accept("BlueprintExport", "a ConfigMap name", `{"spec":{"configMapName":"stagehand-blueprints-team-a"}}`),
		accept("BlueprintExport", "the default ConfigMap name", `{"spec":{"configMapName":"stagehand-blueprints"}}`),
		refuse("BlueprintExport", "a ConfigMap name without the prefix", `{"spec":{"configMapName":"authentik-blueprints"}}`, "spec.configMapName", prefixed),
		refuse("BlueprintExport", "a ConfigMap name another component uses", `{"spec":{"configMapName":"kube-root-ca.crt"}}`, "spec.configMapName", prefixed),
		refuse("BlueprintExport", "a ConfigMap name that only begins like the prefix", `{"spec":{"configMapName":"stagehand-blueprintsx"}}`, "spec.configMapName", prefixed),
		refuse("BlueprintExport", "a ConfigMap name in capitals", `{"spec":{"configMapName":"Blueprints"}}`, "spec.configMapName", objectName),
		accept("BlueprintExport", "a mount root", `{"spec":{"secretMountRoot":"/blueprints/custom"}}`),
		refuse("BlueprintExport", "a relative mount root", `{"spec":{"secretMountRoot":"blueprints"}}`, "spec.secretMountRoot", "should match '^/'"),
		accept("BlueprintExport", "a retention of 1 hour", `{"spec":{"deletionRetentionHours":1}}`),
		refuse("BlueprintExport", "a retention of 0", `{"spec":{"deletionRetentionHours":0}}`, "spec.deletionRetentionHours", "should be greater than or equal to 1"),
		refuse("BlueprintExport", "a retention of more than 10 years", `{"spec":{"deletionRetentionHours":87601}}`, "spec.deletionRetentionHours", "should be less than or equal to 87600"),
		accept("BlueprintExport", "64 matchLabels", `{"spec":{"flowSelector":{"matchLabels":`+labels(64)+`}}}`),
		refuse("BlueprintExport", "65 matchLabels", `{"spec":{"flowSelector":{"matchLabels":`+labels(65)+`}}}`, "spec.flowSelector.matchLabels", "must have at most 64 items"),
		refuse("BlueprintExport", "a label value of 64", `{"spec":{"flowSelector":{"matchLabels":{"team":"`+str(64)+`"}}}}`, "spec.flowSelector.matchLabels.team", "Too long: may not be more than 63 bytes"),
	})
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

const ns = "auth"

// fixtures is one namespace's worth of flows, stages and what they
// reference: every field set, every field left to its default, and
// references that dangle.
func fixtures() []client.Object {
	return []client.Object{
		// Flows: one with every field left to its default, one with every
		// field set, and the flows the stages link to.
		&flowsv1alpha1.Flow{ObjectMeta: om(ns, "default-authentication-flow", 101), Spec: flowsv1alpha1.FlowSpec{
			Title: "Welcome to authentik!", Designation: flowsv1alpha1.FlowDesignationAuthentication,
		}},
		&flowsv1alpha1.Flow{ObjectMeta: om(ns, "login-2fa", 102), Spec: flowsv1alpha1.FlowSpec{
			Slug: "custom-login", Name: "Login with 2FA", Title: "Sign in", Designation: flowsv1alpha1.FlowDesignationAuthentication,
			Background: "https://example.com/background.png", PolicyEngineMode: flowsv1alpha1.PolicyEngineModeAll,
			CompatibilityMode: ptr(true), Layout: "sidebar_left", DeniedAction: "continue", Authentication: "require_unauthenticated",
		}},
		&flowsv1alpha1.Flow{ObjectMeta: om(ns, "enroll", 103), Spec: flowsv1alpha1.FlowSpec{Title: "Sign up", Designation: flowsv1alpha1.FlowDesignationEnrollment}},
		&flowsv1alpha1.Flow{ObjectMeta: om(ns, "recover", 104), Spec: flowsv1alpha1.FlowSpec{Title: "Recover", Designation: flowsv1alpha1.FlowDesignationRecovery, Background: "/static/dist/assets/images/recovery.jpg"}},
		&flowsv1alpha1.Flow{ObjectMeta: om(ns, "passwordless", 105), Spec: flowsv1alpha1.FlowSpec{Title: "Passkey", Designation: flowsv1alpha1.FlowDesignationAuthentication}},
		&flowsv1alpha1.Flow{ObjectMeta: om(ns, "password-change", 106), Spec: flowsv1alpha1.FlowSpec{Title: "Change password", Designation: flowsv1alpha1.FlowDesignationStageConfiguration}},

		&flowsv1alpha1.Source{ObjectMeta: om(ns, "github", 20)},
		&flowsv1alpha1.Source{ObjectMeta: om(ns, "google", 21)},
		&flowsv1alpha1.CaptchaStage{ObjectMeta: om(ns, "captcha", 10), Spec: flowsv1alpha1.CaptchaStageSpec{
			PublicKey: "site-key", PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: "captcha", Key: "secret"},
		}},
		&flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: om("", "yubikey-5", 30), Spec: flowsv1alpha1.WebAuthnDeviceTypeSpec{
			AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Description: "YubiKey 5 Series",
		}},
		// Stored before the canonical spelling was enforced: rendered in
		// authentik's (lower-case) form.
		&flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: om("", "titan", 31), Spec: flowsv1alpha1.WebAuthnDeviceTypeSpec{
			AAGUID: "42B4FB4A-2866-43B2-9BF7-6C6669C2E5D3", Description: "Google Titan Security Key v2",
		}},

		// IdentificationStage with every field set, bound to two flows.
		&flowsv1alpha1.IdentificationStage{ObjectMeta: om(ns, "identification-full", 1), Spec: flowsv1alpha1.IdentificationStageSpec{
			UserFields:              []flowsv1alpha1.UserField{"email", "username", "upn"},
			PasswordStageRef:        ref("password-full"),
			CaptchaStageRef:         ref("captcha"),
			CaseInsensitiveMatching: ptr(false),
			ShowMatchedUser:         ptr(false),
			EnrollmentFlowRef:       ref("enroll"),
			RecoveryFlowRef:         ref("recover"),
			PasswordlessFlowRef:     ref("passwordless"),
			SourceRefs:              []flowsv1alpha1.LocalObjectReference{{Name: "google"}, {Name: "no-such-source"}, {Name: "github"}},
			ShowSourceLabels:        ptr(true),
			PretendUserExists:       ptr(false),
			EnableRememberMe:        ptr(true),
			WebAuthnStageRef:        ref("validate-full"),
		}},
		binding(ns, "default-authentication-flow-identification", "default-authentication-flow", flowsv1alpha1.StageKindIdentification, "identification-full", 10, 201),
		binding(ns, "login-2fa-identification", "login-2fa", flowsv1alpha1.StageKindIdentification, "identification-full", 10, 202),

		// IdentificationStage with every field left unset: the defaults.
		&flowsv1alpha1.IdentificationStage{ObjectMeta: om(ns, "identification-defaults", 4), Spec: flowsv1alpha1.IdentificationStageSpec{
			UserFields: []flowsv1alpha1.UserField{"username"},
		}},

		// IdentificationStage whose every reference dangles; one binding's
		// flow is gone, and a PasswordStage binding with the same stage
		// name must not lend it its flow.
		&flowsv1alpha1.IdentificationStage{ObjectMeta: om(ns, "identification-dangling", 5), Spec: flowsv1alpha1.IdentificationStageSpec{
			PasswordStageRef:    ref("gone"),
			CaptchaStageRef:     ref("gone"),
			EnrollmentFlowRef:   ref("gone"),
			RecoveryFlowRef:     ref("gone"),
			PasswordlessFlowRef: ref("gone"),
			SourceRefs:          []flowsv1alpha1.LocalObjectReference{{Name: "gone"}},
			WebAuthnStageRef:    ref("gone"),
		}},
		binding(ns, "gone-identification", "gone", flowsv1alpha1.StageKindIdentification, "identification-dangling", 10, 203),
		binding(ns, "enroll-identification", "enroll", flowsv1alpha1.StageKindIdentification, "identification-dangling", 10, 204),
		binding(ns, "recover-password", "recover", flowsv1alpha1.StageKindPassword, "identification-dangling", 10, 205),

		// PasswordStage with every field set, bound to two flows.
		&flowsv1alpha1.PasswordStage{ObjectMeta: om(ns, "password-full", 2), Spec: flowsv1alpha1.PasswordStageSpec{
			Backends: []flowsv1alpha1.PasswordBackend{
				"authentik.core.auth.InbuiltBackend", "authentik.core.auth.TokenBackend",
				"authentik.sources.ldap.auth.LDAPBackend", "authentik.sources.kerberos.auth.KerberosBackend",
			},
			ConfigureFlowRef:           ref("password-change"),
			FailedAttemptsBeforeCancel: ptr(int32(3)),
			AllowShowPassword:          ptr(true),
		}},
		binding(ns, "default-authentication-flow-password", "default-authentication-flow", flowsv1alpha1.StageKindPassword, "password-full", 20, 206),
		binding(ns, "login-2fa-password", "login-2fa", flowsv1alpha1.StageKindPassword, "password-full", 20, 207),

		// PasswordStage with the defaults and a dangling configure flow.
		&flowsv1alpha1.PasswordStage{ObjectMeta: om(ns, "password-defaults", 6), Spec: flowsv1alpha1.PasswordStageSpec{
			Backends:         []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"},
			ConfigureFlowRef: ref("gone"),
		}},

		// AuthenticatorValidateStage with every field set, bound twice to
		// the same flow, with dangling configuration stages and device
		// types among existing ones.
		&flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: om(ns, "validate-full", 3), Spec: flowsv1alpha1.AuthenticatorValidateStageSpec{
			NotConfiguredAction: flowsv1alpha1.NotConfiguredActionConfigure,
			DeviceClasses:       []flowsv1alpha1.DeviceClass{"totp", "webauthn"},
			ConfigurationStageRefs: []flowsv1alpha1.StageReference{
				{Kind: flowsv1alpha1.StageKindPassword, Name: "password-full"},
				{Kind: flowsv1alpha1.StageKindCaptcha, Name: "gone"},
				{Kind: flowsv1alpha1.StageKindIdentification, Name: "identification-defaults"},
			},
			LastAuthThreshold:             "hours=1;minutes=30",
			WebAuthnUserVerification:      "required",
			WebAuthnAllowedDeviceTypeRefs: []flowsv1alpha1.LocalObjectReference{{Name: "yubikey-5"}, {Name: "gone"}, {Name: "titan"}},
		}},
		binding(ns, "login-2fa-validate-late", "login-2fa", flowsv1alpha1.StageKindAuthenticatorValidate, "validate-full", 40, 208),
		binding(ns, "login-2fa-validate", "login-2fa", flowsv1alpha1.StageKindAuthenticatorValidate, "validate-full", 30, 209),

		// AuthenticatorValidateStage with an empty spec: every default.
		&flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: om(ns, "validate-defaults", 7)},
	}
}

// TestRendering renders each stage, and a list of each kind, through the
// handler over an in-memory reader, and compares the bodies with the golden
// files in testdata/ (indented there for reading; the wire form is compact).
// Run `go test ./internal/httpapi -run TestRendering -update` to rewrite them.
func TestRendering(t *testing.T) {
	h := memServer(t, fixtures()...)
	cases := []struct {
		golden string
		path   string
	}{
		{"identification_full", "/api/v3/stages/identification/" + string(uid(1)) + "/"},
		{"identification_defaults", "/api/v3/stages/identification/" + string(uid(4)) + "/"},
		{"identification_dangling", "/api/v3/stages/identification/" + string(uid(5)) + "/"},
		{"password_full", "/api/v3/stages/password/" + string(uid(2)) + "/"},
		{"password_defaults", "/api/v3/stages/password/" + string(uid(6)) + "/"},
		{"authenticator_validate_full", "/api/v3/stages/authenticator/validate/" + string(uid(3)) + "/"},
		{"authenticator_validate_defaults", "/api/v3/stages/authenticator/validate/" + string(uid(7)) + "/"},
		{"identification_list", "/api/v3/stages/identification/"},
		{"password_list", "/api/v3/stages/password/?page_size=1&page=2"},
		{"authenticator_validate_list", "/api/v3/stages/authenticator/validate/?ordering=-name"},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			rec := get(t, h, tc.path)
			if rec.Code != 200 {
				t.Fatalf("GET %s: %d %s", tc.path, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, rec.Body.Bytes()); err != nil {
				t.Fatalf("not JSON: %v: %s", err, rec.Body)
			}
			if !bytes.Equal(compact.Bytes(), rec.Body.Bytes()) {
				t.Errorf("the body is not compact JSON: %s", rec.Body)
			}
			var indented bytes.Buffer
			if err := json.Indent(&indented, rec.Body.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			indented.WriteByte('\n')
			file := filepath.Join("testdata", tc.golden+".json")
			if *update {
				if err := os.WriteFile(file, indented.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := indented.String(); got != string(want) {
				t.Errorf("GET %s differs from %s (run with -update to accept):\n%s", tc.path, file, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff shows the lines of got that differ from want.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
		}
	}
	return b.String()
}

// keys returns the keys of a JSON object in the order they are written.
func keys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestFieldOrder checks every body's keys, in order, against authentik's
// serializers: the common stage fields, then the stage's own in the seed's
// order with the newer fields where authentik added them.
func TestFieldOrder(t *testing.T) {
	h := memServer(t, fixtures()...)
	common := []string{"pk", "name", "component", "verbose_name", "verbose_name_plural", "meta_model_name", "flow_set"}
	cases := []struct {
		path string
		own  []string
	}{
		{"/api/v3/stages/identification/" + string(uid(4)) + "/", []string{
			"user_fields", "password_stage", "captcha_stage", "case_insensitive_matching", "show_matched_user",
			"enrollment_flow", "recovery_flow", "passwordless_flow", "sources", "show_source_labels",
			"pretend_user_exists", "enable_remember_me", "webauthn_stage",
		}},
		{"/api/v3/stages/password/" + string(uid(6)) + "/", []string{
			"backends", "configure_flow", "failed_attempts_before_cancel", "allow_show_password",
		}},
		{"/api/v3/stages/authenticator/validate/" + string(uid(7)) + "/", []string{
			"not_configured_action", "device_classes", "configuration_stages", "last_auth_threshold",
			"webauthn_user_verification", "webauthn_allowed_device_types", "webauthn_allowed_device_types_obj",
		}},
	}
	for _, tc := range cases {
		rec := get(t, h, tc.path)
		if got, want := keys(t, rec.Body.Bytes()), append(slices.Clone(common), tc.own...); !slices.Equal(got, want) {
			t.Errorf("GET %s keys:\n got %v\nwant %v", tc.path, got, want)
		}
	}

	var body struct {
		FlowSet []json.RawMessage `json:"flow_set"`
	}
	rec := get(t, h, "/api/v3/stages/identification/"+string(uid(1))+"/")
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.FlowSet) != 2 {
		t.Fatalf("flow_set: %v %s", err, rec.Body)
	}
	wantFlowSet := []string{"pk", "policybindingmodel_ptr_id", "name", "slug", "title", "designation", "background",
		"background_url", "policy_engine_mode", "compatibility_mode", "export_url", "layout", "denied_action"}
	if got := keys(t, body.FlowSet[0]); !slices.Equal(got, wantFlowSet) {
		t.Errorf("FlowSet keys:\n got %v\nwant %v", got, wantFlowSet)
	}

	rec = get(t, h, "/api/v3/stages/password/")
	if got, want := keys(t, rec.Body.Bytes()), []string{"pagination", "results", "autocomplete"}; !slices.Equal(got, want) {
		t.Errorf("list keys: got %v, want %v", got, want)
	}
	var list struct {
		Pagination json.RawMessage `json:"pagination"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &list)
	if got, want := keys(t, list.Pagination), []string{"next", "previous", "count", "current", "total_pages", "start_index", "end_index"}; !slices.Equal(got, want) {
		t.Errorf("pagination keys: got %v, want %v", got, want)
	}
}

// TestPolicyBindingModelPtrID pins the derivation of
// policybindingmodel_ptr_id: a UUIDv5 of the flow's uid under a fixed
// namespace, which is itself the UUIDv5 of a stagehand URL.
func TestPolicyBindingModelPtrID(t *testing.T) {
	if want := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://stagehand.dev/policybindingmodel")); policyBindingModelNamespace != want {
		t.Fatalf("namespace %s, want %s", policyBindingModelNamespace, want)
	}
	flowUID := uid(101)
	got := PolicyBindingModelPtrID(flowUID)
	if got == string(flowUID) {
		t.Fatal("policybindingmodel_ptr_id equals the flow's uid")
	}
	if got != PolicyBindingModelPtrID(flowUID) {
		t.Fatal("not deterministic")
	}
	for _, u := range []string{string(flowUID), "6f1a1e0c-1f0e-4c5e-9d43-5b1f1c2a7e90", "", strings.Repeat("x", 100)} {
		if got, want := PolicyBindingModelPtrID(types.UID(u)), uuid.NewSHA1(policyBindingModelNamespace, []byte(u)).String(); got != want {
			t.Errorf("PolicyBindingModelPtrID(%q) = %s, want uuid.NewSHA1's %s", u, got, want)
		}
	}
	if u := uuid.MustParse(got); u.Version() != 5 {
		t.Fatalf("version %d, want 5", u.Version())
	}
}

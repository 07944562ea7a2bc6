package imports

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export"
)

const samplesDir = "../../../config/samples"

// odd is a namespace of objects whose authentik identities are no valid
// object names, with every kind of reference the importer must carry
// back: a flow whose slug is not its name, stages named "Team A: ...",
// a stage bound twice, bindings to stages that live only in authentik,
// configuration stages of both kinds, a source whose slug is no object
// name, a device type, a captcha key in a mounted Secret.
func odd() []client.Object {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: "default", Name: name} }
	ref := func(name string) *flowsv1alpha1.LocalObjectReference {
		return &flowsv1alpha1.LocalObjectReference{Name: name}
	}
	bind := func(name, stageKind, stage, model string, order int32) *flowsv1alpha1.FlowStageBinding {
		return &flowsv1alpha1.FlowStageBinding{ObjectMeta: meta(name), Spec: flowsv1alpha1.FlowStageBindingSpec{
			TargetRef: flowsv1alpha1.LocalObjectReference{Name: "odd"},
			StageRef:  flowsv1alpha1.StageReference{Kind: flowsv1alpha1.StageKind(stageKind), Model: model, Name: stage},
			Order:     order, EvaluateOnPlan: ptr.To(true), ReEvaluatePolicies: ptr.To(false),
			InvalidResponseAction: "restart_with_context", PolicyEngineMode: flowsv1alpha1.PolicyEngineModeAll,
		}}
	}
	return []client.Object{
		&flowsv1alpha1.Flow{ObjectMeta: meta("odd"), Spec: flowsv1alpha1.FlowSpec{
			Slug: "Team_A-Login", Name: "Team A: sign in", Title: "Sign in to Team A", Designation: "authentication",
			Background: "https://example.com/bg.png", Layout: "sidebar_left", Authentication: "require_unauthenticated",
		}},
		&flowsv1alpha1.Flow{ObjectMeta: meta("odd-recovery"), Spec: flowsv1alpha1.FlowSpec{Title: "Recover", Designation: "recovery"}},
		&flowsv1alpha1.IdentificationStage{ObjectMeta: meta("who"), Spec: flowsv1alpha1.IdentificationStageSpec{
			Name:             "Team A: who are you?",
			UserFields:       []flowsv1alpha1.UserField{"username"},
			PasswordStageRef: ref("pw"), CaptchaStageRef: ref("captcha"), WebAuthnStageRef: ref("passkey"),
			RecoveryFlowRef: ref("odd-recovery"), PasswordlessFlowRef: ref("odd"),
			SourceRefs:       []flowsv1alpha1.LocalObjectReference{{Name: "corp"}},
			ShowSourceLabels: ptr.To(true), PretendUserExists: ptr.To(false),
		}},
		&flowsv1alpha1.PasswordStage{ObjectMeta: meta("pw"), Spec: flowsv1alpha1.PasswordStageSpec{
			Name: "Team A: password", Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"},
			FailedAttemptsBeforeCancel: ptr.To(int32(3)),
		}},
		&flowsv1alpha1.CaptchaStage{ObjectMeta: meta("captcha"), Spec: flowsv1alpha1.CaptchaStageSpec{
			PublicKey: "site-key", PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: "captcha-keys", Key: "private.key"},
			Interactive: ptr.To(true), ScoreMinThreshold: ptr.To(0.25),
		}},
		&flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: meta("passkey"), Spec: flowsv1alpha1.AuthenticatorValidateStageSpec{
			Name: "Passkey", NotConfiguredAction: "configure",
			DeviceClasses: []flowsv1alpha1.DeviceClass{"webauthn", "totp"},
			ConfigurationStageRefs: []flowsv1alpha1.StageReference{
				{Model: "authentik_stages_authenticator_totp.authenticatortotpstage", Name: "default-authenticator-totp-setup"},
				{Kind: flowsv1alpha1.StageKindPassword, Name: "pw"},
			},
			LastAuthThreshold: "hours=12", WebAuthnUserVerification: "required",
			WebAuthnHints:                 []flowsv1alpha1.WebAuthnHint{"security-key"},
			WebAuthnAllowedDeviceTypeRefs: []flowsv1alpha1.LocalObjectReference{{Name: "yubikey"}},
			TOTPOTPThrottlingFactor:       ptr.To(2.5),
		}},
		&flowsv1alpha1.UserLoginStage{ObjectMeta: meta("login"), Spec: flowsv1alpha1.UserLoginStageSpec{SessionDuration: "hours=8", GeoIPBinding: "bind_continent"}},
		&flowsv1alpha1.Source{ObjectMeta: meta("corp"), Spec: flowsv1alpha1.SourceSpec{Slug: "Corp_SSO", Name: "Corp"}},
		&flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: metav1.ObjectMeta{Name: "yubikey"}, Spec: flowsv1alpha1.WebAuthnDeviceTypeSpec{AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Description: "YubiKey 5"}},
		bind("odd-10", "IdentificationStage", "who", "", 10),
		bind("odd-20", "UserLoginStage", "login", "", 20),
		bind("odd-30", "", "Team A: write the user", "authentik_stages_user_write.userwritestage", 30),
		bind("odd-40", "UserLoginStage", "login", "", 40),
	}
}

// samples reads config/samples' stagehand objects, in namespace default.
func samples(t *testing.T) []client.Object {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []client.Object
	for _, p := range paths {
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(data, []byte("\n---")) {
			if strings.Contains(string(doc), "kind: Secret") || !strings.Contains(string(doc), "flows.stagehand.dev/") {
				continue
			}
			for _, o := range decodeManifests(t, doc) {
				if k, _ := flowsv1alpha1.LookupKind(kindOf(o)); k.Model == "" {
					continue // a BlueprintExport: not an authentik object
				}
				if k, _ := flowsv1alpha1.LookupKind(kindOf(o)); !k.ClusterScoped {
					o.SetNamespace("default")
				}
				out = append(out, o)
			}
		}
	}
	return out
}

// exportAll renders every flow of objs, as files named after the flows.
func exportAll(t *testing.T, objs []client.Object) []File {
	t.Helper()
	lookup, err := export.Objects(objs...)
	if err != nil {
		t.Fatal(err)
	}
	var out []File
	for _, o := range objs {
		f, ok := o.(*flowsv1alpha1.Flow)
		if !ok {
			continue
		}
		var bindings []flowsv1alpha1.FlowStageBinding
		for _, b := range objs {
			if b, ok := b.(*flowsv1alpha1.FlowStageBinding); ok && b.Spec.TargetRef.Name == f.Name {
				bindings = append(bindings, *b)
			}
		}
		res, err := export.Render(f, bindings, lookup, export.Options{})
		if err != nil {
			t.Fatalf("rendering %s: %v", f.Name, err)
		}
		data, err := blueprint.Encode(res.Blueprint)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, File{Name: f.Name + ".yaml", Data: data})
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// export → import → export is a fixed point: the documents stagehand
// publishes, imported, give objects that publish the same documents, byte
// for byte; and importing those gives the same manifests again.
func TestFixedPoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		objs []client.Object
	}{
		{"config/samples", samples(t)},
		{"odd names", odd()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := exportAll(t, tc.objs)
			res := mustImport(t, first, Options{Namespace: "default"})
			second := exportAll(t, decodeManifests(t, mustManifests(t, res)))
			if len(second) != len(first) {
				t.Fatalf("%d documents, then %d", len(first), len(second))
			}
			for i := range first {
				if first[i].Name != second[i].Name {
					t.Errorf("document %s came back as %s", first[i].Name, second[i].Name)
				}
				if diff := cmp.Diff(string(first[i].Data), string(second[i].Data)); diff != "" {
					t.Errorf("%s (-exported +imported and exported again):\n%s", first[i].Name, diff)
				}
			}
			again := mustImport(t, second, Options{Namespace: "default"})
			if diff := cmp.Diff(string(mustManifests(t, res)), string(mustManifests(t, again))); diff != "" {
				t.Errorf("importing the second export gives other manifests (-first +second):\n%s", diff)
			}
		})
	}
}

func mustManifests(t *testing.T, res *Result) []byte {
	t.Helper()
	out, err := Manifests(res.Objects())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Names: authentik's identities where they are valid object names, else
// made valid, the identity kept where the renderer reads it.
func TestOddNames(t *testing.T) {
	res := mustImport(t, exportAll(t, odd()), Options{})
	objs := objectsOf(res)
	for key, want := range map[string]func(client.Object) bool{
		// The flow's name comes back from the document's metadata.name.
		"Flow/odd": func(o client.Object) bool { return o.(*flowsv1alpha1.Flow).Spec.Slug == "Team_A-Login" },
		// A flow the files only declare by slug is named after it.
		"Flow/odd-recovery": func(o client.Object) bool { return o.(*flowsv1alpha1.Flow).Spec.Slug == "" },
		"IdentificationStage/team-a-who-are-you": func(o client.Object) bool {
			s := o.(*flowsv1alpha1.IdentificationStage)
			return s.Spec.Name == "Team A: who are you?" && s.Spec.PasswordStageRef.Name == "team-a-password" && s.Spec.SourceRefs[0].Name == "corp-sso"
		},
		"PasswordStage/team-a-password": func(o client.Object) bool { return o.(*flowsv1alpha1.PasswordStage).Spec.Name == "Team A: password" },
		"AuthenticatorValidateStage/passkey": func(o client.Object) bool {
			return o.(*flowsv1alpha1.AuthenticatorValidateStage).Spec.Name == "Passkey"
		},
		"Source/corp-sso": func(o client.Object) bool { return o.(*flowsv1alpha1.Source).Spec.Slug == "Corp_SSO" },
		"WebAuthnDeviceType/cb69481e-8ff7-4039-93ec-0a2729a154a8": func(o client.Object) bool {
			return o.(*flowsv1alpha1.WebAuthnDeviceType).Spec.AAGUID == "cb69481e-8ff7-4039-93ec-0a2729a154a8"
		},
		"CaptchaStage/captcha": func(o client.Object) bool {
			return o.(*flowsv1alpha1.CaptchaStage).Spec.PrivateKeySecretRef == flowsv1alpha1.SecretKeyReference{Name: "captcha-keys", Key: "private.key"}
		},
	} {
		o, ok := objs[key]
		if !ok {
			t.Errorf("no %s among %v", key, slices.Sorted(maps.Keys(objs)))
			continue
		}
		if !want(o) {
			t.Errorf("%s: %+v", key, o)
		}
	}
	// The login stage is bound twice: the bindings' names differ.
	var loginBindings []string
	for _, o := range res.Objects() {
		if b, ok := o.Object.(*flowsv1alpha1.FlowStageBinding); ok && b.Spec.StageRef.Name == "login" {
			loginBindings = append(loginBindings, b.Name)
		}
	}
	if len(loginBindings) != 2 || loginBindings[0] == loginBindings[1] || !slices.Contains(loginBindings, "odd-login") {
		t.Errorf("the two bindings of one stage: %v", loginBindings)
	}
	var renamed []string
	for _, n := range notesOf(res, CategoryName) {
		renamed = append(renamed, n.Msg)
	}
	want := []string{
		`authentik_flows.flow "Team_A-Login" is object odd (spec.slug keeps the slug)`,
		`authentik_stages_password.passwordstage "Team A: password" is object team-a-password (spec.name keeps authentik's name)`,
		`authentik_stages_authenticator_validate.authenticatorvalidatestage "Passkey" is object passkey (spec.name keeps authentik's name)`,
		`authentik_stages_identification.identificationstage "Team A: who are you?" is object team-a-who-are-you (spec.name keeps authentik's name)`,
	}
	if diff := cmp.Diff(want, renamed); diff != "" {
		t.Errorf("renamed objects reported (-want +got):\n%s", diff)
	}
}

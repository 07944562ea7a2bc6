package export

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

var update = flag.Bool("update", false, "rewrite testdata/login.golden.yaml from the renderer (then read the diff)")

func encode(t *testing.T, res *Result) []byte {
	t.Helper()
	out, err := blueprint.Encode(res.Blueprint)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The whole document of a flow that sets every field and makes every kind
// of reference: testdata/login.golden.yaml, byte for byte.
func TestRenderLogin(t *testing.T) {
	res, err := login().render(Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := encode(t, res)
	const golden = "testdata/login.golden.yaml"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("document (-%s +rendered):\n%s", golden, diff)
	}
	validateSchema(t, res.Blueprint)
}

// The same objects, in any order, give the same bytes.
func TestDeterministic(t *testing.T) {
	f := login()
	first := encode(t, mustRender(t, f, Options{}))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		g := login()
		rng.Shuffle(len(g.objects), func(i, j int) { g.objects[i], g.objects[j] = g.objects[j], g.objects[i] })
		rng.Shuffle(len(g.bindings), func(i, j int) { g.bindings[i], g.bindings[j] = g.bindings[j], g.bindings[i] })
		if again := encode(t, mustRender(t, g, Options{})); !bytes.Equal(first, again) {
			t.Fatalf("another order of the same objects gave another document:\n%s", cmp.Diff(string(first), string(again)))
		}
	}
}

func mustRender(t *testing.T, f *fixture, opts Options) *Result {
	t.Helper()
	res, err := f.render(opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Entries come after every entry they point at (authentik applies them in
// order): the flow, then each stage after the stages it references, then
// the bindings in the flow's order. Each stage is there once, however many
// times it is bound or referenced (login-pw is bound, the identification
// stage's password stage, and the passkey stage's configuration stage).
func TestEntryOrder(t *testing.T) {
	res := mustRender(t, login(), Options{})
	doc := res.Blueprint
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range doc.Entries {
		switch e.Model {
		case modelBinding:
			stage, _ := e.Identifiers.Get("stage")
			order, _ := e.Identifiers.Get("order")
			got = append(got, "binding "+blueprint.Show(stage)+" "+blueprint.Show(order))
		default:
			name, _ := e.Identifiers.Get("name")
			if name == nil {
				name, _ = e.Identifiers.Get("slug")
			}
			got = append(got, e.ID+" "+name.(string))
		}
	}
	want := []string{
		"flow team-login",
		"login-pw login-pw",
		"login-captcha login-captcha",
		"login-passkey login-passkey",
		"login-id login-id",
		"login-mfa login-mfa",
		"login-session login-session",
		"binding !KeyOf login-id 10",
		"binding !KeyOf login-pw 20",
		"binding !KeyOf login-mfa 30",
		"binding !Find [authentik_stages_user_write.userwritestage, [name, login-write]] 40",
		"binding !KeyOf login-session 100",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	// Every entry a !KeyOf names is before it.
	for i, e := range doc.Entries {
		blueprint.WalkEntry(&e, func(v any) bool {
			if k, ok := v.(*blueprint.KeyOf); ok {
				j := slices.IndexFunc(doc.Entries, func(o blueprint.Entry) bool { return o.ID == k.ID })
				if j < 0 || j >= i {
					t.Errorf("entry %d (%s) points at %s, entry %d", i+1, e.Model, k.ID, j+1)
				}
			}
			return true
		})
	}
}

// attrsOf is the attrs of the entry of model named (or slugged) name.
func attrsOf(t *testing.T, doc *blueprint.Blueprint, model, name string) blueprint.Map {
	t.Helper()
	for _, e := range doc.Entries {
		if e.Model != model {
			continue
		}
		for _, key := range []string{"name", "slug"} {
			if v, _ := e.Identifiers.Get(key); v == name {
				return e.Attrs
			}
		}
	}
	t.Fatalf("no %s entry %q", model, name)
	return nil
}

// What lives outside the document is found, as authentik's blueprints find
// it: flows by their effective slug, sources by theirs, device types by
// AAGUID; the flow itself by !KeyOf.
func TestReferences(t *testing.T) {
	res := mustRender(t, login(), Options{})
	id := attrsOf(t, res.Blueprint, "authentik_stages_identification.identificationstage", "login-id")
	pw := attrsOf(t, res.Blueprint, "authentik_stages_password.passwordstage", "login-pw")
	passkey := attrsOf(t, res.Blueprint, "authentik_stages_authenticator_validate.authenticatorvalidatestage", "login-passkey")
	for _, tc := range []struct {
		attrs blueprint.Map
		field string
		want  any
	}{
		{id, "enrollment_flow", blueprint.FindBy(modelFlow, "slug", "enroll-slug")},
		{id, "recovery_flow", blueprint.FindBy(modelFlow, "slug", "recover")},
		{id, "passwordless_flow", &blueprint.KeyOf{ID: "flow"}},
		{id, "sources", []any{blueprint.FindBy(modelSource, "slug", "github"), blueprint.FindBy(modelSource, "slug", "corp-sso")}},
		{id, "password_stage", &blueprint.KeyOf{ID: "login-pw"}},
		{id, "captcha_stage", &blueprint.KeyOf{ID: "login-captcha"}},
		{id, "webauthn_stage", &blueprint.KeyOf{ID: "login-passkey"}},
		{pw, "configure_flow", blueprint.FindBy(modelFlow, "slug", "change-pw")},
		{passkey, "configuration_stages", []any{&blueprint.KeyOf{ID: "login-pw"}, blueprint.FindBy("authentik_stages_authenticator_totp.authenticatortotpstage", "name", "default-authenticator-totp-setup")}},
		{passkey, "webauthn_allowed_device_types", []any{blueprint.FindBy(modelDeviceType, "aaguid", "cb69481e-8ff7-4039-93ec-0a2729a154a8")}},
	} {
		if got, _ := tc.attrs.Get(tc.field); !blueprint.Equal(got, tc.want) {
			t.Errorf("%s: %s; want %s", tc.field, blueprint.Show(got), blueprint.Show(tc.want))
		}
	}
	if want := []string{"change-pw", "enroll", "recover"}; !slices.Equal(res.FlowRefs, want) {
		t.Errorf("FlowRefs %v; want %v", res.FlowRefs, want)
	}
	var deps []string
	for _, o := range res.DependsOn {
		deps = append(deps, o.String())
	}
	want := []string{
		`AuthenticatorValidateStage "login-mfa"`, `AuthenticatorValidateStage "login-passkey"`,
		`CaptchaStage "login-captcha"`,
		`Flow "change-pw"`, `Flow "enroll"`, `Flow "recover"`,
		`IdentificationStage "login-id"`, `PasswordStage "login-pw"`,
		`Source "corp"`, `Source "github"`, `UserLoginStage "login-session"`, `WebAuthnDeviceType "yubikey"`,
	}
	if diff := cmp.Diff(want, deps); diff != "" {
		t.Errorf("DependsOn (-want +got):\n%s", diff)
	}
}

// Every object the flow needs and the cluster lacks is named, with who
// needs it; nothing is rendered.
func TestMissing(t *testing.T) {
	f := login().without("login-pw", "recover", "corp", "yubikey", "login-mfa")
	res, err := f.render(Options{})
	var missing *MissingError
	if !errors.As(err, &missing) || res != nil {
		t.Fatalf("Render: %v, %v", res, err)
	}
	want := []Missing{
		{Object{"PasswordStage", "login-pw"}, `spec.passwordStageRef of IdentificationStage "login-id"`},
		{Object{"Flow", "recover"}, `spec.recoveryFlowRef of IdentificationStage "login-id"`},
		{Object{"Source", "corp"}, `spec.sourceRefs[1] of IdentificationStage "login-id"`},
		{Object{"WebAuthnDeviceType", "yubikey"}, `spec.webauthnAllowedDeviceTypeRefs[0] of AuthenticatorValidateStage "login-passkey"`},
		{Object{"AuthenticatorValidateStage", "login-mfa"}, `spec.stageRef of FlowStageBinding "login-30-mfa"`},
	}
	slices.SortFunc(want, func(a, b Missing) int { return strings.Compare(a.String(), b.String()) })
	got := slices.Clone(missing.Missing)
	slices.SortFunc(got, func(a, b Missing) int { return strings.Compare(a.String(), b.String()) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "flow team-a/login cannot be rendered: not found: ") || !strings.Contains(msg, `PasswordStage "login-pw" (spec.passwordStageRef of IdentificationStage "login-id")`) {
		t.Errorf("message: %s", msg)
	}
}

// The captcha's private key never passes through stagehand by default: the
// document reads it where authentik's worker mounts the Secret. Inline, it
// is in the document, and the result says so.
func TestSecrets(t *testing.T) {
	const value = "0x-the-private-key"
	for _, tc := range []struct {
		name    string
		opts    Options
		want    any
		mounted []string
		inline  bool
	}{
		{"file", Options{}, &blueprint.File{Path: "/blueprints/mounted/secret-captcha-keys/private"}, []string{"captcha-keys"}, false},
		{"file elsewhere", Options{SecretMountRoot: "/mnt/s"}, &blueprint.File{Path: "/mnt/s/secret-captcha-keys/private"}, []string{"captcha-keys"}, false},
		{"inline", Options{SecretValue: func(r flowsv1alpha1.SecretKeyReference) (string, error) {
			if r.Name != "captcha-keys" || r.Key != "private" {
				return "", errors.New("wrong key")
			}
			return value + "\n", nil
		}}, value, nil, true},
	} {
		res := mustRender(t, login(), tc.opts)
		got, _ := attrsOf(t, res.Blueprint, "authentik_stages_captcha.captchastage", "login-captcha").Get("private_key")
		if !blueprint.Equal(got, tc.want) {
			t.Errorf("%s: private_key %s", tc.name, blueprint.Show(got))
		}
		if !slices.Equal(res.MountedSecrets, tc.mounted) || res.SecretMaterial != tc.inline {
			t.Errorf("%s: MountedSecrets %v, SecretMaterial %v", tc.name, res.MountedSecrets, res.SecretMaterial)
		}
		if bytes.Contains(encode(t, res), []byte(value)) != tc.inline {
			t.Errorf("%s: the key's value in the document: %v", tc.name, !tc.inline)
		}
		if hasSecret := slices.Contains(res.DependsOn, Object{"Secret", "captcha-keys"}); hasSecret != tc.inline {
			t.Errorf("%s: DependsOn lists the Secret: %v", tc.name, hasSecret)
		}
		validateSchema(t, res.Blueprint)
	}

	_, err := login().render(Options{SecretValue: func(flowsv1alpha1.SecretKeyReference) (string, error) { return "", errors.New("forbidden") }})
	if err == nil || !strings.Contains(err.Error(), `reading key "private" of Secret "captcha-keys": forbidden`) {
		t.Errorf("a failing SecretValue: %v", err)
	}

	// A flow without a captcha carries no secret, inline or not.
	f := login()
	f.bindings = f.bindings[:1] // login-mfa only
	res := mustRender(t, f, Options{SecretValue: func(flowsv1alpha1.SecretKeyReference) (string, error) { return value, nil }})
	if res.SecretMaterial || len(res.MountedSecrets) > 0 {
		t.Errorf("no captcha: SecretMaterial %v, MountedSecrets %v", res.SecretMaterial, res.MountedSecrets)
	}
}

// Blueprints to apply first come first, each once, not required.
func TestApplyFirst(t *testing.T) {
	res := mustRender(t, login(), Options{})
	res.ApplyFirst(BlueprintName(ns, "change-pw"), BlueprintName(ns, "recover"), BlueprintName(ns, "change-pw"))
	entries := res.Blueprint.Entries
	for i, name := range []string{"stagehand team-a/change-pw", "stagehand team-a/recover"} {
		e := entries[i]
		want := blueprint.Map{{Key: "identifiers", Value: blueprint.Map{{Key: "name", Value: name}}}, {Key: "required", Value: false}}
		if e.Model != modelApplyBlueprint || !blueprint.Equal(e.Attrs, want) || e.Identifiers != nil {
			t.Errorf("entry %d: %s %s", i+1, e.Model, blueprint.Show(e.Attrs))
		}
	}
	if entries[2].Model != modelFlow {
		t.Errorf("entry 3 is a %s, not the flow", entries[2].Model)
	}
	validateSchema(t, res.Blueprint)
}

func TestMetadata(t *testing.T) {
	res := mustRender(t, login(), Options{})
	m := res.Blueprint.Metadata
	if m.Name != "stagehand team-a/login" || res.Blueprint.Version != 1 {
		t.Errorf("version %d, name %q", res.Blueprint.Version, m.Name)
	}
	desc := m.Labels["blueprints.goauthentik.io/description"]
	if !strings.Contains(desc, "stagehand") || !strings.Contains(desc, "Flow team-a/login") || len(m.Labels) != 1 {
		t.Errorf("labels %v", m.Labels)
	}
	// No cluster identity anywhere: objects are found by slug and name.
	f := login()
	for _, o := range f.objects {
		o.SetUID("2f7d3c1e-0000-4000-8000-00000000abcd")
	}
	if out := encode(t, mustRender(t, f, Options{})); bytes.Contains(out, []byte("2f7d3c1e")) || bytes.Contains(out, []byte("pk:")) {
		t.Errorf("the document carries a uid or a pk:\n%s", out)
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f *fixture)
		want   string
	}{
		{"binding of another flow", func(f *fixture) { f.bindings[0].Spec.TargetRef.Name = "other" }, `FlowStageBinding team-a/login-30-mfa does not bind a stage to flow team-a/login`},
		{"binding in another namespace", func(f *fixture) { f.bindings[0].Namespace = "team-b" }, `FlowStageBinding team-b/login-30-mfa does not bind a stage to flow team-a/login`},
		{"same stage, same order", func(f *fixture) {
			f.bindings = append(f.bindings, binding("login-20-again", "login", flowsv1alpha1.StageKindPassword, "login-pw", 20))
		}, `FlowStageBindings "login-20-again" and "login-20-pw" both bind PasswordStage "login-pw" at order 20: authentik allows one`},
		{"stage kind without a renderer", func(f *fixture) {
			f.bindings[0].Spec.StageRef.Kind = "ConsentStage"
		}, `FlowStageBinding "login-30-mfa" binds a ConsentStage, which stagehand cannot render yet`},
		{"same authentik stage, same order", func(f *fixture) {
			f.bindings = append(f.bindings, f.bindings[4])
			f.bindings[5].Name = "login-40-again"
		}, `FlowStageBindings "login-40-again" and "login-40-write" both bind authentik_stages_user_write.userwritestage "login-write" (in authentik) at order 40`},
		{"one name, two kinds", func(f *fixture) {
			f.objects = append(f.objects, &flowsv1alpha1.CaptchaStage{ObjectMeta: meta("login-pw"), Spec: flowsv1alpha1.CaptchaStageSpec{PublicKey: "k"}})
			f.bindings = append(f.bindings, binding("login-40", "login", flowsv1alpha1.StageKindCaptcha, "login-pw", 40))
		}, `PasswordStage "login-pw" and CaptchaStage "login-pw" have the same name, and authentik's stage names are unique across all kinds`},
		{"an authentik stage with a stage object's name", func(f *fixture) {
			f.bindings[4].Spec.StageRef.Name = "login-pw"
		}, `FlowStageBinding "login-40-write" names authentik's authentik_stages_user_write.userwritestage "login-pw", but PasswordStage "login-pw" has that name in the document`},
		{"cycle", func(f *fixture) {
			for _, o := range f.objects {
				if s, ok := o.(*flowsv1alpha1.AuthenticatorValidateStage); ok && s.Name == "login-passkey" {
					s.Spec.ConfigurationStageRefs = append(s.Spec.ConfigurationStageRefs, flowsv1alpha1.StageReference{Kind: flowsv1alpha1.StageKindIdentification, Name: "login-id"})
				}
			}
		}, "stages reference each other in a cycle (IdentificationStage/login-id → AuthenticatorValidateStage/login-passkey → IdentificationStage/login-id)"},
	} {
		f := login()
		tc.change(f)
		if _, err := f.render(Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v\nwant %s", tc.name, err, tc.want)
		}
	}

	if _, err := Render(nil, nil, nil, Options{}); err == nil {
		t.Error("no flow: no error")
	}
	broken := func(kind, name string) (client.Object, error) {
		if kind == "Source" {
			return nil, errors.New("cache not started")
		}
		return login().lookup()(kind, name)
	}
	if _, err := Render(login().flow, login().bindings, broken, Options{}); err == nil || !strings.Contains(err.Error(), `reading Source "github": cache not started`) {
		t.Errorf("a failing lookup: %v", err)
	}
	wrongType := func(kind, name string) (client.Object, error) {
		if kind == "Flow" {
			return &flowsv1alpha1.Source{}, nil
		}
		return login().lookup()(kind, name)
	}
	if _, err := Render(login().flow, login().bindings, wrongType, Options{}); err == nil || !strings.Contains(err.Error(), "gave a *v1alpha1.Source") {
		t.Errorf("a lookup of the wrong type: %v", err)
	}
}

// Reader looks objects up through a client.Reader: namespaced kinds in the
// flow's namespace, device types in the cluster, NotFound as missing.
func TestReader(t *testing.T) {
	f := login()
	scheme := runtime.NewScheme()
	if err := flowsv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(f.objects...).Build()
	res, err := Render(f.flow, f.bindings, Reader(context.Background(), c, ns), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, res), encode(t, mustRender(t, f, Options{}))) {
		t.Error("rendering through a Reader gave another document than through Objects")
	}
	if _, err := Reader(context.Background(), c, "team-b")("Flow", "login"); !apierrors.IsNotFound(err) {
		t.Errorf("another namespace: %v", err)
	}
	if _, err := Reader(context.Background(), c, "team-b")("WebAuthnDeviceType", "yubikey"); err != nil {
		t.Errorf("a device type from another namespace's flow: %v", err)
	}
	if _, err := Reader(context.Background(), c, ns)("Secret", "x"); err == nil {
		t.Error("a Secret through Reader")
	}
	empty, err := Objects()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty("Flow", "x"); !apierrors.IsNotFound(err) {
		t.Errorf("Objects: %v is not NotFound", err)
	}
	if _, err := Objects(&unknownKind{}); err == nil {
		t.Error("Objects accepted an object of no stagehand kind")
	}
}

// unknownKind is an object the scheme does not know.
type unknownKind struct{ flowsv1alpha1.Flow }

// Every flow of config/samples, in both secret modes, validates against
// authentik's schema.
func TestSamplesValidate(t *testing.T) {
	files, err := filepath.Glob("../../../config/samples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("config/samples: %v", err)
	}
	flows, bindings, lookup := flowInputs(t, manifests(t, "default", files...))
	if len(flows) < 3 {
		t.Fatalf("config/samples holds %d flows", len(flows))
	}
	for _, f := range flows {
		for _, opts := range []Options{{}, {SecretValue: func(flowsv1alpha1.SecretKeyReference) (string, error) { return "key", nil }}} {
			res, err := Render(f, bindings[f.Name], lookup, opts)
			if err != nil {
				t.Errorf("%s: %v", f.Name, err)
				continue
			}
			validateSchema(t, res.Blueprint)
		}
	}
}

// docs/blueprints.md shows the sample recovery flow's document: it is the
// one the renderer writes.
func TestDocsExample(t *testing.T) {
	docs, err := os.ReadFile("../../../docs/blueprints.md")
	if err != nil {
		t.Fatal(err)
	}
	_, example, found := strings.Cut(string(docs), "## An example")
	if !found {
		t.Fatal(`docs/blueprints.md has no "## An example" section`)
	}
	_, block, ok := strings.Cut(example, "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("docs/blueprints.md has no yaml block")
	}
	files, err := filepath.Glob("../../../config/samples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	flows, bindings, lookup := flowInputs(t, manifests(t, "default", files...))
	i := slices.IndexFunc(flows, func(f *flowsv1alpha1.Flow) bool { return f.Name == "default-recovery-flow" })
	if i < 0 {
		t.Fatal("config/samples has no default-recovery-flow")
	}
	res, err := Render(flows[i], bindings[flows[i].Name], lookup, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(block, string(encode(t, res))); diff != "" {
		t.Errorf("docs/blueprints.md's example (-docs +rendered):\n%s", diff)
	}
}

// A stage is named in the document by its authentik name (spec.name, else
// metadata.name), wherever the document names it: its identifiers, its
// entry id and the !KeyOf that point at it. So a stage imported from
// authentik under a name that is no object name ("Change your password")
// keeps that name in authentik.
func TestStageName(t *testing.T) {
	f := login()
	for _, o := range f.objects {
		if s, ok := o.(*flowsv1alpha1.PasswordStage); ok && s.Name == "login-pw" {
			s.Spec.Name = "Team A: password"
		}
	}
	res := mustRender(t, f, Options{})
	doc := res.Blueprint
	pw := attrsOf(t, doc, mustModel(string(flowsv1alpha1.StageKindPassword)), "Team A: password")
	if len(pw) == 0 {
		t.Fatal("no attrs")
	}
	var ids []string
	for _, e := range doc.Entries {
		if e.Model == mustModel(string(flowsv1alpha1.StageKindPassword)) {
			ids = append(ids, e.ID)
		}
		if name, _ := e.Identifiers.Get("name"); name == "login-pw" {
			t.Errorf("%s entry %q is named by its object name", e.Model, e.ID)
		}
	}
	if !slices.Equal(ids, []string{"Team A: password"}) {
		t.Errorf("password stage entry ids %q; want the stage's authentik name", ids)
	}
	id := attrsOf(t, doc, mustModel(string(flowsv1alpha1.StageKindIdentification)), "login-id")
	if v, _ := id.Get("password_stage"); !blueprint.Equal(v, &blueprint.KeyOf{ID: "Team A: password"}) {
		t.Errorf("password_stage %s", blueprint.Show(v))
	}
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	// Written and read back, the name survives the YAML (": " in it).
	back, err := blueprint.Decode("stage-name.yaml", encode(t, res))
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	validateSchema(t, doc)

	// Two stage objects with one authentik name are refused, whatever
	// their object names; so is an authentik stage of that name.
	f = login()
	f.objects = append(f.objects, &flowsv1alpha1.CaptchaStage{ObjectMeta: meta("other"), Spec: flowsv1alpha1.CaptchaStageSpec{Name: "login-pw", PublicKey: "k"}})
	f.bindings = append(f.bindings, binding("login-50", "login", flowsv1alpha1.StageKindCaptcha, "other", 50))
	if _, err := f.render(Options{}); err == nil || !strings.Contains(err.Error(), `PasswordStage "login-pw" and CaptchaStage "other" have the same name, and authentik's stage names are unique across all kinds: both are "login-pw" in authentik`) {
		t.Errorf("two stages named login-pw in authentik: %v", err)
	}
	f = login()
	for _, o := range f.objects {
		if s, ok := o.(*flowsv1alpha1.PasswordStage); ok && s.Name == "login-pw" {
			s.Spec.Name = "login-write"
		}
	}
	if _, err := f.render(Options{}); err == nil || !strings.Contains(err.Error(), `names authentik's authentik_stages_user_write.userwritestage "login-write", but PasswordStage "login-pw" has that name in the document`) {
		t.Errorf("a stage named like an authentik stage the flow binds: %v", err)
	}
}

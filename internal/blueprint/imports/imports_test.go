package imports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the importer (then read the diff)")

// golden compares got with a file of testdata/golden, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// Each of authentik's blueprints imports on its own: the manifests and the
// report are testdata/golden/<file>.yaml and <file>.txt, which the final
// report's table is read from.
func TestAuthentikBlueprints(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(authentikDir, "*.yaml"))
	if err != nil || len(files) != 9 {
		t.Fatalf("%s: %d files, %v", authentikDir, len(files), err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			res := mustImport(t, readFiles(t, file), Options{})
			out, err := Manifests(res.Objects())
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(name, ".yaml")+".yaml", out)
			var report bytes.Buffer
			WriteReport(&report, res)
			golden(t, strings.TrimSuffix(name, ".yaml")+".txt", report.Bytes())
			// What is printed reads back as the objects.
			if got := decodeManifests(t, out); len(got) != len(res.Objects()) {
				t.Errorf("%d objects printed, %d read back", len(res.Objects()), len(got))
			}
		})
	}
}

// Every binding of every flow is kept, with its order, whatever its stage:
// one FlowStageBinding per binding entry that authentik applies, the
// stages of models stagehand does not serve named by model and name.
func TestEveryBindingKept(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(authentikDir, "*.yaml"))
	for _, file := range files {
		res := mustImport(t, readFiles(t, file), Options{})
		doc, err := blueprint.Decode(file, readFiles(t, file)[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		type binding struct {
			order int64
			stage string
		}
		var want, got []binding
		for i := range doc.Entries {
			e := &doc.Entries[i]
			if e.Model != modelBinding || e.State == blueprint.StateAbsent {
				continue
			}
			order, _ := e.Identifiers.Get("order")
			stage, _ := e.Identifiers.Get("stage")
			target := doc.EntryByID(stage.(*blueprint.KeyOf).ID)
			name, _ := target.Identifiers.Get("name")
			want = append(want, binding{order.(int64), target.Model + " " + name.(string)})
		}
		for _, o := range res.Objects() {
			b, ok := o.Object.(*flowsv1alpha1.FlowStageBinding)
			if !ok {
				continue
			}
			ref := b.Spec.StageRef
			model := ref.Model
			name := ref.Name
			if !ref.IsExternal() {
				k, _ := flowsv1alpha1.LookupKind(string(ref.Kind))
				model = k.Model
				stage := objectsOf(res)[string(ref.Kind)+"/"+ref.Name].(flowsv1alpha1.Stage)
				name = stage.StageName()
			}
			got = append(got, binding{int64(b.Spec.Order), model + " " + name})
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(binding{})); diff != "" {
			t.Errorf("%s: bindings (-file +imported):\n%s", filepath.Base(file), diff)
		}
	}
}

// authentik's defaults directory imports as one: the authentication flow's
// password stage finds the password change flow of another file, and the
// setup flows bind stages stagehand refers to by model.
func TestDefaultsTogether(t *testing.T) {
	res := mustImport(t, authentikFiles(t,
		"flow-default-authentication-flow.yaml",
		"flow-default-authenticator-static-setup.yaml",
		"flow-default-authenticator-totp-setup.yaml",
		"flow-default-authenticator-webauthn-setup.yaml",
		"flow-password-change.yaml",
	), Options{Namespace: "auth"})
	objs := objectsOf(res)
	pw := objs["PasswordStage/default-authentication-password"].(*flowsv1alpha1.PasswordStage)
	if pw.Spec.ConfigureFlowRef == nil || pw.Spec.ConfigureFlowRef.Name != "default-password-change" {
		t.Errorf("configureFlowRef %+v", pw.Spec.ConfigureFlowRef)
	}
	if n := notesOf(res, CategoryMissing); len(n) != 0 {
		t.Errorf("a flow of the files is reported missing: %v", n)
	}
	for _, o := range res.Objects() {
		if o.GetNamespace() != "auth" && kindOf(o.Object) != flowsv1alpha1.KindWebAuthnDeviceType {
			t.Errorf("%s %s in namespace %q", kindOf(o.Object), o.GetName(), o.GetNamespace())
		}
	}
	b := objs["FlowStageBinding/default-authenticator-totp-setup-setup"].(*flowsv1alpha1.FlowStageBinding)
	want := flowsv1alpha1.StageReference{Model: "authentik_stages_authenticator_totp.authenticatortotpstage", Name: "default-authenticator-totp-setup"}
	if b.Spec.StageRef != want || b.Spec.Order != 0 || b.Spec.TargetRef.Name != "default-authenticator-totp-setup" {
		t.Errorf("TOTP setup binding %+v", b.Spec)
	}
}

// The whole directory at once: the two login examples declare authentik's
// default authentication flow and its stages differently from the default
// blueprint, so they fail, naming both places; the other files import.
func TestConflictingFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(authentikDir, "*.yaml"))
	res, err := Import(readFiles(t, files...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range res.Files {
		if f.Err != nil {
			failed = append(failed, f.File)
			if len(f.Objects) > 0 {
				t.Errorf("%s failed but gives %d objects", f.File, len(f.Objects))
			}
		}
	}
	if want := []string{"flows-login-2fa.yaml", "flows-login-conditional-captcha.yaml"}; !slices.Equal(failed, want) {
		t.Fatalf("failed %v; want %v", failed, want)
	}
	msg := res.Files[slices.IndexFunc(res.Files, func(f *FileResult) bool { return f.File == "flows-login-2fa.yaml" })].Err.Error()
	for _, want := range []string{
		`flows-login-2fa.yaml:7:5: authentik_flows.flow "default-authentication-flow" (Flow default-authentication-flow) is also declared by flow-default-authentication-flow.yaml:10:3, differently`,
		`flows-login-2fa.yaml:40:5: authentik_stages_password.passwordstage "default-authentication-password" (PasswordStage default-authentication-password) is also declared by flow-default-authentication-flow.yaml:19:3, differently`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// What two files declare identically is given once.
	merged := notesOf(res, CategoryMerged)
	if len(merged) == 0 {
		t.Error("no object given once for two files")
	}
	seen := map[string]bool{}
	for _, o := range res.Objects() {
		key := kindOf(o.Object) + "/" + o.GetName()
		if seen[key] {
			t.Errorf("%s given twice", key)
		}
		seen[key] = true
	}
}

// An export of authentik's (raw UUIDs, pk identifiers, sorted keys)
// imports: every reference by pk resolves, within a file and across the
// two, and the pks themselves are reported, not carried.
func TestExporterFormat(t *testing.T) {
	res := mustImport(t, readFiles(t, "testdata/exporter/default-authentication-flow.yaml", "testdata/exporter/default-password-change.yaml"), Options{})
	objs := objectsOf(res)
	pw := objs["PasswordStage/default-authentication-password"].(*flowsv1alpha1.PasswordStage)
	if pw.Spec.ConfigureFlowRef == nil || pw.Spec.ConfigureFlowRef.Name != "default-password-change" {
		t.Errorf("configure_flow by pk, across files: %+v", pw.Spec.ConfigureFlowRef)
	}
	write := objs["FlowStageBinding/default-password-change-write"].(*flowsv1alpha1.FlowStageBinding)
	if want := (flowsv1alpha1.StageReference{Model: "authentik_stages_user_write.userwritestage", Name: "default-password-change-write"}); write.Spec.StageRef != want {
		t.Errorf("binding to a user write stage by pk: %+v", write.Spec.StageRef)
	}
	bindings := map[string][]int32{}
	for _, o := range res.Objects() {
		if b, ok := o.Object.(*flowsv1alpha1.FlowStageBinding); ok {
			bindings[b.Spec.TargetRef.Name] = append(bindings[b.Spec.TargetRef.Name], b.Spec.Order)
		}
	}
	if diff := cmp.Diff(map[string][]int32{"default-authentication-flow": {10, 20, 30, 100}, "default-password-change": {0, 1}}, bindings); diff != "" {
		t.Errorf("bindings by flow (-want +got):\n%s", diff)
	}
	pks := notesOf(res, CategoryPK)
	if len(pks) != 2 || !strings.Contains(pks[0].Msg, "13 entries are identified by pk") {
		t.Errorf("pk notes %v", pks)
	}
	// The policy bindings target the bindings' policybindingmodel_ptr_id,
	// which is no entry's pk: they are reported as policy bindings all the
	// same, with their policy.
	pbs := notesOf(res, CategoryPolicyBinding)
	if len(pbs) != 2 || !strings.Contains(pbs[0].Msg, `of authentik_policies_expression.expressionpolicy "default-authentication-flow-password-stage" to 6a1f0000-0000-4000-8000-00000000001d`) {
		t.Errorf("policy binding notes %v", pbs)
	}
}

// docs/import.md's example is what the command prints: its report, and
// the objects it shows.
func TestDocsExample(t *testing.T) {
	docs, err := os.ReadFile("../../../docs/import.md")
	if err != nil {
		t.Fatal(err)
	}
	_, example, ok := strings.Cut(string(docs), "## An example")
	if !ok {
		t.Fatal(`docs/import.md has no "## An example" section`)
	}
	_, console, ok1 := strings.Cut(example, "```console\n")
	console, rest, ok2 := strings.Cut(console, "```")
	_, manifests, ok3 := strings.Cut(rest, "```yaml\n")
	manifests, _, ok4 := strings.Cut(manifests, "...\n```")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		t.Fatal("docs/import.md's example lacks its console or yaml block")
	}
	command, report, _ := strings.Cut(console, "\n")
	if command != "$ kubectl stagehand import -n auth flows-login-conditional-captcha.yaml > login.yaml" {
		t.Errorf("the example runs %q", command)
	}
	res := mustImport(t, authentikFiles(t, "flows-login-conditional-captcha.yaml"), Options{Namespace: "auth"})
	var got bytes.Buffer
	WriteReport(&got, res)
	if diff := cmp.Diff(report, got.String()); diff != "" {
		t.Errorf("docs/import.md's report (-docs +import):\n%s", diff)
	}
	out, err := Manifests(res.Objects())
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(manifests, "---\n") {
		if !strings.Contains(string(out), doc) {
			t.Errorf("docs/import.md shows an object that is not in the output:\n%s\noutput:\n%s", doc, out)
		}
	}
}

package imports

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// hasNote reports whether a note of category c holds every part.
func hasNote(res *Result, c Category, parts ...string) bool {
	for _, n := range notesOf(res, c) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(n.String(), p)
		}
		if all {
			return true
		}
	}
	return false
}

func mustHaveNote(t *testing.T, res *Result, c Category, parts ...string) {
	t.Helper()
	if !hasNote(res, c, parts...) {
		var all []string
		for _, f := range res.Files {
			for _, n := range f.Notes {
				all = append(all, n.String())
			}
		}
		t.Errorf("no %s note with %q among:\n%s", c, parts, strings.Join(all, "\n"))
	}
}

// !Context takes the document's context, else the tag's default, else
// null (noted); !Format, !If and !Condition compute from them.
func TestContextAndFormat(t *testing.T) {
	res := mustImport(t, inline("ctx.yaml", `version: 1
context:
  team: Team A
  strict: true
entries:
- model: authentik_flows.flow
  id: flow
  identifiers: {slug: !Format ["%s-login", !Context [slug_prefix, team-a]]}
  attrs:
    name: !Format ["%s: sign in (%d tries)", !Context team, 3]
    title: !If [!Context strict, Strict, Lax]
    designation: authentication
    layout: !Context [layout, sidebar_left]
    background: !Context nowhere
    compatibility_mode: !Condition [AND, !Context strict, !Context [other, yes]]
`), Options{})
	f := objectsOf(res)["Flow/team-a-login"].(*flowsv1alpha1.Flow)
	want := flowsv1alpha1.FlowSpec{Name: "Team A: sign in (3 tries)", Title: "Strict", Designation: "authentication", Layout: "sidebar_left", CompatibilityMode: ptr.To(true)}
	if diff := cmp.Diff(want, f.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	mustHaveNote(t, res, CategoryContext, "ctx.yaml:14:17", "!Context nowhere: the document's context has no nowhere and the tag no default: taken as null")
}

// An entry's conditions: when the files decide them, an entry whose
// conditions fail is not imported (noted); when they read authentik, the
// entry is imported as if they held (noted).
func TestConditions(t *testing.T) {
	res := mustImport(t, inline("cond.yaml", `version: 1
context: {with_mfa: false}
entries:
- model: authentik_stages_user_login.userloginstage
  identifiers: {name: always}
  conditions: [!Condition [OR, !Context with_mfa, true]]
- model: authentik_stages_user_login.userloginstage
  identifiers: {name: never}
  conditions: [!Context with_mfa]
- model: authentik_stages_user_login.userloginstage
  identifiers: {name: maybe}
  conditions: [!Env ENABLE_LOGIN]
`), Options{})
	objs := objectsOf(res)
	for name, want := range map[string]bool{"always": true, "never": false, "maybe": true} {
		if _, got := objs["UserLoginStage/"+name]; got != want {
			t.Errorf("stage %s imported: %v, want %v", name, got, want)
		}
	}
	mustHaveNote(t, res, CategoryCondition, "cond.yaml:7:3", `"never" is not carried: its conditions do not hold, so authentik does not apply it`)
	mustHaveNote(t, res, CategoryCondition, "cond.yaml:10:3", `"maybe" has conditions the import cannot evaluate (!Env ENABLE_LOGIN reads an environment variable of authentik's worker): not carried; the object is imported as if they held`)
}

// !Env and !File are values of authentik's worker: not carried, noted.
// A captcha's private key is never written: a Secret is named instead,
// the one the document reads when it is stagehand's mount path.
func TestEnvFileAndSecrets(t *testing.T) {
	res := mustImport(t, inline("env.yaml", `version: 1
entries:
- model: authentik_stages_password.passwordstage
  identifiers: {name: pw}
  attrs:
    backends: [authentik.core.auth.InbuiltBackend]
    failed_attempts_before_cancel: !Env [PW_ATTEMPTS, 3]
- model: authentik_stages_captcha.captchastage
  identifiers: {name: inline}
  attrs: {public_key: pub, private_key: the-secret-value}
- model: authentik_stages_captcha.captchastage
  identifiers: {name: from-env}
  attrs: {public_key: pub, private_key: !Env CAPTCHA_KEY}
- model: authentik_stages_captcha.captchastage
  identifiers: {name: mounted}
  attrs: {public_key: pub, private_key: !File /blueprints/mounted/secret-captcha/key}
- model: authentik_stages_captcha.captchastage
  identifiers: {name: elsewhere}
  attrs: {public_key: !File /etc/keys/public, private_key: !File /etc/keys/private}
`), Options{})
	objs := objectsOf(res)
	if pw := objs["PasswordStage/pw"].(*flowsv1alpha1.PasswordStage); pw.Spec.FailedAttemptsBeforeCancel != nil {
		t.Errorf("an !Env value was carried: %v", *pw.Spec.FailedAttemptsBeforeCancel)
	}
	mustHaveNote(t, res, CategoryEnv, "env.yaml:7:36", "failed_attempts_before_cancel is not carried: !Env [PW_ATTEMPTS, 3]")
	for name, want := range map[string]flowsv1alpha1.SecretKeyReference{
		"inline":    {Name: "inline", Key: "privateKey"},
		"from-env":  {Name: "from-env", Key: "privateKey"},
		"mounted":   {Name: "captcha", Key: "key"},
		"elsewhere": {Name: "elsewhere", Key: "privateKey"},
	} {
		if got := objs["CaptchaStage/"+name].(*flowsv1alpha1.CaptchaStage).Spec.PrivateKeySecretRef; got != want {
			t.Errorf("%s: privateKeySecretRef %+v, want %+v", name, got, want)
		}
	}
	mustHaveNote(t, res, CategorySecret, `"inline"`, "(in the file, in the entry at line 8) is not written to the output: create Secret inline with key privateKey")
	mustHaveNote(t, res, CategorySecret, `"from-env"`, "(!Env CAPTCHA_KEY reads an environment variable of authentik's worker)", "create Secret from-env with key privateKey")
	mustHaveNote(t, res, CategorySecret, `"mounted"`, "key key of Secret captcha, which authentik's worker mounts")
	mustHaveNote(t, res, CategoryFile, "env.yaml:19:23", "public_key is not carried: !File /etc/keys/public reads a file on authentik's worker")
	out, err := Manifests(res.Objects())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		for _, n := range f.Notes {
			if strings.Contains(n.Msg, "the-secret-value") {
				t.Errorf("the report prints the private key: %s", n)
			}
		}
	}
	if strings.Contains(string(out), "the-secret-value") {
		t.Error("the manifests hold the private key")
	}
}

// References between files resolve: a !Find of what another file
// declares, a pk another file's entry has. A !Find of what no file
// declares is carried as a reference by slug or name where stagehand can
// make one, and noted.
func TestReferencesAcrossFiles(t *testing.T) {
	files := append(inline("stages.yaml", `version: 1
entries:
- model: authentik_stages_password.passwordstage
  identifiers: {pk: 0f6c2f5e-0000-4000-8000-000000000001, name: "Shared: password"}
  attrs: {backends: [authentik.core.auth.InbuiltBackend]}
- model: authentik_sources_oauth.oauthsource
  identifiers: {slug: github}
  attrs: {name: GitHub, provider_type: github, consumer_key: abc, enabled: true}
`), inline("flow.yaml", `version: 1
entries:
- model: authentik_flows.flow
  id: flow
  identifiers: {slug: login}
  attrs: {title: Login, designation: authentication}
- model: authentik_stages_identification.identificationstage
  id: id
  identifiers: {name: login-id}
  attrs:
    user_fields: [username]
    password_stage: !Find [authentik_stages_password.passwordstage, [name, "Shared: password"]]
    recovery_flow: !Find [authentik_flows.flow, [slug, Other_Recovery]]
    enrollment_flow: 0f6c2f5e-0000-4000-8000-0000000000ff
    sources:
    - !Find [authentik_core.source, [slug, github]]
    - !Find [authentik_sources_saml.samlsource, [slug, corp]]
    webauthn_stage: !Find [authentik_stages_authenticator_validate.authenticatorvalidatestage, [name, passkey]]
- model: authentik_flows.flowstagebinding
  identifiers: {target: !KeyOf flow, stage: !KeyOf id, order: 10}
- model: authentik_flows.flowstagebinding
  identifiers: {target: !KeyOf flow, stage: 0F6C2F5E000040008000000000000001, order: 20}
- model: authentik_flows.flowstagebinding
  identifiers: {target: !KeyOf flow, stage: !Find [authentik_stages_identification.identificationstage, [name, elsewhere]], order: 30}
- model: authentik_flows.flowstagebinding
  identifiers: {target: !KeyOf flow, stage: !Find [authentik_flows.stage, [name, "Shared: password"]], order: 40}
- model: authentik_flows.flowstagebinding
  identifiers: {target: !KeyOf flow, stage: !Find [authentik_stages_prompt.promptstage, [name__startswith, x]], order: 50}
`)...)
	// (The binding at order 20 names the password stage by its pk,
	// written without hyphens and in capitals: the same pk.)
	res := mustImport(t, files, Options{})
	objs := objectsOf(res)
	id := objs["IdentificationStage/login-id"].(*flowsv1alpha1.IdentificationStage)
	if id.Spec.PasswordStageRef == nil || id.Spec.PasswordStageRef.Name != "shared-password" {
		t.Errorf("password stage of another file: %+v", id.Spec.PasswordStageRef)
	}
	if id.Spec.RecoveryFlowRef == nil || id.Spec.RecoveryFlowRef.Name != "other-recovery" {
		t.Errorf("recovery flow no file declares: %+v", id.Spec.RecoveryFlowRef)
	}
	if id.Spec.EnrollmentFlowRef != nil {
		t.Errorf("a pk no file declares was carried: %+v", id.Spec.EnrollmentFlowRef)
	}
	if want := []flowsv1alpha1.LocalObjectReference{{Name: "github"}, {Name: "corp"}}; !slices.Equal(id.Spec.SourceRefs, want) {
		t.Errorf("sources %+v", id.Spec.SourceRefs)
	}
	if id.Spec.WebAuthnStageRef == nil || id.Spec.WebAuthnStageRef.Name != "passkey" {
		t.Errorf("webauthn stage %+v", id.Spec.WebAuthnStageRef)
	}
	stages := map[int32]flowsv1alpha1.StageReference{}
	for _, o := range res.Objects() {
		if b, ok := o.Object.(*flowsv1alpha1.FlowStageBinding); ok {
			stages[b.Spec.Order] = b.Spec.StageRef
		}
	}
	wantStages := map[int32]flowsv1alpha1.StageReference{
		10: {Kind: "IdentificationStage", Name: "login-id"},
		20: {Kind: "PasswordStage", Name: "shared-password"},
		30: {Model: "authentik_stages_identification.identificationstage", Name: "elsewhere"},
		40: {Kind: "PasswordStage", Name: "shared-password"},
	}
	if diff := cmp.Diff(wantStages, stages); diff != "" {
		t.Errorf("bindings' stages by order (-want +got):\n%s", diff)
	}
	src := objs["Source/github"].(*flowsv1alpha1.Source)
	if src.Spec.Name != "GitHub" || src.Spec.Enabled == nil || !*src.Spec.Enabled {
		t.Errorf("declared source %+v", src.Spec)
	}
	if corp, ok := objs["Source/corp"].(*flowsv1alpha1.Source); !ok || corp.Spec.Name != "" {
		t.Errorf("a source only found by slug: %+v", objs["Source/corp"])
	}
	mustHaveNote(t, res, CategoryAttribute, "stages.yaml:6:3", "its settings (provider_type, consumer_key) are not carried")
	mustHaveNote(t, res, CategoryMissing, "flow.yaml:13:20", `recovery_flow names the flow of slug "Other_Recovery", which the files do not declare: import its blueprint too, or create Flow other-recovery`)
	mustHaveNote(t, res, CategoryMissing, `webauthn_stage names the AuthenticatorValidateStage "passkey", which the files do not declare`)
	mustHaveNote(t, res, CategoryMissing, `stage names authentik's authentik_stages_identification.identificationstage "elsewhere", which the files do not declare: it is referred to by model and name`)
	mustHaveNote(t, res, CategoryReference, "enrollment_flow is not carried: 0f6c2f5e-0000-4000-8000-0000000000ff is the pk of a flow the files do not declare")
	mustHaveNote(t, res, CategoryReference, "stage is not carried: a !Find of authentik_stages_prompt.promptstage by name__startswith x")
	mustHaveNote(t, res, CategoryReference, "order: 50} is not carried: its stage cannot be named")
	mustHaveNote(t, res, CategorySource, `sources[1] is authentik's source "corp": given as Source corp`)
	mustHaveNote(t, res, CategoryPK, "1 entry is identified by pk")
}

// What authentik would not apply, and what stagehand has no kind for, is
// reported with its place and name: states, permissions, meta models,
// entries in sections.
func TestReported(t *testing.T) {
	res := mustImport(t, inline("misc.yaml", `version: 1
entries:
  flows:
  - model: authentik_flows.flow
    id: flow
    state: created
    identifiers: {slug: misc}
    attrs: {title: Misc, designation: authentication, denied_action: continue}
    permissions:
    - {permission: view_flow, role: !Find [authentik_rbac.role, [name, auditors]]}
    - {permission: change_flow, user: 7}
  - model: authentik_blueprints.metaapplyblueprint
    attrs: {identifiers: {name: Other}, required: false}
  stages:
  - model: authentik_stages_user_login.userloginstage
    id: gone
    state: absent
    identifiers: {name: gone}
  - model: authentik_stages_deny.denystage
    id: deny
    identifiers: {name: deny}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf deny, order: 10}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf gone, order: 20}
  - model: authentik_stages_user_login.userloginstage
    identifiers: {name: listed}
    attrs: {session_duration: !Enumerate [[1, 2], SEQ, !Value 0]}
`), Options{})
	for _, want := range []struct {
		c     Category
		parts []string
	}{
		{CategoryState, []string{"misc.yaml:4:5", `authentik_flows.flow "misc" has state created: carried as present`}},
		{CategoryPermission, []string{"misc.yaml:4:5", `grants 2 permissions (view_flow to role !Find [authentik_rbac.role, [name, auditors]], change_flow to user 7): not carried`}},
		{CategoryMeta, []string{"misc.yaml:12:5", "authentik_blueprints.metaapplyblueprint (apply blueprint {name: Other} first) is not carried"}},
		{CategoryAbsent, []string{"misc.yaml:15:5", `authentik_stages_user_login.userloginstage "gone" is not carried: it deletes the object in authentik`}},
		{CategoryModel, []string{"misc.yaml:19:5", `authentik_stages_deny.denystage "deny" is not carried: stagehand does not serve authentik_stages_deny.denystage`}},
		{CategoryReference, []string{"misc.yaml:24:5", `stage is not carried: it names authentik_stages_user_login.userloginstage "gone", which is not applied (state absent)`}},
		{CategoryTag, []string{"misc.yaml:28:31", "session_duration is not carried: !Enumerate is not evaluated by the import"}},
	} {
		mustHaveNote(t, res, want.c, want.parts...)
	}
	objs := objectsOf(res)
	if f := objs["Flow/misc"].(*flowsv1alpha1.Flow); f.Spec.DeniedAction != "continue" {
		t.Errorf("flow %+v", f.Spec)
	}
	if b := objs["FlowStageBinding/misc-deny"].(*flowsv1alpha1.FlowStageBinding); b.Spec.StageRef != (flowsv1alpha1.StageReference{Model: "authentik_stages_deny.denystage", Name: "deny"}) {
		t.Errorf("binding to a deny stage: %+v", b.Spec.StageRef)
	}
	if _, ok := objs["UserLoginStage/gone"]; ok {
		t.Error("an absent entry was imported")
	}
	if len(res.Objects()) != 3 {
		t.Errorf("%d objects: %v", len(res.Objects()), slices.Sorted(maps.Keys(objs)))
	}
}

// Names: valid identities are kept; others are made valid; two that would
// share a name keep the exact one and hash the other, whatever the order
// of the files.
func TestNames(t *testing.T) {
	stage := func(name string) string {
		return "version: 1\nentries:\n- model: authentik_stages_user_login.userloginstage\n  identifiers: {name: '" + name + "'}\n"
	}
	a, b, c := inline("a.yaml", stage("foo-bar")), inline("b.yaml", stage("Foo Bar")), inline("c.yaml", stage("FOO_BAR"))
	names := func(files ...[]File) map[string]string {
		var all []File
		for _, f := range files {
			all = append(all, f...)
		}
		out := map[string]string{}
		for _, o := range mustImport(t, all, Options{}).Objects() {
			out[o.Object.(flowsv1alpha1.Stage).StageName()] = o.GetName()
		}
		return out
	}
	first := names(a, b, c)
	if first["foo-bar"] != "foo-bar" || !strings.HasPrefix(first["Foo Bar"], "foo-bar-") || !strings.HasPrefix(first["FOO_BAR"], "foo-bar-") || first["Foo Bar"] == first["FOO_BAR"] {
		t.Errorf("names %v", first)
	}
	if again := names(c, b, a); !cmp.Equal(first, again) {
		t.Errorf("another order of the files gives other names: %v, then %v", first, again)
	}
	// Without the collision, the name made valid, no hash.
	if got := names(b); got["Foo Bar"] != "foo-bar" {
		t.Errorf("names %v", got)
	}
	for in, want := range map[string]string{
		"Change your password":     "change-your-password",
		"default-authentication":   "default-authentication",
		"Ünïcode & Co.":            "n-code-co",
		"---":                      "unnamed",
		strings.Repeat("ab ", 100): strings.Repeat("ab-", 85)[:253], // cut to 253 characters
	} {
		if got := sanitize(in); got != want || !validName(got) {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
	if h := withHash(strings.Repeat("a", 253), "k"); len(h) != 253 || !validName(h) {
		t.Errorf("withHash of a long name: %d characters, valid %v", len(h), validName(h))
	}
}

func TestPyFormat(t *testing.T) {
	for _, tc := range []struct {
		format string
		args   []any
		want   string
		err    bool
	}{
		{"%s-%s", []any{"a", int64(1)}, "a-1", false},
		{"%d%%", []any{int64(50)}, "50%", false},
		{"%s %s %s", []any{true, nil, 0.5}, "True None 0.5", false},
		// Python's str of a float: positional below 1e16, with no
		// exponent at 1e6 as Go's %g would have.
		{"%s %s %s", []any{1234567.5, 100.0, 1e16}, "1234567.5 100.0 1e+16", false},
		{"%r %s", []any{1e-5, math.Copysign(0, -1)}, "1e-05 -0.0", false},
		{"%r", []any{"x"}, "'x'", false},
		{"%s", nil, "", true},
		{"%s", []any{"a", "b"}, "", true},
		{"%5s", []any{"a"}, "", true},
		{"%d", []any{"a"}, "", true},
	} {
		got, err := pyFormat(tc.format, tc.args)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("pyFormat(%q, %v) = %q, %v", tc.format, tc.args, got, err)
		}
	}
}

// A context that refers to itself is not computed, and says so; one that
// grows exponentially stops at Options.MaxSteps, and the file fails,
// naming the entry and the flag that raises the limit.
func TestContextLoops(t *testing.T) {
	res := mustImport(t, inline("self.yaml", `version: 1
context:
  self: [!Context self, !Context self]
entries:
- model: authentik_stages_user_login.userloginstage
  identifiers: {name: a}
  attrs: {session_duration: !Context self}
`), Options{})
	mustHaveNote(t, res, CategoryTag, "session_duration is not carried: !Context self refers to itself")

	var ctx strings.Builder
	ctx.WriteString("context:\n")
	// 4^15 values, in 15 entries.
	for i := range 15 {
		ctx.WriteString(fmt.Sprintf("  a%d: [!Context a%[2]d, !Context a%[2]d, !Context a%[2]d, !Context a%[2]d]\n", i, i+1))
	}
	ctx.WriteString("  a15: x\n")
	res, err := Import(inline("loop.yaml", "version: 1\n"+ctx.String()+`entries:
- model: authentik_stages_user_login.userloginstage
  identifiers: {name: a}
  attrs: {remember_device: !Context a0}
- model: authentik_stages_user_login.userloginstage
  identifiers: {name: b}
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "loop.yaml:20:3: a limit stopped 1 entry, so the file is not imported: computing them takes more than 4194304 values (--max-steps); raise --max-steps to import it. Stopped: line 20: authentik_stages_user_login.userloginstage \"a\""
	if err := res.Err(); err == nil || err.Error() != want {
		t.Errorf("error\n  %v\nwant\n  %s", err, want)
	}
	if len(res.Objects()) != 0 {
		t.Errorf("a file a limit stopped gives %d objects", len(res.Objects()))
	}
}

// A value nested deeper than Options.MaxDepth fails the file, naming the
// flag; raised, the file imports.
func TestMaxDepth(t *testing.T) {
	doc := inline("deep.yaml", `version: 1
context: {a: !Context b, b: !Context c, c: !Context d, d: x}
entries:
- model: authentik_stages_user_login.userloginstage
  identifiers: {name: !Context a}
`)
	res, err := Import(doc, Options{MaxDepth: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "their values nest deeper than 3 (--max-depth); raise --max-depth to import it. Stopped: line 4: authentik_stages_user_login.userloginstage {name: !Context a}") {
		t.Errorf("error %v", err)
	}
	mustImport(t, doc, Options{MaxDepth: 8})
	if _, err := Import(doc, Options{MaxSteps: -1}); err == nil {
		t.Error("a negative limit is accepted")
	}
}

// A !Find of a null primary key finds nothing, in any database: authentik
// resolves it to null, which is how stagehand's documents write an unset
// reference (blueprint.Null). The import reads it as unset, without a note.
func TestFindOfNullPK(t *testing.T) {
	res := mustImport(t, inline("null.yaml", `version: 1
entries:
- model: authentik_stages_password.passwordstage
  identifiers: {name: pw}
  attrs:
    backends: [authentik.core.auth.InbuiltBackend]
    configure_flow: !Find [authentik_flows.flow, [pk, null]]
- model: authentik_stages_identification.identificationstage
  identifiers: {name: id}
  attrs:
    user_fields: [username]
    password_stage: !Find [authentik_stages_password.passwordstage, [pk, null]]
    captcha_stage: !Find [authentik_stages_captcha.captchastage, [pk__exact, null]]
    recovery_flow: !Find [authentik_flows.flow, [pk, null]]
    webauthn_stage: !Find [authentik_stages_authenticator_validate.authenticatorvalidatestage, [pk, null]]
`), Options{})
	objs := objectsOf(res)
	if pw := objs["PasswordStage/pw"].(*flowsv1alpha1.PasswordStage); pw.Spec.ConfigureFlowRef != nil {
		t.Errorf("configureFlowRef %+v, want unset", pw.Spec.ConfigureFlowRef)
	}
	id := objs["IdentificationStage/id"].(*flowsv1alpha1.IdentificationStage).Spec
	if id.PasswordStageRef != nil || id.CaptchaStageRef != nil || id.RecoveryFlowRef != nil || id.WebAuthnStageRef != nil {
		t.Errorf("references %+v %+v %+v %+v, want all unset", id.PasswordStageRef, id.CaptchaStageRef, id.RecoveryFlowRef, id.WebAuthnStageRef)
	}
	for _, f := range res.Files {
		for _, n := range f.Notes {
			t.Errorf("note: %s", n)
		}
	}
}

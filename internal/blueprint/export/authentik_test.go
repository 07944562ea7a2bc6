package export

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export/exporttest"
)

// authentikDefaults is authentik's default for every field stagehand
// writes (exporttest.AuthentikDefaults), kept apart from the renderer's own
// defaults on purpose: the tests compare the two.
var authentikDefaults = exporttest.AuthentikDefaults

// Every field stagehand knows is written; a field the manifest leaves unset
// is written as authentik's default. The objects here set only what the
// API server requires.
func TestDefaults(t *testing.T) {
	flow := &flowsv1alpha1.Flow{ObjectMeta: meta("bare"), Spec: flowsv1alpha1.FlowSpec{Title: "Bare", Designation: "authentication"}}
	stages := []struct {
		kind     flowsv1alpha1.StageKind
		obj      interface{ GetName() string }
		required blueprint.Map // what the manifest sets, written as is
	}{
		{flowsv1alpha1.StageKindIdentification, &flowsv1alpha1.IdentificationStage{ObjectMeta: meta("bare-id"), Spec: flowsv1alpha1.IdentificationStageSpec{UserFields: []flowsv1alpha1.UserField{"email"}}},
			blueprint.Map{{Key: "user_fields", Value: []any{"email"}}}},
		{flowsv1alpha1.StageKindPassword, &flowsv1alpha1.PasswordStage{ObjectMeta: meta("bare-pw"), Spec: flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}}},
			blueprint.Map{{Key: "backends", Value: []any{"authentik.core.auth.InbuiltBackend"}}}},
		{flowsv1alpha1.StageKindAuthenticatorValidate, &flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: meta("bare-mfa")}, nil},
		{flowsv1alpha1.StageKindCaptcha, &flowsv1alpha1.CaptchaStage{ObjectMeta: meta("bare-captcha"), Spec: flowsv1alpha1.CaptchaStageSpec{PublicKey: "pub", PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: "s", Key: "k"}}},
			blueprint.Map{{Key: "public_key", Value: "pub"}, {Key: "private_key", Value: &blueprint.File{Path: "/blueprints/mounted/secret-s/k"}}}},
		{flowsv1alpha1.StageKindUserLogin, &flowsv1alpha1.UserLoginStage{ObjectMeta: meta("bare-login")}, nil},
	}
	f := &fixture{flow: flow, objects: []client.Object{flow}}
	for i, s := range stages {
		f.objects = append(f.objects, s.obj.(client.Object))
		f.bindings = append(f.bindings, binding(fmt.Sprintf("bare-%d", i), "bare", s.kind, s.obj.GetName(), int32(i)))
	}
	res := mustRender(t, f, Options{})
	check := func(model, name string, required blueprint.Map) {
		want := append(slices.Clone(required), authentikDefaults[model]...)
		got := exporttest.Applied(attrsOf(t, res.Blueprint, model, name))
		if !blueprint.Equal(got, want) {
			t.Errorf("%s %s:\n got %s\nwant %s", model, name, blueprint.Show(got), blueprint.Show(want))
		}
	}
	check(modelFlow, "bare", blueprint.Map{{Key: "name", Value: "bare"}, {Key: "title", Value: "Bare"}, {Key: "designation", Value: "authentication"}})
	for _, s := range stages {
		check(mustModel(string(s.kind)), s.obj.GetName(), s.required)
	}
	for _, e := range res.Blueprint.Entries {
		if e.Model == modelBinding && !blueprint.Equal(e.Attrs, authentikDefaults[modelBinding]) {
			t.Errorf("binding %s: attrs %s", blueprint.Show(e.Identifiers), blueprint.Show(e.Attrs))
		}
	}
	validateSchema(t, res.Blueprint)
}

// unserved lists the models of authentik's default authentication flow
// that stagehand does not serve, and why: the comparison leaves their
// entries out, and the entries that point at them.
var unserved = map[string]string{
	"authentik_policies_expression.expressionpolicy": "policies are not stagehand kinds",
	"authentik_policies.policybinding":               "policies are not stagehand kinds",
}

// For authentik's default authentication flow written as stagehand
// manifests, the published document is, entry for entry, authentik's own
// (blueprints/default/flow-default-authentication-flow.yaml) for every
// model stagehand serves: the same entries (model and identifiers, a
// !KeyOf compared by the entry it points at), authentik's attrs equal to
// ours, and every attr ours adds equal to authentik's default.
func TestAuthentikDefaultFlow(t *testing.T) {
	data, err := os.ReadFile("testdata/authentik/flow-default-authentication-flow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := blueprint.Decode("flow-default-authentication-flow.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	const namespace = "default"
	// The samples themselves: config/samples' authentication flow is
	// authentik's default, and the password change flow its password stage
	// names.
	flows, bindings, lookup := flowInputs(t, manifests(t, namespace,
		"../../../config/samples/default-authentication-flow.yaml",
		"../../../config/samples/default-password-change-flow.yaml"))
	flow := flows[slices.IndexFunc(flows, func(f *flowsv1alpha1.Flow) bool { return f.Name == "default-authentication-flow" })]
	res, err := Render(flow, bindings[flow.Name], lookup, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// authentik's document applies the password change flow's first, as
	// its password stage finds that flow by slug.
	res.ApplyFirst(BlueprintName(namespace, "default-password-change"))
	validateSchema(t, res.Blueprint)
	if want := []string{"default-password-change"}; !slices.Equal(res.FlowRefs, want) {
		t.Errorf("FlowRefs %v; want %v", res.FlowRefs, want)
	}
	// Compare the published bytes, read back.
	ours, err := blueprint.Decode("ours.yaml", encode(t, res))
	if err != nil {
		t.Fatal(err)
	}
	if err := ours.Validate(); err != nil {
		t.Fatal(err)
	}
	// The names of the blueprints authentik's document applies first, and
	// what stagehand calls them.
	blueprintNames := map[string]string{"Default - Password change flow": BlueprintName(namespace, "default-password-change")}

	var skipped []string
	skippedIDs := map[string]bool{}
	matched := map[int]bool{}
	for i := range theirs.Entries {
		e := &theirs.Entries[i]
		what := describe(e)
		if why, ok := unserved[e.Model]; ok {
			skipped = append(skipped, what+": "+why)
			skippedIDs[e.ID] = e.ID != ""
			continue
		}
		if target := pointsAt(e, skippedIDs); target != "" {
			skipped = append(skipped, what+": points at "+target+", which is skipped")
			skippedIDs[e.ID] = e.ID != ""
			continue
		}
		j := matching(t, theirs, e, ours, blueprintNames)
		if j < 0 {
			t.Errorf("%s: no such entry in stagehand's document", what)
			continue
		}
		if matched[j] {
			t.Errorf("%s: matches entry %d, which matched another already", what, j+1)
		}
		matched[j] = true
		compareAttrs(t, what, theirs, e, ours, &ours.Entries[j], blueprintNames)
	}
	for j := range ours.Entries {
		if !matched[j] {
			t.Errorf("stagehand's entry %d, %s, is not in authentik's document", j+1, describe(&ours.Entries[j]))
		}
	}

	wantSkipped := []string{
		"authentik_policies_expression.expressionpolicy {name: default-authentication-flow-password-stage}: policies are not stagehand kinds",
		"authentik_policies_expression.expressionpolicy {name: default-authentication-flow-authenticator-validate-stage}: policies are not stagehand kinds",
		"authentik_policies.policybinding {order: 10, target: !KeyOf default-authentication-flow-password-binding, policy: !KeyOf default-authentication-flow-password-optional}: policies are not stagehand kinds",
		"authentik_policies.policybinding {order: 10, target: !KeyOf default-authentication-flow-authenticator-validation-binding, policy: !KeyOf default-authentication-flow-authenticator-validate-optional}: policies are not stagehand kinds",
	}
	if diff := cmp.Diff(wantSkipped, skipped); diff != "" {
		t.Errorf("skipped entries of authentik's document (-want +got):\n%s", diff)
	}
}

// describe names an entry for a person: its model and identifiers, as
// written.
func describe(e *blueprint.Entry) string {
	if len(e.Identifiers) == 0 {
		return e.Model + " " + blueprint.Show(e.Attrs)
	}
	return e.Model + " " + blueprint.Show(e.Identifiers)
}

// pointsAt is the id of a skipped entry e points at, or "".
func pointsAt(e *blueprint.Entry, skipped map[string]bool) string {
	var target string
	blueprint.WalkEntry(e, func(v any) bool {
		if k, ok := v.(*blueprint.KeyOf); ok && skipped[k.ID] {
			target = k.ID
			return false
		}
		return true
	})
	return target
}

// matching is the index of the entry of ours that writes the object e
// writes in theirs, or -1.
func matching(t *testing.T, theirs *blueprint.Blueprint, e *blueprint.Entry, ours *blueprint.Blueprint, names map[string]string) int {
	t.Helper()
	if e.Model == modelApplyBlueprint {
		ids, _ := e.Attrs.Get("identifiers")
		name, _ := ids.(blueprint.Map).Get("name")
		want := blueprint.Map{{Key: "name", Value: names[name.(string)]}}
		return slices.IndexFunc(ours.Entries, func(o blueprint.Entry) bool {
			got, _ := o.Attrs.Get("identifiers")
			return o.Model == modelApplyBlueprint && blueprint.Equal(got, want)
		})
	}
	id, err := blueprint.Identity(theirs, e)
	if err != nil {
		t.Fatal(err)
	}
	for j := range ours.Entries {
		if o := &ours.Entries[j]; o.Model == e.Model {
			if oid, err := blueprint.Identity(ours, o); err == nil && oid == id {
				return j
			}
		}
	}
	return -1
}

// compareAttrs checks that ours has every attr of theirs, equal (a !KeyOf
// compared by what it points at), and that every attr ours adds is
// authentik's default; and that both are present.
func compareAttrs(t *testing.T, what string, theirs *blueprint.Blueprint, e *blueprint.Entry, ours *blueprint.Blueprint, o *blueprint.Entry, names map[string]string) {
	t.Helper()
	if state := orDefault(string(e.State), "present"); string(o.State) != state && !(o.Model == modelApplyBlueprint && o.State == "") {
		t.Errorf("%s: state %q; authentik's is %q", what, o.State, state)
	}
	standalone := func(doc *blueprint.Blueprint, m blueprint.Map) blueprint.Map {
		v, err := blueprint.Standalone(doc, m)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := v.(blueprint.Map)
		return out
	}
	their, our := standalone(theirs, e.Attrs), standalone(ours, o.Attrs)
	if e.Model == modelApplyBlueprint {
		ids, _ := their.Get("identifiers")
		name, _ := ids.(blueprint.Map).Get("name")
		their.Set("identifiers", blueprint.Map{{Key: "name", Value: names[name.(string)]}})
	}
	for _, f := range their {
		got, ok := our.Get(f.Key)
		if !ok || !blueprint.Equal(exporttest.Applied(got), exporttest.Applied(f.Value)) {
			t.Errorf("%s: %s is %s; authentik's is %s", what, f.Key, blueprint.Show(got), blueprint.Show(f.Value))
		}
	}
	for _, f := range our {
		if _, theirsToo := their.Get(f.Key); theirsToo {
			continue
		}
		def, known := authentikDefaults[e.Model].Get(f.Key)
		if !known {
			t.Errorf("%s: stagehand writes %s, which authentik's document does not, and whose default the test does not know", what, f.Key)
		} else if !blueprint.Equal(exporttest.Applied(f.Value), def) {
			t.Errorf("%s: stagehand writes %s: %s, which authentik's document leaves to its default, %s", what, f.Key, blueprint.Show(f.Value), blueprint.Show(def))
		}
	}
}

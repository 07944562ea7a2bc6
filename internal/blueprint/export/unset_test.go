package export

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// unsetReferences are the references stagehand writes that a manifest may
// leave unset, by model.
var unsetReferences = map[string][]string{
	"authentik_stages_identification.identificationstage": {"password_stage", "captcha_stage", "enrollment_flow", "recovery_flow", "passwordless_flow", "webauthn_stage"},
	"authentik_stages_password.passwordstage":             {"configure_flow"},
}

// An unset reference is written so that the document both validates
// against authentik's schema as users run it and clears, in authentik, a
// reference that was set before (docs/blueprints.md, "Unset references").
// The two plainer writings each fail one of the two: null clears but does
// not validate, leaving the field out validates but clears nothing.
//
// Clearing is checked as authentik's importer applies an entry to an
// object that exists (authentik/blueprints/v1/importer.py, _validate_single):
// it resolves the entry's tags, then updates the object with the model's
// serializer and partial=True, so that exactly the fields the entry gives
// change; these fields are nullable foreign keys, which the serializer
// sets to null from a null.
func TestUnsetReferencesClear(t *testing.T) {
	flow := &flowsv1alpha1.Flow{ObjectMeta: meta("bare"), Spec: flowsv1alpha1.FlowSpec{Title: "Bare", Designation: "authentication"}}
	id := &flowsv1alpha1.IdentificationStage{ObjectMeta: meta("bare-id"), Spec: flowsv1alpha1.IdentificationStageSpec{UserFields: []flowsv1alpha1.UserField{"email"}}}
	pw := &flowsv1alpha1.PasswordStage{ObjectMeta: meta("bare-pw"), Spec: flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}}}
	f := &fixture{flow: flow, objects: []client.Object{flow, id, pw}, bindings: []flowsv1alpha1.FlowStageBinding{
		binding("bare-0", "bare", flowsv1alpha1.StageKindIdentification, "bare-id", 0),
		binding("bare-1", "bare", flowsv1alpha1.StageKindPassword, "bare-pw", 1),
	}}

	// authentik's database: objects of every model referred to, and the
	// stages as an earlier document left them, every reference set.
	db := map[string][]map[string]any{
		modelFlow: {{"pk": "f0000000-0000-4000-8000-000000000001", "slug": "old-flow"}},
		"authentik_stages_password.passwordstage":                            {{"pk": "f0000000-0000-4000-8000-000000000002", "name": "old-pw"}},
		"authentik_stages_captcha.captchastage":                              {{"pk": "f0000000-0000-4000-8000-000000000003", "name": "old-captcha"}},
		"authentik_stages_authenticator_validate.authenticatorvalidatestage": {{"pk": "f0000000-0000-4000-8000-000000000004", "name": "old-mfa"}},
	}
	before := map[string]map[string]any{
		"authentik_stages_identification.identificationstage": {
			"password_stage": "f0000000-0000-4000-8000-000000000002", "captcha_stage": "f0000000-0000-4000-8000-000000000003",
			"enrollment_flow": "f0000000-0000-4000-8000-000000000001", "recovery_flow": "f0000000-0000-4000-8000-000000000001",
			"passwordless_flow": "f0000000-0000-4000-8000-000000000001", "webauthn_stage": "f0000000-0000-4000-8000-000000000004",
		},
		"authentik_stages_password.passwordstage": {"configure_flow": "f0000000-0000-4000-8000-000000000001"},
	}

	for _, c := range []struct {
		name              string
		write             func(m *blueprint.Map, key string) // an unset reference, written otherwise
		validates, clears bool
	}{
		{"as rendered", nil, true, true},
		{"null", func(m *blueprint.Map, key string) { m.Set(key, nil) }, false, true},
		{"left out", func(m *blueprint.Map, key string) {
			*m = slices.DeleteFunc(*m, func(f blueprint.Field) bool { return f.Key == key })
		}, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := mustRender(t, f, Options{}).Blueprint
			for i := range doc.Entries {
				e := &doc.Entries[i]
				for _, key := range unsetReferences[e.Model] {
					if v, _ := e.Attrs.Get(key); !blueprint.IsNull(v) {
						t.Fatalf("%s %s is %s, not blueprint.Null", e.Model, key, blueprint.Show(v))
					}
					if c.write != nil {
						c.write(&e.Attrs, key)
					}
				}
			}
			problems, err := schemaProblems(doc, false)
			if err != nil {
				t.Fatal(err)
			}
			if validates := len(problems) == 0; validates != c.validates {
				t.Errorf("validates: %v, want %v (%s)", validates, c.validates, strings.Join(problems, "; "))
			}
			cleared := true
			for _, e := range doc.Entries {
				if before[e.Model] == nil {
					continue
				}
				after := appliedTo(before[e.Model], e.Attrs, db)
				for _, key := range unsetReferences[e.Model] {
					cleared = cleared && after[key] == nil
				}
			}
			if cleared != c.clears {
				t.Errorf("clears the references set before: %v, want %v", cleared, c.clears)
			}
		})
	}
}

// appliedTo is obj, an authentik object's references, after authentik
// applies attrs to it: the fields attrs gives, resolved, replace obj's;
// the others stay.
func appliedTo(obj map[string]any, attrs blueprint.Map, db map[string][]map[string]any) map[string]any {
	out := maps.Clone(obj)
	for _, f := range attrs {
		out[f.Key] = resolvedByAuthentik(f.Value, db)
	}
	return out
}

// resolvedByAuthentik is v as authentik resolves it, for the values an
// unset reference may be written as: a !Find (common.py, Find.resolve) is
// the pk of the first object of its model that has the conditions' values
// (Django's exact lookup, which takes a null value for "IS NULL"), else
// null.
func resolvedByAuthentik(v any, db map[string][]map[string]any) any {
	f, ok := v.(*blueprint.Find)
	if !ok {
		return v
	}
	for _, row := range db[f.Model.(string)] {
		match := true
		for _, c := range f.Conditions {
			field := strings.TrimSuffix(c.Field.(string), "__exact")
			match = match && blueprint.Equal(row[field], c.Value)
		}
		if match {
			return row["pk"]
		}
	}
	return nil
}

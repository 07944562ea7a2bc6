package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// Every rendered document must validate against authentik's blueprint
// schema (testdata/authentik/schema.json, authentik 2026.5) as users
// validate blueprints with it, in an editor or a CI step.
//
// The schema knows nothing of tags: authentik resolves them before it
// hands an entry to its serializers, so a validator takes each tag for a
// value of what it resolves to. As users run it, every tag is replaced by a
// UUID (the primary key !KeyOf and !Find resolve to) and everything else is
// validated as written: a null is a null, which the schema allows in none
// of the fields stagehand writes (authentik's generator drops nullability;
// its serializers accept null where the schema says "string"). authentik's
// own blueprints pass that check (TestSchemaCheck).
//
// On top of it, the check is stricter than the schema in two ways:
//
//   - a tag must fit its field: !KeyOf and !Find, which resolve to a
//     primary key, only in a field whose schema is a UUID (a foreign key),
//     or a list of them; !File, which resolves to a file's content, only in
//     a string field; no other tag (the renderer writes none);
//   - as the schema lets entries carry fields it does not list, every field
//     of identifiers and attrs must be one the schema lists for the model,
//     or one of the few fields newer than the schema that stagehand writes
//     (newerFields), checked against authentik's OpenAPI document instead.

const (
	schemaFile = "testdata/authentik/schema.json"
	schemaURL  = "https://goauthentik.io/blueprints/schema.json"
	// placeholderUUID stands for the primary key a tag resolves to.
	placeholderUUID = "00000000-0000-4000-8000-000000000000"
)

// newerFields are fields authentik added after the schema's version
// (2026.5), with their schema in authentik 2026.8's OpenAPI document
// (AuthenticatorValidateStageRequest, CaptchaStageRequest). An older authentik ignores them: its
// serializers drop fields they do not know.
var newerFields = map[string]map[string]map[string]any{
	"authentik_stages_authenticator_validate.authenticatorvalidatestage": {
		"email_otp_throttling_factor":  {"type": "number"},
		"sms_otp_throttling_factor":    {"type": "number"},
		"totp_otp_throttling_factor":   {"type": "number"},
		"static_otp_throttling_factor": {"type": "number"},
	},
	"authentik_stages_captcha.captchastage": {
		"request_content_type": {"type": "string", "enum": []any{"application/x-www-form-urlencoded", "application/json"}},
	},
}

type authentikSchema struct {
	schema *jsonschema.Schema
	// defs is the schema's $defs, for each model's fields.
	defs map[string]any
	// compiler compiles a model's own schema, for readable errors.
	compiler *jsonschema.Compiler
}

var loadSchema = sync.OnceValues(func() (*authentikSchema, error) {
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, err
	}
	var raw struct {
		Defs map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	return &authentikSchema{schema: sch, defs: raw.Defs, compiler: c}, nil
})

// validateSchema fails the test unless doc validates against authentik's
// schema, as described above.
func validateSchema(t *testing.T, doc *blueprint.Blueprint) {
	t.Helper()
	problems, err := schemaProblems(doc, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("document %q: %s", doc.Metadata.Name, p)
	}
}

// schemaProblems lists what makes doc fail the check: the schema as users
// run it, and, when strict, the checks stricter than the schema.
func schemaProblems(doc *blueprint.Blueprint, strict bool) ([]string, error) {
	s, err := loadSchema()
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", schemaFile, err)
	}
	inst, problems := s.resolve(doc)
	if !strict {
		problems = nil
	}
	data, err := json.Marshal(inst)
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if err := s.schema.Validate(v); err != nil {
		// The schema's oneOf over every model makes its own error long;
		// say which entry fails, against its model's schema.
		before := len(problems)
		for i, e := range v.(map[string]any)["entries"].([]any) {
			entry := e.(map[string]any)
			model := entry["model"].(string)
			for _, part := range []string{"identifiers", "attrs"} {
				if _, ok := entry[part]; !ok {
					continue
				}
				sub, err := s.compiler.Compile(schemaURL + "#/$defs/model_" + model)
				if err != nil {
					problems = append(problems, fmt.Sprintf("entry %d (%s): %v", i+1, model, err))
					continue
				}
				if err := sub.Validate(entry[part]); err != nil {
					problems = append(problems, fmt.Sprintf("entry %d (%s) %s: %v", i+1, model, part, err))
				}
			}
		}
		if len(problems) == before {
			problems = append(problems, err.Error())
		}
	}
	return problems, nil
}

// resolve turns doc into the JSON authentik's schema describes, tags
// resolved to placeholders, and lists the problems that makes apparent.
func (s *authentikSchema) resolve(doc *blueprint.Blueprint) (map[string]any, []string) {
	var problems []string
	out := map[string]any{"version": doc.Version}
	if m := doc.Metadata; m != nil {
		meta := map[string]any{"name": m.Name}
		if len(m.Labels) > 0 {
			meta["labels"] = m.Labels
		}
		out["metadata"] = meta
	}
	entries := []any{}
	for i := range doc.Entries {
		e := &doc.Entries[i]
		where := fmt.Sprintf("entry %d (%s)", i+1, e.Model)
		entry := map[string]any{"model": e.Model}
		if e.ID != "" {
			entry["id"] = e.ID
		}
		if e.State != "" {
			entry["state"] = string(e.State)
		}
		def, _ := s.defs["model_"+e.Model].(map[string]any)
		if def == nil {
			problems = append(problems, where+": authentik's schema has no model "+e.Model)
		}
		props, _ := def["properties"].(map[string]any)
		for part, m := range map[string]blueprint.Map{"identifiers": e.Identifiers, "attrs": e.Attrs} {
			if m == nil {
				continue
			}
			obj := map[string]any{}
			for _, f := range m {
				field := fmt.Sprintf("%s %s.%s", where, part, f.Key)
				prop, known := props[f.Key].(map[string]any)
				if newer, ok := newerFields[e.Model][f.Key]; ok && !known {
					prop, known = newer, true
					if _, isNumber := f.Value.(float64); newer["type"] == "number" && !isNumber {
						problems = append(problems, fmt.Sprintf("%s: %#v is not a number", field, f.Value))
					}
				}
				if !known {
					problems = append(problems, field+": authentik's schema has no such field")
				}
				v, err := resolveValue(f.Value, prop)
				if err != nil {
					problems = append(problems, field+": "+err.Error())
				}
				obj[f.Key] = v
			}
			entry[part] = obj
		}
		entries = append(entries, entry)
	}
	out["entries"] = entries
	return out, problems
}

// resolveValue replaces the tags of v, a value of a field whose schema is
// prop (nil for a field of a free-form object), by a UUID, as users'
// validators do, and says when a tag does not fit the field.
func resolveValue(v any, prop map[string]any) (any, error) {
	isUUID := prop["format"] == "uuid"
	switch v := v.(type) {
	case *blueprint.KeyOf, *blueprint.Find:
		if !isUUID {
			return placeholderUUID, fmt.Errorf("%s resolves to a primary key, but the field's schema is %v", v.(blueprint.Tag).TagName(), prop)
		}
		return placeholderUUID, nil
	case *blueprint.File:
		if prop["type"] != "string" {
			return placeholderUUID, fmt.Errorf("!File resolves to a string, but the field's schema is %v", prop)
		}
		return placeholderUUID, nil
	case blueprint.Tag:
		return placeholderUUID, fmt.Errorf("the renderer writes no %s", v.TagName())
	case []any:
		items, _ := prop["items"].(map[string]any)
		out := make([]any, len(v))
		var errs error
		for i, e := range v {
			r, err := resolveValue(e, items)
			if err != nil {
				errs = errors.Join(errs, fmt.Errorf("[%d]: %w", i, err))
			}
			out[i] = r
		}
		return out, errs
	case blueprint.Map:
		props, _ := prop["properties"].(map[string]any)
		out := map[string]any{}
		var errs error
		for _, f := range v {
			sub, _ := props[f.Key].(map[string]any)
			r, err := resolveValue(f.Value, sub)
			if err != nil {
				errs = errors.Join(errs, fmt.Errorf("%s: %w", f.Key, err))
			}
			out[f.Key] = r
		}
		return out, errs
	}
	return v, nil
}

// The check itself: it refuses what authentik's schema refuses, and what
// the placeholders must not hide.
func TestSchemaCheck(t *testing.T) {
	good := func() *blueprint.Blueprint {
		return &blueprint.Blueprint{Version: 1, Metadata: &blueprint.Metadata{Name: "t"}, Entries: []blueprint.Entry{
			{Model: modelFlow, ID: "flow", Identifiers: blueprint.Map{{Key: "slug", Value: "x"}}, Attrs: blueprint.Map{{Key: "designation", Value: "authentication"}}},
			{Model: "authentik_stages_password.passwordstage", ID: "pw", Identifiers: blueprint.Map{{Key: "name", Value: "pw"}}, Attrs: blueprint.Map{{Key: "configure_flow", Value: blueprint.Null(modelFlow)}}},
			{Model: "authentik_stages_captcha.captchastage", Identifiers: blueprint.Map{{Key: "name", Value: "c"}}, Attrs: blueprint.Map{{Key: "private_key", Value: &blueprint.File{Path: "/k"}}}},
			{Model: modelBinding, Identifiers: blueprint.Map{{Key: "target", Value: &blueprint.KeyOf{ID: "flow"}}, {Key: "stage", Value: &blueprint.KeyOf{ID: "pw"}}, {Key: "order", Value: int64(1)}}},
		}}
	}
	if ok := t.Run("valid", func(t *testing.T) { validateSchema(t, good()) }); !ok {
		return
	}
	// authentik's own blueprint passes the schema as users run it.
	t.Run("authentik's own", func(t *testing.T) {
		data, err := os.ReadFile("testdata/authentik/flow-default-authentication-flow.yaml")
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := blueprint.Decode("flow-default-authentication-flow.yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		problems, err := schemaProblems(theirs, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
	})
	for name, breakIt := range map[string]func(d *blueprint.Blueprint){
		"enum":          func(d *blueprint.Blueprint) { d.Entries[0].Attrs[0].Value = "login" },
		"unknown field": func(d *blueprint.Blueprint) { d.Entries[0].Attrs.Set("titel", "x") },
		"unknown model": func(d *blueprint.Blueprint) { d.Entries[0].Model = "authentik_flows.flows" },
		"null":          func(d *blueprint.Blueprint) { d.Entries[0].Attrs.Set("title", nil) },
		// authentik's serializer takes a null reference; its schema does not.
		"null reference": func(d *blueprint.Blueprint) { d.Entries[1].Attrs.Set("configure_flow", nil) },
		"type":           func(d *blueprint.Blueprint) { d.Entries[3].Identifiers[2].Value = "1" },
		"keyof not uuid": func(d *blueprint.Blueprint) { d.Entries[0].Attrs.Set("title", &blueprint.KeyOf{ID: "pw"}) },
		"file not string": func(d *blueprint.Blueprint) {
			d.Entries[0].Attrs.Set("compatibility_mode", &blueprint.File{Path: "/x"})
		},
		"state":     func(d *blueprint.Blueprint) { d.Entries[0].State = "gone" },
		"blank key": func(d *blueprint.Blueprint) { d.Entries[2].Attrs.Set("private_key", "") },
	} {
		doc := good()
		breakIt(doc)
		problems, err := schemaProblems(doc, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) == 0 {
			t.Errorf("%s: the check accepted %s", name, mustEncode(t, doc))
		} else {
			t.Logf("%s: %s", name, problems[0])
		}
	}
}

func mustEncode(t *testing.T, doc *blueprint.Blueprint) string {
	t.Helper()
	out, err := blueprint.Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

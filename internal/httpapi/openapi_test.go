package httpapi

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// The bodies stagehand sends, held to authentik's own OpenAPI documents:
// testdata/openapi has authentik 2026.8.3's and 2025.12's (the parts of
// them these tests read; see its README). Every endpoint stagehand serves
// must be in 2026.8's document, and every list and retrieve body of the
// apitest world (every kind, every field set and left to its default,
// dangling references) must validate against the response schema of each
// document that has the endpoint; so must the 400 and 403 bodies. The
// filters must be the document's query parameters, of the same types and
// choices; and what stagehand admits must be what authentik sends: every
// enum of a served kind's schema is the enum of its CRD's field.

// openAPIDoc is the part of an OpenAPI 3.0 document the tests read.
type openAPIDoc struct {
	version    string
	Info       struct{ Version string } `json:"info"`
	Paths      map[string]map[string]openAPIOperation
	Components struct {
		Schemas    map[string]*schema
		Parameters map[string]openAPIParameter
		Responses  map[string]openAPIResponse
	}
}

type openAPIOperation struct {
	Parameters []openAPIParameter
	Responses  map[string]openAPIResponse
}

type openAPIParameter struct {
	Ref    string `json:"$ref"`
	In     string
	Name   string
	Schema *schema
}

type openAPIResponse struct {
	Ref     string `json:"$ref"`
	Content map[string]struct{ Schema *schema }
}

// schema is an OpenAPI 3.0 schema object, with the keywords authentik's
// documents use. Any other keyword fails loadOpenAPI, so that a schema is
// never half understood.
type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Format               string             `json:"format"`
	Enum                 []any              `json:"enum"`
	Properties           map[string]*schema `json:"properties"`
	Required             []string           `json:"required"`
	AdditionalProperties any                `json:"additionalProperties"`
	Items                *schema            `json:"items"`
	AllOf                []*schema          `json:"allOf"`
	Nullable             bool               `json:"nullable"`
	ReadOnly             bool               `json:"readOnly"`
	Pattern              string             `json:"pattern"`
	MaxLength            *int               `json:"maxLength"`
	Minimum              *float64           `json:"minimum"`
	Maximum              *float64           `json:"maximum"`
}

var schemaKeywords = []string{"$ref", "type", "format", "enum", "properties", "required", "additionalProperties",
	"items", "allOf", "nullable", "readOnly", "pattern", "maxLength", "minimum", "maximum"}

// checkKeywords fails on a schema keyword schema does not know.
func checkKeywords(raw any, where string) error {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil
	}
	for k, v := range m {
		if !slices.Contains(schemaKeywords, k) {
			return fmt.Errorf("%s: schema keyword %q is not understood by this test", where, k)
		}
		switch k {
		case "properties":
			for name, p := range v.(map[string]any) {
				if err := checkKeywords(p, where+"."+name); err != nil {
					return err
				}
			}
		case "items":
			if err := checkKeywords(v, where+"[]"); err != nil {
				return err
			}
		case "allOf":
			for _, s := range v.([]any) {
				if err := checkKeywords(s, where); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// loadOpenAPI reads testdata/openapi/<file>.
func loadOpenAPI(t *testing.T, file string) *openAPIDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "openapi", file))
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var raw struct {
		Components struct {
			Schemas map[string]any
		}
	}
	if err := json.Unmarshal(j, &raw); err != nil {
		t.Fatal(err)
	}
	for name, s := range raw.Components.Schemas {
		if err := checkKeywords(s, file+" "+name); err != nil {
			t.Fatal(err)
		}
	}
	doc := &openAPIDoc{}
	if err := json.Unmarshal(j, doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	doc.version = doc.Info.Version
	if len(doc.Paths) == 0 || len(doc.Components.Schemas) == 0 {
		t.Fatalf("%s has no paths or no schemas", file)
	}
	return doc
}

// resolve follows a $ref to a schema of the document.
func (d *openAPIDoc) resolve(s *schema) (*schema, error) {
	for s != nil && s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		if !ok || d.Components.Schemas[name] == nil {
			return nil, fmt.Errorf("unknown $ref %s", s.Ref)
		}
		s = d.Components.Schemas[name]
	}
	return s, nil
}

// responseSchema is the JSON schema of a path's GET response with the code.
func (d *openAPIDoc) responseSchema(path, code string) (*schema, error) {
	op, ok := d.Paths[path]["get"]
	if !ok {
		return nil, fmt.Errorf("authentik %s has no GET %s", d.version, path)
	}
	r, ok := op.Responses[code]
	if !ok {
		return nil, fmt.Errorf("authentik %s's GET %s has no %s response", d.version, path, code)
	}
	if name, ok := strings.CutPrefix(r.Ref, "#/components/responses/"); ok {
		r = d.Components.Responses[name]
	}
	c, ok := r.Content["application/json"]
	if !ok || c.Schema == nil {
		return nil, fmt.Errorf("authentik %s's GET %s %s has no JSON schema", d.version, path, code)
	}
	return c.Schema, nil
}

// extra is a property a body has that its schema does not declare. OpenAPI
// allows it (no schema here forbids additional properties), and clients
// ignore it, but each must be deliberate: extras lists them as
// "Schema.property".
type extras map[string]bool

var uuidText = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// validate checks a JSON value (as encoding/json decodes it, numbers as
// json.Number) against a schema. name is the schema's component name, for
// extras.
func (d *openAPIDoc) validate(v any, s *schema, name, at string, found extras) error {
	if s.Ref != "" {
		name = strings.TrimPrefix(s.Ref, "#/components/schemas/")
		r, err := d.resolve(s)
		if err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		if v == nil && s.Nullable {
			return nil
		}
		return d.validate(v, r, name, at, found)
	}
	if v == nil {
		if s.Nullable {
			return nil
		}
		return fmt.Errorf("%s: null, which the schema does not allow", at)
	}
	for _, sub := range s.AllOf {
		if err := d.validate(v, sub, name, at, found); err != nil {
			return err
		}
	}
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, s.Enum)
	}
	switch s.Type {
	case "":
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an object", at, v)
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				return fmt.Errorf("%s: the required property %q is missing", at, r)
			}
		}
		for k, pv := range m {
			ps, ok := s.Properties[k]
			if !ok {
				if s.AdditionalProperties == nil && found != nil {
					found[name+"."+k] = true
				}
				continue
			}
			if err := d.validate(pv, ps, "", at+"."+k, found); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an array", at, v)
		}
		for i, e := range a {
			if err := d.validate(e, s.Items, "", fmt.Sprintf("%s[%d]", at, i), found); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %T, want a string", at, v)
		}
		if s.Format == "uuid" && !uuidText.MatchString(str) {
			return fmt.Errorf("%s: %q is not a UUID", at, str)
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, s.Pattern)
		}
		if s.MaxLength != nil && utf8.RuneCountInString(str) > *s.MaxLength {
			return fmt.Errorf("%s: %q is longer than %d", at, str, *s.MaxLength)
		}
	case "number", "integer":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %T, want a number", at, v)
		}
		f, err := n.Float64()
		if err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		if s.Type == "integer" && (strings.ContainsAny(string(n), ".eE") || f != math.Trunc(f)) {
			return fmt.Errorf("%s: %s, want an integer", at, n)
		}
		if s.Minimum != nil && f < *s.Minimum || s.Maximum != nil && f > *s.Maximum {
			return fmt.Errorf("%s: %s is out of range", at, n)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %T, want a boolean", at, v)
		}
	default:
		return fmt.Errorf("%s: unknown type %q", at, s.Type)
	}
	return nil
}

// validateBody decodes a body and validates it against the schema of a
// path's response with the code.
func (d *openAPIDoc) validateBody(body []byte, path, code string, found extras) error {
	s, err := d.responseSchema(path, code)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("GET %s: not JSON: %w", path, err)
	}
	if err := d.validate(v, s, "", "body", found); err != nil {
		return fmt.Errorf("authentik %s, GET %s %s: %w", d.version, path, code, err)
	}
	return nil
}

// openAPIDocs are the two documents, with the properties stagehand sends
// that each does not declare, and the filters it does not have, on purpose.
var openAPIDocs = []struct {
	file    string
	extras  []string
	filters []string
}{
	// 2026.8 renamed FlowSet's background to background_url; stagehand
	// sends both, for 2025.12's clients.
	{file: "authentik-2026.8.yml", extras: []string{"FlowSet.background"}},
	// 2025.12 has no background_url yet, and its identification and
	// validation stages lack fields authentik added since.
	{file: "authentik-2025.12.yml", extras: []string{
		"AuthenticatorValidateStage.email_otp_throttling_factor",
		"AuthenticatorValidateStage.sms_otp_throttling_factor",
		"AuthenticatorValidateStage.static_otp_throttling_factor",
		"AuthenticatorValidateStage.totp_otp_throttling_factor",
		"AuthenticatorValidateStage.webauthn_hints",
		"FlowSet.background_url",
		"IdentificationStage.webauthn_stage",
	}, filters: []string{"/stages/identification/?webauthn_stage"}},
}

// TestBodiesMatchAuthentikSchemas validates every body stagehand serves
// against authentik 2026.8's and 2025.12's response schemas.
func TestBodiesMatchAuthentikSchemas(t *testing.T) {
	h := memServer(t, fixtures()...)
	auth := authServer(t, newFakeReviewer(), nil)
	world := fixtures()
	for _, d := range openAPIDocs {
		t.Run(d.file, func(t *testing.T) {
			doc := loadOpenAPI(t, d.file)
			found := extras{}
			served := map[string]bool{}
			for _, e := range endpoints() {
				k := e.kindInfo()
				list := strings.TrimPrefix(k.listRoute, "/api/v3")
				detail := strings.TrimPrefix(k.detailRoute, "/api/v3")
				served[list], served[detail] = true, true
				if _, ok := doc.Paths[list]; !ok {
					if d.file == "authentik-2026.8.yml" {
						t.Errorf("stagehand serves %s, which authentik %s does not have", list, doc.version)
					}
					continue
				}
				// Lists: every object, one page; and a page of one.
				for _, q := range []string{"?page_size=100", "?page_size=1&page=2"} {
					rec := get(t, h, k.listRoute+q)
					if rec.Code != 200 {
						t.Fatalf("GET %s%s: %d %s", k.listRoute, q, rec.Code, rec.Body)
					}
					if err := doc.validateBody(rec.Body.Bytes(), list, "200", found); err != nil {
						t.Error(err)
					}
				}
				// Every object of the kind: retrieved, or a 404 for the
				// bindings stagehand does not serve.
				n := 0
				for _, o := range world {
					if flowsv1alpha1.KindOf(o) != k.kind {
						continue
					}
					key := string(o.GetUID())
					if f, ok := o.(*flowsv1alpha1.Flow); ok {
						key = f.EffectiveSlug()
					}
					rec := get(t, h, k.listRoute+key+"/")
					if rec.Code == 404 && k.kind == flowsv1alpha1.KindFlowStageBinding {
						continue
					}
					if rec.Code != 200 {
						t.Fatalf("GET %s%s/: %d %s", k.listRoute, key, rec.Code, rec.Body)
					}
					n++
					if err := doc.validateBody(rec.Body.Bytes(), detail, "200", found); err != nil {
						t.Error(err)
					}
				}
				if n < 2 {
					t.Errorf("the world has %d %s objects to retrieve, want 2 at least (one with every field, one with none)", n, k.kind)
				}
				// The error bodies: an invalid filter value (400; captcha
				// stages have only text filters, which take any value) and
				// a caller who may read nothing (403).
				for _, f := range e.filterParams() {
					if f.kind == filterText {
						continue
					}
					rec := get(t, h, k.listRoute+"?"+f.name+"=zz")
					if rec.Code != 400 {
						t.Errorf("GET %s?%s=zz: %d %s, want 400", k.listRoute, f.name, rec.Code, rec.Body)
					}
					if err := doc.validateBody(rec.Body.Bytes(), list, "400", nil); err != nil {
						t.Error(err)
					}
					break
				}
				rec := get(t, auth, k.listRoute, "Authorization", "Bearer nobody")
				if rec.Code != 403 {
					t.Errorf("GET %s as nobody: %d %s, want 403", k.listRoute, rec.Code, rec.Body)
				}
				if err := doc.validateBody(rec.Body.Bytes(), list, "403", nil); err != nil {
					t.Error(err)
				}
			}
			for p := range doc.Paths {
				if !served[p] {
					t.Errorf("authentik %s has GET %s, which stagehand does not serve", doc.version, p)
				}
			}
			var got []string
			for k := range found {
				got = append(got, k)
			}
			sort.Strings(got)
			if !slices.Equal(got, d.extras) {
				t.Errorf("properties stagehand sends that authentik %s does not declare:\n got %q\nwant %q", doc.version, got, d.extras)
			}
		})
	}
}

// TestSchemaValidationFails shows that the validation can fail, on the
// differences docs/api.md names: a flow with one of authentik 2026.8's
// layouts is no valid FlowSet for 2025.12, and a FlowSet without
// background_url none for 2026.8.
func TestSchemaValidationFails(t *testing.T) {
	old, current := loadOpenAPI(t, "authentik-2025.12.yml"), loadOpenAPI(t, "authentik-2026.8.yml")
	set := func(mutate func(map[string]any)) any {
		b, _ := json.Marshal(renderFlowSet(&flowsv1alpha1.Flow{
			ObjectMeta: om(ns, "f", 900),
			Spec:       flowsv1alpha1.FlowSpec{Title: "f", Designation: flowsv1alpha1.FlowDesignationAuthentication},
		}))
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		var v map[string]any
		_ = dec.Decode(&v)
		mutate(v)
		return v
	}
	fs := &schema{Ref: "#/components/schemas/FlowSet"}
	for _, d := range []*openAPIDoc{old, current} {
		if err := d.validate(set(func(map[string]any) {}), fs, "", "flow_set[0]", nil); err != nil {
			t.Errorf("authentik %s: %v", d.version, err)
		}
	}
	cases := []struct {
		doc    *openAPIDoc
		mutate func(map[string]any)
		want   string
	}{
		{old, func(v map[string]any) { v["layout"] = "sidebar_left_frame_background" }, "is not one of"},
		{current, func(v map[string]any) { delete(v, "background_url") }, `the required property "background_url" is missing`},
		{old, func(v map[string]any) { delete(v, "background") }, `the required property "background" is missing`},
		{current, func(v map[string]any) { v["pk"] = "not-a-uuid" }, "is not a UUID"},
		{current, func(v map[string]any) { v["slug"] = "a slug" }, "does not match"},
		{old, func(v map[string]any) { v["slug"] = strings.Repeat("s", 51) }, "is longer than 50"},
		{current, func(v map[string]any) { v["compatibility_mode"] = "false" }, "want a boolean"},
		{current, func(v map[string]any) { v["title"] = nil }, "null"},
	}
	for _, tc := range cases {
		err := tc.doc.validate(set(tc.mutate), fs, "", "flow_set[0]", nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("authentik %s: %v, want an error with %q", tc.doc.version, err, tc.want)
		}
	}
	// Numbers: an integer field refuses 1.0, a range is held.
	ps := &schema{Ref: "#/components/schemas/PasswordStage"}
	p := map[string]any{"pk": string(uid(1)), "name": "p", "component": "c", "verbose_name": "v", "verbose_name_plural": "v",
		"meta_model_name": "m", "flow_set": []any{}, "backends": []any{}, "failed_attempts_before_cancel": json.Number("5.0")}
	if err := current.validate(p, ps, "", "body", nil); err == nil || !strings.Contains(err.Error(), "want an integer") {
		t.Errorf("5.0 for an integer: %v", err)
	}
	p["failed_attempts_before_cancel"] = json.Number("2147483648")
	if err := current.validate(p, ps, "", "body", nil); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("2^31 for an int32: %v", err)
	}
}

// TestFiltersMatchAuthentikParameters holds each list endpoint's filters to
// the query parameters authentik's documents declare for it: the same
// names (pagination, ordering and search aside), the same types, and for
// a choice the same values.
func TestFiltersMatchAuthentikParameters(t *testing.T) {
	for _, d := range openAPIDocs {
		doc := loadOpenAPI(t, d.file)
		for _, e := range endpoints() {
			list := strings.TrimPrefix(e.kindInfo().listRoute, "/api/v3")
			op, ok := doc.Paths[list]["get"]
			if !ok {
				continue
			}
			want := map[string]string{}
			for _, p := range op.Parameters {
				if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
					p = doc.Components.Parameters[name]
				}
				if p.In != "query" || slices.Contains([]string{"ordering", "page", "page_size", "search"}, p.Name) {
					continue
				}
				kind, err := doc.parameterKind(p.Schema)
				if err != nil {
					t.Fatalf("authentik %s, GET %s?%s: %v", doc.version, list, p.Name, err)
				}
				want[p.Name] = kind
			}
			got := map[string]string{}
			for _, f := range e.filterParams() {
				kind := string(f.kind)
				if f.kind == filterChoice {
					choices := slices.Clone(f.choices)
					slices.Sort(choices)
					kind += " " + strings.Join(choices, ",")
				}
				got[f.name] = kind
			}
			for name, kind := range want {
				if got[name] != kind {
					t.Errorf("authentik %s, GET %s?%s: stagehand's filter is %q, want %q", doc.version, list, name, got[name], kind)
				}
			}
			for name := range got {
				if _, ok := want[name]; !ok && !slices.Contains(d.filters, list+"?"+name) {
					t.Errorf("authentik %s, GET %s: stagehand filters by %s, which authentik does not", doc.version, list, name)
				}
			}
		}
	}
}

// parameterKind is the filter kind a query parameter's schema declares,
// with its choices sorted for an enum.
func (d *openAPIDoc) parameterKind(s *schema) (string, error) {
	if len(s.AllOf) == 1 {
		s = s.AllOf[0]
	}
	r, err := d.resolve(s)
	if err != nil {
		return "", err
	}
	switch {
	case len(r.Enum) > 0:
		var choices []string
		for _, c := range r.Enum {
			choices = append(choices, fmt.Sprint(c))
		}
		slices.Sort(choices)
		return string(filterChoice) + " " + strings.Join(choices, ","), nil
	case r.Type == "boolean":
		return string(filterBool), nil
	case r.Type == "integer":
		return string(filterNumber), nil
	case r.Type == "string" && r.Format == "uuid":
		return string(filterUUID), nil
	case r.Type == "string" && r.Format == "":
		return string(filterText), nil
	case r.Type == "array" && r.Items != nil && r.Items.Type == "string" && r.Items.Format == "uuid":
		return string(filterUUIDs), nil
	}
	return "", fmt.Errorf("a parameter schema this test does not know: %+v", r)
}

// TestCRDEnumsMatchAuthentik holds what stagehand accepts to what authentik
// 2026.8 sends: every enum of a served kind's schema (a field, or the items
// of a list field) is, value for value and in order, the enum of the same
// field (in camelCase) of the kind's CRD, so that stagehand admits every
// value authentik has and none it has not.
func TestCRDEnumsMatchAuthentik(t *testing.T) {
	doc := loadOpenAPI(t, "authentik-2026.8.yml")
	checked := 0
	for _, e := range endpoints() {
		kind := e.kindInfo().kind
		s := doc.Components.Schemas[kind]
		if s == nil {
			t.Errorf("authentik 2026.8 has no %s schema", kind)
			continue
		}
		spec := crdSpec(t, kind)
		for field, ps := range s.Properties {
			want, err := doc.enumOf(ps)
			if err != nil {
				t.Fatal(err)
			}
			if want == nil {
				continue
			}
			camel := snakeToCamel(field)
			p, ok := spec[camel].(map[string]any)
			if !ok {
				t.Errorf("%s.%s is an enum in authentik, but the CRD has no spec.%s", kind, field, camel)
				continue
			}
			if items, ok := p["items"].(map[string]any); ok {
				p = items
			}
			var got []string
			for _, v := range asSlice(p["enum"]) {
				got = append(got, fmt.Sprint(v))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s spec.%s admits %q, authentik 2026.8 has %q", kind, camel, got, want)
			}
			checked++
		}
	}
	if checked < 15 {
		t.Errorf("%d enums checked; the served kinds have 15 at least", checked)
	}
}

// enumOf is the enum a property's schema (or its items') declares, nil for
// none.
func (d *openAPIDoc) enumOf(s *schema) ([]string, error) {
	if s.Type == "array" && s.Items != nil {
		s = s.Items
	}
	if len(s.AllOf) == 1 {
		s = s.AllOf[0]
	}
	r, err := d.resolve(s)
	if err != nil || len(r.Enum) == 0 {
		return nil, err
	}
	out := make([]string, len(r.Enum))
	for i, v := range r.Enum {
		out[i] = fmt.Sprint(v)
	}
	return out, nil
}

// crdSpec is the spec's properties in a kind's generated CRD.
func crdSpec(t *testing.T, kind string) map[string]any {
	t.Helper()
	k, ok := flowsv1alpha1.LookupKind(kind)
	if !ok {
		t.Fatalf("%s is no stagehand kind", kind)
	}
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "config", "crd", "bases", "flows.stagehand.dev_"+k.Resource+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties map[string]struct {
							Properties map[string]any `json:"properties"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &crd); err != nil || len(crd.Spec.Versions) != 1 {
		t.Fatalf("%s's CRD: %v", kind, err)
	}
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties
}

func snakeToCamel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

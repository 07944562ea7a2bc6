package imports

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export/exporttest"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// The files authentik applies together: its defaults directory, each of
// its examples (which redefine the default flows), and an export of two
// flows of one instance.
var roundTripGroups = []struct {
	name  string
	files []string
}{
	{"authentik's defaults", []string{
		filepath.Join(authentikDir, "flow-default-authentication-flow.yaml"),
		filepath.Join(authentikDir, "flow-default-authenticator-static-setup.yaml"),
		filepath.Join(authentikDir, "flow-default-authenticator-totp-setup.yaml"),
		filepath.Join(authentikDir, "flow-default-authenticator-webauthn-setup.yaml"),
		filepath.Join(authentikDir, "flow-password-change.yaml"),
	}},
	{"enrollment example", []string{filepath.Join(authentikDir, "flows-enrollment-2-stage.yaml")}},
	{"two-factor login example", []string{filepath.Join(authentikDir, "flows-login-2fa.yaml")}},
	{"conditional captcha example", []string{filepath.Join(authentikDir, "flows-login-conditional-captcha.yaml")}},
	{"recovery example", []string{filepath.Join(authentikDir, "flows-recovery-email-mfa-verification.yaml")}},
	{"an export", []string{"testdata/exporter/default-authentication-flow.yaml", "testdata/exporter/default-password-change.yaml"}},
}

// notCarriedAttrs are the attrs of served models that the files set and
// stagehand does not model; the import reports each.
var notCarriedAttrs = map[string][]string{
	"authentik_stages_identification.identificationstage": {"template"}, // gone from authentik's serializer
}

// Import, apply to a real API server (whose admission must accept every
// object), publish each flow with the renderer, and compare: every entry
// of the files of a model stagehand serves is an entry of the published
// documents, found by the same identity (a binding to a stage of another
// kind included, by model and name), with the same attrs; every attr the
// documents add is authentik's default; and the documents have no entry
// the files do not.
func TestRoundTrip(t *testing.T) {
	e := testenv.Shared(t)
	ctx := context.Background()
	for i, g := range roundTripGroups {
		t.Run(g.name, func(t *testing.T) {
			ns := fmt.Sprintf("roundtrip-%d", i)
			if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
				t.Fatal(err)
			}
			files := readFiles(t, g.files...)
			res := mustImport(t, files, Options{Namespace: ns})
			originals := make([]*blueprint.Blueprint, len(files))
			for i, f := range files {
				var err error
				if originals[i], err = blueprint.Decode(f.Name, f.Data); err != nil {
					t.Fatal(err)
				}
			}
			out, err := Manifests(res.Objects())
			if err != nil {
				t.Fatal(err)
			}
			objs := decodeManifests(t, out)
			// The Secrets the report asks for, holding the keys the files
			// hold.
			for _, o := range objs {
				if c, ok := o.(*flowsv1alpha1.CaptchaStage); ok {
					key := privateKeyIn(t, originals, c.StageName())
					ref := c.Spec.PrivateKeySecretRef
					secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ref.Name}, StringData: map[string]string{ref.Key: key}}
					if err := e.Client.Create(ctx, secret); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, o := range objs {
				if err := e.Client.Create(ctx, o); err != nil {
					t.Fatalf("the API server refuses %s %s: %v", kindOf(o), o.GetName(), err)
				}
			}
			rendered := publish(ctx, t, e.Client, ns)
			compareRoundTrip(t, originals, rendered, len(notesOf(res, CategoryAttribute)))
		})
	}
}

// privateKeyIn is the private key a captcha stage of the files holds.
func privateKeyIn(t *testing.T, docs []*blueprint.Blueprint, stage string) string {
	t.Helper()
	for _, d := range docs {
		for _, e := range d.Entries {
			if name, _ := e.Identifiers.Get("name"); name == stage && e.Model == model(string(flowsv1alpha1.StageKindCaptcha)) {
				key, _ := e.Attrs.Get("private_key")
				if s, ok := key.(string); ok {
					return s
				}
			}
		}
	}
	t.Fatalf("no private key for captcha stage %q in the files", stage)
	return ""
}

// publish renders every flow of the namespace, as a BlueprintExport
// publishes it (with the Secrets' values inline), written and read back.
func publish(ctx context.Context, t *testing.T, c client.Client, ns string) []*blueprint.Blueprint {
	t.Helper()
	var flows flowsv1alpha1.FlowList
	var bindings flowsv1alpha1.FlowStageBindingList
	if err := c.List(ctx, &flows, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, &bindings, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	opts := export.Options{SecretValue: func(ref flowsv1alpha1.SecretKeyReference) (string, error) {
		var s corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &s); err != nil {
			return "", err
		}
		return string(s.Data[ref.Key]), nil
	}}
	var out []*blueprint.Blueprint
	for i := range flows.Items {
		f := &flows.Items[i]
		var mine []flowsv1alpha1.FlowStageBinding
		for _, b := range bindings.Items {
			if b.Spec.TargetRef.Name == f.Name {
				mine = append(mine, b)
			}
		}
		res, err := export.Render(f, mine, export.Reader(ctx, c, ns), opts)
		if err != nil {
			t.Fatalf("rendering flow %s: %v", f.Name, err)
		}
		data, err := blueprint.Encode(res.Blueprint)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := blueprint.Decode(f.Name+".yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, doc)
	}
	return out
}

// served reports whether stagehand publishes entries of model.
func served(m string) bool {
	k, ok := kindOfModel(m)
	return ok && (k.Stage || k.Kind == flowsv1alpha1.KindFlow || k.Kind == flowsv1alpha1.KindFlowStageBinding)
}

func compareRoundTrip(t *testing.T, originals, rendered []*blueprint.Blueprint, reportedAttrs int) {
	t.Helper()
	type at struct {
		doc *blueprint.Blueprint
		e   *blueprint.Entry
	}
	ours := map[string]at{}
	var order []string
	for _, d := range rendered {
		for i := range d.Entries {
			e := &d.Entries[i]
			id, err := blueprint.Identity(d, e)
			if err != nil {
				t.Fatal(err)
			}
			if _, dup := ours[id]; !dup {
				ours[id] = at{d, e}
				order = append(order, id)
			}
		}
	}
	matched := map[string]bool{}
	skipped := 0
	for _, d := range withoutPKs(originals) {
		for i := range d.Entries {
			e := &d.Entries[i]
			if !served(e.Model) || e.State == blueprint.StateAbsent {
				continue
			}
			what := fmt.Sprintf("%s: %s %s", d.File, e.Model, blueprint.Show(e.Identifiers))
			id, err := blueprint.Identity(d, e)
			if err != nil {
				t.Fatal(err)
			}
			o, ok := ours[id]
			if !ok {
				t.Errorf("%s: not in the published documents", what)
				continue
			}
			matched[id] = true
			if o.e.State != blueprint.StatePresent {
				t.Errorf("%s: published with state %q", what, o.e.State)
			}
			their, our := standaloneMap(t, d, e.Attrs), standaloneMap(t, o.doc, o.e.Attrs)
			for _, f := range their {
				if slices.Contains(notCarriedAttrs[e.Model], f.Key) {
					skipped++
					continue
				}
				if got, ok := our.Get(f.Key); !ok || !blueprint.Equal(exporttest.Applied(got), exporttest.Applied(f.Value)) {
					t.Errorf("%s: %s is published as %s; the file has %s", what, f.Key, blueprint.Show(got), blueprint.Show(f.Value))
				}
			}
			for _, f := range our {
				if _, theirsToo := their.Get(f.Key); theirsToo {
					continue
				}
				def, known := exporttest.AuthentikDefaults[e.Model].Get(f.Key)
				if !known || !blueprint.Equal(exporttest.Applied(f.Value), def) {
					t.Errorf("%s: published with %s: %s, which the file leaves to authentik's default (%s)", what, f.Key, blueprint.Show(f.Value), blueprint.Show(def))
				}
			}
		}
	}
	for _, id := range order {
		if !matched[id] {
			t.Errorf("the published documents have %s %s, which the files do not", ours[id].e.Model, blueprint.Show(ours[id].e.Identifiers))
		}
	}
	if skipped != reportedAttrs {
		t.Errorf("%d attrs of the files are not published, and the import reported %d", skipped, reportedAttrs)
	}
}

func standaloneMap(t *testing.T, d *blueprint.Blueprint, m blueprint.Map) blueprint.Map {
	t.Helper()
	v, err := blueprint.Standalone(d, m)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := v.(blueprint.Map)
	return out
}

// withoutPKs is the documents as their author meant them: an export's pk
// identifiers dropped, and every value that is an entry's pk (a reference
// of the exporter's) replaced by the !Find of that entry.
func withoutPKs(docs []*blueprint.Blueprint) []*blueprint.Blueprint {
	byPK := map[string]*blueprint.Entry{}
	for _, d := range docs {
		for i := range d.Entries {
			if pk, ok := d.Entries[i].Identifiers.Get("pk"); ok {
				byPK[fmt.Sprint(pk)] = &d.Entries[i]
			}
		}
	}
	find := func(t *blueprint.Entry) *blueprint.Find {
		f := &blueprint.Find{Model: t.Model}
		for _, id := range t.Identifiers {
			if id.Key != "pk" {
				f.Conditions = append(f.Conditions, blueprint.FindCondition{Field: id.Key, Value: id.Value})
			}
		}
		return f
	}
	var replace func(v any) any
	replace = func(v any) any {
		switch v := v.(type) {
		case string:
			if t, ok := byPK[v]; ok {
				return find(t)
			}
		case []any:
			out := make([]any, len(v))
			for i, e := range v {
				out[i] = replace(e)
			}
			return out
		case blueprint.Map:
			out := blueprint.Map{}
			for _, f := range v {
				if f.Key != "pk" {
					out = append(out, blueprint.Field{Key: f.Key, Value: replace(f.Value)})
				}
			}
			return out
		}
		return v
	}
	out := make([]*blueprint.Blueprint, len(docs))
	for i, d := range docs {
		c := *d
		c.Entries = make([]blueprint.Entry, len(d.Entries))
		for j, e := range d.Entries {
			e.Identifiers = replace(e.Identifiers).(blueprint.Map)
			e.Attrs, _ = replace(e.Attrs).(blueprint.Map)
			c.Entries[j] = e
		}
		out[i] = &c
	}
	return out
}

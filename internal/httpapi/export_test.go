package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/hack/manifests"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// TestExport: the export action answers a flow's blueprint, as the renderer
// writes it, as a YAML attachment; a flow that cannot be rendered yet is a
// 409 naming what is missing.
func TestExport(t *testing.T) {
	ns := "exports"
	flow := &flowsv1alpha1.Flow{ObjectMeta: om(ns, "login-flow", 901), Spec: flowsv1alpha1.FlowSpec{Slug: "login", Title: "Login", Designation: flowsv1alpha1.FlowDesignationAuthentication}}
	pw := &flowsv1alpha1.PasswordStage{ObjectMeta: om(ns, "password", 902), Spec: flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}}}
	b := binding(ns, "login-password", "login-flow", flowsv1alpha1.StageKindPassword, "password", 10, 903)
	broken := &flowsv1alpha1.Flow{ObjectMeta: om(ns, "broken", 904), Spec: flowsv1alpha1.FlowSpec{Title: "Broken", Designation: flowsv1alpha1.FlowDesignationAuthentication}}
	dangling := binding(ns, "broken-missing", "broken", flowsv1alpha1.StageKindPassword, "missing", 10, 905)
	objs := []client.Object{flow, pw, b, broken, dangling}
	h := memServer(t, objs...)

	rec := get(t, h, "/api/v3/flows/instances/login/export/")
	if rec.Code != 200 {
		t.Fatalf("GET export: %d %s", rec.Code, rec.Body)
	}
	if ct, cd := rec.Header().Get("Content-Type"), rec.Header().Get("Content-Disposition"); ct != "application/yaml" || cd != `attachment; filename="login.yaml"` {
		t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
	}
	lookup, err := export.Objects(objs...)
	if err != nil {
		t.Fatal(err)
	}
	want, err := export.Render(flow, []flowsv1alpha1.FlowStageBinding{*b}, lookup, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantBytes, err := blueprint.Encode(want.Blueprint)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != string(wantBytes) {
		t.Errorf("the export is not the rendered document:\n%s\nwant\n%s", rec.Body, wantBytes)
	}

	rec = get(t, h, "/api/v3/flows/instances/broken/export/")
	if rec.Code != 409 || !strings.Contains(rec.Body.String(), `Flow \"broken\" cannot be exported until what it needs exists: PasswordStage \"missing\"`) {
		t.Errorf("GET export of a flow whose stage is missing: %d %s", rec.Code, rec.Body)
	}
}

// TestExportSamples: on the real API server, with config/samples applied as
// a user applies them, the export action answers for every sample flow,
// and every export_url a stage's flow_set hands out leads to a document.
func TestExportSamples(t *testing.T) {
	c := envtest(t)
	ns := c.namespace(t, "samples")
	objs, err := manifests.Objects(filepath.Join(testenv.Root(), "config", "samples"), "")
	if err != nil {
		t.Fatal(err)
	}
	var flows []string
	ours := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "WebAuthnDeviceType" {
			// Cluster-scoped: one per test run, under a name of its own.
			o.SetName(o.GetName() + "-" + ns)
			t.Cleanup(func() { _ = c.admin.Delete(context.Background(), o) })
		} else {
			o.SetNamespace(ns)
		}
		if o.GetKind() == "AuthenticatorValidateStage" {
			renameDeviceTypes(t, o.Object, ns)
		}
		if o.GetKind() == "Flow" {
			// Slugs of its own: other tests' namespaces have flows with
			// the samples' slugs, and the oldest flow of a slug answers.
			if err := unstructured.SetNestedField(o.Object, slugOf(o.Object)+"-"+ns, "spec", "slug"); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.admin.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		ours[string(o.GetUID())] = true
		if o.GetKind() == "Flow" {
			flows = append(flows, slugOf(o.Object))
		}
	}
	if len(flows) < 4 {
		t.Fatalf("config/samples has %d flows", len(flows))
	}
	for _, slug := range flows {
		testenv.Eventually(t, func() error {
			got := call(t, "GET", c.none+ExportURL(slug), "")
			if got.code != 200 {
				return fmt.Errorf("GET %s: %d %s", ExportURL(slug), got.code, got.body)
			}
			doc, err := blueprint.Decode(slug+".yaml", []byte(got.body))
			if err != nil {
				return err
			}
			if err := doc.Validate(); err != nil {
				return err
			}
			if doc.Metadata == nil || doc.Metadata.Name != export.BlueprintName(ns, flowNameOf(objs, slug)) {
				return fmt.Errorf("GET %s: metadata %+v", ExportURL(slug), doc.Metadata)
			}
			return nil
		})
	}

	// Follow every export_url of every sample stage's flow_set (the lists
	// hold other tests' stages too: their pks are not ours).
	followed := 0
	for _, route := range []string{"identification", "password", "authenticator/validate", "captcha", "user_login"} {
		for page := 1; page != 0; {
			got := call(t, "GET", fmt.Sprintf("%s/api/v3/stages/%s/?page_size=100&page=%d", c.none, route, page), "")
			var list struct {
				Pagination pagination `json:"pagination"`
				Results    []struct {
					PK      string `json:"pk"`
					FlowSet []struct {
						ExportURL string `json:"export_url"`
					} `json:"flow_set"`
				} `json:"results"`
			}
			if err := json.Unmarshal([]byte(got.body), &list); err != nil {
				t.Fatalf("GET %s: %d %s", route, got.code, got.body)
			}
			for _, r := range list.Results {
				if !ours[r.PK] {
					continue
				}
				for _, fs := range r.FlowSet {
					if got := call(t, "GET", c.none+fs.ExportURL, ""); got.code != http.StatusOK {
						t.Errorf("the export_url %s of stage %s: %d %s", fs.ExportURL, r.PK, got.code, got.body)
					}
					followed++
				}
			}
			page = list.Pagination.Next
		}
	}
	if followed == 0 {
		t.Fatal("no flow_set handed out an export_url")
	}
	t.Logf("followed %d export_urls", followed)
}

// renameDeviceTypes points an AuthenticatorValidateStage at the
// per-test names of the cluster-scoped device types.
func renameDeviceTypes(t *testing.T, obj map[string]any, suffix string) {
	t.Helper()
	spec, _ := obj["spec"].(map[string]any)
	refs, _ := spec["webauthnAllowedDeviceTypeRefs"].([]any)
	for _, r := range refs {
		m := r.(map[string]any)
		m["name"] = fmt.Sprint(m["name"]) + "-" + suffix
	}
}

func slugOf(obj map[string]any) string {
	spec, _ := obj["spec"].(map[string]any)
	if s, ok := spec["slug"].(string); ok && s != "" {
		return s
	}
	return obj["metadata"].(map[string]any)["name"].(string)
}

func flowNameOf(objs []*unstructured.Unstructured, slug string) string {
	for _, o := range objs {
		if o.GetKind() == "Flow" && slugOf(o.Object) == slug {
			return o.GetName()
		}
	}
	return ""
}

// TestCollidingBindingsCountOnce: two bindings of one stage to one flow at
// one order, which authentik refuses, are served as authentik would have
// them: the first created only.
func TestCollidingBindingsCountOnce(t *testing.T) {
	ns := "collide"
	flow := &flowsv1alpha1.Flow{ObjectMeta: om(ns, "login", 911), Spec: flowsv1alpha1.FlowSpec{Title: "Login", Designation: flowsv1alpha1.FlowDesignationAuthentication}}
	pw := &flowsv1alpha1.PasswordStage{ObjectMeta: om(ns, "password", 912), Spec: flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}}}
	first := binding(ns, "z-first", "login", flowsv1alpha1.StageKindPassword, "password", 10, 913)
	first.CreationTimestamp = metav1.Unix(1000, 0)
	second := binding(ns, "a-second", "login", flowsv1alpha1.StageKindPassword, "password", 10, 914)
	second.CreationTimestamp = metav1.Unix(2000, 0)
	other := binding(ns, "other-order", "login", flowsv1alpha1.StageKindPassword, "password", 20, 915)
	h := memServer(t, flow, pw, first, second, other)

	var stage struct {
		FlowSet []map[string]any `json:"flow_set"`
	}
	if err := json.Unmarshal(get(t, h, "/api/v3/stages/password/"+string(uid(912))+"/").Body.Bytes(), &stage); err != nil {
		t.Fatal(err)
	}
	if len(stage.FlowSet) != 2 {
		t.Errorf("flow_set has %d elements, want 2: one per order, the colliding pair once", len(stage.FlowSet))
	}
	if rec := get(t, h, "/api/v3/flows/bindings/"+string(uid(914))+"/"); rec.Code != 404 {
		t.Errorf("the later binding of the pair: %d %s, want 404", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/api/v3/flows/bindings/"+string(uid(913))+"/"); rec.Code != 200 {
		t.Errorf("the first binding of the pair: %d %s, want 200", rec.Code, rec.Body)
	}
	var f struct {
		Stages []string `json:"stages"`
	}
	if err := json.Unmarshal(get(t, h, "/api/v3/flows/instances/login/").Body.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if want := []string{string(uid(912)), string(uid(912))}; !slices.Equal(f.Stages, want) {
		t.Errorf("the flow's stages %v, want %v", f.Stages, want)
	}
}

// TestMemoFollowsChanges: the API answers from bodies rendered ahead, and
// a change of any object a body depends on (here the flow in a stage's
// flow_set) shows in the next answers.
func TestMemoFollowsChanges(t *testing.T) {
	c := envtest(t)
	ns := c.namespace(t, "memo")
	flow := &flowsv1alpha1.Flow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "login"}, Spec: flowsv1alpha1.FlowSpec{Slug: "memo-" + ns, Title: "Before", Designation: flowsv1alpha1.FlowDesignationAuthentication}}
	pw := &flowsv1alpha1.PasswordStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "password"}, Spec: flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}}}
	c.create(t, flow, pw, bindingIn(ns, "login-password", "login", flowsv1alpha1.StageKindPassword, "password", 10))
	url := c.none + "/api/v3/stages/password/" + string(pw.UID) + "/"
	title := func(want string) func() error {
		return func() error {
			got := call(t, "GET", url, "")
			var body struct {
				FlowSet []struct {
					Title string `json:"title"`
				} `json:"flow_set"`
			}
			if err := json.Unmarshal([]byte(got.body), &body); err != nil || len(body.FlowSet) != 1 || body.FlowSet[0].Title != want {
				return fmt.Errorf("GET %s: %d %s, want the title %q", url, got.code, got.body, want)
			}
			return nil
		}
	}
	testenv.Eventually(t, title("Before"))
	testenv.Eventually(t, title("Before")) // answered from the memo
	flow.Spec.Title = "After"
	if err := c.admin.Update(context.Background(), flow); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, title("After"))
	// The list answers from the same bodies.
	testenv.Eventually(t, func() error {
		got := call(t, "GET", c.none+"/api/v3/stages/password/?search=password&page_size=100", "")
		if !strings.Contains(got.body, `"title":"After"`) || strings.Contains(got.body, `"slug":"memo-`+ns+`","title":"Before"`) {
			return fmt.Errorf("list: %s", got.body)
		}
		return nil
	})
}

// TestExportPermissions: the export shows the settings of every object the
// flow's document is rendered from, so a caller who may read the flow but
// not its stages' kind is refused (403), and answered once RBAC lets it
// read them too.
func TestExportPermissions(t *testing.T) {
	c := envtest(t)
	ns := c.namespace(t, "export-rbac")
	slug := "export-rbac-" + ns
	c.create(t,
		&flowsv1alpha1.Flow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "login"}, Spec: flowsv1alpha1.FlowSpec{Slug: slug, Title: "Login", Designation: flowsv1alpha1.FlowDesignationAuthentication}},
		&flowsv1alpha1.PasswordStage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "password"}, Spec: flowsv1alpha1.PasswordStageSpec{Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"}}},
		&flowsv1alpha1.FlowStageBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "login-password"}, Spec: flowsv1alpha1.FlowStageBindingSpec{
			TargetRef: flowsv1alpha1.LocalObjectReference{Name: "login"},
			StageRef:  flowsv1alpha1.StageReference{Kind: flowsv1alpha1.StageKindPassword, Name: "password"},
			Order:     10,
		}},
	)
	token := c.serviceAccount(t, ns, "exporter")
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "exporter"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{flowsv1alpha1.GroupVersion.Group}, Resources: []string{"flows", "flowstagebindings"}, Verbs: []string{"get"},
	}}}
	c.create(t, role, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "exporter"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "exporter"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "exporter"},
	})
	c.waitAllowed(t, ns, "exporter", ns, "flows")

	url := c.kube + ExportURL(slug)
	testenv.Eventually(t, func() error {
		got := call(t, "GET", url, token)
		if got.code != 403 || got.body != `{"detail":"You do not have permission to perform this action."}` {
			return fmt.Errorf("GET export, may read the flow but not its stage: %d %s", got.code, got.body)
		}
		return nil
	})

	role.Rules[0].Resources = append(role.Rules[0].Resources, "passwordstages")
	if err := c.admin.Update(context.Background(), role); err != nil {
		t.Fatal(err)
	}
	c.waitAllowed(t, ns, "exporter", ns, "passwordstages")
	testenv.Eventually(t, func() error {
		got := call(t, "GET", url, token)
		if got.code != 200 || !strings.Contains(got.body, "authentik_stages_password.passwordstage") {
			return fmt.Errorf("GET export, may read the flow and its stage: %d %s", got.code, got.body)
		}
		return nil
	})
}

package v1alpha1_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/yaml"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// TestKindsTableMatchesTheSchemeAndTheCRDs: flowsv1alpha1.Kinds, the one
// list of kinds the rest of stagehand reads, names exactly the kinds the
// scheme registers, and says of each what its generated CRD says: the plural
// resource, the scope, and whether it is a stage (the stages category, and
// the StageKind enum a StageReference accepts).
func TestKindsTableMatchesTheSchemeAndTheCRDs(t *testing.T) {
	s := testenv.Scheme()
	registered := sets.New[string]()
	own := reflect.TypeFor[flowsv1alpha1.Flow]().PkgPath()
	for gvk, typ := range s.AllKnownTypes() {
		// The group also holds metav1's options types (GetOptions, ...).
		if gvk.GroupVersion() == flowsv1alpha1.GroupVersion && typ.PkgPath() == own && !strings.HasSuffix(gvk.Kind, "List") {
			registered.Insert(gvk.Kind)
		}
	}
	listed := sets.New[string]()
	for _, k := range flowsv1alpha1.Kinds {
		listed.Insert(k.Kind)
	}
	if !registered.Equal(listed) {
		t.Fatalf("the scheme registers %v, Kinds lists %v", sets.List(registered), sets.List(listed))
	}

	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	files, err := filepath.Glob(filepath.Join(testenv.Root(), "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		crds[crd.Spec.Names.Kind] = &crd
	}

	var stages []string
	for _, k := range flowsv1alpha1.Kinds {
		crd := crds[k.Kind]
		if crd == nil {
			t.Errorf("%s: no CRD in config/crd/bases", k.Kind)
			continue
		}
		if crd.Spec.Names.Plural != k.Resource {
			t.Errorf("%s: Resource %q, the CRD's plural is %q", k.Kind, k.Resource, crd.Spec.Names.Plural)
		}
		if cluster := crd.Spec.Scope == apiextensionsv1.ClusterScoped; cluster != k.ClusterScoped {
			t.Errorf("%s: ClusterScoped %v, the CRD's scope is %s", k.Kind, k.ClusterScoped, crd.Spec.Scope)
		}
		if inStages := slices.Contains(crd.Spec.Names.Categories, "stages"); inStages != k.Stage {
			t.Errorf("%s: Stage %v, but the CRD's categories are %v", k.Kind, k.Stage, crd.Spec.Names.Categories)
		}
		if (k.Model == "") != (k.Kind == flowsv1alpha1.KindBlueprintExport) {
			t.Errorf("%s: authentik model %q; every kind but BlueprintExport stands for one", k.Kind, k.Model)
		}
		// kubectl get shows every kind's readiness and why.
		columns := map[string]string{}
		for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
			columns[c.Name] = c.JSONPath
		}
		for name, path := range map[string]string{
			"Ready":  `.status.conditions[?(@.type=="Ready")].status`,
			"Reason": `.status.conditions[?(@.type=="Ready")].reason`,
		} {
			if columns[name] != path {
				t.Errorf("%s: printer column %s is %q, want %q", k.Kind, name, columns[name], path)
			}
		}
		obj, err := flowsv1alpha1.New(k.Kind)
		if err != nil {
			t.Errorf("New(%s): %v", k.Kind, err)
		} else if got := flowsv1alpha1.KindOf(obj); got != k.Kind {
			t.Errorf("KindOf(New(%s)) = %q", k.Kind, got)
		}
		if _, err := flowsv1alpha1.NewList(k.Kind); err != nil {
			t.Errorf("NewList(%s): %v", k.Kind, err)
		}
		if k.Stage {
			stages = append(stages, k.Kind)
		}
		// The type says whether it is a stage, independently of the row.
		if _, isStage := obj.(flowsv1alpha1.Stage); isStage != k.Stage {
			t.Errorf("%s: Stage %v, but its type is a flowsv1alpha1.Stage (has StageName): %v", k.Kind, k.Stage, isStage)
		}
	}

	// The StageKind enum, as a binding's stageRef.kind admits it.
	binding := crds[flowsv1alpha1.KindFlowStageBinding]
	if binding == nil {
		t.Fatal("no FlowStageBinding CRD")
	}
	kindSchema := binding.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["stageRef"].Properties["kind"]
	var enum []string
	for _, v := range kindSchema.Enum {
		var s string
		if err := yaml.Unmarshal(v.Raw, &s); err != nil {
			t.Fatal(err)
		}
		enum = append(enum, s)
	}
	if !slices.Equal(enum, stages) {
		t.Errorf("the StageKind enum is %v, the stage kinds of Kinds are %v: keep the +kubebuilder:validation:Enum marker and the table in step", enum, stages)
	}
	// StageKinds(), what the controllers and the API iterate, against what
	// the API server admits (not against the table it is computed from).
	var fromFunc []string
	for _, s := range flowsv1alpha1.StageKinds() {
		fromFunc = append(fromFunc, string(s))
	}
	if !slices.Equal(fromFunc, enum) {
		t.Errorf("StageKinds() = %v; a binding's stageRef.kind admits %v", fromFunc, enum)
	}

	if _, err := flowsv1alpha1.New("Secret"); err == nil {
		t.Error("New(Secret) succeeded: Secrets are not stagehand objects")
	}
	if got := flowsv1alpha1.KindOf(&apiextensionsv1.CustomResourceDefinition{}); got != "" {
		t.Errorf("KindOf(a CRD) = %q, want \"\"", got)
	}
}

package v1alpha1_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// config/samples is what a person applies first (and what `make dev`
// installs): authentik's default authentication flow, a recovery flow and a
// password change flow. These tests keep the samples honest: every document
// is listed in the kustomization, is accepted by the API server with no
// unknown field, and every reference resolves to another sample, so that
// once applied every object can become Ready.

// sample is one document of config/samples.
type sample struct {
	file string
	obj  *unstructured.Unstructured
}

func (s sample) String() string { return s.file + ": " + s.obj.GetKind() + " " + s.obj.GetName() }

func samplesDir() string { return filepath.Join(testenv.Root(), "config", "samples") }

// readSamples reads every document of the files the kustomization lists,
// failing the test unless the kustomization lists exactly the YAML files
// beside it.
func readSamples(t *testing.T) []sample {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samplesDir(), "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	if err := utilyaml.Unmarshal(data, &kustomization); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(samplesDir(), "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" {
			onDisk = append(onDisk, base)
		}
	}
	listed := slices.Clone(kustomization.Resources)
	sort.Strings(listed)
	if !slices.Equal(listed, onDisk) {
		t.Fatalf("kustomization.yaml lists %v; the directory holds %v", listed, onDisk)
	}

	var out []sample
	for _, file := range kustomization.Resources {
		data, err := os.ReadFile(filepath.Join(samplesDir(), file))
		if err != nil {
			t.Fatal(err)
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			obj := map[string]any{}
			if err := utilyaml.Unmarshal(doc, &obj); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(obj) == 0 {
				continue // a document of comments only
			}
			out = append(out, sample{file: file, obj: &unstructured.Unstructured{Object: obj}})
		}
	}
	return out
}

// TestSamplesAccepted creates every sample, in a fresh namespace
// (cluster-scoped ones as they are), with strict field validation: a
// misspelt field would otherwise be dropped with only a warning, and the
// sample would silently mean something else.
func TestSamplesAccepted(t *testing.T) {
	samples := readSamples(t)
	ns := namespace(t)
	for _, s := range samples {
		obj := s.obj.DeepCopy()
		if obj.GetNamespace() != "" {
			t.Errorf("%v: sets namespace %q; samples go wherever they are applied", s, obj.GetNamespace())
		}
		if !clusterScoped(obj.GetKind()) {
			obj.SetNamespace(ns)
		}
		if err := k.Create(ctx(t), obj, client.FieldValidation("Strict")); err != nil {
			t.Errorf("%v: %v", s, err)
			continue
		}
		if clusterScoped(obj.GetKind()) {
			t.Cleanup(func() { _ = k.Delete(context.Background(), obj) })
		}
	}
}

// TestSamplesReferencesResolve: every reference a sample makes names another
// sample of the right kind (a Secret with the named key, a flow whose
// designation fits the field), so that once controllers reconcile the
// samples, every object is Ready and none has a Warning: `kubectl get
// stages -A` is all Ready. The references are enumerated by internal/refs,
// the same code the controllers resolve them with.
func TestSamplesReferencesResolve(t *testing.T) {
	samples := readSamples(t)
	byKey := map[string]sample{}
	kinds := map[string]bool{}
	for _, s := range samples {
		key := s.obj.GetKind() + "/" + s.obj.GetName()
		if _, dup := byKey[key]; dup {
			t.Errorf("%v: two samples are %s", s, key)
		}
		byKey[key] = s
		kinds[s.obj.GetKind()] = true
	}
	for _, kind := range []string{"Flow", "FlowStageBinding", "IdentificationStage", "PasswordStage", "AuthenticatorValidateStage", "CaptchaStage", "Source", "WebAuthnDeviceType"} {
		if !kinds[kind] {
			t.Errorf("no sample of kind %s; the samples show every kind", kind)
		}
	}

	// The designation a flow must have for each field that names a flow;
	// stagehand warns otherwise.
	designations := map[string]flowsv1alpha1.FlowDesignation{
		"spec.enrollmentFlowRef":   flowsv1alpha1.FlowDesignationEnrollment,
		"spec.recoveryFlowRef":     flowsv1alpha1.FlowDesignationRecovery,
		"spec.passwordlessFlowRef": flowsv1alpha1.FlowDesignationAuthentication,
		"spec.configureFlowRef":    flowsv1alpha1.FlowDesignationStageConfiguration,
	}
	referenced := map[string]bool{}
	bindings := map[string]string{}
	for _, s := range samples {
		if s.obj.GetAPIVersion() != flowsv1alpha1.GroupVersion.String() {
			continue
		}
		obj, ok := typed(t, s.obj).(client.Object)
		if !ok {
			t.Fatalf("%v: not a client.Object", s)
		}
		for _, r := range refs.Of(obj) {
			target, ok := byKey[r.Kind+"/"+r.Name]
			if !ok {
				t.Errorf("%v: %s names %s, which is not among the samples", s, r.Field, r)
				continue
			}
			referenced[r.Kind+"/"+r.Name] = true
			switch r.Kind {
			case refs.KindSecret:
				key := obj.(*flowsv1alpha1.CaptchaStage).Spec.PrivateKeySecretRef.Key
				_, inData, _ := unstructured.NestedString(target.obj.Object, "data", key)
				_, inStringData, _ := unstructured.NestedString(target.obj.Object, "stringData", key)
				if !inData && !inStringData {
					t.Errorf("%v: %s names key %q, which Secret %s does not hold", s, r.Field, key, r.Name)
				}
			case flowsv1alpha1.KindFlow:
				if want, ok := designations[r.Field]; ok {
					got, _, _ := unstructured.NestedString(target.obj.Object, "spec", "designation")
					if got != string(want) {
						t.Errorf("%v: %s names a flow of designation %q; want %q", s, r.Field, got, want)
					}
				}
			}
		}
		// authentik refuses a second binding of one stage to one flow at
		// one order.
		if b, ok := obj.(*flowsv1alpha1.FlowStageBinding); ok {
			key := fmt.Sprintf("%s/%s/%s/%d", b.Spec.TargetRef.Name, b.Spec.StageRef.Kind, b.Spec.StageRef.Name, b.Spec.Order)
			if other, dup := bindings[key]; dup {
				t.Errorf("%v binds the same stage to the same flow at the same order as %s", s, other)
			}
			bindings[key] = b.Name
		}
	}
	// Nothing in the samples is left over: every stage is bound to a flow
	// or named by another stage, every Source, device type and Secret is
	// named, and every flow either has bindings or is named by a stage.
	// (Bindings and exports name others; nothing names them.)
	for key, s := range byKey {
		if k := s.obj.GetKind(); k != "FlowStageBinding" && k != "BlueprintExport" && !referenced[key] {
			t.Errorf("%v: nothing in the samples uses it", s)
		}
	}
}

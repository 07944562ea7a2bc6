package main

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// setLastApplied writes the annotation `kubectl apply` writes, byte for
// byte, so that a user's `kubectl apply -k config/samples` after make dev
// finds nothing to change. The wants are what kubectl 1.37 wrote for these
// objects.
func TestSetLastAppliedIsKubectls(t *testing.T) {
	for _, tc := range []struct {
		name, manifest, want string
	}{
		{
			name: "no annotations",
			manifest: `apiVersion: flows.stagehand.dev/v1alpha1
kind: IdentificationStage
metadata: {name: staff-identification, namespace: default}
spec:
  userFields: [username]
  passwordStageRef: {name: staff-password}
  recoveryFlowRef: {name: default-authentication-flow}
`,
			want: `{"apiVersion":"flows.stagehand.dev/v1alpha1","kind":"IdentificationStage","metadata":{"annotations":{},"name":"staff-identification","namespace":"default"},"spec":{"passwordStageRef":{"name":"staff-password"},"recoveryFlowRef":{"name":"default-authentication-flow"},"userFields":["username"]}}` + "\n",
		},
		{
			name: "annotations of its own",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: default
  annotations: {team: identity}
data: {a: b}
`,
			want: `{"apiVersion":"v1","data":{"a":"b"},"kind":"ConfigMap","metadata":{"annotations":{"team":"identity"},"name":"c","namespace":"default"}}` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tc.manifest), &o.Object); err != nil {
				t.Fatal(err)
			}
			// Applied twice: the second records the object without the
			// first's annotation.
			for range 2 {
				if err := setLastApplied(o); err != nil {
					t.Fatal(err)
				}
			}
			if got := o.GetAnnotations()[lastApplied]; got != tc.want {
				t.Errorf("last-applied configuration:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

package v1alpha1_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// This file holds what the admission, defaults and samples tests share: a
// namespace per test, manifests built from JSON, and the comparison of the
// API server's refusal with the message we promise.

// timeout bounds every call a test makes to the API server.
const timeout = 30 * time.Second

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return c
}

// namespace creates a namespace of its own for the test and deletes it when
// the test ends. (The test control plane runs no namespace controller, so a
// deleted namespace stays Terminating; nothing waits for it.)
func namespace(t *testing.T) string {
	t.Helper()
	// Built as unstructured: k8s.io/api is not among the module's direct
	// dependencies, and a namespace needs nothing typed.
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetGenerateName("stagehand-api-test-")
	if err := k.Create(ctx(t), ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() { _ = k.Delete(context.Background(), ns) })
	return ns.GetName()
}

// clusterScoped reports whether a stagehand kind is cluster-scoped.
func clusterScoped(kind string) bool { return kind == "WebAuthnDeviceType" }

// decodeJSON parses a JSON object the way the API machinery does, with
// whole numbers as int64: 2147483648 stays an integer the API server sees as
// one, which a typed int32 field could not even hold.
func decodeJSON(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := utiljson.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("bad JSON in the test itself: %v\n%s", err, doc)
	}
	return m
}

// mergePatch applies an RFC 7386 JSON merge patch to doc in place: objects
// merge key by key, null removes a key, anything else (lists included)
// replaces the value.
func mergePatch(doc, patch map[string]any) {
	for key, value := range patch {
		switch v := value.(type) {
		case nil:
			delete(doc, key)
		case map[string]any:
			sub, ok := doc[key].(map[string]any)
			if !ok {
				sub = map[string]any{}
				doc[key] = sub
			}
			mergePatch(sub, v)
		default:
			doc[key] = v
		}
	}
}

// manifest builds an object of a stagehand kind: base (a JSON object holding
// at least the spec), named "sample" in ns unless the kind is cluster-scoped,
// with patch merged over it (a patch may rename it or remove its spec).
func manifest(t *testing.T, kind, ns, base, patch string) *unstructured.Unstructured {
	t.Helper()
	obj := decodeJSON(t, base)
	obj["apiVersion"] = flowsv1alpha1.GroupVersion.String()
	obj["kind"] = kind
	meta := map[string]any{"name": "sample"}
	if !clusterScoped(kind) {
		meta["namespace"] = ns
	}
	obj["metadata"] = meta
	if patch != "" {
		mergePatch(obj, decodeJSON(t, patch))
	}
	return &unstructured.Unstructured{Object: obj}
}

// refusal is one reason the API server gives for refusing an object: a
// cause of its 422 Invalid status.
type refusal struct {
	// field is the cause's field path as the API server reports it
	// ("spec.order", "spec.userFields[1]"), "<nil>" for a rule on the root.
	field string
	// message is the end of the cause's message. The API server puts
	// "Invalid value: <value>: " (or "Unsupported value: ...") in front of a
	// rule's own text, so this is the rule's text, matched exactly to the
	// end: for authentik's rules, authentik's message.
	message string
}

func (r refusal) String() string { return fmt.Sprintf("%s: ...%s", r.field, r.message) }

// checkRefusal fails the test unless err is the API server's Invalid error
// with a cause for every want.
func checkRefusal(t *testing.T, err error, want ...refusal) {
	t.Helper()
	if err == nil {
		t.Errorf("accepted; want refused with %v", want)
		return
	}
	var status *apierrors.StatusError
	if !errors.As(err, &status) || !apierrors.IsInvalid(err) || status.ErrStatus.Details == nil {
		t.Errorf("refused with %v; want a 422 Invalid with causes %v", err, want)
		return
	}
	causes := status.ErrStatus.Details.Causes
	for _, w := range want {
		found := false
		for _, c := range causes {
			if c.Field == w.field && strings.HasSuffix(c.Message, w.message) {
				found = true
				break
			}
		}
		if !found {
			var got []string
			for _, c := range causes {
				got = append(got, fmt.Sprintf("\n\t%s: %s", c.Field, c.Message))
			}
			t.Errorf("no cause %v; the API server said:%s", w, strings.Join(got, ""))
		}
	}
}

// dryRunCreate asks the API server to admit obj without storing it: the
// whole admission chain (defaulting, schema, CEL) runs, nothing persists, so
// cases need no cleanup and may share names.
func dryRunCreate(t *testing.T, obj client.Object) error {
	t.Helper()
	return k.Create(ctx(t), obj, client.DryRunAll)
}

// typed converts an object read as unstructured into its Go type, the way a
// controller would see it.
func typed(t *testing.T, u *unstructured.Unstructured) runtime.Object {
	t.Helper()
	obj, err := k.Scheme().New(u.GroupVersionKind())
	if err != nil {
		t.Fatalf("no Go type for %s: %v", u.GroupVersionKind(), err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		t.Fatalf("converting %s %q to its Go type: %v", u.GetKind(), u.GetName(), err)
	}
	return obj
}

// str is a string of n characters, for length bounds.
func str(n int) string { return strings.Repeat("a", n) }

// nameRefs is a JSON list of n distinct {name} references.
func nameRefs(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"name":"ref-%d"}`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// stageRefs is a JSON list of n distinct {kind, name} stage references.
func stageRefs(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"kind":"PasswordStage","name":"stage-%d"}`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// quoteAll renders values as the API server lists an enum's supported
// values: "a", "b", "c".
func quoteAll(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

package main

import (
	"reflect"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// split puts each resource of a rule, subresources with their resource, on
// the side of its scope, keeping the rule's verbs and names; a resource of
// unknown scope is an error.
func TestSplit(t *testing.T) {
	scope := func(group, resource string) (bool, error) {
		switch resource {
		case "flows", "configmaps":
			return true, nil
		case "webauthndevicetypes":
			return false, nil
		}
		return false, unknownScope(group, resource)
	}
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{"flows.stagehand.dev"}, Resources: []string{"flows", "webauthndevicetypes"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"flows.stagehand.dev"}, Resources: []string{"flows/status", "webauthndevicetypes/status"}, Verbs: []string{"patch"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"x"}, Verbs: []string{"update"}},
	}
	ns, cl, err := split(rules, scope)
	if err != nil {
		t.Fatal(err)
	}
	wantNS := []rbacv1.PolicyRule{
		{APIGroups: []string{"flows.stagehand.dev"}, Resources: []string{"flows"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"flows.stagehand.dev"}, Resources: []string{"flows/status"}, Verbs: []string{"patch"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"x"}, Verbs: []string{"update"}},
	}
	wantCl := []rbacv1.PolicyRule{
		{APIGroups: []string{"flows.stagehand.dev"}, Resources: []string{"webauthndevicetypes"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"flows.stagehand.dev"}, Resources: []string{"webauthndevicetypes/status"}, Verbs: []string{"patch"}},
	}
	if !reflect.DeepEqual(ns, wantNS) || !reflect.DeepEqual(cl, wantCl) {
		t.Errorf("namespaced %+v\ncluster %+v", ns, cl)
	}
	if _, _, err := split([]rbacv1.PolicyRule{{APIGroups: []string{"x"}, Resources: []string{"widgets"}}}, scope); err == nil {
		t.Error("a resource of unknown scope was split")
	}
}

// The real scopes: the CRDs' and the table's, with WebAuthnDeviceType the
// one cluster-scoped stagehand kind, and an unknown resource refused with
// a message saying what to do.
func TestRunScopes(t *testing.T) {
	scopes, err := crdScopes("../../config/crd/bases")
	if err != nil {
		t.Fatal(err)
	}
	for k, namespaced := range scopes {
		if namespaced == (k == "flows.stagehand.dev/webauthndevicetypes") {
			t.Errorf("%s: namespaced %v", k, namespaced)
		}
	}
	if !strings.Contains(unknownScope("x", "widgets").Error(), "builtinNamespaced") {
		t.Error("the error for an unknown resource does not say where to add it")
	}
}

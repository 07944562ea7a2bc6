package httpapi

import (
	"encoding/json"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClusterWideReader: a caller bound cluster-wide (a ClusterRoleBinding
// to a role that gets the kind) has authentik's global view permission:
// every namespace's objects, decided by the real API server's RBAC
// authorizer, and a list of all of them.
func TestClusterWideReader(t *testing.T) {
	c := envtest(t)
	nsA := c.namespace(t, "wide-a")
	nsB := c.namespace(t, "wide-b")
	objsA := stageWorld(t, c, nsA)
	objsB := stageWorld(t, c, nsB)
	home := c.namespace(t, "wide-home")
	token := c.serviceAccount(t, home, "everywhere")
	role := "stagehand-test-wide-" + home
	c.create(t,
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"flows.stagehand.dev"}, Resources: []string{"passwordstages"}, Verbs: []string{"get"},
		}}},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: role},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: home, Name: "everywhere"}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		},
	)
	c.waitAllowed(t, home, "everywhere", "", "passwordstages")

	for _, pw := range []string{
		string(objsA["PasswordStage/default-authentication-password"].GetUID()),
		string(objsB["PasswordStage/default-authentication-password"].GetUID()),
	} {
		if got := call(t, "GET", c.kube+"/api/v3/stages/password/"+pw+"/", token); got.code != 200 {
			t.Errorf("GET password stage %s: %d %s", pw, got.code, got.body)
		}
	}
	// Everything, whatever the namespace: both stages are in the list.
	got := call(t, "GET", c.kube+"/api/v3/stages/password/?search=default-authentication-password&page_size=100", token)
	var list struct {
		Results []struct {
			PK string `json:"pk"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(got.body), &list); err != nil {
		t.Fatalf("list: %d %s", got.code, got.body)
	}
	seen := map[string]bool{}
	for _, r := range list.Results {
		seen[r.PK] = true
	}
	if !seen[string(objsA["PasswordStage/default-authentication-password"].GetUID())] || !seen[string(objsB["PasswordStage/default-authentication-password"].GetUID())] {
		t.Errorf("the cluster-wide reader's list lacks a namespace's stage: %s", got.body)
	}
	// A kind the role does not name stays refused: 403, as authentik
	// answers a caller who may read no object of the model.
	if got := call(t, "GET", c.kube+"/api/v3/stages/identification/", token); got.code != 403 {
		t.Errorf("list of a kind the role does not name: %d %s", got.code, got.body)
	}
}

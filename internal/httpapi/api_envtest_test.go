package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

var httpClient = &http.Client{Timeout: 10 * time.Second}

type reply struct {
	code   int
	body   string
	header http.Header
}

// call sends a request to a real server.
func call(t testing.TB, method, url, token string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{code: resp.StatusCode, body: string(b), header: resp.Header}
}

// stageWorld creates, in namespace ns, authentik's default authentication
// flow as stagehand objects: three stages, what they reference (flows, a
// source, a captcha stage, a device type) and the bindings that put the
// identification stage into two flows. Fields are left to the API server's
// defaults wherever authentik's blueprint leaves them.
func stageWorld(t testing.TB, c *cluster, ns string) map[string]client.Object {
	t.Helper()
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	objs := []client.Object{
		&flowsv1alpha1.Flow{ObjectMeta: meta("default-authentication-flow"), Spec: flowsv1alpha1.FlowSpec{
			Name: "Welcome to authentik!", Title: "Welcome to authentik!", Designation: flowsv1alpha1.FlowDesignationAuthentication,
		}},
		&flowsv1alpha1.Flow{ObjectMeta: meta("login"), Spec: flowsv1alpha1.FlowSpec{
			Slug: "custom-login", Name: "Custom login", Title: "Sign in", Designation: flowsv1alpha1.FlowDesignationAuthentication,
			Background: "https://example.com/bg.jpg", PolicyEngineMode: flowsv1alpha1.PolicyEngineModeAll,
			CompatibilityMode: ptr.To(true), Layout: "content_left", DeniedAction: "message",
		}},
		&flowsv1alpha1.Flow{ObjectMeta: meta("default-enrollment-flow"), Spec: flowsv1alpha1.FlowSpec{Title: "Sign up", Designation: flowsv1alpha1.FlowDesignationEnrollment}},
		&flowsv1alpha1.Flow{ObjectMeta: meta("default-recovery-flow"), Spec: flowsv1alpha1.FlowSpec{Title: "Reset password", Designation: flowsv1alpha1.FlowDesignationRecovery}},
		&flowsv1alpha1.Flow{ObjectMeta: meta("default-password-change"), Spec: flowsv1alpha1.FlowSpec{Title: "Change password", Designation: flowsv1alpha1.FlowDesignationStageConfiguration}},
		&flowsv1alpha1.Source{ObjectMeta: meta("github")},
		&flowsv1alpha1.CaptchaStage{ObjectMeta: meta("default-captcha"), Spec: flowsv1alpha1.CaptchaStageSpec{
			PublicKey: "site-key", PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: "captcha", Key: "secret"},
		}},
		&flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: metav1.ObjectMeta{Name: "yubikey-5-" + ns}, Spec: flowsv1alpha1.WebAuthnDeviceTypeSpec{
			AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Description: "YubiKey 5 Series",
		}},
		&flowsv1alpha1.PasswordStage{ObjectMeta: meta("default-authentication-password"), Spec: flowsv1alpha1.PasswordStageSpec{
			Backends: []flowsv1alpha1.PasswordBackend{
				"authentik.core.auth.InbuiltBackend", "authentik.core.auth.TokenBackend", "authentik.sources.ldap.auth.LDAPBackend",
			},
			ConfigureFlowRef: ref("default-password-change"),
		}},
		&flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: meta("default-authentication-mfa-validation"), Spec: flowsv1alpha1.AuthenticatorValidateStageSpec{
			NotConfiguredAction: flowsv1alpha1.NotConfiguredActionConfigure,
			DeviceClasses:       []flowsv1alpha1.DeviceClass{"static", "totp", "webauthn"},
			ConfigurationStageRefs: []flowsv1alpha1.StageReference{
				{Kind: flowsv1alpha1.StageKindPassword, Name: "default-authentication-password"},
				{Kind: flowsv1alpha1.StageKindCaptcha, Name: "not-there-yet"},
			},
			WebAuthnAllowedDeviceTypeRefs: []flowsv1alpha1.LocalObjectReference{{Name: "yubikey-5-" + ns}, {Name: "not-there-yet"}},
		}},
		&flowsv1alpha1.IdentificationStage{ObjectMeta: meta("default-authentication-identification"), Spec: flowsv1alpha1.IdentificationStageSpec{
			UserFields:        []flowsv1alpha1.UserField{"username", "email"},
			PasswordStageRef:  ref("default-authentication-password"),
			CaptchaStageRef:   ref("default-captcha"),
			EnrollmentFlowRef: ref("default-enrollment-flow"),
			RecoveryFlowRef:   ref("default-recovery-flow"),
			// Dangling: rendered as null.
			PasswordlessFlowRef: ref("not-there-yet"),
			SourceRefs:          []flowsv1alpha1.LocalObjectReference{{Name: "github"}, {Name: "not-there-yet"}},
			WebAuthnStageRef:    ref("default-authentication-mfa-validation"),
		}},
		bindingIn(ns, "default-authentication-flow-identification", "default-authentication-flow", flowsv1alpha1.StageKindIdentification, "default-authentication-identification", 10),
		bindingIn(ns, "login-identification", "login", flowsv1alpha1.StageKindIdentification, "default-authentication-identification", 10),
		bindingIn(ns, "default-authentication-flow-password", "default-authentication-flow", flowsv1alpha1.StageKindPassword, "default-authentication-password", 20),
		bindingIn(ns, "default-authentication-flow-mfa", "default-authentication-flow", flowsv1alpha1.StageKindAuthenticatorValidate, "default-authentication-mfa-validation", 30),
		// A binding whose flow does not exist: left out of flow_set.
		bindingIn(ns, "missing-flow-mfa", "not-there-yet", flowsv1alpha1.StageKindAuthenticatorValidate, "default-authentication-mfa-validation", 30),
	}
	c.create(t, objs...)
	// Wait until the manager's cache holds every object, so that what the
	// API answers next is the whole world, not a part of it.
	testenv.Eventually(t, func() error {
		for _, o := range objs {
			into := o.DeepCopyObject().(client.Object)
			if err := c.mgr.GetCache().Get(context.Background(), client.ObjectKeyFromObject(o), into); err != nil {
				return err
			}
		}
		return nil
	})
	t.Cleanup(func() {
		_ = c.admin.Delete(context.Background(), &flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: metav1.ObjectMeta{Name: "yubikey-5-" + ns}})
	})
	out := map[string]client.Object{}
	for _, o := range objs {
		out[flowsv1alpha1.KindOf(o)+"/"+o.GetName()] = o
	}
	return out
}

func bindingIn(ns, name, flow string, kind flowsv1alpha1.StageKind, stage string, order int32) *flowsv1alpha1.FlowStageBinding {
	b := binding(ns, name, flow, kind, stage, order, 0)
	b.UID = ""
	return b
}

// placeholders replaces the uids of objs in a body with "<Kind/name>", and
// each flow's and binding's policybindingmodel_ptr_id with "<ptr
// Kind/name>", so that a body from a real API server compares with a golden
// file. extra are more (old, new) pairs.
func placeholders(objs map[string]client.Object, extra ...string) *strings.Replacer {
	var pairs []string
	for key, o := range objs {
		pairs = append(pairs, string(o.GetUID()), "<"+key+">")
		if strings.HasPrefix(key, "Flow/") || strings.HasPrefix(key, "FlowStageBinding/") {
			pairs = append(pairs, PolicyBindingModelPtrID(o.GetUID()), "<ptr "+key+">")
		}
	}
	return strings.NewReplacer(append(pairs, extra...)...)
}

// golden compares a body, its uids replaced, with testdata/<name>.json.
func golden(name, body string, r *strings.Replacer) error {
	var indented bytes.Buffer
	if err := json.Indent(&indented, []byte(r.Replace(body)), "", "  "); err != nil {
		return fmt.Errorf("not JSON: %w: %s", err, body)
	}
	indented.WriteByte('\n')
	file := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(file, indented.Bytes(), 0o644); err != nil {
			return err
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if indented.String() != string(want) {
		return fmt.Errorf("%s differs:\n%s", file, lineDiff(string(want), indented.String()))
	}
	return nil
}

// TestServedFromCache creates a flow's objects in a real API server and
// reads them back through the real HTTP server and the manager's cache: the
// three retrieve endpoints (compared with golden files, uids aside), and
// the lists with their filters, search, ordering and pagination.
func TestServedFromCache(t *testing.T) {
	c := envtest(t)
	if c.early != 503 {
		t.Errorf("before the cache started the API answered %d, want 503", c.early)
	}
	ns := c.namespace(t, "served")
	objs := stageWorld(t, c, ns)
	r := placeholders(objs)
	pk := func(key string) string { return string(objs[key].GetUID()) }

	retrieve := []struct{ golden, path string }{
		{"envtest_identification", "/api/v3/stages/identification/" + pk("IdentificationStage/default-authentication-identification") + "/"},
		{"envtest_password", "/api/v3/stages/password/" + pk("PasswordStage/default-authentication-password") + "/"},
		{"envtest_authenticator_validate", "/api/v3/stages/authenticator/validate/" + pk("AuthenticatorValidateStage/default-authentication-mfa-validation") + "/"},
	}
	for _, tc := range retrieve {
		var last reply
		testenv.Eventually(t, func() error {
			last = call(t, "GET", c.none+tc.path, "")
			if last.code != 200 {
				return fmt.Errorf("GET %s: %d %s", tc.path, last.code, last.body)
			}
			return golden(tc.golden, last.body, r)
		})
		if ct := last.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		t.Logf("GET %s\n%s", tc.path, last.body)
	}

	// Lists: this namespace's objects picked out by a filter, since other
	// tests' namespaces share the server.
	list := call(t, "GET", c.none+"/api/v3/stages/identification/?password_stage="+pk("PasswordStage/default-authentication-password"), "")
	if err := golden("envtest_identification_list", list.body, r); err != nil {
		t.Error(err)
	}
	t.Logf("GET /api/v3/stages/identification/?password_stage=...\n%s", list.body)

	// Pagination, search and ordering over stages of a namespace of their own.
	pns := c.namespace(t, "paged")
	for i := range 5 {
		c.create(t, &flowsv1alpha1.PasswordStage{
			ObjectMeta: metav1.ObjectMeta{Namespace: pns, Name: fmt.Sprintf("%s-pw-%d", pns, i)},
			Spec: flowsv1alpha1.PasswordStageSpec{
				Backends:                   []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"},
				FailedAttemptsBeforeCancel: ptr.To(int32(i % 2)),
			},
		})
	}
	base := c.none + "/api/v3/stages/password/?search=" + pns
	testenv.Eventually(t, func() error {
		got := call(t, "GET", base+"&ordering=-name&page_size=2&page=2", "")
		var body struct {
			Pagination   pagination      `json:"pagination"`
			Results      []PasswordStage `json:"results"`
			Autocomplete map[string]any  `json:"autocomplete"`
		}
		if err := json.Unmarshal([]byte(got.body), &body); err != nil {
			return fmt.Errorf("%d %s: %w", got.code, got.body, err)
		}
		want := pagination{Next: 3, Previous: 1, Count: 5, Current: 2, TotalPages: 3, StartIndex: 3, EndIndex: 4}
		if body.Pagination != want {
			return fmt.Errorf("pagination %+v, want %+v", body.Pagination, want)
		}
		var names []string
		for _, s := range body.Results {
			names = append(names, s.Name)
		}
		if want := []string{pns + "-pw-2", pns + "-pw-1"}; !slices.Equal(names, want) {
			return fmt.Errorf("results %v, want %v", names, want)
		}
		if body.Autocomplete == nil || len(body.Autocomplete) != 0 {
			return fmt.Errorf("autocomplete %v, want {}", body.Autocomplete)
		}
		return nil
	})
	got := call(t, "GET", base+"&failed_attempts_before_cancel=1&ordering=name", "")
	if !strings.Contains(got.body, `"count":2,`) || strings.Index(got.body, pns+"-pw-1") > strings.Index(got.body, pns+"-pw-3") {
		t.Errorf("filtered list: %s", got.body)
	}
	if got := call(t, "GET", base+"&page=4", ""); got.code != 404 || got.body != `{"detail":"Invalid page."}` {
		t.Errorf("page past the end: %d %s", got.code, got.body)
	}
}

// TestKindsServedFromCache reads the captcha, user login, flow and binding
// endpoints through the real HTTP server and the manager's cache, objects
// defaulted by the real API server: their bodies (compared with golden
// files, uids aside), a filtered list, and their permissions with a real
// ServiceAccount.
func TestKindsServedFromCache(t *testing.T) {
	c := envtest(t)
	ns := c.namespace(t, "kinds")
	objs := stageWorld(t, c, ns)
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	// The namespace's name is the slug of a flow of its own: other tests'
	// namespaces have flows with the world's slugs too.
	more := []client.Object{
		&flowsv1alpha1.UserLoginStage{ObjectMeta: meta("default-authentication-login")},
		bindingIn(ns, "default-authentication-flow-login", "default-authentication-flow", flowsv1alpha1.StageKindUserLogin, "default-authentication-login", 100),
		&flowsv1alpha1.Flow{ObjectMeta: meta("own-slug"), Spec: flowsv1alpha1.FlowSpec{
			Slug: ns, Title: "Prove you are human", Designation: flowsv1alpha1.FlowDesignationRecovery, Layout: "sidebar_left_frame_background",
		}},
		&flowsv1alpha1.FlowStageBinding{ObjectMeta: meta("own-slug-captcha"), Spec: flowsv1alpha1.FlowStageBindingSpec{
			TargetRef:             flowsv1alpha1.LocalObjectReference{Name: "own-slug"},
			StageRef:              flowsv1alpha1.StageReference{Kind: flowsv1alpha1.StageKindCaptcha, Name: "default-captcha"},
			Order:                 5,
			EvaluateOnPlan:        ptr.To(true),
			ReEvaluatePolicies:    ptr.To(false),
			InvalidResponseAction: "restart",
		}},
		// A stage that lives only in authentik: no binding of the API.
		&flowsv1alpha1.FlowStageBinding{ObjectMeta: meta("own-slug-write"), Spec: flowsv1alpha1.FlowStageBindingSpec{
			TargetRef: flowsv1alpha1.LocalObjectReference{Name: "own-slug"},
			StageRef:  flowsv1alpha1.StageReference{Model: "authentik_stages_user_write.userwritestage", Name: "default-password-change-write"},
			Order:     10,
		}},
	}
	c.create(t, more...)
	for _, o := range more {
		objs[flowsv1alpha1.KindOf(o)+"/"+o.GetName()] = o
	}
	r := placeholders(objs, ns, "<namespace>")
	pk := func(key string) string { return string(objs[key].GetUID()) }

	retrieve := []struct{ golden, path string }{
		{"envtest_captcha", "/api/v3/stages/captcha/" + pk("CaptchaStage/default-captcha") + "/"},
		{"envtest_user_login", "/api/v3/stages/user_login/" + pk("UserLoginStage/default-authentication-login") + "/"},
		{"envtest_flow", "/api/v3/flows/instances/" + ns + "/"},
		{"envtest_binding", "/api/v3/flows/bindings/" + pk("FlowStageBinding/own-slug-captcha") + "/"},
		{"envtest_binding_list", "/api/v3/flows/bindings/?target=" + pk("Flow/default-authentication-flow")},
	}
	for _, tc := range retrieve {
		testenv.Eventually(t, func() error {
			got := call(t, "GET", c.none+tc.path, "")
			if got.code != 200 {
				return fmt.Errorf("GET %s: %d %s", tc.path, got.code, got.body)
			}
			return golden(tc.golden, got.body, r)
		})
	}
	if got := call(t, "GET", c.none+"/api/v3/flows/bindings/"+pk("FlowStageBinding/own-slug-write")+"/", ""); got.code != 404 ||
		got.body != `{"detail":"No FlowStageBinding matches the given query."}` {
		t.Errorf("binding of a stage only authentik has: %d %s", got.code, got.body)
	}

	// A ServiceAccount that may read flows in the namespace, and nothing
	// else: its flows, and a 403 for bindings and stages.
	token := c.serviceAccount(t, ns, "flow-reader")
	c.create(t,
		&rbacv1.Role{ObjectMeta: meta("flow-reader"), Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"flows.stagehand.dev"}, Resources: []string{"flows"}, Verbs: []string{"get"},
		}}},
		&rbacv1.RoleBinding{
			ObjectMeta: meta("flow-reader"),
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "flow-reader"}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "flow-reader"},
		},
	)
	denied := `{"detail":"You do not have permission to perform this action."}`
	testenv.Eventually(t, func() error {
		for _, tc := range []struct {
			path string
			code int
			body string
		}{
			{"/api/v3/flows/instances/" + ns + "/", 200, ""},
			{"/api/v3/flows/bindings/", 403, denied},
			{"/api/v3/flows/bindings/" + pk("FlowStageBinding/own-slug-captcha") + "/", 403, denied},
			{"/api/v3/stages/user_login/", 403, denied},
		} {
			got := call(t, "GET", c.kube+tc.path, token)
			if got.code != tc.code || (tc.body != "" && got.body != tc.body) {
				return fmt.Errorf("GET %s: %d %s, want %d %s", tc.path, got.code, got.body, tc.code, tc.body)
			}
		}
		got := call(t, "GET", c.kube+"/api/v3/flows/instances/", token)
		var list struct {
			Results []Flow `json:"results"`
		}
		if err := json.Unmarshal([]byte(got.body), &list); err != nil {
			return fmt.Errorf("%d %s: %w", got.code, got.body, err)
		}
		var slugs []string
		for _, f := range list.Results {
			slugs = append(slugs, f.Slug)
		}
		if want := []string{"custom-login", "default-authentication-flow", "default-enrollment-flow", "default-password-change", "default-recovery-flow", ns}; !slices.Equal(slugs, want) {
			return fmt.Errorf("flows listed: %v, want %v", slugs, want)
		}
		return nil
	})
}

// TestErrorBodies checks each error over real HTTP: always JSON, never an
// HTML page or plain text.
func TestErrorBodies(t *testing.T) {
	c := envtest(t)
	ns := c.namespace(t, "errors")
	objs := stageWorld(t, c, ns)
	pwUID := string(objs["PasswordStage/default-authentication-password"].GetUID())
	testenv.Eventually(t, func() error {
		if got := call(t, "GET", c.none+"/api/v3/stages/password/"+pwUID+"/", ""); got.code != 200 {
			return fmt.Errorf("%d %s", got.code, got.body)
		}
		return nil
	})
	cases := []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/api/v3/stages/identification/not-a-uuid/", 404, `{"detail":"Not found."}`},
		{"GET", "/api/v3/stages/identification/6f1a1e0c-1f0e-4c5e-9d43-5b1f1c2a7e90/", 404, `{"detail":"No IdentificationStage matches the given query."}`},
		{"GET", "/api/v3/stages/identification/" + pwUID + "/", 404, `{"detail":"No IdentificationStage matches the given query."}`},
		{"GET", "/api/v3/stages/authenticator/validate/" + pwUID + "/", 404, `{"detail":"No AuthenticatorValidateStage matches the given query."}`},
		{"GET", "/api/v3/stages/password/" + pwUID + "/?failed_attempts_before_cancel=many", 400, `{"failed_attempts_before_cancel":["Enter a number."]}`},
		{"GET", "/api/v3/stages/password/" + pwUID + "/?configure_flow=nope", 400, `{"configure_flow":["Select a valid choice. That choice is not one of the available choices."]}`},
		{"GET", "/api/v3/stages/password/" + pwUID + "/?failed_attempts_before_cancel=4", 404, `{"detail":"No PasswordStage matches the given query."}`},
		{"GET", "/api/v3/stages/authenticator/validate/?not_configured_action=nope", 400, `{"not_configured_action":["Select a valid choice. nope is not one of the available choices."]}`},
		{"GET", "/api/v3/stages/authenticator/validate/?configuration_stages=zzz", 400, `{"configuration_stages":["“zzz” is not a valid UUID."]}`},
		{"GET", "/api/v3/stages/identification/?page=99", 404, `{"detail":"Invalid page."}`},
		{"GET", "/api/v3/stages/prompt/", 404, `{"detail":"Not found."}`},
		{"GET", "/api/v3/stages/password", 404, `{"detail":"Not found."}`},
		{"GET", "/", 404, `{"detail":"Not found."}`},
		{"POST", "/api/v3/stages/password/", 405, `{"detail":"Method \"POST\" not allowed."}`},
		{"DELETE", "/api/v3/stages/password/" + pwUID + "/", 405, `{"detail":"Method \"DELETE\" not allowed."}`},
	}
	for _, tc := range cases {
		got := call(t, tc.method, c.none+tc.path, "")
		if got.code != tc.code || got.body != tc.body || got.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s:\n got %d %s (%s)\nwant %d %s", tc.method, tc.path, got.code, got.body, got.header.Get("Content-Type"), tc.code, tc.body)
		}
	}
}

// serviceAccount creates a ServiceAccount and returns a token for it, from
// the API server's TokenRequest, minted for the API's audience.
func (c *cluster) serviceAccount(t testing.TB, ns, name string) string {
	t.Helper()
	c.create(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	return c.token(t, ns, name, DefaultTokenAudience)
}

// grantRead lets a ServiceAccount get the three stage kinds in namespace
// where (a Role and a RoleBinding there).
func (c *cluster) grantRead(t testing.TB, where, saNamespace, sa string) {
	t.Helper()
	c.create(t,
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: where, Name: "stage-reader-" + sa}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"flows.stagehand.dev"},
			Resources: []string{"identificationstages", "passwordstages", "authenticatorvalidatestages"},
			Verbs:     []string{"get"},
		}}},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: where, Name: "stage-reader-" + sa},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNamespace, Name: sa}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "stage-reader-" + sa},
		},
	)
	c.waitAllowed(t, saNamespace, sa, where, "identificationstages")
}

// waitAllowed waits until the API server's RBAC authorizer, which learns
// bindings through its informers, lets the ServiceAccount get the resource
// in namespace where ("" for every namespace): a test that asserts a 200
// at once would otherwise race it.
func (c *cluster) waitAllowed(t testing.TB, saNamespace, sa, where, resource string) {
	t.Helper()
	testenv.Eventually(t, func() error {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + saNamespace + ":" + sa,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + saNamespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: where, Verb: "get", Group: flowsv1alpha1.GroupVersion.Group, Resource: resource,
			},
		}}
		if err := c.admin.Create(context.Background(), sar); err != nil {
			return err
		}
		if !sar.Status.Allowed {
			return fmt.Errorf("%s/%s may not get %s in %q yet", saNamespace, sa, resource, where)
		}
		return nil
	})
}

// TestAuthWithServiceAccounts checks --api-auth=kubernetes with real
// ServiceAccount tokens and real RBAC.
func TestAuthWithServiceAccounts(t *testing.T) {
	c := envtest(t)
	nsA := c.namespace(t, "team-a")
	nsB := c.namespace(t, "team-b")
	objs := stageWorld(t, c, nsA)
	// Team B has a PasswordStage of its own, and no other stage.
	other := &flowsv1alpha1.PasswordStage{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: "team-b-password"}, Spec: flowsv1alpha1.PasswordStageSpec{
		Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"},
	}}
	c.create(t, other)

	readerA := c.serviceAccount(t, nsA, "reader")
	readerB := c.serviceAccount(t, nsB, "reader")
	nobody := c.serviceAccount(t, nsA, "nobody")
	c.grantRead(t, nsA, nsA, "reader")
	c.grantRead(t, nsB, nsB, "reader")

	idPath := "/api/v3/stages/identification/" + string(objs["IdentificationStage/default-authentication-identification"].GetUID()) + "/"
	pwPath := "/api/v3/stages/password/" + string(objs["PasswordStage/default-authentication-password"].GetUID()) + "/"
	otherPath := "/api/v3/stages/password/" + string(other.UID) + "/"
	testenv.Eventually(t, func() error {
		for _, p := range []string{idPath, otherPath} {
			if got := call(t, "GET", c.none+p, ""); got.code != 200 {
				return fmt.Errorf("GET %s: %d %s", p, got.code, got.body)
			}
		}
		return nil
	})

	const (
		noCredentials = `{"detail":"Authentication credentials were not provided."}`
		badToken      = `{"detail":"Token invalid/expired"}`
		denied        = `{"detail":"You do not have permission to perform this action."}`
	)
	cases := []struct {
		name, token, path string
		code              int
		body              string
	}{
		{"no token", "", idPath, 403, noCredentials},
		{"no token, list", "", "/api/v3/stages/identification/", 403, noCredentials},
		{"bad token", "not-a-token", idPath, 403, badToken},
		{"a token for someone else's cluster", readerA[:len(readerA)-4] + "AAAA", idPath, 403, badToken},
		{"reader of its namespace", readerA, idPath, 200, ""},
		{"reader of its namespace, password", readerA, pwPath, 200, ""},
		// Team A's reader may read PasswordStages (in A), so B's is hidden
		// as authentik hides an object outside the caller's queryset.
		{"reader of its namespace, object elsewhere", readerA, otherPath, 404, `{"detail":"No PasswordStage matches the given query."}`},
		{"reader of another namespace", readerB, pwPath, 404, `{"detail":"No PasswordStage matches the given query."}`},
		// Team B's reader may read no IdentificationStage anywhere: 403.
		{"reader of another namespace, a kind it can read nowhere", readerB, idPath, 403, denied},
		{"reader of another namespace, list of that kind", readerB, "/api/v3/stages/identification/", 403, denied},
		{"no role", nobody, idPath, 403, denied},
		{"no role, password", nobody, pwPath, 403, denied},
		{"no role, list", nobody, "/api/v3/stages/password/", 403, denied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := call(t, "GET", c.kube+tc.path, tc.token)
			if got.code != tc.code || (tc.body != "" && got.body != tc.body) {
				t.Errorf("GET %s:\n got %d %s\nwant %d %s", tc.path, got.code, got.body, tc.code, tc.body)
			}
		})
	}

	// The same body whoever reads it.
	asReader := call(t, "GET", c.kube+idPath, readerA)
	asAnyone := call(t, "GET", c.none+idPath, "")
	if asReader.body != asAnyone.body {
		t.Errorf("kubernetes and none modes differ:\n%s\n%s", asReader.body, asAnyone.body)
	}

	// Lists show what the caller may read, and nothing else.
	listNames := func(token string) []string {
		got := call(t, "GET", c.kube+"/api/v3/stages/password/", token)
		var body struct {
			Pagination pagination `json:"pagination"`
			Results    []struct {
				Name string `json:"name"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.code != 200 {
			t.Fatalf("list: %d %s", got.code, got.body)
		}
		var out []string
		for _, r := range body.Results {
			out = append(out, r.Name)
		}
		if body.Pagination.Count != len(out) {
			t.Errorf("count %d for %d results", body.Pagination.Count, len(out))
		}
		return out
	}
	if got := listNames(readerA); !slices.Equal(got, []string{"default-authentication-password"}) {
		t.Errorf("team A's reader lists %v", got)
	}
	if got := listNames(readerB); !slices.Equal(got, []string{"team-b-password"}) {
		t.Errorf("team B's reader lists %v", got)
	}

	// Request metrics, by route template and status code.
	families, err := c.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		if f.GetName() != "stagehand_api_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var route, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "route":
					route = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			if strings.Contains(route, "-") && !strings.Contains(route, "{stage_uuid}") {
				t.Errorf("route label %q is a raw path", route)
			}
			seen[route+" "+code] = true
		}
	}
	for _, want := range []string{
		"/api/v3/stages/identification/{stage_uuid}/ 200",
		"/api/v3/stages/identification/{stage_uuid}/ 403",
		"/api/v3/stages/password/{stage_uuid}/ 404",
		"/api/v3/stages/password/ 200",
	} {
		if !seen[want] {
			t.Errorf("no request metric for %q; have %v", want, seen)
		}
	}
}

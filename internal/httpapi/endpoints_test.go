package httpapi

import (
	"encoding/json"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// pks lists the pks of a list response's results (bindings have no name).
func pks(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var body struct {
		Results []struct {
			PK string `json:"pk"`
		} `json:"results"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, r := range body.Results {
		out = append(out, r.PK)
	}
	return out
}

func uids(ns ...int) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, string(uid(n)))
	}
	return out
}

// TestKindQueries checks the filters, search fields and orderings of the
// endpoints beyond the first three stage kinds', as authentik's viewsets
// have them.
func TestKindQueries(t *testing.T) {
	h := memServer(t, fixtures()...)
	fl := "/api/v3/flows/instances/"
	fsb := "/api/v3/flows/bindings/"
	cap := "/api/v3/stages/captcha/"
	ul := "/api/v3/stages/user_login/"
	id := "/api/v3/stages/identification/"
	byName := []struct {
		path string
		want []string
	}{
		// Flows: ordered by slug, then name, unless asked otherwise.
		{fl, []string{"Login with 2FA", "default-authentication-flow", "device-code", "enroll", "password-change", "passwordless", "recover"}},
		{fl + "?designation=recovery", []string{"recover"}},
		{fl + "?slug=enroll", []string{"enroll"}},
		{fl + "?slug=Enroll", []string{}},
		{fl + "?name=Login+with+2FA", []string{"Login with 2FA"}},
		{fl + "?flow_uuid=" + string(uid(103)), []string{"enroll"}},
		{fl + "?flow_uuid=" + strings.ToUpper(strings.ReplaceAll(string(uid(103)), "-", "")), []string{"enroll"}},
		{fl + "?denied_action=continue", []string{"Login with 2FA"}},
		// search: name, slug, designation, title and denied_action.
		{fl + "?search=2fa", []string{"Login with 2FA"}},
		{fl + "?search=custom", []string{"Login with 2FA"}},
		{fl + "?search=sign", []string{"Login with 2FA", "device-code", "enroll"}},
		{fl + "?search=RECOVERY", []string{"recover"}},
		{fl + "?search=sign+device", []string{"device-code"}},
		{fl + "?ordering=-layout", []string{"default-authentication-flow", "enroll", "password-change", "passwordless", "recover", "device-code", "Login with 2FA"}},
		{fl + "?ordering=authentication,slug", []string{"default-authentication-flow", "enroll", "password-change", "passwordless", "recover", "device-code", "Login with 2FA"}},
		// Many-to-many and computed fields are not orderings: the default.
		{fl + "?ordering=stages", []string{"Login with 2FA", "default-authentication-flow", "device-code", "enroll", "password-change", "passwordless", "recover"}},
		{fl + "?ordering=cache_count", []string{"Login with 2FA", "default-authentication-flow", "device-code", "enroll", "password-change", "passwordless", "recover"}},

		// Captcha stages: filters name and public_key, search name.
		// A stage's name is its name in authentik (spec.name), which the
		// name filter, search and ordering read too.
		{cap, []string{"Turnstile (invisible)", "captcha"}},
		{cap + "?public_key=site-key", []string{"captcha"}},
		{cap + "?name=Turnstile+%28invisible%29", []string{"Turnstile (invisible)"}},
		{cap + "?name=captcha-full", []string{}},
		{cap + "?search=turnstile", []string{"Turnstile (invisible)"}},
		{cap + "?ordering=score_max_threshold", []string{"Turnstile (invisible)", "captcha"}},
		{cap + "?ordering=-request_content_type", []string{"captcha", "Turnstile (invisible)"}},

		// User login stages: every model field is a filter.
		{ul, []string{"user-login-defaults", "user-login-full"}},
		{ul + "?stage_uuid=" + string(uid(9)), []string{"user-login-defaults"}},
		{ul + "?session_duration=hours%3D8", []string{"user-login-full"}},
		{ul + "?remember_me_offset=seconds%3D0", []string{"user-login-defaults"}},
		{ul + "?remember_device=days%3D30", []string{"user-login-defaults"}},
		{ul + "?terminate_other_sessions=true", []string{"user-login-full"}},
		{ul + "?network_binding=bind_asn_network", []string{"user-login-full"}},
		{ul + "?geoip_binding=no_binding", []string{"user-login-defaults"}},
		{ul + "?ordering=-terminate_other_sessions", []string{"user-login-full", "user-login-defaults"}},

		// authentik 2026.8's identification filter.
		{id + "?webauthn_stage=" + string(uid(3)), []string{"identification-full"}},
		{id + "?webauthn_stage=" + string(uid(7)), []string{}},
	}
	for _, tc := range byName {
		if got := names(t, get(t, h, tc.path)); !slices.Equal(got, tc.want) {
			t.Errorf("GET %s: %v, want %v", tc.path, got, tc.want)
		}
	}

	// Bindings: ordered by order (then name); the dangling ones (203: no
	// flow; 205: no stage; 213: a stage only authentik has) are never
	// there.
	byPK := []struct {
		path string
		want []string
	}{
		{fsb, uids(210, 201, 204, 202, 206, 207, 209, 208, 211, 212)},
		{fsb + "?target=" + string(uid(102)), uids(202, 207, 209, 208, 212)},
		{fsb + "?stage=" + string(uid(3)), uids(209, 208)},
		{fsb + "?stage=" + string(uid(5)), uids(204)},
		{fsb + "?order=10", uids(201, 204, 202)},
		{fsb + "?order=1e2", uids(211, 212)},
		{fsb + "?evaluate_on_plan=true", uids(210)},
		{fsb + "?re_evaluate_policies=false", uids(210)},
		{fsb + "?invalid_response_action=restart_with_context", uids(210)},
		{fsb + "?policy_engine_mode=all", uids(210)},
		{fsb + "?fsb_uuid=" + string(uid(211)), uids(211)},
		{fsb + "?pbm_uuid=" + PolicyBindingModelPtrID(uid(211)), uids(211)},
		{fsb + "?pbm_uuid=" + string(uid(211)), uids()},
		{fsb + "?search=turnstile", uids(210)},
		{fsb + "?search=captcha-full", uids()},
		{fsb + "?search=VALIDATE", uids(209, 208)},
		{fsb + "?ordering=-order", uids(211, 212, 208, 209, 206, 207, 201, 204, 202, 210)},
		{fsb + "?ordering=target,-order", uids(211, 206, 201, 212, 208, 209, 207, 202, 204, 210)},
		{fsb + "?ordering=stage_obj", uids(210, 201, 204, 202, 206, 207, 209, 208, 211, 212)},
	}
	for _, tc := range byPK {
		if got := pks(t, get(t, h, tc.path)); !slices.Equal(got, tc.want) {
			t.Errorf("GET %s:\n got %v\nwant %v", tc.path, got, tc.want)
		}
	}
}

// TestKindErrors checks the new endpoints' error bodies.
func TestKindErrors(t *testing.T) {
	h := memServer(t, fixtures()...)
	unknown := "6f1a1e0c-1f0e-4c5e-9d43-5b1f1c2a7e90"
	const invalidChoice = `["Select a valid choice. That choice is not one of the available choices."]`
	cases := []struct {
		name, path string
		code       int
		body       string
	}{
		{"unknown slug", "/api/v3/flows/instances/nope/", 404, `{"detail":"No Flow matches the given query."}`},
		{"a flow's name is not its slug", "/api/v3/flows/instances/login-2fa/", 404, `{"detail":"No Flow matches the given query."}`},
		{"a flow's uid is not its slug", "/api/v3/flows/instances/" + string(uid(101)) + "/", 404, `{"detail":"No Flow matches the given query."}`},
		{"slug with a dot", "/api/v3/flows/instances/a.b/", 404, `{"detail":"Not found."}`},
		{"filter excludes the flow", "/api/v3/flows/instances/recover/?designation=authentication", 404, `{"detail":"No Flow matches the given query."}`},
		{"invalid designation", "/api/v3/flows/instances/?designation=login", 400, `{"designation":["Select a valid choice. login is not one of the available choices."]}`},
		{"invalid flow_uuid", "/api/v3/flows/instances/?flow_uuid=nope", 400, `{"flow_uuid":["Enter a valid UUID."]}`},
		{"invalid filters, in the filterset's order", "/api/v3/flows/instances/?denied_action=deny&flow_uuid=x", 400,
			`{"flow_uuid":["Enter a valid UUID."],"denied_action":["Select a valid choice. deny is not one of the available choices."]}`},
		{"export of an unknown slug", "/api/v3/flows/instances/nope/export/", 404, `{"detail":"No Flow matches the given query."}`},
		{"a detail action other than export", "/api/v3/flows/instances/recover/diagram/", 404, `{"detail":"Not found."}`},
		{"export of a stage", "/api/v3/stages/password/" + string(uid(2)) + "/export/", 404, `{"detail":"Not found."}`},
		{"the flows root", "/api/v3/flows/", 404, `{"detail":"Not found."}`},

		{"malformed binding pk", "/api/v3/flows/bindings/nope/", 404, `{"detail":"Not found."}`},
		{"unknown binding", "/api/v3/flows/bindings/" + unknown + "/", 404, `{"detail":"No FlowStageBinding matches the given query."}`},
		{"binding whose flow is gone", "/api/v3/flows/bindings/" + string(uid(203)) + "/", 404, `{"detail":"No FlowStageBinding matches the given query."}`},
		{"binding whose stage is gone", "/api/v3/flows/bindings/" + string(uid(205)) + "/", 404, `{"detail":"No FlowStageBinding matches the given query."}`},
		{"binding of a stage only authentik has", "/api/v3/flows/bindings/" + string(uid(213)) + "/", 404, `{"detail":"No FlowStageBinding matches the given query."}`},
		{"a stage's pk is no binding's", "/api/v3/flows/bindings/" + string(uid(1)) + "/", 404, `{"detail":"No FlowStageBinding matches the given query."}`},
		{"invalid target", "/api/v3/flows/bindings/?target=" + string(uid(1)), 400, `{"target":` + invalidChoice + `}`},
		{"invalid stage", "/api/v3/flows/bindings/?stage=" + string(uid(101)), 400, `{"stage":` + invalidChoice + `}`},
		{"invalid order", "/api/v3/flows/bindings/?order=first", 400, `{"order":["Enter a number."]}`},
		{"invalid fsb_uuid", "/api/v3/flows/bindings/?fsb_uuid=1", 400, `{"fsb_uuid":["Enter a valid UUID."]}`},
		{"no policy is a choice", "/api/v3/flows/bindings/?policies=" + unknown, 400, `{"policies":["Select a valid choice. ` + unknown + ` is not one of the available choices."]}`},
		{"malformed policy", "/api/v3/flows/bindings/?policies=x", 400, `{"policies":["“x” is not a valid UUID."]}`},
		{"invalid action", "/api/v3/flows/bindings/?invalid_response_action=retry_later", 400, `{"invalid_response_action":["Select a valid choice. retry_later is not one of the available choices."]}`},
		{"invalid filters, in the model's order", "/api/v3/flows/bindings/?order=x&evaluate_on_plan=maybe&pbm_uuid=y", 400,
			`{"pbm_uuid":["Enter a valid UUID."],"evaluate_on_plan":["Must be a valid boolean."],"order":["Enter a number."]}`},

		{"unknown captcha stage", "/api/v3/stages/captcha/" + string(uid(1)) + "/", 404, `{"detail":"No CaptchaStage matches the given query."}`},
		{"unknown user login stage", "/api/v3/stages/user_login/" + string(uid(10)) + "/", 404, `{"detail":"No UserLoginStage matches the given query."}`},
		{"invalid network binding", "/api/v3/stages/user_login/?network_binding=bind_ip", 400, `{"network_binding":["Select a valid choice. bind_ip is not one of the available choices."]}`},
		{"invalid stage_uuid", "/api/v3/stages/user_login/?stage_uuid=9", 400, `{"stage_uuid":["Enter a valid UUID."]}`},
		{"invalid webauthn_stage", "/api/v3/stages/identification/?webauthn_stage=" + string(uid(1)), 400, `{"webauthn_stage":` + invalidChoice + `}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, h, tc.path)
			if rec.Code != tc.code || rec.Body.String() != tc.body {
				t.Errorf("GET %s:\n got %d %s\nwant %d %s", tc.path, rec.Code, rec.Body, tc.code, tc.body)
			}
		})
	}
}

// TestFlowSlugs: a retrieve by slug when several flows have it (authentik's
// slugs are unique; stagehand's only per namespace). The oldest the caller
// may read, and the filters keep, is the answer.
func TestFlowSlugs(t *testing.T) {
	flow := func(ns, name string, n int, created time.Time, d flowsv1alpha1.FlowDesignation) *flowsv1alpha1.Flow {
		f := &flowsv1alpha1.Flow{ObjectMeta: om(ns, name, n), Spec: flowsv1alpha1.FlowSpec{Slug: "shared", Title: name, Designation: d}}
		f.CreationTimestamp = metav1.NewTime(created)
		return f
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	objs := append(fixtures(),
		flow(ns, "shared-new", 601, t0.Add(time.Hour), flowsv1alpha1.FlowDesignationAuthentication),
		flow("other", "shared-old", 602, t0, flowsv1alpha1.FlowDesignationRecovery),
	)
	s, err := New(Options{
		Addr: "127.0.0.1:0", Reader: fakeReader(t, objs...), Auth: AuthKubernetes, Reviewer: newFakeReviewer(),
		AuthCacheTTL: time.Minute, AuthNegativeCacheTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		token, query string
		code         int
		title        string
	}{
		{"admin", "", 200, "shared-old"},
		{"admin", "?designation=authentication", 200, "shared-new"},
		{"admin", "?designation=invalidation", 404, ""},
		{"reader", "", 200, "shared-new"},
		{"other-reader", "", 200, "shared-old"},
		{"other-reader", "?designation=authentication", 404, ""},
		{"nobody", "", 403, ""},
	}
	for _, tc := range cases {
		rec := get(t, s, "/api/v3/flows/instances/shared/"+tc.query, "Authorization", "Bearer "+tc.token)
		var body Flow
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tc.code || body.Title != tc.title {
			t.Errorf("GET shared%s as %s: %d %s, want %d with title %q", tc.query, tc.token, rec.Code, rec.Body, tc.code, tc.title)
		}
	}
}

// TestRoutes: Routes lists every endpoint, with authentik's path templates.
func TestRoutes(t *testing.T) {
	var got []string
	for _, r := range Routes() {
		got = append(got, r.Kind+" "+r.List+" "+r.Detail)
		if !strings.HasPrefix(r.Detail, r.List) || r.BySlug != strings.HasSuffix(r.Detail, "{slug}/") {
			t.Errorf("%+v", r)
		}
	}
	want := []string{
		"IdentificationStage /api/v3/stages/identification/ /api/v3/stages/identification/{stage_uuid}/",
		"PasswordStage /api/v3/stages/password/ /api/v3/stages/password/{stage_uuid}/",
		"AuthenticatorValidateStage /api/v3/stages/authenticator/validate/ /api/v3/stages/authenticator/validate/{stage_uuid}/",
		"CaptchaStage /api/v3/stages/captcha/ /api/v3/stages/captcha/{stage_uuid}/",
		"UserLoginStage /api/v3/stages/user_login/ /api/v3/stages/user_login/{stage_uuid}/",
		"Flow /api/v3/flows/instances/ /api/v3/flows/instances/{slug}/",
		"FlowStageBinding /api/v3/flows/bindings/ /api/v3/flows/bindings/{fsb_uuid}/",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Routes:\n got %q\nwant %q", got, want)
	}
	// Every stage kind is served.
	for _, k := range flowsv1alpha1.StageKinds() {
		if !slices.ContainsFunc(Routes(), func(r Route) bool { return r.Kind == string(k) }) {
			t.Errorf("the stage kind %s has no endpoint", k)
		}
	}
}

// TestPyFloat: floats are written as Python's json module writes them.
func TestPyFloat(t *testing.T) {
	cases := map[float64]string{
		0:                      "0.0",
		math.Copysign(0, -1):   "-0.0",
		1:                      "1.0",
		0.5:                    "0.5",
		0.75:                   "0.75",
		2.5:                    "2.5",
		-3:                     "-3.0",
		100:                    "100.0",
		123.456:                "123.456",
		0.30000000000000004:    "0.30000000000000004",
		0.001:                  "0.001",
		0.0001:                 "0.0001",
		0.00001:                "1e-05",
		0.000012345:            "1.2345e-05",
		1e15:                   "1000000000000000.0",
		1234567890123456:       "1234567890123456.0",
		1e16:                   "1e+16",
		12345678901234567890.0: "1.2345678901234567e+19",
		1e100:                  "1e+100",
		5e-324:                 "5e-324",
		math.MaxFloat64:        "1.7976931348623157e+308",
	}
	for f, want := range cases {
		b, err := pyFloat(f).MarshalJSON()
		if err != nil || string(b) != want {
			t.Errorf("pyFloat(%g) = %s, %v; want %s", f, b, err, want)
		}
		var back float64
		if err := json.Unmarshal(b, &back); err != nil || back != f {
			t.Errorf("%s reads back as %g, %v", b, back, err)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := pyFloat(f).MarshalJSON(); err == nil {
			t.Errorf("pyFloat(%g) has a JSON form", f)
		}
	}
}

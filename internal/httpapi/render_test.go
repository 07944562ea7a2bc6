package httpapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stagehand-dev/stagehand/internal/httpapi/apitest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

const ns = apitest.Namespace

// fixtures is the world apitest holds: one namespace's flows, bindings and
// stages of every kind, with every field set, every field left to its
// default, and references that dangle.
func fixtures() []client.Object { return apitest.Objects() }

// TestRendering renders each object, and a list of each kind, through the
// handler over an in-memory reader, and compares the bodies with the golden
// files in testdata/ (indented there for reading; the wire form is compact).
// Run `go test ./internal/httpapi -run TestRendering -update` to rewrite them.
func TestRendering(t *testing.T) {
	h := memServer(t, fixtures()...)
	cases := []struct {
		golden string
		path   string
	}{
		{"identification_full", "/api/v3/stages/identification/" + string(uid(1)) + "/"},
		{"identification_defaults", "/api/v3/stages/identification/" + string(uid(4)) + "/"},
		{"identification_dangling", "/api/v3/stages/identification/" + string(uid(5)) + "/"},
		{"password_full", "/api/v3/stages/password/" + string(uid(2)) + "/"},
		{"password_defaults", "/api/v3/stages/password/" + string(uid(6)) + "/"},
		{"authenticator_validate_full", "/api/v3/stages/authenticator/validate/" + string(uid(3)) + "/"},
		{"authenticator_validate_defaults", "/api/v3/stages/authenticator/validate/" + string(uid(7)) + "/"},
		{"identification_list", "/api/v3/stages/identification/"},
		{"password_list", "/api/v3/stages/password/?page_size=1&page=2"},
		{"authenticator_validate_list", "/api/v3/stages/authenticator/validate/?ordering=-name"},
		{"captcha_full", "/api/v3/stages/captcha/" + string(uid(11)) + "/"},
		{"captcha_defaults", "/api/v3/stages/captcha/" + string(uid(10)) + "/"},
		{"captcha_list", "/api/v3/stages/captcha/"},
		{"user_login_full", "/api/v3/stages/user_login/" + string(uid(8)) + "/"},
		{"user_login_defaults", "/api/v3/stages/user_login/" + string(uid(9)) + "/"},
		{"user_login_list", "/api/v3/stages/user_login/"},
		{"flow_full", "/api/v3/flows/instances/custom-login/"},
		{"flow_defaults", "/api/v3/flows/instances/default-authentication-flow/"},
		{"flow_list", "/api/v3/flows/instances/"},
		{"binding_full", "/api/v3/flows/bindings/" + string(uid(210)) + "/"},
		{"binding_defaults", "/api/v3/flows/bindings/" + string(uid(201)) + "/"},
		{"binding_list", "/api/v3/flows/bindings/"},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			rec := get(t, h, tc.path)
			if rec.Code != 200 {
				t.Fatalf("GET %s: %d %s", tc.path, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, rec.Body.Bytes()); err != nil {
				t.Fatalf("not JSON: %v: %s", err, rec.Body)
			}
			if !bytes.Equal(compact.Bytes(), rec.Body.Bytes()) {
				t.Errorf("the body is not compact JSON: %s", rec.Body)
			}
			var indented bytes.Buffer
			if err := json.Indent(&indented, rec.Body.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			indented.WriteByte('\n')
			file := filepath.Join("testdata", tc.golden+".json")
			if *update {
				if err := os.WriteFile(file, indented.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := indented.String(); got != string(want) {
				t.Errorf("GET %s differs from %s (run with -update to accept):\n%s", tc.path, file, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff shows the lines of got that differ from want.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
		}
	}
	return b.String()
}

// keys returns the keys of a JSON object in the order they are written.
func keys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestFieldOrder checks every body's keys, in order, against authentik's
// serializers: the common stage fields, then the stage's own in the seed's
// order with the newer fields where authentik added them.
func TestFieldOrder(t *testing.T) {
	h := memServer(t, fixtures()...)
	common := []string{"pk", "name", "component", "verbose_name", "verbose_name_plural", "meta_model_name", "flow_set"}
	cases := []struct {
		path string
		own  []string
	}{
		{"/api/v3/stages/identification/" + string(uid(4)) + "/", []string{
			"user_fields", "password_stage", "captcha_stage", "case_insensitive_matching", "show_matched_user",
			"enrollment_flow", "recovery_flow", "passwordless_flow", "sources", "show_source_labels",
			"pretend_user_exists", "enable_remember_me", "webauthn_stage",
		}},
		{"/api/v3/stages/password/" + string(uid(6)) + "/", []string{
			"backends", "configure_flow", "failed_attempts_before_cancel", "allow_show_password",
		}},
		{"/api/v3/stages/authenticator/validate/" + string(uid(7)) + "/", []string{
			"not_configured_action", "device_classes", "configuration_stages", "last_auth_threshold",
			"webauthn_user_verification", "webauthn_hints", "webauthn_allowed_device_types", "webauthn_allowed_device_types_obj",
			"email_otp_throttling_factor", "sms_otp_throttling_factor", "totp_otp_throttling_factor", "static_otp_throttling_factor",
		}},
		{"/api/v3/stages/captcha/" + string(uid(10)) + "/", []string{
			"public_key", "js_url", "api_url", "request_content_type", "interactive",
			"score_min_threshold", "score_max_threshold", "error_on_invalid_score",
		}},
		{"/api/v3/stages/user_login/" + string(uid(9)) + "/", []string{
			"session_duration", "terminate_other_sessions", "remember_me_offset", "network_binding", "geoip_binding", "remember_device",
		}},
	}
	for _, tc := range cases {
		rec := get(t, h, tc.path)
		if got, want := keys(t, rec.Body.Bytes()), append(slices.Clone(common), tc.own...); !slices.Equal(got, want) {
			t.Errorf("GET %s keys:\n got %v\nwant %v", tc.path, got, want)
		}
	}

	var body struct {
		FlowSet []json.RawMessage `json:"flow_set"`
	}
	rec := get(t, h, "/api/v3/stages/identification/"+string(uid(1))+"/")
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.FlowSet) != 2 {
		t.Fatalf("flow_set: %v %s", err, rec.Body)
	}
	wantFlowSet := []string{"pk", "policybindingmodel_ptr_id", "name", "slug", "title", "designation", "background",
		"background_url", "policy_engine_mode", "compatibility_mode", "export_url", "layout", "denied_action"}
	if got := keys(t, body.FlowSet[0]); !slices.Equal(got, wantFlowSet) {
		t.Errorf("FlowSet keys:\n got %v\nwant %v", got, wantFlowSet)
	}

	// A flow (authentik 2026.8's FlowSerializer) and a binding, whose
	// stage_obj is authentik's StageSerializer: the common stage fields.
	rec = get(t, h, "/api/v3/flows/instances/custom-login/")
	if got, want := keys(t, rec.Body.Bytes()), []string{"pk", "policybindingmodel_ptr_id", "name", "slug", "title", "designation",
		"background", "background_url", "background_themed_urls", "stages", "policies", "cache_count", "policy_engine_mode",
		"compatibility_mode", "export_url", "layout", "denied_action", "authentication"}; !slices.Equal(got, want) {
		t.Errorf("Flow keys:\n got %v\nwant %v", got, want)
	}
	rec = get(t, h, "/api/v3/flows/bindings/"+string(uid(210))+"/")
	if got, want := keys(t, rec.Body.Bytes()), []string{"pk", "policybindingmodel_ptr_id", "target", "stage", "stage_obj",
		"evaluate_on_plan", "re_evaluate_policies", "order", "policy_engine_mode", "invalid_response_action"}; !slices.Equal(got, want) {
		t.Errorf("FlowStageBinding keys:\n got %v\nwant %v", got, want)
	}
	var fsb struct {
		StageObj json.RawMessage `json:"stage_obj"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &fsb); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, fsb.StageObj); !slices.Equal(got, common) {
		t.Errorf("stage_obj keys:\n got %v\nwant %v", got, common)
	}

	rec = get(t, h, "/api/v3/stages/password/")
	if got, want := keys(t, rec.Body.Bytes()), []string{"pagination", "results", "autocomplete"}; !slices.Equal(got, want) {
		t.Errorf("list keys: got %v, want %v", got, want)
	}
	var list struct {
		Pagination json.RawMessage `json:"pagination"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &list)
	if got, want := keys(t, list.Pagination), []string{"next", "previous", "count", "current", "total_pages", "start_index", "end_index"}; !slices.Equal(got, want) {
		t.Errorf("pagination keys: got %v, want %v", got, want)
	}
}

// TestPolicyBindingModelPtrID pins the derivation of
// policybindingmodel_ptr_id: a UUIDv5 of the flow's uid under a fixed
// namespace, which is itself the UUIDv5 of a stagehand URL.
func TestPolicyBindingModelPtrID(t *testing.T) {
	if want := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://stagehand.dev/policybindingmodel")); policyBindingModelNamespace != want {
		t.Fatalf("namespace %s, want %s", policyBindingModelNamespace, want)
	}
	flowUID := uid(101)
	got := PolicyBindingModelPtrID(flowUID)
	if got == string(flowUID) {
		t.Fatal("policybindingmodel_ptr_id equals the flow's uid")
	}
	if got != PolicyBindingModelPtrID(flowUID) {
		t.Fatal("not deterministic")
	}
	for _, u := range []string{string(flowUID), "6f1a1e0c-1f0e-4c5e-9d43-5b1f1c2a7e90", "", strings.Repeat("x", 100)} {
		if got, want := PolicyBindingModelPtrID(types.UID(u)), uuid.NewSHA1(policyBindingModelNamespace, []byte(u)).String(); got != want {
			t.Errorf("PolicyBindingModelPtrID(%q) = %s, want uuid.NewSHA1's %s", u, got, want)
		}
	}
	if u := uuid.MustParse(got); u.Version() != 5 {
		t.Fatalf("version %d, want 5", u.Version())
	}
}

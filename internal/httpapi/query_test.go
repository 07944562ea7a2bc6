package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestErrors checks each error body authentik answers, byte for byte,
// through the handler over an in-memory reader.
func TestErrors(t *testing.T) {
	h := memServer(t, fixtures()...)
	id := "/api/v3/stages/identification/"
	pw := "/api/v3/stages/password/"
	av := "/api/v3/stages/authenticator/validate/"
	unknown := "6f1a1e0c-1f0e-4c5e-9d43-5b1f1c2a7e90"
	cases := []struct {
		name, path string
		code       int
		body       string
	}{
		{"malformed pk", id + "not-a-uuid/", 404, `{"detail":"Not found."}`},
		{"malformed pk, password", pw + "1234/", 404, `{"detail":"Not found."}`},
		{"unknown pk", id + unknown + "/", 404, `{"detail":"No IdentificationStage matches the given query."}`},
		{"unknown pk, password", pw + unknown + "/", 404, `{"detail":"No PasswordStage matches the given query."}`},
		{"unknown pk, validate", av + unknown + "/", 404, `{"detail":"No AuthenticatorValidateStage matches the given query."}`},
		{"pk of another kind", id + string(uid(2)) + "/", 404, `{"detail":"No IdentificationStage matches the given query."}`},
		{"pk of a flow", pw + string(uid(101)) + "/", 404, `{"detail":"No PasswordStage matches the given query."}`},
		{"pk of a captcha stage", av + string(uid(10)) + "/", 404, `{"detail":"No AuthenticatorValidateStage matches the given query."}`},
		{"unknown route", "/api/v3/stages/consent/", 404, `{"detail":"Not found."}`},
		{"outside the API", "/", 404, `{"detail":"Not found."}`},
		{"no trailing slash", id + string(uid(1)), 404, `{"detail":"Not found."}`},
		{"list without trailing slash", "/api/v3/stages/password", 404, `{"detail":"Not found."}`},
		{"pk with a dot", id + "a.b/", 404, `{"detail":"Not found."}`},
		{"too deep", id + string(uid(1)) + "/extra/", 404, `{"detail":"Not found."}`},

		{"invalid boolean", id + "?show_matched_user=yes", 400, `{"show_matched_user":["Must be a valid boolean."]}`},
		{"invalid foreign key", id + "?password_stage=x", 400, `{"password_stage":["Select a valid choice. That choice is not one of the available choices."]}`},
		{"unknown foreign key", id + "?password_stage=" + unknown, 400, `{"password_stage":["Select a valid choice. That choice is not one of the available choices."]}`},
		{"foreign key of another kind", id + "?password_stage=" + string(uid(1)), 400, `{"password_stage":["Select a valid choice. That choice is not one of the available choices."]}`},
		{"invalid flow", id + "?enrollment_flow=" + string(uid(2)), 400, `{"enrollment_flow":["Select a valid choice. That choice is not one of the available choices."]}`},
		{"several invalid, in the filterset's order", id + "?show_source_labels=2&captcha_stage=x&name=a", 400,
			`{"captcha_stage":["Select a valid choice. That choice is not one of the available choices."],"show_source_labels":["Must be a valid boolean."]}`},
		{"invalid number", pw + "?failed_attempts_before_cancel=five", 400, `{"failed_attempts_before_cancel":["Enter a number."]}`},
		{"invalid choice", av + "?not_configured_action=ignore", 400, `{"not_configured_action":["Select a valid choice. ignore is not one of the available choices."]}`},
		{"invalid uuid in a list", av + "?configuration_stages=" + string(uid(2)) + "&configuration_stages=x", 400, `{"configuration_stages":["“x” is not a valid UUID."]}`},
		{"unknown uuid in a list", av + "?configuration_stages=" + unknown, 400, `{"configuration_stages":["Select a valid choice. ` + unknown + ` is not one of the available choices."]}`},
		{"filters apply to retrieve", pw + string(uid(2)) + "/?failed_attempts_before_cancel=abc", 400, `{"failed_attempts_before_cancel":["Enter a number."]}`},
		{"filter excludes the object", pw + string(uid(2)) + "/?failed_attempts_before_cancel=5", 404, `{"detail":"No PasswordStage matches the given query."}`},
		{"search excludes the object", pw + string(uid(2)) + "/?search=defaults", 404, `{"detail":"No PasswordStage matches the given query."}`},
		{"filter errors before malformed pk", id + "nope/?show_matched_user=maybe", 400, `{"show_matched_user":["Must be a valid boolean."]}`},
		{"page past the end", pw + "?page=3", 404, `{"detail":"Invalid page."}`},
		{"page zero", pw + "?page=0", 404, `{"detail":"Invalid page."}`},
		{"page not a number", pw + "?page=two", 404, `{"detail":"Invalid page."}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, h, tc.path)
			if rec.Code != tc.code || rec.Body.String() != tc.body {
				t.Errorf("GET %s:\n got %d %s\nwant %d %s", tc.path, rec.Code, rec.Body, tc.code, tc.body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := memServer(t, fixtures()...)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		req := httptest.NewRequest(m, "/api/v3/stages/password/"+string(uid(2))+"/", strings.NewReader(`{"name":"x"}`))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want := `{"detail":"Method \"` + m + `\" not allowed."}`
		if rec.Code != 405 || rec.Body.String() != want || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d %s (Allow %q), want 405 %s", m, rec.Code, rec.Body, rec.Header().Get("Allow"), want)
		}
	}
	req := httptest.NewRequest(http.MethodHead, "/api/v3/stages/password/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("HEAD: %d", rec.Code)
	}
}

func TestUnavailableUntilSynced(t *testing.T) {
	s := memServer(t, fixtures()...)
	s.synced.Store(false)
	rec := get(t, s, "/api/v3/stages/password/")
	if rec.Code != 503 || rec.Body.String() != `{"detail":"Service temporarily unavailable, try again later."}` {
		t.Errorf("before sync: %d %s", rec.Code, rec.Body)
	}
	if s.ReadyzCheck(nil) == nil {
		t.Error("ready before sync")
	}
	s.synced.Store(true)
	if rec := get(t, s, "/api/v3/stages/password/"); rec.Code != 200 {
		t.Errorf("after sync: %d %s", rec.Code, rec.Body)
	}
	if err := s.ReadyzCheck(nil); err != nil {
		t.Error(err)
	}
}

// names lists the names of a list response's results.
func names(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var body struct {
		Results []struct {
			Name string `json:"name"`
		} `json:"results"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, r := range body.Results {
		out = append(out, r.Name)
	}
	return out
}

func TestListQueries(t *testing.T) {
	h := memServer(t, fixtures()...)
	id := "/api/v3/stages/identification/"
	pw := "/api/v3/stages/password/"
	av := "/api/v3/stages/authenticator/validate/"
	cases := []struct {
		path string
		want []string
	}{
		{id, []string{"identification-dangling", "identification-defaults", "identification-full"}},
		{id + "?ordering=-name", []string{"identification-full", "identification-defaults", "identification-dangling"}},
		{id + "?ordering=pk", []string{"identification-full", "identification-defaults", "identification-dangling"}},
		{id + "?ordering=-pk", []string{"identification-dangling", "identification-defaults", "identification-full"}},
		{id + "?ordering=no_such_field", []string{"identification-dangling", "identification-defaults", "identification-full"}},
		{id + "?ordering=sources,-pretend_user_exists", []string{"identification-dangling", "identification-defaults", "identification-full"}},
		{id + "?ordering=pretend_user_exists,name", []string{"identification-full", "identification-dangling", "identification-defaults"}},
		// NULL sorts last ascending, first descending, as in PostgreSQL.
		{id + "?ordering=password_stage", []string{"identification-full", "identification-dangling", "identification-defaults"}},
		{id + "?ordering=-password_stage", []string{"identification-dangling", "identification-defaults", "identification-full"}},
		{id + "?search=DEFAULT", []string{"identification-defaults"}},
		{id + "?search=identification+full", []string{"identification-full"}},
		{id + "?search=ident,dang", []string{"identification-dangling"}},
		{id + "?search=%22nope%22", []string{}},
		{id + "?name=identification-full", []string{"identification-full"}},
		{id + "?name=identification", []string{}},
		{id + "?name=", []string{"identification-dangling", "identification-defaults", "identification-full"}},
		{id + "?show_matched_user=false", []string{"identification-full"}},
		{id + "?show_matched_user=TRUE", []string{"identification-dangling", "identification-defaults"}},
		{id + "?show_matched_user=1&case_insensitive_matching=0", []string{}},
		{id + "?password_stage=" + string(uid(2)), []string{"identification-full"}},
		{id + "?password_stage=" + strings.ToUpper(strings.ReplaceAll(string(uid(2)), "-", "")), []string{"identification-full"}},
		{id + "?captcha_stage=" + string(uid(10)), []string{"identification-full"}},
		{id + "?enrollment_flow=" + string(uid(103)) + "&recovery_flow=" + string(uid(104)) + "&passwordless_flow=" + string(uid(105)), []string{"identification-full"}},
		{id + "?show_source_labels=true", []string{"identification-full"}},
		{pw + "?failed_attempts_before_cancel=5", []string{"password-defaults"}},
		{pw + "?failed_attempts_before_cancel=3.0", []string{"password-full"}},
		{pw + "?failed_attempts_before_cancel=3.5", []string{}},
		{pw + "?failed_attempts_before_cancel=+3e0", []string{"password-full"}},
		{pw + "?allow_show_password=true", []string{"password-full"}},
		{pw + "?configure_flow=" + string(uid(106)), []string{"password-full"}},
		{pw + "?ordering=-failed_attempts_before_cancel", []string{"password-defaults", "password-full"}},
		{pw + "?ordering=backends", []string{"password-defaults", "password-full"}},
		{av + "?not_configured_action=configure", []string{"validate-full"}},
		{av + "?not_configured_action=skip", []string{"validate-defaults"}},
		{av + "?configuration_stages=" + string(uid(4)), []string{"validate-full"}},
		{av + "?configuration_stages=" + string(uid(1)) + "&configuration_stages=" + string(uid(2)), []string{"validate-full"}},
		{av + "?configuration_stages=" + string(uid(1)), []string{}},
		{av + "?configuration_stages=", []string{"validate-defaults", "validate-full"}},
		{av + "?ordering=device_classes", []string{"validate-defaults", "validate-full"}},
		{av + "?ordering=-webauthn_user_verification", []string{"validate-full", "validate-defaults"}},
		// Unknown parameters are ignored, as in authentik.
		{av + "?colour=blue", []string{"validate-defaults", "validate-full"}},
	}
	for _, tc := range cases {
		if got := names(t, get(t, h, tc.path)); !slices.Equal(got, tc.want) {
			t.Errorf("GET %s: %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestPagination(t *testing.T) {
	cases := []struct {
		query string
		count int
		want  pagination
		lo    int
		hi    int
		ok    bool
	}{
		{"", 0, pagination{Count: 0, Current: 1, TotalPages: 1, StartIndex: 0, EndIndex: 0}, 0, 0, true},
		{"", 3, pagination{Count: 3, Current: 1, TotalPages: 1, StartIndex: 1, EndIndex: 3}, 0, 3, true},
		{"", 45, pagination{Next: 2, Count: 45, Current: 1, TotalPages: 3, StartIndex: 1, EndIndex: 20}, 0, 20, true},
		{"page=2", 45, pagination{Next: 3, Previous: 1, Count: 45, Current: 2, TotalPages: 3, StartIndex: 21, EndIndex: 40}, 20, 40, true},
		{"page=last", 45, pagination{Previous: 2, Count: 45, Current: 3, TotalPages: 3, StartIndex: 41, EndIndex: 45}, 40, 45, true},
		{"page=+2+", 45, pagination{Next: 3, Previous: 1, Count: 45, Current: 2, TotalPages: 3, StartIndex: 21, EndIndex: 40}, 20, 40, true},
		{"page=", 45, pagination{Next: 2, Count: 45, Current: 1, TotalPages: 3, StartIndex: 1, EndIndex: 20}, 0, 20, true},
		{"page=4", 45, pagination{}, 0, 0, false},
		{"page=2", 0, pagination{}, 0, 0, false},
		{"page=-1", 45, pagination{}, 0, 0, false},
		{"page=1.0", 45, pagination{}, 0, 0, false},
		{"page_size=10&page=5", 45, pagination{Previous: 4, Count: 45, Current: 5, TotalPages: 5, StartIndex: 41, EndIndex: 45}, 40, 45, true},
		{"page_size=1000", 250, pagination{Next: 2, Count: 250, Current: 1, TotalPages: 3, StartIndex: 1, EndIndex: 100}, 0, 100, true},
		{"page_size=99999999999999999999999", 250, pagination{Next: 2, Count: 250, Current: 1, TotalPages: 3, StartIndex: 1, EndIndex: 100}, 0, 100, true},
		{"page_size=0", 45, pagination{Next: 2, Count: 45, Current: 1, TotalPages: 3, StartIndex: 1, EndIndex: 20}, 0, 20, true},
		{"page_size=abc", 45, pagination{Next: 2, Count: 45, Current: 1, TotalPages: 3, StartIndex: 1, EndIndex: 20}, 0, 20, true},
		{"page_size=-5", 45, pagination{Next: 2, Count: 45, Current: 1, TotalPages: 3, StartIndex: 1, EndIndex: 20}, 0, 20, true},
	}
	for _, tc := range cases {
		v, _ := url.ParseQuery(tc.query)
		p, lo, hi, ok := page(v, tc.count)
		if ok != tc.ok || (ok && (p != tc.want || lo != tc.lo || hi != tc.hi)) {
			t.Errorf("page(%q, %d) = %+v [%d:%d] %v, want %+v [%d:%d] %v", tc.query, tc.count, p, lo, hi, ok, tc.want, tc.lo, tc.hi, tc.ok)
		}
	}
}

func TestParsePK(t *testing.T) {
	const canonical = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
	for _, in := range []string{
		canonical,
		"CB69481E-8FF7-4039-93EC-0A2729A154A8",
		"cb69481e8ff7403993ec0a2729a154a8",
		"{cb69481e-8ff7-4039-93ec-0a2729a154a8}",
		"urn:uuid:cb69481e-8ff7-4039-93ec-0a2729a154a8",
		"cb69-481e8ff7403993ec0a2729a154a8",
	} {
		if got, ok := parsePK(in); !ok || got != canonical {
			t.Errorf("parsePK(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "x", "cb69481e-8ff7-4039-93ec-0a2729a154a", "cb69481e-8ff7-4039-93ec-0a2729a154ag", "cb69481e 8ff7 4039 93ec 0a2729a154a8"} {
		if got, ok := parsePK(in); ok {
			t.Errorf("parsePK(%q) = %q, want an error", in, got)
		}
	}
}

func TestSearchTerms(t *testing.T) {
	cases := map[string][]string{
		"":                    nil,
		"  ":                  nil,
		"Foo":                 {"foo"},
		"foo bar":             {"foo", "bar"},
		"foo,bar, baz":        {"foo", "bar", "baz"},
		`"foo bar" baz`:       {"foo bar", "baz"},
		`'a b',c`:             {"a b", "c"},
		"a\x00b":              {"ab"},
		`"unterminated quote`: {`"unterminated`, "quote"},
	}
	for in, want := range cases {
		if got := searchTerms(in); !slices.Equal(got, want) {
			t.Errorf("searchTerms(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBearer checks how the Authorization header is read, as authentik's
// TokenAuthentication reads it, and that no token with whitespace in it is
// sent for review.
func TestBearer(t *testing.T) {
	cases := []struct{ header, token, msg string }{
		{"", "", msgNoCredentials},
		{"   ", "", msgNoCredentials},
		{"Bearer", "", msgNoCredentials},
		{"Bearer ", "", msgNoCredentials},
		{"abc", "", msgNoCredentials},
		{"Basic dXNlcjpwYXNz", "", msgUnsupportedType},
		{"Token abc", "", msgUnsupportedType},
		{"Bearer abc", "abc", ""},
		{"bearer abc", "abc", ""},
		{"BEARER abc ", "abc", ""},
		{" Bearer \t ", "", msgNoCredentials},
		{"Bearer\tabc", "", msgNoCredentials},
		// authentik's token is all that follows the first space: one
		// with whitespace in it is no key it issued. kube-apiserver reads
		// "Bearer  abc" as an empty token (system:anonymous) and
		// "Bearer abc def" as "abc", so none is reviewed.
		{"Bearer  abc", "", msgTokenInvalid},
		{"Bearer \tabc", "", msgTokenInvalid},
		{"Bearer abc def", "", msgTokenInvalid},
		{"Bearer abc\tdef", "", msgTokenInvalid},
		{"Bearer abc\u00a0def", "", msgTokenInvalid},
	}
	for _, tc := range cases {
		token, msg := bearer(tc.header)
		if token != tc.token || msg != tc.msg {
			t.Errorf("bearer(%q) = %q, %q; want %q, %q", tc.header, token, msg, tc.token, tc.msg)
		}
	}
}

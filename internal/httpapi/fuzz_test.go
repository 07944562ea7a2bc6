package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/stagehand-dev/stagehand/internal/httpapi/apitest"
)

// The fuzzers feed everything the API reads from a caller to the code that
// reads it: the path (route and pk), the query string (every filter, search,
// ordering, page and page_size, through a whole request), and the
// Authorization header. Their seed corpora are in testdata/fuzz; `make test`
// runs each for a few seconds (FUZZTIME), and
//
//	go test ./internal/httpapi -run '^$' -fuzz FuzzListQuery -fuzztime 5m
//
// runs one for longer.

// FuzzParsePK: any string is either refused or read as one canonical UUID,
// the same one Python's uuid.UUID(hex=...) would read, and reading the
// canonical form again gives it back.
func FuzzParsePK(f *testing.F) {
	for _, s := range []string{
		"00000000-0000-4000-8000-000000000007", "00000000000040008000000000000007",
		"{00000000-0000-4000-8000-000000000007}", "urn:uuid:00000000-0000-4000-8000-000000000007",
		"0-0-0-0-00000000000040008000000000000007", "ABCDEF00-0000-4000-8000-000000000007", "nope", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parsePK(s)
		if !ok {
			return
		}
		u, err := uuid.Parse(got)
		if err != nil || u.String() != got {
			t.Fatalf("parsePK(%q) = %q, not a canonical UUID", s, got)
		}
		if again, ok := parsePK(got); !ok || again != got {
			t.Fatalf("parsePK(%q) = %q, %v", got, again, ok)
		}
		// The hex digits are the input's, in order.
		hex := strings.Map(func(r rune) rune {
			if strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return r
			}
			return -1
		}, strings.NewReplacer("urn:", "", "uuid:", "").Replace(s))
		if !strings.EqualFold(hex, strings.ReplaceAll(got, "-", "")) {
			t.Fatalf("parsePK(%q) = %q: not the input's digits", s, got)
		}
	})
}

// FuzzSearchTerms: search splits into non-empty, lowercase terms without
// NUL, however odd the input.
func FuzzSearchTerms(f *testing.F) {
	for _, s := range []string{"default password", `"exact phrase" other`, "a,b,,c", "'unclosed", "\x00", "  ", "ÄÖÜ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, term := range searchTerms(s) {
			if term == "" || strings.ContainsRune(term, 0) || term != strings.ToLower(term) {
				t.Fatalf("searchTerms(%q) has the term %q", s, term)
			}
		}
	})
}

// FuzzPage: whatever page and page_size say, the bounds lie within the
// list, a page holds at most 100, and the pagination agrees with them.
func FuzzPage(f *testing.F) {
	for _, c := range []struct {
		page, size string
		count      int
	}{{"", "", 0}, {"1", "20", 45}, {"last", "7", 100}, {"3", "abc", 5}, {"-1", "0", 10}, {" 2 ", "99999999999999999999", 300}} {
		f.Add(c.page, c.size, c.count)
	}
	f.Fuzz(func(t *testing.T, pageParam, size string, count int) {
		if count < 0 || count > 1_000_000 {
			return
		}
		v := url.Values{}
		if pageParam != "" {
			v.Set("page", pageParam)
		}
		if size != "" {
			v.Set("page_size", size)
		}
		p, lo, hi, ok := page(v, count)
		if !ok {
			return
		}
		if lo < 0 || hi < lo || hi > count || hi-lo > maxPageSize {
			t.Fatalf("page(%q, %q, %d): [%d, %d)", pageParam, size, count, lo, hi)
		}
		if p.Count != count || p.Current < 1 || p.Current > p.TotalPages || (count > 0 && p.StartIndex != lo+1) || p.EndIndex != hi {
			t.Fatalf("page(%q, %q, %d): %+v for [%d, %d)", pageParam, size, count, p, lo, hi)
		}
	})
}

// FuzzBearer: a header gives a token or authentik's refusal, never both,
// never neither, and never a token with whitespace in it.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{"", "Bearer abc", "bearer abc", "Token abc", "Bearer", "Bearer  two  spaces", "\tBearer x\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		token, msg := bearer(h)
		if (token == "") == (msg == "") {
			t.Fatalf("bearer(%q) = %q, %q: want a token or a refusal", h, token, msg)
		}
		if msg != "" && msg != msgNoCredentials && msg != msgUnsupportedType && msg != msgTokenInvalid {
			t.Fatalf("bearer(%q): %q is not authentik's", h, msg)
		}
		if strings.IndexFunc(token, unicode.IsSpace) >= 0 {
			t.Fatalf("bearer(%q) = %q: a token with whitespace would be reviewed", h, token)
		}
	})
}

// fuzzServer is one in-memory server over the fixtures, for the request
// fuzzers (building it per input would be most of their time).
var fuzzServer = sync.OnceValue(func() *Server {
	r, err := apitest.Reader(fixtures()...)
	if err != nil {
		panic(err)
	}
	s, err := New(Options{Addr: "127.0.0.1:0", Reader: r, Auth: AuthNone})
	if err != nil {
		panic(err)
	}
	return s
})

// FuzzRequest: any path and query string, on any endpoint, gets an answer
// authentik could give (200, 400, 404, or 409 for an export), as JSON (or
// YAML, for an export), never a panic or a 500.
func FuzzRequest(f *testing.F) {
	for _, s := range []struct{ path, query string }{
		{"/api/v3/stages/identification/", "ordering=-name,pk&page_size=1&page=2"},
		{"/api/v3/stages/password/", "failed_attempts_before_cancel=5.0e0&search=default"},
		{"/api/v3/stages/authenticator/validate/", "configuration_stages=00000000-0000-4000-8000-000000000001&configuration_stages=x"},
		{"/api/v3/flows/instances/", "designation=recovery&ordering=slug"},
		{"/api/v3/flows/bindings/", "order=1e2&evaluate_on_plan=TRUE"},
		{"/api/v3/stages/user_login/", "network_binding=no_binding"},
		{"/api/v3/stages/identification/00000000-0000-4000-8000-000000000001/", "password_stage=nope"},
		{"/api/v3/flows/instances/recover/export/", ""},
		{"/api/v3/stages/captcha/", "page=last&page_size=-3"},
		{"/api/v3/../stages/", "%zz"},
	} {
		f.Add(s.path, s.query)
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") || !utf8.ValidString(path) || len(path)+len(query) > 8192 {
			return
		}
		u := &url.URL{Path: path, RawQuery: query}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = u
		req.RequestURI = u.RequestURI()
		rec := httptest.NewRecorder()
		fuzzServer().ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404, 409:
		default:
			t.Fatalf("GET %s: %d %s", u, rec.Code, rec.Body)
		}
		if rec.Header().Get("Content-Type") == "application/yaml" {
			return
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("GET %s: %d, not JSON: %s", u, rec.Code, rec.Body)
		}
	})
}

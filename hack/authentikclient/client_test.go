package authentikclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	api "goauthentik.io/api/v3"

	"github.com/stagehand-dev/stagehand/internal/httpapi"
	"github.com/stagehand-dev/stagehand/internal/httpapi/apitest"
)

// endpoint reads one of stagehand's endpoints with authentik's client: list
// lists a page, returning each result's lookup key (its pk, or a flow's
// slug), and retrieve reads one object by that key. Both return the model
// the client decoded.
type endpoint struct {
	list     func(ctx context.Context, c *api.APIClient) (any, []string, error)
	retrieve func(ctx context.Context, c *api.APIClient, key string) (any, error)
}

// listed adapts a client's list call to endpoint.list.
func listed[L any, R any](execute func() (*L, *http.Response, error), results func(*L) []R, key func(*R) string) (any, []string, error) {
	l, resp, err := execute()
	closeBody(resp)
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	for _, r := range results(l) {
		keys = append(keys, key(&r))
	}
	return l, keys, nil
}

// retrieved adapts a client's retrieve call to endpoint.retrieve.
func retrieved[R any](r *R, resp *http.Response, err error) (any, error) {
	closeBody(resp)
	return r, err
}

// closeBody closes a response's body (the client has read it already).
func closeBody(resp *http.Response) {
	if resp != nil {
		_ = resp.Body.Close()
	}
}

// endpoints are the client's calls for each kind stagehand serves.
var endpoints = map[string]endpoint{
	"IdentificationStage": {
		list: func(ctx context.Context, c *api.APIClient) (any, []string, error) {
			return listed(c.StagesAPI.StagesIdentificationList(ctx).PageSize(100).Execute,
				func(l *api.PaginatedIdentificationStageList) []api.IdentificationStage { return l.Results },
				func(r *api.IdentificationStage) string { return r.Pk })
		},
		retrieve: func(ctx context.Context, c *api.APIClient, key string) (any, error) {
			return retrieved(c.StagesAPI.StagesIdentificationRetrieve(ctx, key).Execute())
		},
	},
	"PasswordStage": {
		list: func(ctx context.Context, c *api.APIClient) (any, []string, error) {
			return listed(c.StagesAPI.StagesPasswordList(ctx).PageSize(100).Execute,
				func(l *api.PaginatedPasswordStageList) []api.PasswordStage { return l.Results },
				func(r *api.PasswordStage) string { return r.Pk })
		},
		retrieve: func(ctx context.Context, c *api.APIClient, key string) (any, error) {
			return retrieved(c.StagesAPI.StagesPasswordRetrieve(ctx, key).Execute())
		},
	},
	"AuthenticatorValidateStage": {
		list: func(ctx context.Context, c *api.APIClient) (any, []string, error) {
			return listed(c.StagesAPI.StagesAuthenticatorValidateList(ctx).PageSize(100).Execute,
				func(l *api.PaginatedAuthenticatorValidateStageList) []api.AuthenticatorValidateStage {
					return l.Results
				},
				func(r *api.AuthenticatorValidateStage) string { return r.Pk })
		},
		retrieve: func(ctx context.Context, c *api.APIClient, key string) (any, error) {
			return retrieved(c.StagesAPI.StagesAuthenticatorValidateRetrieve(ctx, key).Execute())
		},
	},
	"CaptchaStage": {
		list: func(ctx context.Context, c *api.APIClient) (any, []string, error) {
			return listed(c.StagesAPI.StagesCaptchaList(ctx).PageSize(100).Execute,
				func(l *api.PaginatedCaptchaStageList) []api.CaptchaStage { return l.Results },
				func(r *api.CaptchaStage) string { return r.Pk })
		},
		retrieve: func(ctx context.Context, c *api.APIClient, key string) (any, error) {
			return retrieved(c.StagesAPI.StagesCaptchaRetrieve(ctx, key).Execute())
		},
	},
	"UserLoginStage": {
		list: func(ctx context.Context, c *api.APIClient) (any, []string, error) {
			return listed(c.StagesAPI.StagesUserLoginList(ctx).PageSize(100).Execute,
				func(l *api.PaginatedUserLoginStageList) []api.UserLoginStage { return l.Results },
				func(r *api.UserLoginStage) string { return r.Pk })
		},
		retrieve: func(ctx context.Context, c *api.APIClient, key string) (any, error) {
			return retrieved(c.StagesAPI.StagesUserLoginRetrieve(ctx, key).Execute())
		},
	},
	"Flow": {
		list: func(ctx context.Context, c *api.APIClient) (any, []string, error) {
			return listed(c.FlowsAPI.FlowsInstancesList(ctx).PageSize(100).Execute,
				func(l *api.PaginatedFlowList) []api.Flow { return l.Results },
				func(r *api.Flow) string { return r.Slug })
		},
		retrieve: func(ctx context.Context, c *api.APIClient, key string) (any, error) {
			return retrieved(c.FlowsAPI.FlowsInstancesRetrieve(ctx, key).Execute())
		},
	},
	"FlowStageBinding": {
		list: func(ctx context.Context, c *api.APIClient) (any, []string, error) {
			return listed(c.FlowsAPI.FlowsBindingsList(ctx).PageSize(100).Execute,
				func(l *api.PaginatedFlowStageBindingList) []api.FlowStageBinding { return l.Results },
				func(r *api.FlowStageBinding) string { return r.Pk })
		},
		retrieve: func(ctx context.Context, c *api.APIClient, key string) (any, error) {
			return retrieved(c.FlowsAPI.FlowsBindingsRetrieve(ctx, key).Execute())
		},
	},
}

// tolerated are the properties stagehand sends that authentik 2026.8's
// client does not know (it keeps them in the model's AdditionalProperties):
// FlowSet's background, authentik 2025.12's name for background_url, sent
// for 2025.12's clients.
var tolerated = []string{"FlowSet.background"}

// server serves stagehand's API over the apitest world, without
// authentication, and returns a client of it.
func server(t *testing.T) (*httptest.Server, *api.APIClient) {
	t.Helper()
	reader, err := apitest.Reader(apitest.Objects()...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := httpapi.New(httpapi.Options{Addr: "-", Reader: reader, Auth: httpapi.AuthNone, Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := api.NewConfiguration()
	cfg.Servers = api.ServerConfigurations{{URL: srv.URL + "/api/v3"}}
	cfg.HTTPClient = srv.Client()
	return srv, api.NewAPIClient(cfg)
}

// TestClientReadsEveryEndpoint lists every endpoint stagehand serves with
// authentik's client and retrieves every object listed: the client must
// decode each body (its models refuse a body without a required property,
// and an enum value they do not know), keep every value stagehand sent
// (the model, written back, is the body), and know every property but
// those tolerated.
func TestClientReadsEveryEndpoint(t *testing.T) {
	srv, c := server(t)
	ctx := context.Background()
	unknown := map[string]bool{}
	for _, r := range httpapi.Routes() {
		e, ok := endpoints[r.Kind]
		if !ok {
			t.Errorf("stagehand serves %s (%s), which this test does not read with authentik's client", r.Kind, r.List)
			continue
		}
		t.Run(r.Kind, func(t *testing.T) {
			model, keys, err := e.list(ctx, c)
			if err != nil {
				t.Fatalf("authentik's client cannot read GET %s: %v", r.List, err)
			}
			if len(keys) < 2 {
				t.Fatalf("GET %s: %d results, want the world's objects of the kind", r.List, len(keys))
			}
			check(t, srv, r.List+"?page_size=100", model, unknown)
			for _, key := range keys {
				model, err := e.retrieve(ctx, c, key)
				if err != nil {
					t.Fatalf("authentik's client cannot read GET %s%s/: %v", r.List, key, err)
				}
				check(t, srv, r.List+key+"/", model, unknown)
			}
		})
	}
	var got []string
	for k := range unknown {
		got = append(got, k)
	}
	sort.Strings(got)
	if !slices.Equal(got, tolerated) {
		t.Errorf("properties authentik's client does not know:\n got %q\nwant %q", got, tolerated)
	}
}

// check compares the model the client decoded, written back as JSON, with
// the body stagehand serves at path, and collects the properties the
// client did not know.
func check(t *testing.T, srv *httptest.Server, path string, model any, unknown map[string]bool) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	written, err := json.Marshal(model)
	if err != nil {
		t.Fatalf("writing back the client's model of %s: %v", path, err)
	}
	var want, got any
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(written, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GET %s: authentik's client read\n%s\nfrom\n%s", path, written, body)
	}
	additional(reflect.ValueOf(model), unknown)
}

// additional collects, from a decoded model, the properties in each
// struct's AdditionalProperties: those the client's model does not declare.
func additional(v reflect.Value, out map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			additional(v.Elem(), out)
		}
	case reflect.Slice:
		for i := range v.Len() {
			additional(v.Index(i), out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Name == "AdditionalProperties" {
				for _, k := range v.Field(i).MapKeys() {
					out[v.Type().Name()+"."+k.String()] = true
				}
				continue
			}
			additional(v.Field(i), out)
		}
	}
}

// TestClientReadsErrors: authentik's client reads stagehand's 400 and 404
// bodies as it reads authentik's, into its ValidationError and its error.
func TestClientReadsErrors(t *testing.T) {
	_, c := server(t)
	ctx := context.Background()
	_, resp, err := c.FlowsAPI.FlowsInstancesList(ctx).Designation("login").Execute()
	closeBody(resp)
	var oe *api.GenericOpenAPIError
	if !errors.As(err, &oe) {
		t.Fatalf("an invalid filter: %v, want the client's GenericOpenAPIError", err)
	}
	ve, ok := oe.Model().(api.ValidationError)
	if !ok || fmt.Sprint(ve.AdditionalProperties["designation"]) != "[Select a valid choice. login is not one of the available choices.]" {
		t.Errorf("400: the client read %#v from %s", oe.Model(), oe.Body())
	}
	_, resp, err = c.FlowsAPI.FlowsInstancesRetrieve(ctx, "no-such-flow").Execute()
	closeBody(resp)
	if !errors.As(err, &oe) || resp.StatusCode != 404 || !strings.Contains(string(oe.Body()), "No Flow matches the given query.") {
		t.Errorf("404: %v", err)
	}
}

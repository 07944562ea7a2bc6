package httpapi

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// Every endpoint the API serves is a kindEndpoint: one stagehand kind's
// retrieve and list, under /api/v3/<route>/. Adding a kind to the API is
// three things, all in this package:
//
//  1. its body, a struct whose fields are authentik's serializer's, in its
//     order (render.go, render_flows.go);
//  2. its render function, which turns an object into that body reading
//     only the cache (a resolver method);
//  3. one registration: a function below returning its kindEndpoint (the
//     route, the lookup, the viewset's filters, search fields, ordering
//     fields and default ordering, as authentik's viewset has them), listed
//     in endpoints().
//
// Authentication, authorisation (a SubjectAccessReview for `get` on the
// kind's resource, which newKindInfo takes from flowsv1alpha1.Kinds),
// pagination, search, ordering, filtering and every error body then come
// with it, from handler.go and query.go.

// lookup is how a retrieve's path names its object.
type lookup int

const (
	// byUID: the path's last segment is a UUID, the object's metadata.uid
	// (authentik's pk: stage_uuid, fsb_uuid).
	byUID lookup = iota
	// bySlug: the path's last segment is a flow's slug (authentik's
	// FlowViewSet has lookup_field = "slug").
	bySlug
)

// kindInfo is what the API says about a kind: its route and lookup, and the
// Kubernetes resource a caller needs `get` on to read it.
type kindInfo struct {
	// kind is the stagehand kind, which is authentik's model name: "Flow",
	// "PasswordStage".
	kind string
	// route is the kind's path under /api/v3/: "stages/password",
	// "flows/instances".
	route string
	// lookup is how a retrieve names its object, and lookupParam the
	// path parameter's name in authentik's OpenAPI document ("stage_uuid",
	// "slug", "fsb_uuid").
	lookup      lookup
	lookupParam string
	// resource is the kind's plural resource name, for SubjectAccessReviews.
	resource string

	// listRoute and detailRoute are the route templates, the metrics'
	// route label.
	listRoute, detailRoute string
}

// notFound is the body authentik answers for a well-formed lookup that
// matches nothing (Django's get_object_or_404).
func (k *kindInfo) notFound() string { return "No " + k.kind + " matches the given query." }

// newKindInfo is a kind's kindInfo: its resource from flowsv1alpha1.Kinds,
// its route and lookup as authentik's router has them.
func newKindInfo(kind, route string, lk lookup, lookupParam string) kindInfo {
	k, ok := flowsv1alpha1.LookupKind(kind)
	if !ok {
		panic("httpapi: " + kind + " is not in flowsv1alpha1.Kinds")
	}
	return kindInfo{
		kind:        kind,
		route:       route,
		lookup:      lk,
		lookupParam: lookupParam,
		resource:    k.Resource,
		listRoute:   apiPrefix + route + "/",
		detailRoute: apiPrefix + route + "/{" + lookupParam + "}/",
	}
}

// stageInfo is authentik's names for a stage kind: the fields every stage
// body starts with (StageSerializer's component and MetaNameSerializer's
// verbose names and model name).
type stageInfo struct {
	kind              flowsv1alpha1.StageKind
	component         string
	verboseName       string
	verboseNamePlural string
	metaModelName     string
}

// stageInfos holds the names of every stage kind, for the stage endpoints
// and for a binding's stage_obj, which may be a stage of any kind.
var stageInfos = func() map[flowsv1alpha1.StageKind]*stageInfo {
	out := map[flowsv1alpha1.StageKind]*stageInfo{}
	add := func(kind flowsv1alpha1.StageKind, component, verboseName, verboseNamePlural string) {
		k, ok := flowsv1alpha1.LookupKind(string(kind))
		if !ok || !k.Stage {
			panic("httpapi: " + string(kind) + " is not a stage kind of flowsv1alpha1.Kinds")
		}
		out[kind] = &stageInfo{kind: kind, component: component, verboseName: verboseName, verboseNamePlural: verboseNamePlural, metaModelName: k.Model}
	}
	add(flowsv1alpha1.StageKindIdentification, "ak-stage-identification-form", "Identification Stage", "Identification Stages")
	add(flowsv1alpha1.StageKindPassword, "ak-stage-password-form", "Password Stage", "Password Stages")
	add(flowsv1alpha1.StageKindAuthenticatorValidate, "ak-stage-authenticator-validate-form", "Authenticator Validation Stage", "Authenticator Validation Stages")
	add(flowsv1alpha1.StageKindCaptcha, "ak-stage-captcha-form", "Captcha Stage", "Captcha Stages")
	add(flowsv1alpha1.StageKindUserLogin, "ak-stage-user-login-form", "User Login Stage", "User Login Stages")
	for _, k := range flowsv1alpha1.StageKinds() {
		if out[k] == nil {
			panic("httpapi: the stage kind " + string(k) + " has no names in stageInfos")
		}
	}
	return out
}()

// kindEndpoint serves one kind's retrieve and list endpoints. O is the
// stored kind (*flowsv1alpha1.PasswordStage), R its JSON body
// (PasswordStage).
type kindEndpoint[O flowsv1alpha1.Object, R any] struct {
	info kindInfo
	// render renders an object, without the fields finish adds: a resolver
	// method, (*resolver).password. A nil body
	// (and no error) means authentik would have no such object: a binding
	// whose flow or stage is gone, which authentik's cascade would have
	// deleted. It is left out of lists and is a 404 to a retrieve.
	render func(rv *resolver, ctx context.Context, obj O) (*R, error)
	// finish, when set, adds the fields no filter or ordering reads (a
	// stage's flow_set, a flow's stages): only for the objects a response
	// returns, after filtering and paging.
	finish func(ctx context.Context, rv *resolver, obj O, r *R) error
	// filters are the viewset's filterset fields, in authentik's order
	// (which is the order of the fields in a 400 body).
	filters []filterDef[R]
	// search are the viewset's search_fields: a search term must occur in
	// one of them.
	search []func(*R) string
	// orderings are the fields `ordering` accepts, by name.
	orderings map[string]func(a, b *R) int
	// defaultOrder is the viewset's ordering, applied when `ordering`
	// names no field it accepts.
	defaultOrder []string

	// plain is the query of a request without a query string (parseQuery).
	plainOnce sync.Once
	plain     *query[R]
}

// endpoint is a kindEndpoint of any kind.
type endpoint interface {
	kindInfo() *kindInfo
	retrieve(ctx context.Context, rq *request, key string) response
	// export answers the export action (export.go): flows only.
	export(ctx context.Context, rq *request, key string) response
	list(ctx context.Context, rq *request) response
	// filterParams describes the endpoint's filters, in their order.
	filterParams() []filterParam
}

func (e *kindEndpoint[O, R]) kindInfo() *kindInfo { return &e.info }

var _ endpoint = (*kindEndpoint[*flowsv1alpha1.PasswordStage, PasswordStage])(nil)

// endpoints returns every endpoint the API serves.
//
// /api/v3/flows/instances/{slug}/export/ is the flows endpoint's export
// action (export.go), which route() finds beside its retrieve.
func endpoints() []endpoint {
	return []endpoint{
		identificationEndpoint(),
		passwordEndpoint(),
		authenticatorValidateEndpoint(),
		captchaEndpoint(),
		userLoginEndpoint(),
		flowEndpoint(),
		bindingEndpoint(),
	}
}

// Route is one kind's pair of endpoints, for documentation and for tests
// that must reach every endpoint the API serves.
type Route struct {
	// Kind is the stagehand kind served.
	Kind string
	// List is the list endpoint's path: "/api/v3/stages/password/".
	List string
	// Detail is the retrieve endpoint's path template, with the lookup as
	// authentik's OpenAPI document names it: "/api/v3/stages/password/{stage_uuid}/".
	Detail string
	// BySlug is true when a retrieve names its object by slug (flows), false
	// when by uid.
	BySlug bool
}

// Routes lists the endpoints the API serves, in the order route() tries
// them.
func Routes() []Route {
	var out []Route
	for _, e := range endpoints() {
		k := e.kindInfo()
		out = append(out, Route{Kind: k.kind, List: k.listRoute, Detail: k.detailRoute, BySlug: k.lookup == bySlug})
	}
	return out
}

// stageEndpoint is a stage kind's endpoint: looked up by stage_uuid, searched
// by name, ordered by name unless asked otherwise, with the stage's flow_set
// added last. Besides own, it accepts ordering by pk and name, as every
// stage viewset does.
func stageEndpoint[O flowsv1alpha1.Object, R any](
	kind flowsv1alpha1.StageKind, route string,
	render func(rv *resolver, ctx context.Context, obj O) (*R, error),
	meta func(*R) *stageMeta,
	filters []filterDef[R],
	own map[string]func(a, b *R) int,
) *kindEndpoint[O, R] {
	orderings := map[string]func(a, b *R) int{
		"pk":   byString(func(r *R) string { return meta(r).PK }),
		"name": byString(func(r *R) string { return meta(r).Name }),
	}
	for f, c := range own {
		orderings[f] = c
	}
	return &kindEndpoint[O, R]{
		info:   newKindInfo(string(kind), route, byUID, "stage_uuid"),
		render: render,
		finish: func(ctx context.Context, rv *resolver, obj O, r *R) error {
			p, err := rv.stagePlan(ctx, kind, obj)
			if err != nil {
				return err
			}
			meta(r).setFlowSet(p)
			return nil
		},
		filters:      filters,
		search:       []func(*R) string{func(r *R) string { return meta(r).Name }},
		orderings:    orderings,
		defaultOrder: []string{"name"},
	}
}

func identificationEndpoint() endpoint {
	type R = IdentificationStage
	return stageEndpoint(flowsv1alpha1.StageKindIdentification, "stages/identification",
		(*resolver).identification,
		func(r *R) *stageMeta { return &r.stageMeta },
		[]filterDef[R]{
			nameFilter(func(r *R) string { return r.Name }),
			refFilter("password_stage", targetPassword, func(r *R) *string { return r.PasswordStage }),
			refFilter("captcha_stage", targetCaptcha, func(r *R) *string { return r.CaptchaStage }),
			boolFilter("case_insensitive_matching", func(r *R) bool { return r.CaseInsensitiveMatching }),
			boolFilter("show_matched_user", func(r *R) bool { return r.ShowMatchedUser }),
			refFilter("enrollment_flow", targetFlow, func(r *R) *string { return r.EnrollmentFlow }),
			refFilter("recovery_flow", targetFlow, func(r *R) *string { return r.RecoveryFlow }),
			refFilter("passwordless_flow", targetFlow, func(r *R) *string { return r.PasswordlessFlow }),
			boolFilter("show_source_labels", func(r *R) bool { return r.ShowSourceLabels }),
			refFilter("webauthn_stage", targetAuthenticatorValidate, func(r *R) *string { return r.WebAuthnStage }),
		},
		map[string]func(a, b *R) int{
			"user_fields":               byList(func(r *R) []flowsv1alpha1.UserField { return r.UserFields }),
			"password_stage":            byRef(func(r *R) *string { return r.PasswordStage }),
			"captcha_stage":             byRef(func(r *R) *string { return r.CaptchaStage }),
			"case_insensitive_matching": byBool(func(r *R) bool { return r.CaseInsensitiveMatching }),
			"show_matched_user":         byBool(func(r *R) bool { return r.ShowMatchedUser }),
			"enrollment_flow":           byRef(func(r *R) *string { return r.EnrollmentFlow }),
			"recovery_flow":             byRef(func(r *R) *string { return r.RecoveryFlow }),
			"passwordless_flow":         byRef(func(r *R) *string { return r.PasswordlessFlow }),
			"show_source_labels":        byBool(func(r *R) bool { return r.ShowSourceLabels }),
			"pretend_user_exists":       byBool(func(r *R) bool { return r.PretendUserExists }),
			"enable_remember_me":        byBool(func(r *R) bool { return r.EnableRememberMe }),
			"webauthn_stage":            byRef(func(r *R) *string { return r.WebAuthnStage }),
		})
}

func passwordEndpoint() endpoint {
	type R = PasswordStage
	return stageEndpoint(flowsv1alpha1.StageKindPassword, "stages/password",
		(*resolver).password,
		func(r *R) *stageMeta { return &r.stageMeta },
		[]filterDef[R]{
			nameFilter(func(r *R) string { return r.Name }),
			refFilter("configure_flow", targetFlow, func(r *R) *string { return r.ConfigureFlow }),
			numberFilter("failed_attempts_before_cancel", func(r *R) int32 { return r.FailedAttemptsBeforeCancel }),
			boolFilter("allow_show_password", func(r *R) bool { return r.AllowShowPassword }),
		},
		map[string]func(a, b *R) int{
			"backends":                      byList(func(r *R) []flowsv1alpha1.PasswordBackend { return r.Backends }),
			"configure_flow":                byRef(func(r *R) *string { return r.ConfigureFlow }),
			"failed_attempts_before_cancel": by(func(r *R) int32 { return r.FailedAttemptsBeforeCancel }),
			"allow_show_password":           byBool(func(r *R) bool { return r.AllowShowPassword }),
		})
}

func authenticatorValidateEndpoint() endpoint {
	type R = AuthenticatorValidateStage
	return stageEndpoint(flowsv1alpha1.StageKindAuthenticatorValidate, "stages/authenticator/validate",
		(*resolver).authenticatorValidate,
		func(r *R) *stageMeta { return &r.stageMeta },
		[]filterDef[R]{
			nameFilter(func(r *R) string { return r.Name }),
			choiceFilter("not_configured_action",
				[]string{string(flowsv1alpha1.NotConfiguredActionSkip), string(flowsv1alpha1.NotConfiguredActionDeny), string(flowsv1alpha1.NotConfiguredActionConfigure)},
				func(r *R) string { return string(r.NotConfiguredAction) }),
			multiRefFilter("configuration_stages", targetAnyStage, func(r *R) []string { return r.ownConfigurationStages }),
		},
		map[string]func(a, b *R) int{
			"not_configured_action":        by(func(r *R) flowsv1alpha1.NotConfiguredAction { return r.NotConfiguredAction }),
			"device_classes":               byList(func(r *R) []flowsv1alpha1.DeviceClass { return r.DeviceClasses }),
			"last_auth_threshold":          by(func(r *R) string { return r.LastAuthThreshold }),
			"webauthn_user_verification":   by(func(r *R) flowsv1alpha1.UserVerification { return r.WebAuthnUserVerification }),
			"webauthn_hints":               byList(func(r *R) []flowsv1alpha1.WebAuthnHint { return r.WebAuthnHints }),
			"email_otp_throttling_factor":  by(func(r *R) pyFloat { return r.EmailOTPThrottlingFactor }),
			"sms_otp_throttling_factor":    by(func(r *R) pyFloat { return r.SMSOTPThrottlingFactor }),
			"totp_otp_throttling_factor":   by(func(r *R) pyFloat { return r.TOTPOTPThrottlingFactor }),
			"static_otp_throttling_factor": by(func(r *R) pyFloat { return r.StaticOTPThrottlingFactor }),
		})
}

// captchaEndpoint is authentik's CaptchaStageViewSet: filterset_fields
// ["name", "public_key"], search_fields ["name"], ordering ["name"].
func captchaEndpoint() endpoint {
	type R = CaptchaStage
	return stageEndpoint(flowsv1alpha1.StageKindCaptcha, "stages/captcha",
		(*resolver).captcha,
		func(r *R) *stageMeta { return &r.stageMeta },
		[]filterDef[R]{
			nameFilter(func(r *R) string { return r.Name }),
			charFilter("public_key", func(r *R) string { return r.PublicKey }),
		},
		map[string]func(a, b *R) int{
			"public_key":             by(func(r *R) string { return r.PublicKey }),
			"js_url":                 by(func(r *R) string { return r.JSURL }),
			"api_url":                by(func(r *R) string { return r.APIURL }),
			"request_content_type":   by(func(r *R) flowsv1alpha1.RequestContentType { return r.RequestContentType }),
			"interactive":            byBool(func(r *R) bool { return r.Interactive }),
			"score_min_threshold":    by(func(r *R) pyFloat { return r.ScoreMinThreshold }),
			"score_max_threshold":    by(func(r *R) pyFloat { return r.ScoreMaxThreshold }),
			"error_on_invalid_score": byBool(func(r *R) bool { return r.ErrorOnInvalidScore }),
		})
}

// userLoginEndpoint is authentik's UserLoginStageViewSet: filterset_fields
// "__all__" (the model's fields in their order: the stage's stage_uuid and
// name, then the login stage's own), search_fields ["name"], ordering
// ["name"].
func userLoginEndpoint() endpoint {
	type R = UserLoginStage
	return stageEndpoint(flowsv1alpha1.StageKindUserLogin, "stages/user_login",
		(*resolver).userLogin,
		func(r *R) *stageMeta { return &r.stageMeta },
		[]filterDef[R]{
			uuidFilter("stage_uuid", func(r *R) string { return r.PK }),
			nameFilter(func(r *R) string { return r.Name }),
			charFilter("session_duration", func(r *R) string { return r.SessionDuration }),
			boolFilter("terminate_other_sessions", func(r *R) bool { return r.TerminateOtherSessions }),
			charFilter("remember_me_offset", func(r *R) string { return r.RememberMeOffset }),
			choiceFilter("network_binding", networkBindings, func(r *R) string { return string(r.NetworkBinding) }),
			choiceFilter("geoip_binding", geoIPBindings, func(r *R) string { return string(r.GeoIPBinding) }),
			charFilter("remember_device", func(r *R) string { return r.RememberDevice }),
		},
		map[string]func(a, b *R) int{
			"session_duration":         by(func(r *R) string { return r.SessionDuration }),
			"terminate_other_sessions": byBool(func(r *R) bool { return r.TerminateOtherSessions }),
			"remember_me_offset":       by(func(r *R) string { return r.RememberMeOffset }),
			"network_binding":          by(func(r *R) flowsv1alpha1.NetworkBinding { return r.NetworkBinding }),
			"geoip_binding":            by(func(r *R) flowsv1alpha1.GeoIPBinding { return r.GeoIPBinding }),
			"remember_device":          by(func(r *R) string { return r.RememberDevice }),
		})
}

// flowEndpoint is authentik's FlowViewSet: lookup_field "slug",
// filterset_fields ["flow_uuid", "name", "slug", "designation",
// "denied_action"], search_fields ["name", "slug", "designation", "title",
// "denied_action"], ordering ["slug", "name"].
func flowEndpoint() endpoint {
	type R = Flow
	return &kindEndpoint[*flowsv1alpha1.Flow, R]{
		info:   newKindInfo(flowsv1alpha1.KindFlow, "flows/instances", bySlug, "slug"),
		render: (*resolver).flow,
		finish: func(ctx context.Context, rv *resolver, f *flowsv1alpha1.Flow, r *R) (err error) {
			r.Stages, err = rv.flowStages(ctx, f)
			return err
		},
		filters: []filterDef[R]{
			uuidFilter("flow_uuid", func(r *R) string { return r.PK }),
			nameFilter(func(r *R) string { return r.Name }),
			charFilter("slug", func(r *R) string { return r.Slug }),
			choiceFilter("designation", designations, func(r *R) string { return string(r.Designation) }),
			choiceFilter("denied_action", deniedActions, func(r *R) string { return string(r.DeniedAction) }),
		},
		search: []func(*R) string{
			func(r *R) string { return r.Name },
			func(r *R) string { return r.Slug },
			func(r *R) string { return string(r.Designation) },
			func(r *R) string { return r.Title },
			func(r *R) string { return string(r.DeniedAction) },
		},
		orderings: map[string]func(a, b *R) int{
			"pk":                        by(func(r *R) string { return r.PK }),
			"policybindingmodel_ptr_id": by(func(r *R) string { return r.PolicyBindingModelPtrID }),
			"name":                      by(func(r *R) string { return r.Name }),
			"slug":                      by(func(r *R) string { return r.Slug }),
			"title":                     by(func(r *R) string { return r.Title }),
			"designation":               by(func(r *R) flowsv1alpha1.FlowDesignation { return r.Designation }),
			"background":                by(func(r *R) string { return r.Background }),
			"policy_engine_mode":        by(func(r *R) flowsv1alpha1.PolicyEngineMode { return r.PolicyEngineMode }),
			"compatibility_mode":        byBool(func(r *R) bool { return r.CompatibilityMode }),
			"layout":                    by(func(r *R) flowsv1alpha1.FlowLayout { return r.Layout }),
			"denied_action":             by(func(r *R) flowsv1alpha1.DeniedAction { return r.DeniedAction }),
			"authentication":            by(func(r *R) flowsv1alpha1.FlowAuthentication { return r.Authentication }),
		},
		defaultOrder: []string{"slug", "name"},
	}
}

// bindingEndpoint is authentik's FlowStageBindingViewSet: filterset_fields
// "__all__" (the model's fields in their order: PolicyBindingModel's
// pbm_uuid, policies and policy_engine_mode, then the binding's own),
// search_fields ["stage__name"], ordering ["order"].
func bindingEndpoint() endpoint {
	type R = FlowStageBinding
	return &kindEndpoint[*flowsv1alpha1.FlowStageBinding, R]{
		info:   newKindInfo(flowsv1alpha1.KindFlowStageBinding, "flows/bindings", byUID, "fsb_uuid"),
		render: (*resolver).binding,
		finish: func(ctx context.Context, rv *resolver, _ *flowsv1alpha1.FlowStageBinding, r *R) error {
			return rv.finishStageObj(ctx, r)
		},
		filters: []filterDef[R]{
			uuidFilter("pbm_uuid", func(r *R) string { return r.PolicyBindingModelPtrID }),
			// stagehand models no policies: no value names one.
			multiRefFilter("policies", nil, func(*R) []string { return nil }),
			choiceFilter("policy_engine_mode", policyEngineModes, func(r *R) string { return string(r.PolicyEngineMode) }),
			uuidFilter("fsb_uuid", func(r *R) string { return r.PK }),
			refFilter("target", targetFlow, func(r *R) *string { return &r.Target }),
			refFilter("stage", targetAnyStage, func(r *R) *string { return &r.Stage }),
			boolFilter("evaluate_on_plan", func(r *R) bool { return r.EvaluateOnPlan }),
			boolFilter("re_evaluate_policies", func(r *R) bool { return r.ReEvaluatePolicies }),
			choiceFilter("invalid_response_action", invalidResponseActions, func(r *R) string { return string(r.InvalidResponseAction) }),
			numberFilter("order", func(r *R) int32 { return r.Order }),
		},
		search: []func(*R) string{func(r *R) string { return r.StageObj.Name }},
		orderings: map[string]func(a, b *R) int{
			"pk":                        by(func(r *R) string { return r.PK }),
			"policybindingmodel_ptr_id": by(func(r *R) string { return r.PolicyBindingModelPtrID }),
			"target":                    by(func(r *R) string { return r.Target }),
			"stage":                     by(func(r *R) string { return r.Stage }),
			"evaluate_on_plan":          byBool(func(r *R) bool { return r.EvaluateOnPlan }),
			"re_evaluate_policies":      byBool(func(r *R) bool { return r.ReEvaluatePolicies }),
			"order":                     by(func(r *R) int32 { return r.Order }),
			"policy_engine_mode":        by(func(r *R) flowsv1alpha1.PolicyEngineMode { return r.PolicyEngineMode }),
			"invalid_response_action":   by(func(r *R) flowsv1alpha1.InvalidResponseAction { return r.InvalidResponseAction }),
		},
		defaultOrder: []string{"order"},
	}
}

// The choices of the choice filters, in authentik's order.
var (
	designations = []string{
		string(flowsv1alpha1.FlowDesignationAuthentication), string(flowsv1alpha1.FlowDesignationAuthorization),
		string(flowsv1alpha1.FlowDesignationInvalidation), string(flowsv1alpha1.FlowDesignationEnrollment),
		string(flowsv1alpha1.FlowDesignationUnenrollment), string(flowsv1alpha1.FlowDesignationRecovery),
		string(flowsv1alpha1.FlowDesignationStageConfiguration),
	}
	deniedActions          = []string{"message_continue", "message", "continue"}
	policyEngineModes      = []string{string(flowsv1alpha1.PolicyEngineModeAll), string(flowsv1alpha1.PolicyEngineModeAny)}
	invalidResponseActions = []string{"retry", "restart", "restart_with_context"}
	networkBindings        = []string{"no_binding", "bind_asn", "bind_asn_network", "bind_asn_network_ip"}
	geoIPBindings          = []string{"no_binding", "bind_continent", "bind_continent_country", "bind_continent_country_city"}
)

// Comparators for `ordering`, each ascending as PostgreSQL sorts authentik's
// columns: false before true, NULL after every value (PostgreSQL's default,
// NULLS LAST ascending and so NULLS FIRST descending), arrays element by
// element, UUIDs as their canonical text (which sorts as their bytes).

func by[R any, T cmp.Ordered](get func(*R) T) func(a, b *R) int {
	return func(a, b *R) int { return cmp.Compare(get(a), get(b)) }
}

func byString[R any](get func(*R) string) func(a, b *R) int {
	return func(a, b *R) int { return strings.Compare(get(a), get(b)) }
}

func byBool[R any](get func(*R) bool) func(a, b *R) int {
	return func(a, b *R) int {
		x, y := get(a), get(b)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
}

func byRef[R any](get func(*R) *string) func(a, b *R) int {
	return func(a, b *R) int {
		x, y := get(a), get(b)
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			return 1
		case y == nil:
			return -1
		}
		return strings.Compare(*x, *y)
	}
}

func byList[R any, T ~string](get func(*R) []T) func(a, b *R) int {
	return func(a, b *R) int { return slices.Compare(get(a), get(b)) }
}

package httpapi

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// kindInfo is what the API says about a stage kind: authentik's names for it
// and the Kubernetes resource a caller needs `get` on to read it.
type kindInfo struct {
	kind flowsv1alpha1.StageKind
	// route is the kind's path under /api/v3/stages/.
	route string
	// resource is the kind's plural resource name, for SubjectAccessReviews.
	resource string

	// listRoute and detailRoute are the route templates, the metrics'
	// route label.
	listRoute, detailRoute string

	component         string
	verboseName       string
	verboseNamePlural string
	metaModelName     string
}

// notFound is the body authentik answers for a well-formed pk that matches
// nothing (Django's get_object_or_404).
func (k *kindInfo) notFound() string { return "No " + string(k.kind) + " matches the given query." }

// newKindInfo is a stage kind's kindInfo: its resource and model from
// flowsv1alpha1.Kinds, its route and authentik's names for it.
func newKindInfo(kind flowsv1alpha1.StageKind, route, component, verboseName, verboseNamePlural string) kindInfo {
	k, ok := flowsv1alpha1.LookupKind(string(kind))
	if !ok {
		panic("httpapi: " + string(kind) + " is not in flowsv1alpha1.Kinds")
	}
	return kindInfo{
		kind:              kind,
		route:             route,
		listRoute:         apiPrefix + route + "/",
		detailRoute:       apiPrefix + route + "/{stage_uuid}/",
		resource:          k.Resource,
		component:         component,
		verboseName:       verboseName,
		verboseNamePlural: verboseNamePlural,
		metaModelName:     k.Model,
	}
}

var (
	identificationKind = newKindInfo(flowsv1alpha1.StageKindIdentification, "identification",
		"ak-stage-identification-form", "Identification Stage", "Identification Stages")
	passwordKind = newKindInfo(flowsv1alpha1.StageKindPassword, "password",
		"ak-stage-password-form", "Password Stage", "Password Stages")
	authenticatorValidateKind = newKindInfo(flowsv1alpha1.StageKindAuthenticatorValidate, "authenticator/validate",
		"ak-stage-authenticator-validate-form", "Authenticator Validation Stage", "Authenticator Validation Stages")
)

// stageEndpoint serves one stage kind's retrieve and list endpoints. O is the
// stored kind (*flowsv1alpha1.PasswordStage), R its JSON body (PasswordStage).
type stageEndpoint[O client.Object, R any] struct {
	info *kindInfo
	// render renders an object without its flow_set.
	render func(ctx context.Context, rv *resolver, obj O) (*R, error)
	// meta returns the common part of a rendered body, to set its flow_set.
	meta func(*R) *stageMeta
	// filters are the viewset's filterset_fields, in authentik's order
	// (which is the order of the fields in a 400 body).
	filters []filterDef[R]
	// orderings are the fields `ordering` accepts, besides pk and name.
	orderings map[string]func(a, b *R) int
}

// endpoint is a stageEndpoint of any kind.
type endpoint interface {
	kindInfo() *kindInfo
	retrieve(ctx context.Context, rq *request, pk string) response
	list(ctx context.Context, rq *request) response
}

func (e *stageEndpoint[O, R]) kindInfo() *kindInfo { return e.info }

var _ endpoint = (*stageEndpoint[*flowsv1alpha1.PasswordStage, PasswordStage])(nil)

// endpoints returns the three stage endpoints.
func endpoints() []endpoint {
	return []endpoint{identificationEndpoint(), passwordEndpoint(), authenticatorValidateEndpoint()}
}

func identificationEndpoint() endpoint {
	type R = IdentificationStage
	return &stageEndpoint[*flowsv1alpha1.IdentificationStage, R]{
		info: &identificationKind,
		render: func(ctx context.Context, rv *resolver, o *flowsv1alpha1.IdentificationStage) (*R, error) {
			return rv.identification(ctx, o)
		},
		meta: func(r *R) *stageMeta { return &r.stageMeta },
		filters: []filterDef[R]{
			nameFilter(func(r *R) string { return r.Name }),
			refFilter("password_stage", targetPassword, func(r *R) *string { return r.PasswordStage }),
			refFilter("captcha_stage", targetCaptcha, func(r *R) *string { return r.CaptchaStage }),
			boolFilter("case_insensitive_matching", func(r *R) bool { return r.CaseInsensitiveMatching }),
			boolFilter("show_matched_user", func(r *R) bool { return r.ShowMatchedUser }),
			refFilter("enrollment_flow", targetFlow, func(r *R) *string { return r.EnrollmentFlow }),
			refFilter("recovery_flow", targetFlow, func(r *R) *string { return r.RecoveryFlow }),
			refFilter("passwordless_flow", targetFlow, func(r *R) *string { return r.PasswordlessFlow }),
			boolFilter("show_source_labels", func(r *R) bool { return r.ShowSourceLabels }),
		},
		orderings: map[string]func(a, b *R) int{
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
		},
	}
}

func passwordEndpoint() endpoint {
	type R = PasswordStage
	return &stageEndpoint[*flowsv1alpha1.PasswordStage, R]{
		info: &passwordKind,
		render: func(ctx context.Context, rv *resolver, o *flowsv1alpha1.PasswordStage) (*R, error) {
			return rv.password(ctx, o)
		},
		meta: func(r *R) *stageMeta { return &r.stageMeta },
		filters: []filterDef[R]{
			nameFilter(func(r *R) string { return r.Name }),
			refFilter("configure_flow", targetFlow, func(r *R) *string { return r.ConfigureFlow }),
			numberFilter("failed_attempts_before_cancel", func(r *R) int32 { return r.FailedAttemptsBeforeCancel }),
			boolFilter("allow_show_password", func(r *R) bool { return r.AllowShowPassword }),
		},
		orderings: map[string]func(a, b *R) int{
			"backends":                      byList(func(r *R) []flowsv1alpha1.PasswordBackend { return r.Backends }),
			"configure_flow":                byRef(func(r *R) *string { return r.ConfigureFlow }),
			"failed_attempts_before_cancel": func(a, b *R) int { return cmp.Compare(a.FailedAttemptsBeforeCancel, b.FailedAttemptsBeforeCancel) },
			"allow_show_password":           byBool(func(r *R) bool { return r.AllowShowPassword }),
		},
	}
}

func authenticatorValidateEndpoint() endpoint {
	type R = AuthenticatorValidateStage
	return &stageEndpoint[*flowsv1alpha1.AuthenticatorValidateStage, R]{
		info: &authenticatorValidateKind,
		render: func(ctx context.Context, rv *resolver, o *flowsv1alpha1.AuthenticatorValidateStage) (*R, error) {
			return rv.authenticatorValidate(ctx, o)
		},
		meta: func(r *R) *stageMeta { return &r.stageMeta },
		filters: []filterDef[R]{
			nameFilter(func(r *R) string { return r.Name }),
			choiceFilter("not_configured_action",
				[]string{string(flowsv1alpha1.NotConfiguredActionSkip), string(flowsv1alpha1.NotConfiguredActionDeny), string(flowsv1alpha1.NotConfiguredActionConfigure)},
				func(r *R) string { return string(r.NotConfiguredAction) }),
			multiRefFilter("configuration_stages", func(r *R) []string { return r.ConfigurationStages }),
		},
		orderings: map[string]func(a, b *R) int{
			"not_configured_action": func(a, b *R) int {
				return strings.Compare(string(a.NotConfiguredAction), string(b.NotConfiguredAction))
			},
			"device_classes":      byList(func(r *R) []flowsv1alpha1.DeviceClass { return r.DeviceClasses }),
			"last_auth_threshold": func(a, b *R) int { return strings.Compare(a.LastAuthThreshold, b.LastAuthThreshold) },
			"webauthn_user_verification": func(a, b *R) int {
				return strings.Compare(string(a.WebAuthnUserVerification), string(b.WebAuthnUserVerification))
			},
		},
	}
}

// Comparators for `ordering`, each ascending as PostgreSQL sorts authentik's
// columns: false before true, NULL after every value (PostgreSQL's default,
// NULLS LAST ascending and so NULLS FIRST descending), arrays element by
// element.

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

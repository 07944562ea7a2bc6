// Package apitest is the world of stagehand objects the API's tests render:
// one namespace's flows, bindings and stages of every kind, with every field
// set, every field left to its default, and references that dangle. The
// golden bodies of internal/httpapi, the validation of every body against
// authentik's OpenAPI documents and the test that authentik's Go client
// reads every endpoint (hack/authentikclient) all read it, so that each of
// them covers every body the API can send.
//
// The objects are as a fake client holds them: no defaults applied (the
// API server would apply them), so the rendering's own defaults are
// exercised too.
package apitest

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// Namespace is the namespace of every namespaced object of the world.
const Namespace = "auth"

const ns = Namespace

// UID is a fixed, recognisable version-4 uid: UID(7) is
// 00000000-0000-4000-8000-000000000007. The world's objects have UIDs 1 to
// 11 (stages), 20 and 21 (sources), 30 and 31 (device types), 101 to 107
// (flows) and 201 to 213 (bindings).
func UID(n int) types.UID { return types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", n)) }

// Meta is the metadata of an object of the world: its namespace, its name
// and UID(n).
func Meta(namespace, name string, n int) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name, UID: UID(n)}
}

func ref(name string) *flowsv1alpha1.LocalObjectReference {
	return &flowsv1alpha1.LocalObjectReference{Name: name}
}

// Binding binds a stage of a kind to a flow at an order, with UID(n).
func Binding(namespace, name, flow string, kind flowsv1alpha1.StageKind, stage string, order int32, n int) *flowsv1alpha1.FlowStageBinding {
	return &flowsv1alpha1.FlowStageBinding{
		ObjectMeta: Meta(namespace, name, n),
		Spec: flowsv1alpha1.FlowStageBindingSpec{
			TargetRef: flowsv1alpha1.LocalObjectReference{Name: flow},
			StageRef:  flowsv1alpha1.StageReference{Kind: kind, Name: stage},
			Order:     order,
		},
	}
}

// Objects returns a new copy of the world.
func Objects() []client.Object {
	return []client.Object{
		// Flows: one with every field left to its default, one with every
		// field set, and the flows the stages link to.
		&flowsv1alpha1.Flow{ObjectMeta: Meta(ns, "default-authentication-flow", 101), Spec: flowsv1alpha1.FlowSpec{
			Title: "Welcome to authentik!", Designation: flowsv1alpha1.FlowDesignationAuthentication,
		}},
		&flowsv1alpha1.Flow{ObjectMeta: Meta(ns, "login-2fa", 102), Spec: flowsv1alpha1.FlowSpec{
			Slug: "custom-login", Name: "Login with 2FA", Title: "Sign in", Designation: flowsv1alpha1.FlowDesignationAuthentication,
			Background: "https://example.com/background.png", PolicyEngineMode: flowsv1alpha1.PolicyEngineModeAll,
			CompatibilityMode: ptr.To(true), Layout: "sidebar_left", DeniedAction: "continue", Authentication: "require_unauthenticated",
		}},
		&flowsv1alpha1.Flow{ObjectMeta: Meta(ns, "enroll", 103), Spec: flowsv1alpha1.FlowSpec{Title: "Sign up", Designation: flowsv1alpha1.FlowDesignationEnrollment}},
		&flowsv1alpha1.Flow{ObjectMeta: Meta(ns, "recover", 104), Spec: flowsv1alpha1.FlowSpec{Title: "Recover", Designation: flowsv1alpha1.FlowDesignationRecovery, Background: "/static/dist/assets/images/recovery.jpg"}},
		&flowsv1alpha1.Flow{ObjectMeta: Meta(ns, "passwordless", 105), Spec: flowsv1alpha1.FlowSpec{Title: "Passkey", Designation: flowsv1alpha1.FlowDesignationAuthentication}},
		&flowsv1alpha1.Flow{ObjectMeta: Meta(ns, "password-change", 106), Spec: flowsv1alpha1.FlowSpec{Title: "Change password", Designation: flowsv1alpha1.FlowDesignationStageConfiguration}},

		&flowsv1alpha1.Source{ObjectMeta: Meta(ns, "github", 20)},
		&flowsv1alpha1.Source{ObjectMeta: Meta(ns, "google", 21)},
		&flowsv1alpha1.CaptchaStage{ObjectMeta: Meta(ns, "captcha", 10), Spec: flowsv1alpha1.CaptchaStageSpec{
			PublicKey: "site-key", PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: "captcha", Key: "secret"},
		}},
		&flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: Meta("", "yubikey-5", 30), Spec: flowsv1alpha1.WebAuthnDeviceTypeSpec{
			AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Description: "YubiKey 5 Series",
		}},
		// Stored before the canonical spelling was enforced: rendered in
		// authentik's (lower-case) form.
		&flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: Meta("", "titan", 31), Spec: flowsv1alpha1.WebAuthnDeviceTypeSpec{
			AAGUID: "42B4FB4A-2866-43B2-9BF7-6C6669C2E5D3", Description: "Google Titan Security Key v2",
		}},

		// IdentificationStage with every field set, bound to two flows.
		&flowsv1alpha1.IdentificationStage{ObjectMeta: Meta(ns, "identification-full", 1), Spec: flowsv1alpha1.IdentificationStageSpec{
			UserFields:              []flowsv1alpha1.UserField{"email", "username", "upn"},
			PasswordStageRef:        ref("password-full"),
			CaptchaStageRef:         ref("captcha"),
			CaseInsensitiveMatching: ptr.To(false),
			ShowMatchedUser:         ptr.To(false),
			EnrollmentFlowRef:       ref("enroll"),
			RecoveryFlowRef:         ref("recover"),
			PasswordlessFlowRef:     ref("passwordless"),
			SourceRefs:              []flowsv1alpha1.LocalObjectReference{{Name: "google"}, {Name: "no-such-source"}, {Name: "github"}},
			ShowSourceLabels:        ptr.To(true),
			PretendUserExists:       ptr.To(false),
			EnableRememberMe:        ptr.To(true),
			WebAuthnStageRef:        ref("validate-full"),
		}},
		Binding(ns, "default-authentication-flow-identification", "default-authentication-flow", flowsv1alpha1.StageKindIdentification, "identification-full", 10, 201),
		Binding(ns, "login-2fa-identification", "login-2fa", flowsv1alpha1.StageKindIdentification, "identification-full", 10, 202),

		// IdentificationStage with every field left unset: the defaults.
		&flowsv1alpha1.IdentificationStage{ObjectMeta: Meta(ns, "identification-defaults", 4), Spec: flowsv1alpha1.IdentificationStageSpec{
			UserFields: []flowsv1alpha1.UserField{"username"},
		}},

		// IdentificationStage whose every reference dangles; one binding's
		// flow is gone, and a PasswordStage binding with the same stage
		// name must not lend it its flow.
		&flowsv1alpha1.IdentificationStage{ObjectMeta: Meta(ns, "identification-dangling", 5), Spec: flowsv1alpha1.IdentificationStageSpec{
			PasswordStageRef:    ref("gone"),
			CaptchaStageRef:     ref("gone"),
			EnrollmentFlowRef:   ref("gone"),
			RecoveryFlowRef:     ref("gone"),
			PasswordlessFlowRef: ref("gone"),
			SourceRefs:          []flowsv1alpha1.LocalObjectReference{{Name: "gone"}},
			WebAuthnStageRef:    ref("gone"),
		}},
		Binding(ns, "gone-identification", "gone", flowsv1alpha1.StageKindIdentification, "identification-dangling", 10, 203),
		Binding(ns, "enroll-identification", "enroll", flowsv1alpha1.StageKindIdentification, "identification-dangling", 10, 204),
		Binding(ns, "recover-password", "recover", flowsv1alpha1.StageKindPassword, "identification-dangling", 10, 205),

		// PasswordStage with every field set, bound to two flows.
		&flowsv1alpha1.PasswordStage{ObjectMeta: Meta(ns, "password-full", 2), Spec: flowsv1alpha1.PasswordStageSpec{
			Backends: []flowsv1alpha1.PasswordBackend{
				"authentik.core.auth.InbuiltBackend", "authentik.core.auth.TokenBackend",
				"authentik.sources.ldap.auth.LDAPBackend", "authentik.sources.kerberos.auth.KerberosBackend",
			},
			ConfigureFlowRef:           ref("password-change"),
			FailedAttemptsBeforeCancel: ptr.To(int32(3)),
			AllowShowPassword:          ptr.To(true),
		}},
		Binding(ns, "default-authentication-flow-password", "default-authentication-flow", flowsv1alpha1.StageKindPassword, "password-full", 20, 206),
		Binding(ns, "login-2fa-password", "login-2fa", flowsv1alpha1.StageKindPassword, "password-full", 20, 207),

		// PasswordStage with the defaults and a dangling configure flow.
		&flowsv1alpha1.PasswordStage{ObjectMeta: Meta(ns, "password-defaults", 6), Spec: flowsv1alpha1.PasswordStageSpec{
			Backends:         []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"},
			ConfigureFlowRef: ref("gone"),
		}},

		// AuthenticatorValidateStage with every field set, bound twice to
		// the same flow, with dangling configuration stages and device
		// types among existing ones.
		&flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: Meta(ns, "validate-full", 3), Spec: flowsv1alpha1.AuthenticatorValidateStageSpec{
			WebAuthnHints:             []flowsv1alpha1.WebAuthnHint{"security-key", "hybrid"},
			EmailOTPThrottlingFactor:  ptr.To(0.0),
			SMSOTPThrottlingFactor:    ptr.To(2.5),
			TOTPOTPThrottlingFactor:   ptr.To(0.5),
			StaticOTPThrottlingFactor: ptr.To(3.0),
			NotConfiguredAction:       flowsv1alpha1.NotConfiguredActionConfigure,
			DeviceClasses:             []flowsv1alpha1.DeviceClass{"totp", "webauthn"},
			ConfigurationStageRefs: []flowsv1alpha1.StageReference{
				{Kind: flowsv1alpha1.StageKindPassword, Name: "password-full"},
				{Kind: flowsv1alpha1.StageKindCaptcha, Name: "gone"},
				{Kind: flowsv1alpha1.StageKindIdentification, Name: "identification-defaults"},
			},
			LastAuthThreshold:             "hours=1;minutes=30",
			WebAuthnUserVerification:      "required",
			WebAuthnAllowedDeviceTypeRefs: []flowsv1alpha1.LocalObjectReference{{Name: "yubikey-5"}, {Name: "gone"}, {Name: "titan"}},
		}},
		Binding(ns, "login-2fa-validate-late", "login-2fa", flowsv1alpha1.StageKindAuthenticatorValidate, "validate-full", 40, 208),
		Binding(ns, "login-2fa-validate", "login-2fa", flowsv1alpha1.StageKindAuthenticatorValidate, "validate-full", 30, 209),

		// AuthenticatorValidateStage with an empty spec: every default.
		&flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: Meta(ns, "validate-defaults", 7)},

		// CaptchaStage with every field set (its name in authentik is no
		// object name), bound to the recovery flow by a binding with every
		// field set.
		&flowsv1alpha1.CaptchaStage{ObjectMeta: Meta(ns, "captcha-full", 11), Spec: flowsv1alpha1.CaptchaStageSpec{
			Name:                "Turnstile (invisible)",
			PublicKey:           "0x4AAAAAAADnPIDROrmt1Wwj",
			PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: "turnstile", Key: "secret"},
			JSURL:               "https://challenges.cloudflare.com/turnstile/v0/api.js",
			APIURL:              "https://challenges.cloudflare.com/turnstile/v0/siteverify",
			RequestContentType:  flowsv1alpha1.RequestContentTypeJSON,
			Interactive:         ptr.To(true),
			ScoreMinThreshold:   ptr.To(0.0),
			ScoreMaxThreshold:   ptr.To(0.75),
			ErrorOnInvalidScore: ptr.To(false),
		}},
		&flowsv1alpha1.FlowStageBinding{ObjectMeta: Meta(ns, "recover-captcha", 210), Spec: flowsv1alpha1.FlowStageBindingSpec{
			TargetRef:             flowsv1alpha1.LocalObjectReference{Name: "recover"},
			StageRef:              flowsv1alpha1.StageReference{Kind: flowsv1alpha1.StageKindCaptcha, Name: "captcha-full"},
			Order:                 -5,
			EvaluateOnPlan:        ptr.To(true),
			ReEvaluatePolicies:    ptr.To(false),
			InvalidResponseAction: "restart_with_context",
			PolicyEngineMode:      flowsv1alpha1.PolicyEngineModeAll,
		}},

		// UserLoginStage with every field set, bound to two flows; one with
		// the defaults, bound to none.
		&flowsv1alpha1.UserLoginStage{ObjectMeta: Meta(ns, "user-login-full", 8), Spec: flowsv1alpha1.UserLoginStageSpec{
			SessionDuration:        "hours=8",
			TerminateOtherSessions: ptr.To(true),
			RememberMeOffset:       "days=7;hours=12",
			NetworkBinding:         "bind_asn_network",
			GeoIPBinding:           "bind_continent_country",
			RememberDevice:         "seconds=0",
		}},
		Binding(ns, "default-authentication-flow-login", "default-authentication-flow", flowsv1alpha1.StageKindUserLogin, "user-login-full", 100, 211),
		Binding(ns, "login-2fa-login", "login-2fa", flowsv1alpha1.StageKindUserLogin, "user-login-full", 100, 212),
		&flowsv1alpha1.UserLoginStage{ObjectMeta: Meta(ns, "user-login-defaults", 9)},

		// A binding of a stage that lives only in authentik: it has no uid
		// here, so the binding is no binding of the API.
		&flowsv1alpha1.FlowStageBinding{ObjectMeta: Meta(ns, "login-2fa-write", 213), Spec: flowsv1alpha1.FlowStageBindingSpec{
			TargetRef: flowsv1alpha1.LocalObjectReference{Name: "login-2fa"},
			StageRef:  flowsv1alpha1.StageReference{Model: "authentik_stages_user_write.userwritestage", Name: "default-source-enrollment-write"},
			Order:     90,
		}},

		// A flow with authentik 2026.8's layout and authentication values.
		&flowsv1alpha1.Flow{ObjectMeta: Meta(ns, "device-code", 107), Spec: flowsv1alpha1.FlowSpec{
			Title: "Sign in your device", Designation: flowsv1alpha1.FlowDesignationStageConfiguration,
			Layout: "sidebar_right_frame_background", Authentication: "require_token",
		}},
	}
}

// Reader is an in-memory reader holding objs, with the refs indexes the
// manager's cache has (registered through the same refs.Register): the API's
// input without an API server.
func Reader(objs ...client.Object) (client.Client, error) {
	s := runtime.NewScheme()
	if err := flowsv1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	b := fake.NewClientBuilder().WithScheme(s)
	if err := refs.Register(context.Background(), indexer{b}); err != nil {
		return nil, err
	}
	return b.WithObjects(objs...).Build(), nil
}

// indexer registers field indexes on a fake client's builder.
type indexer struct{ b *fake.ClientBuilder }

func (i indexer) IndexField(_ context.Context, obj client.Object, field string, fn client.IndexerFunc) error {
	i.b.WithIndex(obj, field, fn)
	return nil
}

// CacheReader is an in-memory reader holding objs that reads as the
// manager's cache does: Get and List by the refs indexes, without copies
// when asked for client.UnsafeDisableDeepCopy (a List's items are then
// shallow copies of the stored objects, as controller-runtime's cache
// reader gives them). The fake client of Reader converts every object it
// lists, which makes it far slower than the cache for large worlds: the
// API's cost tests and benchmarks read this one.
func CacheReader(objs ...client.Object) (client.Reader, error) {
	s := runtime.NewScheme()
	if err := flowsv1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	idx := fieldIndexes{}
	if err := refs.Register(context.Background(), idx); err != nil {
		return nil, err
	}
	c := &cacheReader{scheme: s, objects: map[string]map[types.NamespacedName]client.Object{}, index: map[string]map[string][]client.Object{}}
	for _, obj := range objs {
		kind := flowsv1alpha1.KindOf(obj)
		if kind == "" {
			return nil, fmt.Errorf("object %q (a %T) is of no stagehand kind", obj.GetName(), obj)
		}
		if c.objects[kind] == nil {
			c.objects[kind] = map[types.NamespacedName]client.Object{}
		}
		c.objects[kind][client.ObjectKeyFromObject(obj)] = obj
		c.order = append(c.order, obj)
		for _, f := range idx[kind] {
			for _, v := range f.fn(obj) {
				k := kind + "\x00" + f.field
				if c.index[k] == nil {
					c.index[k] = map[string][]client.Object{}
				}
				c.index[k][v] = append(c.index[k][v], obj)
			}
		}
	}
	return c, nil
}

type fieldIndex struct {
	field string
	fn    client.IndexerFunc
}

// fieldIndexes collects the refs indexes, by kind.
type fieldIndexes map[string][]fieldIndex

func (f fieldIndexes) IndexField(_ context.Context, obj client.Object, field string, fn client.IndexerFunc) error {
	kind := flowsv1alpha1.KindOf(obj)
	f[kind] = append(f[kind], fieldIndex{field: field, fn: fn})
	return nil
}

type cacheReader struct {
	scheme  *runtime.Scheme
	objects map[string]map[types.NamespacedName]client.Object
	// index holds, by kind and field, then by value, the objects indexed.
	index map[string]map[string][]client.Object
	// order is every object, in the order given.
	order []client.Object
}

func (c *cacheReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	var o client.GetOptions
	o.ApplyOptions(opts)
	kind := flowsv1alpha1.KindOf(obj)
	stored, ok := c.objects[kind][key]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Group: flowsv1alpha1.GroupVersion.Group, Resource: kind}, key.Name)
	}
	if o.UnsafeDisableDeepCopy == nil || !*o.UnsafeDisableDeepCopy {
		stored = stored.DeepCopyObject().(client.Object)
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(stored).Elem())
	return nil
}

func (c *cacheReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	var o client.ListOptions
	o.ApplyOptions(opts)
	gvk, err := apiutil.GVKForObject(list, c.scheme)
	if err != nil {
		return err
	}
	kind := strings.TrimSuffix(gvk.Kind, "List")
	var from []client.Object
	if o.FieldSelector != nil && !o.FieldSelector.Empty() {
		reqs := o.FieldSelector.Requirements()
		if len(reqs) != 1 {
			return fmt.Errorf("listing %s: one field selector at most, got %q", kind, o.FieldSelector)
		}
		from = c.index[kind+"\x00"+reqs[0].Field][reqs[0].Value]
	} else {
		for _, obj := range c.order {
			if flowsv1alpha1.KindOf(obj) == kind {
				from = append(from, obj)
			}
		}
	}
	copies := o.UnsafeDisableDeepCopy == nil || !*o.UnsafeDisableDeepCopy
	out := make([]runtime.Object, 0, len(from))
	for _, obj := range from {
		if o.Namespace != "" && obj.GetNamespace() != o.Namespace {
			continue
		}
		if o.LabelSelector != nil && !o.LabelSelector.Matches(labels.Set(obj.GetLabels())) {
			continue
		}
		if copies {
			obj = obj.DeepCopyObject().(client.Object)
		}
		out = append(out, obj)
	}
	return apimeta.SetList(list, out)
}

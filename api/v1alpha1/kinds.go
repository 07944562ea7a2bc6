package v1alpha1

import (
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// The kinds stagehand serves that are not stages (the stage kinds are the
// StageKind constants).
const (
	KindFlow               = "Flow"
	KindFlowStageBinding   = "FlowStageBinding"
	KindSource             = "Source"
	KindWebAuthnDeviceType = "WebAuthnDeviceType"
	KindBlueprintExport    = "BlueprintExport"
)

// KindInfo is what stagehand knows of one of its kinds beyond the Go type,
// which the scheme holds (each kind's init registers it with SchemeBuilder).
// +kubebuilder:object:generate=false
//
//nolint:kubeapilinter // a table in Go, never serialized: not an API type
type KindInfo struct {
	// Kind is the kind's name, as in a manifest: "PasswordStage".
	Kind string
	// Resource is the kind's plural resource name, as RBAC rules and
	// SubjectAccessReviews name it: "passwordstages".
	Resource string
	// Model is the authentik model the kind stands for:
	// "authentik_stages_password.passwordstage". Empty for a kind that
	// stands for no authentik object (BlueprintExport).
	Model string
	// Stage is true for the stage kinds: a StageReference may name them,
	// and they are in the stages category.
	Stage bool
	// ClusterScoped is true for kinds whose objects have no namespace.
	ClusterScoped bool
}

// Kinds lists every stagehand kind: the one list the controllers, the
// reference indexes and the API take the kinds from. Adding a kind is its
// _types.go (which registers it with SchemeBuilder) and a row here; a test
// checks that the two agree.
var Kinds = []KindInfo{
	{Kind: KindFlow, Resource: "flows", Model: "authentik_flows.flow"},
	{Kind: KindFlowStageBinding, Resource: "flowstagebindings", Model: "authentik_flows.flowstagebinding"},
	{Kind: string(StageKindIdentification), Resource: "identificationstages", Model: "authentik_stages_identification.identificationstage", Stage: true},
	{Kind: string(StageKindPassword), Resource: "passwordstages", Model: "authentik_stages_password.passwordstage", Stage: true},
	{Kind: string(StageKindAuthenticatorValidate), Resource: "authenticatorvalidatestages", Model: "authentik_stages_authenticator_validate.authenticatorvalidatestage", Stage: true},
	{Kind: string(StageKindCaptcha), Resource: "captchastages", Model: "authentik_stages_captcha.captchastage", Stage: true},
	{Kind: string(StageKindUserLogin), Resource: "userloginstages", Model: "authentik_stages_user_login.userloginstage", Stage: true},
	{Kind: KindSource, Resource: "sources", Model: "authentik_core.source"},
	{Kind: KindWebAuthnDeviceType, Resource: "webauthndevicetypes", Model: "authentik_stages_authenticator_webauthn.webauthndevicetype", ClusterScoped: true},
	{Kind: KindBlueprintExport, Resource: "blueprintexports"},
}

// LookupKind returns the KindInfo of a kind name, false for a name that is
// no stagehand kind.
func LookupKind(kind string) (KindInfo, bool) {
	for _, k := range Kinds {
		if k.Kind == kind {
			return k, true
		}
	}
	return KindInfo{}, false
}

// StageKinds lists the stage kinds, in the order of Kinds.
func StageKinds() []StageKind {
	var out []StageKind
	for _, k := range Kinds {
		if k.Stage {
			out = append(out, StageKind(k.Kind))
		}
	}
	return out
}

// Object is an object of any stagehand kind. Every kind reports the
// generation its status describes and its conditions, through these
// accessors, so that code which treats every kind alike needs no switch
// over them.
// +kubebuilder:object:generate=false
type Object interface {
	client.Object
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
	GetObservedGeneration() int64
	SetObservedGeneration(int64)
}

// Stage is an object of a stage kind.
// +kubebuilder:object:generate=false
type Stage interface {
	Object
	// StageName is the stage's name in authentik, which identifies it
	// there: spec.name, else metadata.name.
	StageName() string
}

func stageName(specName, objectName string) string {
	if specName != "" {
		return specName
	}
	return objectName
}

// kindScheme knows the stagehand kinds only. It is built on first use, after
// every kind's init has registered it with SchemeBuilder.
var kindScheme = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		panic(err)
	}
	return s
})

// New returns an empty object of a stagehand kind.
func New(kind string) (Object, error) {
	obj, err := kindScheme().New(GroupVersion.WithKind(kind))
	if err != nil {
		return nil, fmt.Errorf("%q is not a stagehand kind: %w", kind, err)
	}
	o, ok := obj.(Object)
	if !ok {
		return nil, fmt.Errorf("%s is not a stagehand object", kind)
	}
	return o, nil
}

// NewList returns an empty list of a stagehand kind.
func NewList(kind string) (client.ObjectList, error) {
	obj, err := kindScheme().New(GroupVersion.WithKind(kind + "List"))
	if err != nil {
		return nil, fmt.Errorf("%q is not a stagehand kind: %w", kind, err)
	}
	l, ok := obj.(client.ObjectList)
	if !ok {
		return nil, fmt.Errorf("%sList is not a list", kind)
	}
	return l, nil
}

// KindOf returns the kind of a stagehand object ("PasswordStage"), "" for
// an object of any other kind.
func KindOf(obj runtime.Object) string {
	gvk, err := apiutil.GVKForObject(obj, kindScheme())
	if err != nil {
		return ""
	}
	return gvk.Kind
}

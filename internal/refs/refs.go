// Package refs knows the references between stagehand objects: which objects
// each one names, and the cache indexes that find, from a referenced object,
// every object that names it. The controllers resolve references with it and
// watch referenced kinds through its index; the HTTP API finds a stage's
// bindings and looks objects up by uid through it.
package refs

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// Kinds that references point at, besides the stage kinds.
const (
	KindFlow               = "Flow"
	KindFlowStageBinding   = "FlowStageBinding"
	KindSource             = "Source"
	KindWebAuthnDeviceType = "WebAuthnDeviceType"
	KindSecret             = "Secret"
)

// Kinds lists every stagehand kind, as Reference.Kind names them.
var Kinds = []string{
	KindFlow,
	KindFlowStageBinding,
	string(flowsv1alpha1.StageKindIdentification),
	string(flowsv1alpha1.StageKindPassword),
	string(flowsv1alpha1.StageKindAuthenticatorValidate),
	string(flowsv1alpha1.StageKindCaptcha),
	KindSource,
	KindWebAuthnDeviceType,
}

// NewObject returns an empty object of a stagehand kind, named as Kinds and
// Reference.Kind name it (a Secret is not a stagehand kind).
func NewObject(kind string) (client.Object, error) {
	switch kind {
	case KindFlow:
		return &flowsv1alpha1.Flow{}, nil
	case KindFlowStageBinding:
		return &flowsv1alpha1.FlowStageBinding{}, nil
	case string(flowsv1alpha1.StageKindIdentification):
		return &flowsv1alpha1.IdentificationStage{}, nil
	case string(flowsv1alpha1.StageKindPassword):
		return &flowsv1alpha1.PasswordStage{}, nil
	case string(flowsv1alpha1.StageKindAuthenticatorValidate):
		return &flowsv1alpha1.AuthenticatorValidateStage{}, nil
	case string(flowsv1alpha1.StageKindCaptcha):
		return &flowsv1alpha1.CaptchaStage{}, nil
	case KindSource:
		return &flowsv1alpha1.Source{}, nil
	case KindWebAuthnDeviceType:
		return &flowsv1alpha1.WebAuthnDeviceType{}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// Reference is one reference an object makes.
type Reference struct {
	// Field is the path of the referring field, as a person reads it:
	// "spec.passwordStageRef", "spec.sourceRefs[1]".
	Field string
	// Kind of the referenced object: a stagehand kind, or Secret.
	Kind string
	// Namespace of the referenced object; empty for cluster-scoped kinds.
	Namespace string
	// Name of the referenced object.
	Name string
}

// Key is the reference's value in the Index field index.
func (r Reference) Key() string { return Key(r.Kind, r.Namespace, r.Name) }

// String names the referenced object for a status message:
// `PasswordStage "default-password"`.
func (r Reference) String() string { return fmt.Sprintf("%s %q", r.Kind, r.Name) }

// Key is the value under which an object of the given kind, namespace and
// name is indexed by Index: "<kind>/<namespace>/<name>" (the namespace is
// empty for cluster-scoped kinds).
func Key(kind, namespace, name string) string {
	return kind + "/" + namespace + "/" + name
}

// KeyOf is the Key of an existing object of the given kind.
func KeyOf(kind string, obj client.Object) string {
	return Key(kind, obj.GetNamespace(), obj.GetName())
}

// Of lists the references obj makes, in the order of its fields. Objects of
// kinds that make no references give none.
func Of(obj client.Object) []Reference {
	ns := obj.GetNamespace()
	var out []Reference
	local := func(field, kind string, r *flowsv1alpha1.LocalObjectReference) {
		if r != nil {
			out = append(out, Reference{Field: field, Kind: kind, Namespace: ns, Name: r.Name})
		}
	}
	switch o := obj.(type) {
	case *flowsv1alpha1.FlowStageBinding:
		out = append(out,
			Reference{Field: "spec.targetRef", Kind: KindFlow, Namespace: ns, Name: o.Spec.TargetRef.Name},
			Reference{Field: "spec.stageRef", Kind: string(o.Spec.StageRef.Kind), Namespace: ns, Name: o.Spec.StageRef.Name},
		)
	case *flowsv1alpha1.IdentificationStage:
		s := &o.Spec
		local("spec.passwordStageRef", string(flowsv1alpha1.StageKindPassword), s.PasswordStageRef)
		local("spec.captchaStageRef", string(flowsv1alpha1.StageKindCaptcha), s.CaptchaStageRef)
		local("spec.enrollmentFlowRef", KindFlow, s.EnrollmentFlowRef)
		local("spec.recoveryFlowRef", KindFlow, s.RecoveryFlowRef)
		local("spec.passwordlessFlowRef", KindFlow, s.PasswordlessFlowRef)
		for i := range s.SourceRefs {
			local(fmt.Sprintf("spec.sourceRefs[%d]", i), KindSource, &s.SourceRefs[i])
		}
		local("spec.webauthnStageRef", string(flowsv1alpha1.StageKindAuthenticatorValidate), s.WebAuthnStageRef)
	case *flowsv1alpha1.PasswordStage:
		local("spec.configureFlowRef", KindFlow, o.Spec.ConfigureFlowRef)
	case *flowsv1alpha1.AuthenticatorValidateStage:
		for i, r := range o.Spec.ConfigurationStageRefs {
			out = append(out, Reference{Field: fmt.Sprintf("spec.configurationStageRefs[%d]", i), Kind: string(r.Kind), Namespace: ns, Name: r.Name})
		}
		for i, r := range o.Spec.WebAuthnAllowedDeviceTypeRefs {
			out = append(out, Reference{Field: fmt.Sprintf("spec.webauthnAllowedDeviceTypeRefs[%d]", i), Kind: KindWebAuthnDeviceType, Name: r.Name})
		}
	case *flowsv1alpha1.CaptchaStage:
		out = append(out, Reference{Field: "spec.privateKeySecretRef", Kind: KindSecret, Namespace: ns, Name: o.Spec.PrivateKeySecretRef.Name})
	}
	return out
}

// Field index names. Register adds them to the manager's cache.
const (
	// Index holds, for each object that makes references, the Key of every
	// object it references. Listing a referring kind with
	// client.MatchingFields{Index: KeyOf(kind, obj)} finds every object that
	// names obj; listing FlowStageBindings with a Flow's key finds the
	// flow's bindings, with a stage's key the stage's.
	Index = "stagehand.dev/references"

	// UID indexes the Flows and stages by metadata.uid, which is their
	// authentik pk.
	UID = "stagehand.dev/uid"

	// Slug indexes Flows by "<namespace>/<effective slug>".
	Slug = "stagehand.dev/slug"

	// AAGUID indexes WebAuthnDeviceTypes by spec.aaguid.
	AAGUID = "stagehand.dev/aaguid"
)

// Referring lists an empty object of every kind that makes references, the
// kinds Index is defined on.
func Referring() []client.Object {
	return []client.Object{
		&flowsv1alpha1.FlowStageBinding{},
		&flowsv1alpha1.IdentificationStage{},
		&flowsv1alpha1.PasswordStage{},
		&flowsv1alpha1.AuthenticatorValidateStage{},
		&flowsv1alpha1.CaptchaStage{},
	}
}

// WithUID lists an empty object of every kind UID is defined on.
func WithUID() []client.Object {
	return []client.Object{
		&flowsv1alpha1.Flow{},
		&flowsv1alpha1.IdentificationStage{},
		&flowsv1alpha1.PasswordStage{},
		&flowsv1alpha1.AuthenticatorValidateStage{},
		&flowsv1alpha1.CaptchaStage{},
	}
}

// Register adds the field indexes to a cache. Call it once, before the
// cache starts.
func Register(ctx context.Context, indexer client.FieldIndexer) error {
	for _, obj := range Referring() {
		if err := indexer.IndexField(ctx, obj, Index, referenceKeys); err != nil {
			return fmt.Errorf("indexing %T by reference: %w", obj, err)
		}
	}
	for _, obj := range WithUID() {
		if err := indexer.IndexField(ctx, obj, UID, func(o client.Object) []string { return []string{string(o.GetUID())} }); err != nil {
			return fmt.Errorf("indexing %T by uid: %w", obj, err)
		}
	}
	if err := indexer.IndexField(ctx, &flowsv1alpha1.Flow{}, Slug, func(o client.Object) []string {
		f := o.(*flowsv1alpha1.Flow)
		return []string{f.Namespace + "/" + f.EffectiveSlug()}
	}); err != nil {
		return fmt.Errorf("indexing flows by slug: %w", err)
	}
	if err := indexer.IndexField(ctx, &flowsv1alpha1.WebAuthnDeviceType{}, AAGUID, func(o client.Object) []string {
		return []string{o.(*flowsv1alpha1.WebAuthnDeviceType).Spec.AAGUID}
	}); err != nil {
		return fmt.Errorf("indexing device types by aaguid: %w", err)
	}
	return nil
}

func referenceKeys(obj client.Object) []string {
	rs := Of(obj)
	keys := make([]string, 0, len(rs))
	seen := make(map[string]bool, len(rs))
	for _, r := range rs {
		k := r.Key()
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

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

// KindSecret is the kind of a CaptchaStage's privateKeySecretRef: the one
// reference to an object that is not a stagehand kind.
const KindSecret = "Secret"

// Reference is one reference an object makes.
type Reference struct {
	// Field is the path of the referring field, as a person reads it:
	// "spec.passwordStageRef", "spec.sourceRefs[1]".
	Field string
	// Kind of the referenced object: a stagehand kind, or Secret. Empty for
	// an external reference.
	Kind string
	// Model is set, instead of Kind, for an external reference: one to a
	// stage that lives only in authentik (a StageReference by model), which
	// stagehand cannot look up.
	Model string
	// Namespace of the referenced object; empty for cluster-scoped kinds.
	Namespace string
	// Name of the referenced object.
	Name string
}

// Key is the reference's value in the Index field index.
func (r Reference) Key() string { return Key(r.Kind, r.Namespace, r.Name) }

// External reports whether the reference is to a stage that lives only in
// authentik.
func (r Reference) External() bool { return r.Model != "" }

// String names the referenced object for a status message:
// `PasswordStage "default-password"`, or for an external reference
// `authentik stage authentik_stages_user_write.userwritestage "write"`.
func (r Reference) String() string {
	if r.External() {
		return fmt.Sprintf("authentik stage %s %q", r.Model, r.Name)
	}
	return fmt.Sprintf("%s %q", r.Kind, r.Name)
}

// stage is the Reference a StageReference makes.
func stage(field, namespace string, r flowsv1alpha1.StageReference) Reference {
	return Reference{Field: field, Kind: string(r.Kind), Model: r.Model, Namespace: namespace, Name: r.Name}
}

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
			Reference{Field: "spec.targetRef", Kind: flowsv1alpha1.KindFlow, Namespace: ns, Name: o.Spec.TargetRef.Name},
			stage("spec.stageRef", ns, o.Spec.StageRef),
		)
	case *flowsv1alpha1.IdentificationStage:
		s := &o.Spec
		local("spec.passwordStageRef", string(flowsv1alpha1.StageKindPassword), s.PasswordStageRef)
		local("spec.captchaStageRef", string(flowsv1alpha1.StageKindCaptcha), s.CaptchaStageRef)
		local("spec.enrollmentFlowRef", flowsv1alpha1.KindFlow, s.EnrollmentFlowRef)
		local("spec.recoveryFlowRef", flowsv1alpha1.KindFlow, s.RecoveryFlowRef)
		local("spec.passwordlessFlowRef", flowsv1alpha1.KindFlow, s.PasswordlessFlowRef)
		for i := range s.SourceRefs {
			local(fmt.Sprintf("spec.sourceRefs[%d]", i), flowsv1alpha1.KindSource, &s.SourceRefs[i])
		}
		local("spec.webauthnStageRef", string(flowsv1alpha1.StageKindAuthenticatorValidate), s.WebAuthnStageRef)
	case *flowsv1alpha1.PasswordStage:
		local("spec.configureFlowRef", flowsv1alpha1.KindFlow, o.Spec.ConfigureFlowRef)
	case *flowsv1alpha1.AuthenticatorValidateStage:
		for i, r := range o.Spec.ConfigurationStageRefs {
			out = append(out, stage(fmt.Sprintf("spec.configurationStageRefs[%d]", i), ns, r))
		}
		for i, r := range o.Spec.WebAuthnAllowedDeviceTypeRefs {
			out = append(out, Reference{Field: fmt.Sprintf("spec.webauthnAllowedDeviceTypeRefs[%d]", i), Kind: flowsv1alpha1.KindWebAuthnDeviceType, Name: r.Name})
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

	// UID indexes every kind by metadata.uid, which is a flow's, a
	// binding's and a stage's authentik pk.
	UID = "stagehand.dev/uid"

	// AAGUID indexes WebAuthnDeviceTypes by spec.aaguid.
	AAGUID = "stagehand.dev/aaguid"

	// AuthentikName indexes Flows by effective slug and each stage kind by
	// its name in authentik (StageName), in every namespace: authentik's
	// slugs and stage names are global, so objects of one kind with one
	// value, wherever they are, stand for one authentik object.
	AuthentikName = "stagehand.dev/authentik-name"
)

// AuthentikNameOf is obj's value in the AuthentikName index: a Flow's
// effective slug, a stage's StageName; "" for the other kinds.
func AuthentikNameOf(obj client.Object) string {
	switch o := obj.(type) {
	case *flowsv1alpha1.Flow:
		return o.EffectiveSlug()
	case flowsv1alpha1.Stage:
		return o.StageName()
	}
	return ""
}

// Register adds the field indexes to a cache. Call it once, before the
// cache starts.
func Register(ctx context.Context, indexer client.FieldIndexer) error {
	// Every kind, so that no list of kinds is kept here: a kind that makes
	// no references has no keys in Index.
	for _, k := range flowsv1alpha1.Kinds {
		obj, err := flowsv1alpha1.New(k.Kind)
		if err != nil {
			return err
		}
		if err := indexer.IndexField(ctx, obj, Index, referenceKeys); err != nil {
			return fmt.Errorf("indexing %s by reference: %w", k.Kind, err)
		}
		if err := indexer.IndexField(ctx, obj, UID, func(o client.Object) []string { return []string{string(o.GetUID())} }); err != nil {
			return fmt.Errorf("indexing %s by uid: %w", k.Kind, err)
		}
		if k.Kind == flowsv1alpha1.KindFlow || k.Stage {
			if err := indexer.IndexField(ctx, obj, AuthentikName, func(o client.Object) []string { return []string{AuthentikNameOf(o)} }); err != nil {
				return fmt.Errorf("indexing %s by name in authentik: %w", k.Kind, err)
			}
		}
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
		if r.External() {
			continue // nothing in the cluster to find it by
		}
		k := r.Key()
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

package controllers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// The checks beyond "does the referenced object exist", one per kind that
// has them. Pure functions of what the reconcile found.

// expectedDesignation is the designation of the flow each flow reference
// field is meant to name. authentik does not check it; a flow of another
// designation there is almost always a mistake.
var expectedDesignation = map[string]flowsv1alpha1.FlowDesignation{
	"spec.enrollmentFlowRef":   flowsv1alpha1.FlowDesignationEnrollment,
	"spec.recoveryFlowRef":     flowsv1alpha1.FlowDesignationRecovery,
	"spec.passwordlessFlowRef": flowsv1alpha1.FlowDesignationAuthentication,
	"spec.configureFlowRef":    flowsv1alpha1.FlowDesignationStageConfiguration,
}

// designationWarnings warns about each flow reference whose flow exists but
// has a designation other than the one its field is for (IdentificationStage
// and PasswordStage).
func designationWarnings(rs []resolved) []warning {
	var out []warning
	for _, r := range rs {
		want, ok := expectedDesignation[r.Field]
		if !ok {
			continue
		}
		f, ok := r.Obj.(*flowsv1alpha1.Flow)
		if !ok || f.Spec.Designation == want {
			continue
		}
		out = append(out, warning{
			Reason:  flowsv1alpha1.ReasonDesignationMismatch,
			Message: fmt.Sprintf("%s (%s) has designation %q, expected %q", r.Reference, r.Field, f.Spec.Designation, want),
			Related: f,
		})
	}
	return out
}

// webauthnWarnings warns when an IdentificationStage's webauthnStageRef names
// an AuthenticatorValidateStage that does not allow the webauthn device
// class, so passkey sign-in from the identification stage cannot work.
func webauthnWarnings(rs []resolved) []warning {
	var out []warning
	for _, r := range rs {
		if r.Field != "spec.webauthnStageRef" {
			continue
		}
		v, ok := r.Obj.(*flowsv1alpha1.AuthenticatorValidateStage)
		// No device classes means authentik's default, all of them.
		if !ok || len(v.Spec.DeviceClasses) == 0 || slices.Contains(v.Spec.DeviceClasses, flowsv1alpha1.DeviceClassWebAuthn) {
			continue
		}
		classes := make([]string, len(v.Spec.DeviceClasses))
		for i, c := range v.Spec.DeviceClasses {
			classes[i] = string(c)
		}
		out = append(out, warning{
			Reason:  flowsv1alpha1.ReasonWebAuthnNotAllowed,
			Message: fmt.Sprintf("%s (%s) does not allow the webauthn device class (deviceClasses: %s)", r.Reference, r.Field, strings.Join(classes, ", ")),
			Related: v,
		})
	}
	return out
}

// checkSecretKey marks a CaptchaStage's Secret reference Invalid when the
// Secret lacks the key spec.privateKeySecretRef names, or the key is empty.
func checkSecretKey(cs *flowsv1alpha1.CaptchaStage, rs []resolved) {
	key := cs.Spec.PrivateKeySecretRef.Key
	for i := range rs {
		s, ok := rs[i].Obj.(*corev1.Secret)
		if !ok || rs[i].Field != "spec.privateKeySecretRef" {
			continue
		}
		switch v, found := s.Data[key]; {
		case !found:
			rs[i].Invalid = fmt.Sprintf("has no key %q", key)
		case len(v) == 0:
			rs[i].Invalid = fmt.Sprintf("has an empty value under key %q", key)
		}
	}
}

// duplicateWarning warns that obj shares an identifying value (a flow's
// slug, a stage's name in authentik, a device type's aaguid) with others.
// peers may include obj itself. A peer in another namespace is named with
// its namespace: authentik's slugs and stage names are global, so objects
// of two namespaces write one authentik object, and its deletion is
// published only once none of them declares it.
func duplicateWarning(obj client.Object, kind, what, value, reason string, peers []client.Object) []warning {
	var others []client.Object
	elsewhere := false
	for _, p := range peers {
		if p.GetUID() == obj.GetUID() && p.GetName() == obj.GetName() && p.GetNamespace() == obj.GetNamespace() {
			continue
		}
		others = append(others, p)
		elsewhere = elsewhere || p.GetNamespace() != obj.GetNamespace()
	}
	if len(others) == 0 {
		return nil
	}
	// Those of obj's namespace first, then by namespace and name.
	local := func(o client.Object) int {
		if o.GetNamespace() == obj.GetNamespace() {
			return 0
		}
		return 1
	}
	sort.Slice(others, func(i, j int) bool {
		a, b := others[i], others[j]
		if local(a) != local(b) {
			return local(a) < local(b)
		}
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	})
	names := make([]string, len(others))
	for i, o := range others {
		names[i] = fmt.Sprintf("%q", o.GetName())
		if local(o) == 1 {
			names[i] += " in namespace " + o.GetNamespace()
		}
	}
	subject := fmt.Sprintf("%s %s has", kind, names[0])
	if len(names) > 1 {
		subject = fmt.Sprintf("%ss %s have", kind, strings.Join(names, ", "))
	}
	msg := fmt.Sprintf("%s the same %s %q", subject, what, value)
	if elsewhere {
		msg += fmt.Sprintf(": authentik's %ss are global, so they are one object in authentik, which stagehand deletes only once none of them declares it", what)
	}
	return []warning{{Reason: reason, Message: msg, Related: others[0]}}
}

// stageNameWarning warns that other stages of obj's kind, in any namespace,
// have its name in authentik.
func stageNameWarning(ctx context.Context, c client.Reader, obj flowsv1alpha1.Object) ([]warning, error) {
	s, ok := obj.(flowsv1alpha1.Stage)
	if !ok {
		return nil, nil
	}
	kind := flowsv1alpha1.KindOf(obj)
	list, err := flowsv1alpha1.NewList(kind)
	if err != nil {
		return nil, err
	}
	if err := c.List(ctx, list, client.MatchingFields{refs.AuthentikName: s.StageName()}); err != nil {
		return nil, fmt.Errorf("listing the %ss named %q in authentik: %w", kind, s.StageName(), err)
	}
	return duplicateWarning(obj, kind, "stage name", s.StageName(), flowsv1alpha1.ReasonDuplicateStageName, listObjects(list)), nil
}

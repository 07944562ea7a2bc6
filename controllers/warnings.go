package controllers

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
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

// duplicateWarning warns that obj shares an identifying value (a flow's slug
// in its namespace, a device type's aaguid) with others. peers may include
// obj itself.
func duplicateWarning(obj client.Object, kind, what, value, reason string, peers []client.Object) []warning {
	var names []string
	var related client.Object
	for _, p := range peers {
		if p.GetUID() == obj.GetUID() && p.GetName() == obj.GetName() {
			continue
		}
		names = append(names, p.GetName())
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	for _, p := range peers {
		if p.GetName() == names[0] {
			related = p
		}
	}
	subject := fmt.Sprintf("%s %q has", kind, names[0])
	if len(names) > 1 {
		subject = fmt.Sprintf("%ss %s have", kind, quotedNames(names))
	}
	return []warning{{
		Reason:  reason,
		Message: fmt.Sprintf("%s the same %s %q", subject, what, value),
		Related: related,
	}}
}

package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// statusOf returns the common status of a stagehand object, nil for any other
// object.
func statusOf(obj client.Object) *flowsv1alpha1.Status {
	switch o := obj.(type) {
	case *flowsv1alpha1.Flow:
		return &o.Status.Status
	case *flowsv1alpha1.FlowStageBinding:
		return &o.Status
	case *flowsv1alpha1.IdentificationStage:
		return &o.Status
	case *flowsv1alpha1.PasswordStage:
		return &o.Status
	case *flowsv1alpha1.AuthenticatorValidateStage:
		return &o.Status
	case *flowsv1alpha1.CaptchaStage:
		return &o.Status
	case *flowsv1alpha1.Source:
		return &o.Status
	case *flowsv1alpha1.WebAuthnDeviceType:
		return &o.Status
	}
	return nil
}

// stageObjects lists an empty object of every stage kind, for watches.
func stageObjects() []client.Object {
	out := make([]client.Object, len(flowsv1alpha1.StageKinds))
	for i, k := range flowsv1alpha1.StageKinds {
		out[i], _ = refs.NewObject(string(k))
	}
	return out
}

// listObjects returns a list's items.
func listObjects(list client.ObjectList) []client.Object {
	var out []client.Object
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		if obj, ok := o.(client.Object); ok {
			out = append(out, obj)
		}
		return nil
	})
	return out
}

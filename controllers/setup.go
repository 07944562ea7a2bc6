// Package controllers holds stagehand's reconcilers: one per kind, each
// resolving the object's references through the cache and writing its status.
//
// Every reconciler is level-triggered: it reads the object and what it
// references, computes the whole status in pure functions (status.go,
// warnings.go, flowPlan), and writes it in one status patch, or not at all
// when nothing changed. Referenced objects are watched through the refs
// field indexes, so an event re-reconciles exactly the objects that point at
// the object it is about. A problem only the user can fix is a condition, not
// an error: errors (retried with backoff) are failures to talk to the API
// server.
package controllers

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The manager's permissions, generated into config/rbac/role.yaml by
// `make manifests`: it reads every stagehand kind and Secrets (metadata
// watched, one Secret read live per CaptchaStage), patches status, and
// records Events.
//
// +kubebuilder:rbac:groups=flows.stagehand.dev,resources=flows;flowstagebindings;identificationstages;passwordstages;authenticatorvalidatestages;captchastages;sources;webauthndevicetypes,verbs=get;list;watch
// +kubebuilder:rbac:groups=flows.stagehand.dev,resources=flows/status;flowstagebindings/status;identificationstages/status;passwordstages/status;authenticatorvalidatestages/status;captchastages/status;sources/status;webauthndevicetypes/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// EventSource is the reporting controller of stagehand's Events.
const EventSource = "stagehand"

// SetupWithManager registers every stagehand reconciler with the manager:
// one controller per kind. The manager's cache must have the refs indexes
// (refs.Register) before it starts.
func SetupWithManager(mgr ctrl.Manager) error {
	c := mgr.GetClient()
	w := statusWriter{client: c, recorder: mgr.GetEventRecorder(EventSource)}
	live := mgr.GetAPIReader()
	for _, setup := range []func(ctrl.Manager) error{
		(&flowReconciler{client: c, status: w}).setup,
		forKind(flowStageBindingKind(), c, live, w),
		forKind(identificationStageKind(), c, live, w),
		forKind(passwordStageKind(), c, live, w),
		forKind(authenticatorValidateStageKind(), c, live, w),
		forKind(captchaStageKind(), c, live, w),
		forKind(sourceKind(), c, live, w),
		forKind(webAuthnDeviceTypeKind(), c, live, w),
	} {
		if err := setup(mgr); err != nil {
			return err
		}
	}
	return nil
}

// forKind is the setup of the shared reconciler for one kind.
func forKind[T client.Object](k kind[T], c client.Client, live client.Reader, w statusWriter) func(ctrl.Manager) error {
	return (&reconciler[T]{kind: k, client: c, live: live, status: w}).setup
}

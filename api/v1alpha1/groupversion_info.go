// Package v1alpha1 contains the stagehand API: authentik's flows, flow stage
// bindings and authentication stages as Kubernetes resources of the group
// flows.stagehand.dev.
//
// Field names are authentik's, in camelCase; enum values are authentik's
// verbatim, so a manifest reads like authentik's own documentation. Objects
// refer to each other by name in their namespace (`...Ref: {name: ...}`);
// a reference to an object that does not exist yet is not refused, it is
// reported in the referring object's status.
//
// +kubebuilder:object:generate=true
// +groupName=flows.stagehand.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every stagehand kind.
	GroupVersion = schema.GroupVersion{Group: "flows.stagehand.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the stagehand kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion} //nolint:staticcheck // deprecated to keep api packages' imports small, but this one imports controller-runtime anyway (kinds.go)

	// AddToScheme adds the stagehand kinds to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

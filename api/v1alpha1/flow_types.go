package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FlowDesignation is what a flow is used for.
// +kubebuilder:validation:Enum=authentication;authorization;invalidation;enrollment;unenrollment;recovery;stage_configuration
type FlowDesignation string

// The flow designations.
const (
	FlowDesignationAuthentication     FlowDesignation = "authentication"
	FlowDesignationAuthorization      FlowDesignation = "authorization"
	FlowDesignationInvalidation       FlowDesignation = "invalidation"
	FlowDesignationEnrollment         FlowDesignation = "enrollment"
	FlowDesignationUnenrollment       FlowDesignation = "unenrollment"
	FlowDesignationRecovery           FlowDesignation = "recovery"
	FlowDesignationStageConfiguration FlowDesignation = "stage_configuration"
)

// FlowLayout is how a flow's page is laid out. The two *_frame_background
// layouts are authentik 2026.8's.
// +kubebuilder:validation:Enum=stacked;content_left;content_right;sidebar_left;sidebar_right;sidebar_left_frame_background;sidebar_right_frame_background
type FlowLayout string

// DeniedAction is what happens when a flow denies access to a user.
// +kubebuilder:validation:Enum=message_continue;message;continue
type DeniedAction string

// FlowAuthentication is the authentication a user needs to start a flow.
// require_token is authentik 2026.8's.
// +kubebuilder:validation:Enum=none;require_authenticated;require_unauthenticated;require_superuser;require_redirect;require_outpost;require_token
type FlowAuthentication string

// DefaultFlowBackground is the background authentik shows when a flow sets none.
const DefaultFlowBackground = "/static/dist/assets/images/flow_background.jpg"

// FlowSpec is an authentik flow: a sequence of stages, bound to it by
// FlowStageBindings, that a user goes through.
type FlowSpec struct {
	// slug identifies the flow in URLs (/if/flow/<slug>/). Letters, numbers,
	// underscores and hyphens, at most 50 characters. Defaults to
	// metadata.name, which must then fit the same rule.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=50
	// +kubebuilder:validation:Pattern=`^[-a-zA-Z0-9_]+$`
	// +optional
	Slug string `json:"slug,omitempty"`

	// name is the flow's display name. Defaults to metadata.name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Name string `json:"name,omitempty"`

	// title is shown as the title of the flow's pages.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +required
	Title string `json:"title"`

	// designation decides what the flow is used for: authentication,
	// authorization, invalidation, enrollment, unenrollment, recovery or
	// stage_configuration. The authentication flow, for example, is where
	// authentik sends a user who is not signed in.
	// +required
	Designation FlowDesignation `json:"designation"`

	// background is the URL of the flow's background image: a path under
	// /static or an http(s) URL, served as given. When empty, authentik's
	// default background is used.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self == '' || self.startsWith('/static') || self.startsWith('http://') || self.startsWith('https://')",message="background must be a path under /static or an http(s) URL"
	// +optional
	Background string `json:"background,omitempty"`

	// policyEngineMode is how the policies bound to the flow combine: all
	// must pass, or any one.
	// Default any.
	// +kubebuilder:default=any
	// +optional
	PolicyEngineMode PolicyEngineMode `json:"policyEngineMode,omitempty"`

	// compatibilityMode increases compatibility with password managers on
	// mobile devices.
	// Default false.
	// +kubebuilder:default=false
	// +optional
	CompatibilityMode *bool `json:"compatibilityMode,omitempty"`

	// layout of the flow's pages: stacked, content_left, content_right,
	// sidebar_left, sidebar_right, or (since authentik 2026.8)
	// sidebar_left_frame_background or sidebar_right_frame_background.
	// authentik 2025.12 and its clients know only the first five.
	// Default stacked.
	// +kubebuilder:default=stacked
	// +optional
	Layout FlowLayout `json:"layout,omitempty"`

	// deniedAction is what happens when the flow denies access to a user:
	// message_continue, message or continue.
	// Default message_continue.
	// +kubebuilder:default=message_continue
	// +optional
	DeniedAction DeniedAction `json:"deniedAction,omitempty"`

	// authentication a user needs to start the flow: none,
	// require_authenticated, require_unauthenticated, require_superuser,
	// require_redirect, require_outpost, or (since authentik 2026.8)
	// require_token.
	// Default none.
	// +kubebuilder:default=none
	// +optional
	Authentication FlowAuthentication `json:"authentication,omitempty"`
}

// FlowPlanStage is one stage of a flow's plan, as bound by a FlowStageBinding.
type FlowPlanStage struct {
	// order of the stage in the flow; lower runs first.
	// +required
	Order int32 `json:"order"`

	// kind of the stage object; empty for a stage that lives only in
	// authentik.
	// +optional
	Kind StageKind `json:"kind,omitempty"`

	// model of a stage that lives only in authentik (see StageReference),
	// which stagehand does not check.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Model string `json:"model,omitempty"`

	// name of the stage.
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// binding is the name of the FlowStageBinding that puts the stage here.
	// +kubebuilder:validation:MaxLength=253
	// +required
	Binding string `json:"binding"`

	// ready is true when the binding and the stage are both Ready (for a
	// stage that lives only in authentik: when the binding is).
	// +required
	Ready bool `json:"ready"`
}

// FlowStatus is the observed state of a Flow.
type FlowStatus struct {
	Status `json:",inline"`

	// slug is the flow's effective slug: spec.slug, else metadata.name
	// (which is at most 50 characters when spec.slug is not set).
	// +kubebuilder:validation:MaxLength=50
	// +optional
	Slug string `json:"slug,omitempty"`

	// stages is the flow's plan: every stage bound to it, in the order
	// authentik runs them (by order, then binding name).
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1024
	// +optional
	Stages []FlowPlanStage `json:"stages,omitempty"`
}

// Flow is an authentik flow. Stages are bound to it with FlowStageBindings;
// its status shows the resulting plan.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fl,categories={stagehand}
// +kubebuilder:printcolumn:name="Slug",type=string,JSONPath=`.status.slug`
// +kubebuilder:printcolumn:name="Designation",type=string,JSONPath=`.spec.designation`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="has(self.spec.slug) || self.metadata.name.matches('^[-a-zA-Z0-9_]+$')",message="metadata.name is the flow's slug when spec.slug is not set, and a slug may only contain letters, numbers, underscores or hyphens: set spec.slug"
// +kubebuilder:validation:XValidation:rule="has(self.spec.slug) || size(self.metadata.name) <= 50",message="metadata.name is the flow's slug when spec.slug is not set, and a slug has at most 50 characters: set spec.slug"
type Flow struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's standard metadata: name, namespace, labels
	// and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the flow as authentik knows it.
	// +required
	Spec FlowSpec `json:"spec"`

	// status is the flow's plan and readiness, written by stagehand.
	// +optional
	Status FlowStatus `json:"status,omitempty"`
}

// EffectiveSlug is the flow's slug: spec.slug, else metadata.name.
func (f *Flow) EffectiveSlug() string {
	if f.Spec.Slug != "" {
		return f.Spec.Slug
	}
	return f.Name
}

// EffectiveName is the flow's display name: spec.name, else metadata.name.
func (f *Flow) EffectiveName() string {
	if f.Spec.Name != "" {
		return f.Spec.Name
	}
	return f.Name
}

// +kubebuilder:object:root=true

// FlowList is a list of Flows.
type FlowList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Flow `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Flow{}, &FlowList{})
}

// GetConditions returns the flow's status conditions.
func (o *Flow) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the flow's status conditions.
func (o *Flow) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetObservedGeneration returns the generation the flow's status describes.
func (o *Flow) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// SetObservedGeneration sets the generation the flow's status describes.
func (o *Flow) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SourceSpec is an authentik source: an external identity provider (OAuth,
// SAML, LDAP, Plex, ...) users can sign in with. stagehand keeps only what the
// stages that list sources need.
type SourceSpec struct {
	// slug identifies the source in URLs. Letters, numbers, underscores and
	// hyphens, at most 50 characters. Defaults to metadata.name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=50
	// +kubebuilder:validation:Pattern=`^[-a-zA-Z0-9_]+$`
	// +optional
	Slug string `json:"slug,omitempty"`

	// name is the source's display name. Defaults to metadata.name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Name string `json:"name,omitempty"`

	// enabled sources are offered to users.
	// Default true.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// Source is an authentik source, listed by IdentificationStages' sourceRefs.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=src,categories={stagehand}
// +kubebuilder:printcolumn:name="Enabled",type=boolean,JSONPath=`.spec.enabled`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="(has(self.spec) && has(self.spec.slug)) || self.metadata.name.matches('^[-a-zA-Z0-9_]+$')",message="metadata.name is the source's slug when spec.slug is not set, and a slug may only contain letters, numbers, underscores or hyphens: set spec.slug"
// +kubebuilder:validation:XValidation:rule="(has(self.spec) && has(self.spec.slug)) || size(self.metadata.name) <= 50",message="metadata.name is the source's slug when spec.slug is not set, and a slug has at most 50 characters: set spec.slug"
type Source struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's standard metadata: name, namespace, labels
	// and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the source as the stages see it. Every field has a default,
	// so an empty spec is a source named after the object.
	// +kubebuilder:default={}
	// +optional
	Spec SourceSpec `json:"spec,omitzero"`

	// status reports the source's readiness.
	// +optional
	Status Status `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SourceList is a list of Sources.
type SourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Source `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Source{}, &SourceList{})
}

// GetConditions returns the source's status conditions.
func (o *Source) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the source's status conditions.
func (o *Source) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetObservedGeneration returns the generation the source's status describes.
func (o *Source) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// SetObservedGeneration sets the generation the source's status describes.
func (o *Source) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

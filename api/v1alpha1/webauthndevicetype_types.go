package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WebAuthnDeviceTypeSpec identifies a model of WebAuthn authenticator.
type WebAuthnDeviceTypeSpec struct {
	// The API server's format uuid also admits uppercase and unhyphenated
	// spellings of one UUID. The pattern admits only the canonical spelling,
	// so that an aaguid is one string wherever stagehand compares it: the
	// device type's pk in the API, the AAGUID index and the duplicate check.

	// aaguid is the authenticator model's AAGUID, as published in the FIDO
	// metadata service: a UUID in its canonical form, lowercase with hyphens
	// (2fc0579f-8113-47ea-b116-bb5a8db9202a). It is the device type's
	// identity in the API and cannot be changed.
	// +kubebuilder:validation:Format=uuid
	// +kubebuilder:validation:MaxLength=36
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="aaguid is immutable"
	// +required
	AAGUID string `json:"aaguid"`

	// description names the authenticator model, such as "YubiKey 5 Series".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +required
	Description string `json:"description"`
}

// WebAuthnDeviceType is a model of WebAuthn authenticator that an
// AuthenticatorValidateStage can restrict sign-in to. Device types are shared
// by the whole cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=wadt,categories={stagehand}
// +kubebuilder:printcolumn:name="AAGUID",type=string,JSONPath=`.spec.aaguid`
// +kubebuilder:printcolumn:name="Description",type=string,JSONPath=`.spec.description`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type WebAuthnDeviceType struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's standard metadata: name, namespace, labels
	// and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec identifies the authenticator model.
	// +required
	Spec WebAuthnDeviceTypeSpec `json:"spec"`

	// status reports the device type's readiness.
	// +optional
	Status Status `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// WebAuthnDeviceTypeList is a list of WebAuthnDeviceTypes.
type WebAuthnDeviceTypeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WebAuthnDeviceType `json:"items"`
}

func init() {
	SchemeBuilder.Register(&WebAuthnDeviceType{}, &WebAuthnDeviceTypeList{})
}

// GetConditions returns the device type's status conditions.
func (o *WebAuthnDeviceType) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the device type's status conditions.
func (o *WebAuthnDeviceType) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetObservedGeneration returns the generation the device type's status describes.
func (o *WebAuthnDeviceType) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// SetObservedGeneration sets the generation the device type's status describes.
func (o *WebAuthnDeviceType) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

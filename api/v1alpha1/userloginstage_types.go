package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NetworkBinding binds the sessions a UserLoginStage creates to the network
// the user signed in from.
// +kubebuilder:validation:Enum=no_binding;bind_asn;bind_asn_network;bind_asn_network_ip
type NetworkBinding string

// GeoIPBinding binds the sessions a UserLoginStage creates to the place the
// user signed in from.
// +kubebuilder:validation:Enum=no_binding;bind_continent;bind_continent_country;bind_continent_country_city
type GeoIPBinding string

// UserLoginStageSpec is authentik's user login stage.
type UserLoginStageSpec struct {
	// name is the stage's name in authentik, which identifies it there
	// (authentik's stage names are unique across every kind of stage).
	// Defaults to metadata.name; set it when authentik's name is not a
	// valid object name ("Default enrollment: Prompt", say).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Name string `json:"name,omitempty"`

	// sessionDuration is how long the session lasts, written like
	// "hours=8" (see lastAuthThreshold for the format). The default,
	// "seconds=0", makes it last until the browser is closed.
	// +kubebuilder:default="seconds=0"
	// +optional
	SessionDuration TimeDelta `json:"sessionDuration,omitempty"`

	// terminateOtherSessions ends every other session of the user signing
	// in. Default false.
	// +kubebuilder:default=false
	// +optional
	TerminateOtherSessions *bool `json:"terminateOtherSessions,omitempty"`

	// rememberMeOffset extends the session by this much when the user picks
	// "remember me". The default, "seconds=0", does not offer the option.
	// +kubebuilder:default="seconds=0"
	// +optional
	RememberMeOffset TimeDelta `json:"rememberMeOffset,omitempty"`

	// networkBinding binds the session to the network it was created from:
	// no_binding (the default), bind_asn, bind_asn_network or
	// bind_asn_network_ip. A request from elsewhere ends the session.
	// +kubebuilder:default=no_binding
	// +optional
	NetworkBinding NetworkBinding `json:"networkBinding,omitempty"`

	// geoipBinding binds the session to the place it was created from:
	// no_binding (the default), bind_continent, bind_continent_country or
	// bind_continent_country_city.
	// +kubebuilder:default=no_binding
	// +optional
	GeoIPBinding GeoIPBinding `json:"geoipBinding,omitempty"`

	// rememberDevice is how long authentik keeps a cookie that remembers the
	// device the user signed in from; zero keeps none. Default "days=30".
	// +kubebuilder:default="days=30"
	// +optional
	RememberDevice TimeDelta `json:"rememberDevice,omitempty"`
}

// UserLoginStage is authentik's user login stage: the step that signs the
// user in, creating their session. Every field has a default, so an empty
// spec is authentik's default login stage.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ulstage,categories={stagehand,stages}
// +kubebuilder:printcolumn:name="Session",type=string,JSONPath=`.spec.sessionDuration`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type UserLoginStage struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's standard metadata: name, namespace, labels
	// and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the stage as authentik knows it. Every field has a default,
	// so an empty spec is authentik's default login stage.
	// +kubebuilder:default={}
	// +optional
	Spec UserLoginStageSpec `json:"spec,omitzero"`

	// status reports the stage's readiness.
	// +optional
	Status Status `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// UserLoginStageList is a list of UserLoginStages.
type UserLoginStageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UserLoginStage `json:"items"`
}

func init() {
	SchemeBuilder.Register(&UserLoginStage{}, &UserLoginStageList{})
}

// GetConditions returns the stage's status conditions.
func (o *UserLoginStage) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the stage's status conditions.
func (o *UserLoginStage) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetObservedGeneration returns the generation the stage's status describes.
func (o *UserLoginStage) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// SetObservedGeneration sets the generation the stage's status describes.
func (o *UserLoginStage) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

// StageName is the stage's name in authentik: spec.name, else metadata.name.
func (o *UserLoginStage) StageName() string { return stageName(o.Spec.Name, o.Name) }

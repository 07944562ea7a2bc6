package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UserField is a field of the user object an IdentificationStage matches
// what the user typed against.
// +kubebuilder:validation:Enum=email;username;upn
type UserField string

// IdentificationStageSpec is authentik's identification stage: it asks who
// the user is.
// +kubebuilder:validation:XValidation:rule="(has(self.userFields) && size(self.userFields) > 0) || (has(self.sourceRefs) && size(self.sourceRefs) > 0)",message="When no user fields are selected, at least one source must be selected"
type IdentificationStageSpec struct {
	// name is the stage's name in authentik, which identifies it there
	// (authentik's stage names are unique across every kind of stage).
	// Defaults to metadata.name; set it when authentik's name is not a
	// valid object name ("Default enrollment: Prompt", say).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Name string `json:"name,omitempty"`

	// userFields are the fields of the user object to match against: email,
	// username and upn. When empty, the stage only shows sources, and at least
	// one sourceRef is required.
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	// +optional
	UserFields []UserField `json:"userFields,omitempty"`

	// passwordStageRef names a PasswordStage. When set, the password field is
	// shown on this stage instead of as a separate step.
	// +optional
	PasswordStageRef *LocalObjectReference `json:"passwordStageRef,omitempty"`

	// captchaStageRef names a CaptchaStage whose check is baked into this
	// stage.
	// +optional
	CaptchaStageRef *LocalObjectReference `json:"captchaStageRef,omitempty"`

	// caseInsensitiveMatching matches user fields regardless of their casing.
	// Default true.
	// +kubebuilder:default=true
	// +optional
	CaseInsensitiveMatching *bool `json:"caseInsensitiveMatching,omitempty"`

	// showMatchedUser shows the matched user's username and avatar once a
	// valid username or email has been entered; otherwise the text the user
	// typed is shown.
	// Default true.
	// +kubebuilder:default=true
	// +optional
	ShowMatchedUser *bool `json:"showMatchedUser,omitempty"`

	// enrollmentFlowRef names an optional enrollment Flow, linked at the
	// bottom of the page. stagehand warns when its designation is not
	// enrollment.
	// +optional
	EnrollmentFlowRef *LocalObjectReference `json:"enrollmentFlowRef,omitempty"`

	// recoveryFlowRef names an optional recovery Flow, linked at the bottom
	// of the page. stagehand warns when its designation is not recovery.
	// +optional
	RecoveryFlowRef *LocalObjectReference `json:"recoveryFlowRef,omitempty"`

	// passwordlessFlowRef names an optional passwordless Flow, linked at the
	// bottom of the page. stagehand warns when its designation is not
	// authentication.
	// +optional
	PasswordlessFlowRef *LocalObjectReference `json:"passwordlessFlowRef,omitempty"`

	// sourceRefs names the Sources shown on the stage.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +optional
	SourceRefs []LocalObjectReference `json:"sourceRefs,omitempty"`

	// showSourceLabels shows the sources' names beside their icons.
	// Default false.
	// +kubebuilder:default=false
	// +optional
	ShowSourceLabels *bool `json:"showSourceLabels,omitempty"`

	// pretendUserExists lets the stage succeed and continue even when the
	// user entered does not exist, so the flow does not reveal which users
	// do.
	// Default true.
	// +kubebuilder:default=true
	// +optional
	PretendUserExists *bool `json:"pretendUserExists,omitempty"`

	// enableRememberMe shows the user a "Remember me on this device" toggle,
	// letting returning users go straight to entering their password.
	// Default false.
	// +kubebuilder:default=false
	// +optional
	EnableRememberMe *bool `json:"enableRememberMe,omitempty"`

	// webauthnStageRef names an AuthenticatorValidateStage used for
	// passkey (WebAuthn) sign-in from this stage. stagehand warns when its
	// deviceClasses lack webauthn.
	// +optional
	WebAuthnStageRef *LocalObjectReference `json:"webauthnStageRef,omitempty"`
}

// IdentificationStage is authentik's identification stage: the step that asks
// the user for a username or email, or offers sources to sign in with.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=idstage,categories={stagehand,stages}
// +kubebuilder:printcolumn:name="User Fields",type=string,JSONPath=`.spec.userFields`
// +kubebuilder:printcolumn:name="Password Stage",type=string,JSONPath=`.spec.passwordStageRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type IdentificationStage struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's standard metadata: name, namespace, labels
	// and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the stage as authentik knows it.
	// +required
	Spec IdentificationStageSpec `json:"spec"`

	// status reports whether every reference resolves.
	// +optional
	Status Status `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// IdentificationStageList is a list of IdentificationStages.
type IdentificationStageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IdentificationStage `json:"items"`
}

func init() {
	SchemeBuilder.Register(&IdentificationStage{}, &IdentificationStageList{})
}

// GetConditions returns the stage's status conditions.
func (o *IdentificationStage) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the stage's status conditions.
func (o *IdentificationStage) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetObservedGeneration returns the generation the stage's status describes.
func (o *IdentificationStage) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// SetObservedGeneration sets the generation the stage's status describes.
func (o *IdentificationStage) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

// StageName is the stage's name in authentik: spec.name, else metadata.name.
func (o *IdentificationStage) StageName() string { return stageName(o.Spec.Name, o.Name) }

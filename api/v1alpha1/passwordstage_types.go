package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PasswordBackend is an authentik backend a password is checked against.
// +kubebuilder:validation:Enum=authentik.core.auth.InbuiltBackend;authentik.core.auth.TokenBackend;authentik.sources.ldap.auth.LDAPBackend;authentik.sources.kerberos.auth.KerberosBackend
type PasswordBackend string

// PasswordStageSpec is authentik's password stage.
type PasswordStageSpec struct {
	// name is the stage's name in authentik, which identifies it there
	// (authentik's stage names are unique across every kind of stage).
	// Defaults to metadata.name; set it when authentik's name is not a
	// valid object name ("Default enrollment: Prompt", say).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Name string `json:"name,omitempty"`

	// backends the password is tested against, at least one:
	// authentik.core.auth.InbuiltBackend (authentik's own users),
	// authentik.core.auth.TokenBackend (app passwords),
	// authentik.sources.ldap.auth.LDAPBackend and
	// authentik.sources.kerberos.auth.KerberosBackend.
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:validation:XValidation:rule="size(self) > 0",message="This list may not be empty."
	// +required
	Backends []PasswordBackend `json:"backends"`

	// configureFlowRef names the Flow a signed-in user runs to change their
	// password. When empty, users cannot configure this stage. stagehand
	// warns when its designation is not stage_configuration.
	// +optional
	ConfigureFlowRef *LocalObjectReference `json:"configureFlowRef,omitempty"`

	// failedAttemptsBeforeCancel is how many attempts a user has before the
	// flow is cancelled. To lock the user out, use a reputation policy and a
	// user_write stage.
	// Default 5.
	// +kubebuilder:validation:Minimum=-2147483648
	// +kubebuilder:validation:Maximum=2147483647
	// +kubebuilder:default=5
	// +optional
	FailedAttemptsBeforeCancel *int32 `json:"failedAttemptsBeforeCancel,omitempty"`

	// allowShowPassword adds a "show password" button to the password field.
	// Default false.
	// +kubebuilder:default=false
	// +optional
	AllowShowPassword *bool `json:"allowShowPassword,omitempty"`
}

// PasswordStage is authentik's password stage: the step that checks the
// user's password against one or more backends.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pwstage,categories={stagehand,stages}
// +kubebuilder:printcolumn:name="Attempts",type=integer,JSONPath=`.spec.failedAttemptsBeforeCancel`
// +kubebuilder:printcolumn:name="Configure Flow",type=string,JSONPath=`.spec.configureFlowRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PasswordStage struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's standard metadata: name, namespace, labels
	// and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the stage as authentik knows it.
	// +required
	Spec PasswordStageSpec `json:"spec"`

	// status reports whether every reference resolves.
	// +optional
	Status Status `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// PasswordStageList is a list of PasswordStages.
type PasswordStageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PasswordStage `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PasswordStage{}, &PasswordStageList{})
}

// GetConditions returns the stage's status conditions.
func (o *PasswordStage) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the stage's status conditions.
func (o *PasswordStage) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetObservedGeneration returns the generation the stage's status describes.
func (o *PasswordStage) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// SetObservedGeneration sets the generation the stage's status describes.
func (o *PasswordStage) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

// StageName is the stage's name in authentik: spec.name, else metadata.name.
func (o *PasswordStage) StageName() string { return stageName(o.Spec.Name, o.Name) }

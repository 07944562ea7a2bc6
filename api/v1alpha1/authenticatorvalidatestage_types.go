package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NotConfiguredAction is what an AuthenticatorValidateStage does when the user
// has no device it accepts.
// +kubebuilder:validation:Enum=skip;deny;configure
type NotConfiguredAction string

// The not-configured actions.
const (
	NotConfiguredActionSkip      NotConfiguredAction = "skip"
	NotConfiguredActionDeny      NotConfiguredAction = "deny"
	NotConfiguredActionConfigure NotConfiguredAction = "configure"
)

// DeviceClass is a class of authenticator device.
// +kubebuilder:validation:Enum=static;totp;webauthn;duo;sms;email
type DeviceClass string

// The device classes.
const (
	DeviceClassStatic   DeviceClass = "static"
	DeviceClassTOTP     DeviceClass = "totp"
	DeviceClassWebAuthn DeviceClass = "webauthn"
	DeviceClassDuo      DeviceClass = "duo"
	DeviceClassSMS      DeviceClass = "sms"
	DeviceClassEmail    DeviceClass = "email"
)

// WebAuthnHint tells the browser which kind of authenticator to offer first.
// +kubebuilder:validation:Enum=security-key;client-device;hybrid
type WebAuthnHint string

// UserVerification is the WebAuthn user verification requirement.
// +kubebuilder:validation:Enum=required;preferred;discouraged
type UserVerification string

// DefaultLastAuthThreshold is authentik's default lastAuthThreshold: a device
// must always be used.
const DefaultLastAuthThreshold = "seconds=0"

// AuthenticatorValidateStageSpec is authentik's authenticator validation stage.
// +kubebuilder:validation:XValidation:rule="!has(self.notConfiguredAction) || self.notConfiguredAction != 'configure' || (has(self.configurationStageRefs) && size(self.configurationStageRefs) > 0)",message="When \"Not configured action\" is set to \"Configure\", you must set a configuration stage.",fieldPath=".notConfiguredAction"
type AuthenticatorValidateStageSpec struct {
	// name is the stage's name in authentik, which identifies it there
	// (authentik's stage names are unique across every kind of stage).
	// Defaults to metadata.name; set it when authentik's name is not a
	// valid object name ("Default enrollment: Prompt", say).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Name string `json:"name,omitempty"`

	// notConfiguredAction is what happens when the user has no device of the
	// accepted classes: skip the stage, deny access, or configure a device
	// with one of configurationStageRefs.
	// Default skip.
	// +kubebuilder:default=skip
	// +optional
	NotConfiguredAction NotConfiguredAction `json:"notConfiguredAction,omitempty"`

	// deviceClasses are the device classes that can be used to authenticate,
	// at least one: static, totp, webauthn, duo, sms and email. Defaults to
	// all six.
	// +listType=set
	// +kubebuilder:validation:MaxItems=6
	// +kubebuilder:validation:XValidation:rule="size(self) > 0",message="This list may not be empty."
	// +kubebuilder:default={static,totp,webauthn,duo,sms,email}
	// +optional
	DeviceClasses []DeviceClass `json:"deviceClasses,omitempty"`

	// configurationStageRefs names the stages used to configure an
	// authenticator when the user has no compatible device. Once one of them
	// passes, the user is not prompted again. Required when
	// notConfiguredAction is configure. Their real targets are authentik's
	// authenticator setup stages (TOTP, WebAuthn, static, ...), which
	// stagehand does not model: name them by model and name
	// ({model: authentik_stages_authenticator_totp.authenticatortotpstage,
	// name: default-authenticator-totp-setup}).
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(x, self.exists_one(y, y == x))",message="each configuration stage may be named once"
	// +optional
	ConfigurationStageRefs []StageReference `json:"configurationStageRefs,omitempty"`

	// lastAuthThreshold skips the stage when any of the user's devices was
	// used within this time. Written as key=value pairs separated by ";",
	// with keys microseconds, milliseconds, seconds, minutes, hours, days and
	// weeks and numeric values: "hours=3;minutes=1". The default,
	// "seconds=0", always asks.
	// +kubebuilder:default="seconds=0"
	// +optional
	LastAuthThreshold TimeDelta `json:"lastAuthThreshold,omitempty"`

	// webauthnUserVerification is the WebAuthn user verification
	// requirement: required, preferred or discouraged.
	// Default preferred.
	// +kubebuilder:default=preferred
	// +optional
	WebAuthnUserVerification UserVerification `json:"webauthnUserVerification,omitempty"`

	// webauthnHints tell the browser which kinds of authenticator to offer,
	// in order of preference: security-key, client-device and hybrid. Empty
	// (the default) leaves the choice to the browser. Since authentik
	// 2026.2.
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	// +optional
	WebAuthnHints []WebAuthnHint `json:"webauthnHints,omitempty"`

	// webauthnAllowedDeviceTypeRefs names the WebAuthnDeviceTypes (cluster
	// scoped) whose authenticators are accepted. When empty, any WebAuthn
	// device is.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=512
	// +optional
	WebAuthnAllowedDeviceTypeRefs []LocalObjectReference `json:"webauthnAllowedDeviceTypeRefs,omitempty"`

	// The OTP throttling factors (authentik 2026.8) slow down guessing: after
	// the n-th failed attempt in a row with a device of the class, the user
	// waits factor * 2^(n-1) seconds before the next. 0 turns the delay off
	// for the class; the default is 1. They are floating-point numbers
	// because authentik's are (a double in its API, a FloatField in its
	// model); a Quantity would not read like authentik's documentation.

	// emailOTPThrottlingFactor is the throttling factor of email codes.
	// Default 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	EmailOTPThrottlingFactor *float64 `json:"emailOTPThrottlingFactor,omitempty"`

	// smsOTPThrottlingFactor is the throttling factor of SMS codes.
	// Default 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	SMSOTPThrottlingFactor *float64 `json:"smsOTPThrottlingFactor,omitempty"`

	// totpOTPThrottlingFactor is the throttling factor of TOTP codes.
	// Default 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	TOTPOTPThrottlingFactor *float64 `json:"totpOTPThrottlingFactor,omitempty"`

	// staticOTPThrottlingFactor is the throttling factor of static (recovery)
	// codes.
	// Default 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	StaticOTPThrottlingFactor *float64 `json:"staticOTPThrottlingFactor,omitempty"`
}

// AuthenticatorValidateStage is authentik's authenticator validation stage:
// the step that asks for a second factor (TOTP, WebAuthn, static codes, ...).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=avstage,categories={stagehand,stages}
// +kubebuilder:printcolumn:name="Not Configured",type=string,JSONPath=`.spec.notConfiguredAction`
// +kubebuilder:printcolumn:name="Device Classes",type=string,JSONPath=`.spec.deviceClasses`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AuthenticatorValidateStage struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's standard metadata: name, namespace, labels
	// and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the stage as authentik knows it. Every field has a default, so
	// an empty spec is authentik's default validation stage.
	// +kubebuilder:default={}
	// +optional
	Spec AuthenticatorValidateStageSpec `json:"spec,omitzero"`

	// status reports whether every reference resolves.
	// +optional
	Status Status `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// AuthenticatorValidateStageList is a list of AuthenticatorValidateStages.
type AuthenticatorValidateStageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AuthenticatorValidateStage `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AuthenticatorValidateStage{}, &AuthenticatorValidateStageList{})
}

// GetConditions returns the stage's status conditions.
func (o *AuthenticatorValidateStage) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the stage's status conditions.
func (o *AuthenticatorValidateStage) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetObservedGeneration returns the generation the stage's status describes.
func (o *AuthenticatorValidateStage) GetObservedGeneration() int64 {
	return o.Status.ObservedGeneration
}

// SetObservedGeneration sets the generation the stage's status describes.
func (o *AuthenticatorValidateStage) SetObservedGeneration(g int64) {
	o.Status.ObservedGeneration = g
}

// StageName is the stage's name in authentik: spec.name, else metadata.name.
func (o *AuthenticatorValidateStage) StageName() string { return stageName(o.Spec.Name, o.Name) }

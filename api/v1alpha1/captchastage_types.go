package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RequestContentType is how a CaptchaStage sends its verification request to
// the provider's API: as a form (what reCAPTCHA, hCaptcha and Turnstile
// read) or as JSON (for providers that only read JSON).
// +kubebuilder:validation:Enum=application/x-www-form-urlencoded;application/json
type RequestContentType string

// The request content types.
const (
	RequestContentTypeForm RequestContentType = "application/x-www-form-urlencoded"
	RequestContentTypeJSON RequestContentType = "application/json"
)

// CaptchaStageSpec is authentik's captcha stage.
type CaptchaStageSpec struct {
	// name is the stage's name in authentik, which identifies it there
	// (authentik's stage names are unique across every kind of stage).
	// Defaults to metadata.name; set it when authentik's name is not a
	// valid object name ("Default enrollment: Prompt", say).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Name string `json:"name,omitempty"`

	// publicKey is the site key given by the captcha provider.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	PublicKey string `json:"publicKey"`

	// privateKeySecretRef names the Secret key holding the captcha
	// provider's secret key. It is never written into the stage itself.
	// The Secret must carry the label flows.stagehand.dev/readable=true
	// (kubectl label secret <name> flows.stagehand.dev/readable=true):
	// stagehand reads no other Secret, and reports one without the label as
	// not found, as it reports a missing one.
	// +required
	PrivateKeySecretRef SecretKeyReference `json:"privateKeySecretRef"`

	// jsUrl is the URL of the provider's JavaScript. Defaults to Google
	// reCAPTCHA's; hCaptcha and Cloudflare Turnstile work too.
	// Default https://www.recaptcha.net/recaptcha/api.js.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:default="https://www.recaptcha.net/recaptcha/api.js"
	// +optional
	JSURL string `json:"jsUrl,omitempty"`

	// apiUrl is the URL of the provider's verification API.
	// Default https://www.recaptcha.net/recaptcha/api/siteverify.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:default="https://www.recaptcha.net/recaptcha/api/siteverify"
	// +optional
	APIURL string `json:"apiUrl,omitempty"`

	// requestContentType is how the verification request is sent to apiUrl:
	// application/x-www-form-urlencoded (the default, what reCAPTCHA,
	// hCaptcha and Turnstile read) or application/json. Since authentik
	// 2026.8.
	// +kubebuilder:default="application/x-www-form-urlencoded"
	// +optional
	RequestContentType RequestContentType `json:"requestContentType,omitempty"`

	// interactive is true for captchas the user solves (reCAPTCHA v2,
	// hCaptcha), false for invisible ones (reCAPTCHA v3).
	// Default false.
	// +kubebuilder:default=false
	// +optional
	Interactive *bool `json:"interactive,omitempty"`

	// The score thresholds are floats, against the API conventions, because
	// authentik's are: FloatField(default=0.5) and FloatField(default=1.0) in
	// its model, JSON numbers in its API, compared with the provider's score,
	// itself a fraction of 1 (reCAPTCHA v3 answers 0.0 to 1.0). An integer
	// scale of stagehand's own would make manifests disagree with authentik's
	// documentation. (.golangci.yml lets nofloats pass them.)

	// scoreMinThreshold is the lowest score, from 0 to 1, that passes.
	// Default 0.5.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1
	// +kubebuilder:default=0.5
	// +optional
	ScoreMinThreshold *float64 `json:"scoreMinThreshold,omitempty"`

	// scoreMaxThreshold is the highest score, from 0 to 1, that passes.
	// Default 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1
	// +kubebuilder:default=1
	// +optional
	ScoreMaxThreshold *float64 `json:"scoreMaxThreshold,omitempty"`

	// errorOnInvalidScore fails the stage when the score is outside the
	// thresholds; when false, the flow goes on and the score is left for
	// policies to read.
	// Default true.
	// +kubebuilder:default=true
	// +optional
	ErrorOnInvalidScore *bool `json:"errorOnInvalidScore,omitempty"`
}

// CaptchaStage is authentik's captcha stage, used on its own in a flow or
// through an IdentificationStage's captchaStageRef.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=capstage,categories={stagehand,stages}
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.spec.privateKeySecretRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CaptchaStage struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's standard metadata: name, namespace, labels
	// and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the stage as authentik knows it.
	// +required
	Spec CaptchaStageSpec `json:"spec"`

	// status reports whether the Secret, marked for stagehand, and its key
	// exist.
	// +optional
	Status Status `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CaptchaStageList is a list of CaptchaStages.
type CaptchaStageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CaptchaStage `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CaptchaStage{}, &CaptchaStageList{})
}

// GetConditions returns the stage's status conditions.
func (o *CaptchaStage) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the stage's status conditions.
func (o *CaptchaStage) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetObservedGeneration returns the generation the stage's status describes.
func (o *CaptchaStage) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// SetObservedGeneration sets the generation the stage's status describes.
func (o *CaptchaStage) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

// StageName is the stage's name in authentik: spec.name, else metadata.name.
func (o *CaptchaStage) StageName() string { return stageName(o.Spec.Name, o.Name) }

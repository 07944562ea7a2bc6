package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types every stagehand kind reports in status.conditions.
const (
	// ConditionReady summarises an object: True when every reference it
	// makes resolves to an object that exists and is usable. Argo CD, Flux
	// and kstatus read health from it.
	ConditionReady = "Ready"

	// ConditionWarning is present, and True, while the object has a problem
	// authentik itself would accept but a person would want to know about,
	// such as a recovery flow reference that points at a flow whose
	// designation is not recovery. It does not make the object not Ready.
	ConditionWarning = "Warning"

	// ConditionReconciling is present, and True, while the object is not
	// Ready for a reason that may resolve by itself: a reference to an object
	// that does not exist yet (GitOps tools apply in any order), or a flow
	// whose stages are not all Ready yet. kstatus (and so Flux's health
	// checks) reads it as InProgress.
	ConditionReconciling = "Reconciling"

	// ConditionStalled is present, and True, while the object is not Ready
	// for a reason only a person can fix: a reference to an object that
	// exists but cannot be used, or colliding bindings. kstatus reads it as
	// Failed.
	ConditionStalled = "Stalled"
)

// Reasons of the Ready condition.
const (
	// ReasonResolved: every reference resolves; the object is Ready.
	ReasonResolved = "Resolved"

	// ReasonNotChecked: the object is Ready as far as stagehand can tell,
	// but at least one reference names a stage that lives only in authentik
	// (a stageRef or configurationStageRefs entry by model), or, for a Flow,
	// one of its stages is NotChecked. stagehand cannot see authentik's
	// stages, so it does not check that such a stage exists, nor that it is
	// of that model; authentik finds it by name when it applies the flow's
	// blueprint. The message names each such reference.
	ReasonNotChecked = "NotChecked"

	// ReasonReferenceNotFound: at least one referenced object does not exist.
	// The message names each missing reference by kind and name.
	ReasonReferenceNotFound = "ReferenceNotFound"

	// ReasonReferenceInvalid: a referenced object exists but cannot be used,
	// such as a Secret that lacks the key a CaptchaStage names.
	ReasonReferenceInvalid = "ReferenceInvalid"

	// ReasonStagesNotReady: a Flow's bindings or bound stages are not all Ready.
	ReasonStagesNotReady = "StagesNotReady"

	// ReasonBindingConflict: two or more FlowStageBindings bind the same stage
	// to the same flow at the same order, which authentik refuses.
	ReasonBindingConflict = "BindingConflict"
)

// Reasons of the Warning condition (and of the Events that announce it).
const (
	// ReasonDesignationMismatch: a flow reference points at a flow whose
	// designation does not fit the field (an enrollmentFlowRef at a flow that
	// is not an enrollment flow, for example).
	ReasonDesignationMismatch = "DesignationMismatch"

	// ReasonWebAuthnNotAllowed: an IdentificationStage's webauthnStageRef
	// points at an AuthenticatorValidateStage whose deviceClasses lack webauthn.
	ReasonWebAuthnNotAllowed = "WebAuthnNotAllowed"

	// ReasonDuplicateSlug: two Flows have the same effective slug, in one
	// namespace or in two: authentik's slugs are global, so both stand for
	// one authentik flow.
	ReasonDuplicateSlug = "DuplicateSlug"

	// ReasonDuplicateStageName: two stages of one kind have the same name
	// in authentik (spec.name, else metadata.name), in one namespace or in
	// two: authentik's stage names are global, so both stand for one
	// authentik stage.
	ReasonDuplicateStageName = "DuplicateStageName"

	// ReasonDuplicateAAGUID: two WebAuthnDeviceTypes have the same aaguid.
	ReasonDuplicateAAGUID = "DuplicateAAGUID"
)

// Status is the observed state every stagehand kind reports.
type Status struct {
	// conditions describe the object's state: Ready (True or False, with a
	// reason and a message naming every problem reference); while it is
	// False, Reconciling (waiting for something that may still appear) or
	// Stalled (needs a fix), as kstatus expects; and, while there is
	// something to warn about, Warning.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the metadata.generation the conditions describe.
	// When it is lower than metadata.generation, the controller has not yet
	// looked at the latest change.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// LocalObjectReference names an object by name. The object is looked up in the
// referring object's namespace, except for cluster-scoped kinds.
type LocalObjectReference struct {
	// name of the referenced object: a valid object name (lowercase letters,
	// digits, '-' and '.'), or the reference could never resolve.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +required
	Name string `json:"name"`
}

// StageKind is a stage kind stagehand serves.
// +kubebuilder:validation:Enum=IdentificationStage;PasswordStage;AuthenticatorValidateStage;CaptchaStage;UserLoginStage
type StageKind string

// The stage kinds a StageReference may name.
const (
	StageKindIdentification        StageKind = "IdentificationStage"
	StageKindPassword              StageKind = "PasswordStage"
	StageKindAuthenticatorValidate StageKind = "AuthenticatorValidateStage"
	StageKindCaptcha               StageKind = "CaptchaStage"
	StageKindUserLogin             StageKind = "UserLoginStage"
)

// StageReference names a stage: either a stage object stagehand serves, by
// kind and name in the referring object's namespace, or a stage that lives
// only in authentik (a kind stagehand does not model, such as a user write
// or prompt stage), by its authentik model and name. stagehand cannot check
// that an authentik stage exists: it reports such a reference as external,
// and a published blueprint finds the stage by model and name.
// +kubebuilder:validation:XValidation:rule="has(self.kind) != has(self.model)",message="set exactly one of kind (a stage object in this namespace) and model (an authentik stage stagehand does not model)"
// +kubebuilder:validation:XValidation:rule="!has(self.kind) || self.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="name must be a valid object name (lowercase letters, digits, '-' and '.') when kind is set: it names a stage object"
type StageReference struct {
	// kind of the stage object: IdentificationStage, PasswordStage,
	// AuthenticatorValidateStage, CaptchaStage or UserLoginStage. Exactly one
	// of kind and model is set.
	// +optional
	Kind StageKind `json:"kind,omitempty"`

	// model of a stage that lives only in authentik, as authentik names its
	// models: authentik_stages_user_write.userwritestage,
	// authentik_stages_prompt.promptstage, ... Exactly one of kind and model
	// is set.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^authentik_[a-z0-9_]+[.][a-z0-9_]+$`
	// +optional
	Model string `json:"model,omitempty"`

	// name of the stage: with kind, the stage object's name; with model, the
	// stage's name in authentik.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// IsExternal reports whether the reference names a stage that lives only in
// authentik (by model), not a stage object.
func (r StageReference) IsExternal() bool { return r.Model != "" }

// LabelSecretReadable marks a Secret that stagehand may read: only a
// Secret with this label, with the value "true", is ever read (its value
// checked by the CaptchaStage that names it, and written into blueprints by
// a BlueprintExport with secrets: Inline). Only someone who may write the
// Secret can set it, so creating a CaptchaStage does not give access to
// the namespace's other Secrets; any CaptchaStage of the namespace may name
// a Secret so marked. A Secret without it is reported exactly as a Secret
// that does not exist.
const LabelSecretReadable = "flows.stagehand.dev/readable"

// SecretKeyReference names one key of a Secret in the referring object's
// namespace. stagehand reads the Secret only when it carries the label
// flows.stagehand.dev/readable=true; without it, the Secret is reported as
// not found.
type SecretKeyReference struct {
	// name of the Secret: a valid object name. The Secret must carry the
	// label flows.stagehand.dev/readable=true, which only someone who may
	// write it can set: stagehand reads no other Secret, and reports one
	// without the label as not found, as it reports a missing one.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +required
	Name string `json:"name"`

	// key in the Secret's data whose value is used.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +required
	Key string `json:"key"`
}

// PolicyEngineMode is how authentik combines the results of the policies bound
// to a flow or binding: all must pass, or any one.
// +kubebuilder:validation:Enum=all;any
type PolicyEngineMode string

// The policy engine modes.
const (
	PolicyEngineModeAll PolicyEngineMode = "all"
	PolicyEngineModeAny PolicyEngineMode = "any"
)

// +kubebuilder:validation:MaxLength=256
// +kubebuilder:validation:XValidation:rule="self != ''",message="This field may not be blank."
// +kubebuilder:validation:XValidation:rule=`self == '' || self.split(';').all(p, p.matches('^[^=]+=[-+]?([0-9]{1,20}([.][0-9]{0,20})?|[.][0-9]{1,20})([eE][-+]?[0-9]{1,2})?$'))`,messageExpression=`self + " is not in the correct format of 'hours=3;minutes=1'."`
// +kubebuilder:validation:XValidation:rule=`!self.split(';').all(p, p.matches('^[^=]+=[-+]?([0-9]{1,20}([.][0-9]{0,20})?|[.][0-9]{1,20})([eE][-+]?[0-9]{1,2})?$')) || self.split(';').all(p, p.split('=')[0].lowerAscii() in ['microseconds', 'milliseconds', 'seconds', 'minutes', 'hours', 'days', 'weeks'])`,message="keys must be microseconds, milliseconds, seconds, minutes, hours, days or weeks"
// +kubebuilder:validation:XValidation:rule=`!self.split(';').all(p, p.matches('^(?i)(microseconds|milliseconds|seconds|minutes|hours|days|weeks)=[-+]?([0-9]{1,20}([.][0-9]{0,20})?|[.][0-9]{1,20})([eE][-+]?[0-9]{1,2})?$')) || self.split(';').map(p, double(p.split('=')[1]) * {'microseconds': 0.000001, 'milliseconds': 0.001, 'seconds': 1.0, 'minutes': 60.0, 'hours': 3600.0, 'days': 86400.0, 'weeks': 604800.0}[p.split('=')[0].lowerAscii()]).all(s, s <= 8640000000000.0 && s >= -8640000000000.0)`,message="out of range: each part must be within 100000000 days"

// TimeDelta is a duration written as authentik writes them: key=value pairs
// separated by ";", with keys microseconds, milliseconds, seconds, minutes,
// hours, days and weeks (in any case) and decimal values, such as
// "hours=3;minutes=1" or "seconds=-5". authentik skips unknown keys
// silently and fails on values past a datetime.timedelta's range; stagehand
// refuses both, with a message of its own.
type TimeDelta string

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InvalidResponseAction is what a flow does when a stage receives an invalid
// response.
// +kubebuilder:validation:Enum=retry;restart;restart_with_context
type InvalidResponseAction string

// FlowStageBindingSpec binds a stage to a flow at an order.
// +kubebuilder:validation:XValidation:rule="(has(self.evaluateOnPlan) && self.evaluateOnPlan) || !has(self.reEvaluatePolicies) || self.reEvaluatePolicies",message="Either evaluation on plan or evaluation on run must be enabled"
type FlowStageBindingSpec struct {
	// targetRef names the Flow the stage is bound to (authentik's target).
	// +required
	TargetRef LocalObjectReference `json:"targetRef"`

	// stageRef names the stage that is bound, by kind and name.
	// +required
	StageRef StageReference `json:"stageRef"`

	// order of the stage in the flow; lower runs first. A flow may not bind
	// the same stage twice at the same order.
	// +kubebuilder:validation:Minimum=-2147483648
	// +kubebuilder:validation:Maximum=2147483647
	// +required
	Order int32 `json:"order"`

	// evaluateOnPlan evaluates the binding's policies when the flow is
	// planned.
	// Default false.
	// +kubebuilder:default=false
	// +optional
	EvaluateOnPlan *bool `json:"evaluateOnPlan,omitempty"`

	// reEvaluatePolicies evaluates the binding's policies again just before
	// the stage runs.
	// Default true.
	// +kubebuilder:default=true
	// +optional
	ReEvaluatePolicies *bool `json:"reEvaluatePolicies,omitempty"`

	// invalidResponseAction is what happens when the stage receives an
	// invalid response: retry the stage, restart the flow, or restart it
	// keeping its context (restart_with_context).
	// Default retry.
	// +kubebuilder:default=retry
	// +optional
	InvalidResponseAction InvalidResponseAction `json:"invalidResponseAction,omitempty"`

	// policyEngineMode is how the policies bound to the binding combine: all
	// must pass, or any one.
	// Default any.
	// +kubebuilder:default=any
	// +optional
	PolicyEngineMode PolicyEngineMode `json:"policyEngineMode,omitempty"`
}

// FlowStageBinding puts a stage into a flow at an order. A stage's flow_set
// in the API lists the flows of its bindings. kubectl get shows the stage's
// kind, or, for a stage that lives only in authentik, its model.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fsb,categories={stagehand}
// +kubebuilder:printcolumn:name="Flow",type=string,JSONPath=`.spec.targetRef.name`
// +kubebuilder:printcolumn:name="Stage Kind",type=string,JSONPath=`.spec.stageRef['kind','model']`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.spec.stageRef.name`
// +kubebuilder:printcolumn:name="Order",type=integer,JSONPath=`.spec.order`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FlowStageBinding struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's standard metadata: name, namespace, labels
	// and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec names the flow, the stage and the order.
	// +required
	Spec FlowStageBindingSpec `json:"spec"`

	// status reports whether the flow and the stage exist.
	// +optional
	Status Status `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// FlowStageBindingList is a list of FlowStageBindings.
type FlowStageBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FlowStageBinding `json:"items"`
}

func init() {
	SchemeBuilder.Register(&FlowStageBinding{}, &FlowStageBindingList{})
}

// GetConditions returns the binding's status conditions.
func (o *FlowStageBinding) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the binding's status conditions.
func (o *FlowStageBinding) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetObservedGeneration returns the generation the binding's status describes.
func (o *FlowStageBinding) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// SetObservedGeneration sets the generation the binding's status describes.
func (o *FlowStageBinding) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

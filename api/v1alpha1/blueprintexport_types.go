package v1alpha1

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// SecretHandling is how secret material (a CaptchaStage's private key)
// reaches authentik through a published blueprint.
// +kubebuilder:validation:Enum=Mount;Inline
type SecretHandling string

// The ways secret material reaches authentik.
const (
	// SecretHandlingMount: a document reads the key with !File from where
	// authentik's worker mounts the Secret (authentik's Helm chart mounts
	// each Secret listed in blueprints.secrets at
	// /blueprints/mounted/secret-<name>/). stagehand never reads the key.
	SecretHandlingMount SecretHandling = "Mount"
	// SecretHandlingInline: stagehand reads the key and writes it into the
	// document, and the documents that carry a key go to a Secret, never to
	// the ConfigMap.
	SecretHandlingInline SecretHandling = "Inline"
)

// DefaultBlueprintConfigMap is the ConfigMap a BlueprintExport writes when
// spec.configMapName is not set. Every ConfigMap (and Secret) an export
// writes is named DefaultBlueprintConfigMap or begins with it and a dash:
// see ValidBlueprintConfigMapName.
const DefaultBlueprintConfigMap = "stagehand-blueprints"

// ValidBlueprintConfigMapName says whether an export may write a ConfigMap
// (or Secret) of the name: stagehand-blueprints, or a name that begins with
// stagehand-blueprints-. A tenant who may create BlueprintExports can so
// never make stagehand create an object of a name something else expects
// (kube-root-ca.crt, say). The schema holds spec.configMapName to it.
func ValidBlueprintConfigMapName(name string) bool {
	return name == DefaultBlueprintConfigMap || strings.HasPrefix(name, DefaultBlueprintConfigMap+"-")
}

// Reasons of a BlueprintExport's Ready condition.
const (
	// ReasonPublished: every selected flow's current document is
	// published.
	ReasonPublished = "Published"

	// ReasonFlowsHeldBack: at least one selected flow is not Ready, so its
	// current state is not published; its last published document, if
	// any, stays. The message names each flow and why.
	ReasonFlowsHeldBack = "FlowsHeldBack"

	// ReasonTooLarge: the documents do not fit in one ConfigMap (or
	// Secret), which holds at most 1 MiB: nothing was written. Select fewer
	// flows, or split them between BlueprintExports.
	ReasonTooLarge = "TooLarge"

	// ReasonNotOwned: the ConfigMap (or Secret) to write exists and
	// belongs to something else: stagehand does not overwrite it. The
	// message names which of the two.
	ReasonNotOwned = "NotOwned"

	// ReasonSecretsForbidden: secrets is Inline, but the manager may not
	// write Secrets. It may only when deployed with that permission
	// (config/components/blueprint-secrets, or the Helm chart's
	// blueprints.inlineSecrets).
	ReasonSecretsForbidden = "SecretsForbidden"
)

// Reasons of a BlueprintExport's Warning condition.
const (
	// ReasonApplyOrderCycle: the documents of two or more selected flows
	// find each other's flows (a recovery flow whose stage names the
	// login flow back, say), so authentik cannot apply each before the
	// other: one of them is published without waiting for the other, and
	// its reference to that flow is empty until authentik has applied both
	// (it applies every blueprint again on its own schedule). The message
	// names the flows of the cycle.
	ReasonApplyOrderCycle = "ApplyOrderCycle"
)

// LabelSelector selects objects by label, as a Kubernetes label selector
// does (the same fields, the same meaning), with bounds on its size.
type LabelSelector struct {
	// matchLabels selects the objects that have each of these labels.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 317)",message="label keys are at most 317 characters long"
	// +optional
	MatchLabels map[string]LabelValue `json:"matchLabels,omitempty"`

	// matchExpressions select the objects that meet each of these
	// requirements.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +optional
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelValue is a label's value.
// +kubebuilder:validation:MaxLength=63
type LabelValue string

// LabelSelectorRequirement is one requirement on a label.
type LabelSelectorRequirement struct {
	// key is the label's key.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	// +required
	Key string `json:"key"`

	// operator relates the key to the values: In, NotIn, Exists or
	// DoesNotExist.
	// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist
	// +required
	Operator metav1.LabelSelectorOperator `json:"operator"`

	// values are the values of In and NotIn; empty for Exists and
	// DoesNotExist.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +optional
	Values []string `json:"values,omitempty"`
}

// Selector is the selector as Kubernetes reads it: everything when s is
// nil.
func (s *LabelSelector) Selector() (labels.Selector, error) {
	if s == nil {
		return labels.Everything(), nil
	}
	ls := &metav1.LabelSelector{MatchLabels: map[string]string{}}
	for k, v := range s.MatchLabels {
		ls.MatchLabels[k] = string(v)
	}
	for _, r := range s.MatchExpressions {
		ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: r.Key, Operator: r.Operator, Values: r.Values})
	}
	return metav1.LabelSelectorAsSelector(ls)
}

// BlueprintExportSpec says which flows to publish as authentik blueprints,
// and where.
type BlueprintExportSpec struct {
	// flowSelector selects, by label, the Flows of this namespace to
	// publish. When empty (the default), every Flow of the namespace is.
	// +optional
	FlowSelector *LabelSelector `json:"flowSelector,omitempty"`

	// configMapName is the ConfigMap the blueprints are written to, one
	// key <flow>.yaml per flow: the name to list in authentik's Helm chart
	// under blueprints.configMaps. It is stagehand-blueprints (the default)
	// or begins with stagehand-blueprints-, so that an export never takes a
	// name something else expects; stagehand creates it, and never writes
	// one it did not create for this export.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +kubebuilder:validation:XValidation:rule="self == 'stagehand-blueprints' || self.startsWith('stagehand-blueprints-')",message="must be stagehand-blueprints or begin with stagehand-blueprints-"
	// +kubebuilder:default=stagehand-blueprints
	// +optional
	ConfigMapName string `json:"configMapName,omitempty"`

	// secrets is how a captcha stage's private key reaches authentik. Mount
	// (the default): the document reads it from where authentik's worker
	// mounts the stage's Secret (list the Secret under the chart's
	// blueprints.secrets; status.mountedSecrets names them), and stagehand
	// never reads it. Inline: stagehand reads the key, from a Secret that
	// carries the label flows.stagehand.dev/readable=true only, and the
	// documents that carry it are written to a Secret named like the
	// ConfigMap (list that Secret under blueprints.secrets), never to the
	// ConfigMap.
	// +kubebuilder:default=Mount
	// +optional
	Secrets SecretHandling `json:"secrets,omitempty"`

	// secretMountRoot is the directory under which authentik's worker
	// mounts each blueprint Secret as secret-<name>/. Default
	// /blueprints/mounted, where authentik's Helm chart mounts them.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	// +kubebuilder:default="/blueprints/mounted"
	// +optional
	SecretMountRoot string `json:"secretMountRoot,omitempty"`

	// deletionRetentionHours is how long, in hours, a deletion stays
	// published after the object left the cluster: authentik does not
	// delete what a blueprint stops declaring, so a deleted binding, stage
	// or flow is published as an entry of state absent, which authentik
	// applies within seconds of reading it (or, at the latest, at its
	// hourly rediscovery). Keep it longer than authentik may go without
	// reading the blueprints. Default 168 (a week).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=87600
	// +kubebuilder:default=168
	// +optional
	DeletionRetentionHours *int32 `json:"deletionRetentionHours,omitempty"`
}

// PublishedFlow is one selected flow and its published document.
type PublishedFlow struct {
	// name of the Flow.
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// key of its document in the ConfigMap (or Secret): <name>.yaml. Empty
	// while nothing has been published for the flow.
	// +kubebuilder:validation:MaxLength=258
	// +optional
	Key string `json:"key,omitempty"`

	// in is where the document is: ConfigMap, or Secret when it carries
	// secret material.
	// +kubebuilder:validation:MaxLength=16
	// +optional
	In string `json:"in,omitempty"`

	// hash is the SHA-256 of the published document, as authentik hashes a
	// blueprint file to decide whether to apply it again. For a document in
	// the Secret, it is the SHA-256 of the document with its secret values
	// left out: it changes with the document, but says nothing of the
	// secret.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Hash string `json:"hash,omitempty"`

	// heldBack says, when set, why the flow's current state is not
	// published (it is not Ready): its last published document, if any,
	// stays, so that a broken change never breaks a working login.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	HeldBack string `json:"heldBack,omitempty"`
}

// InventoryState is what an export does about an authentik object one of
// its documents declared.
// +kubebuilder:validation:Enum=Declared;Kept;Deleted
type InventoryState string

// The states of an inventory's objects.
const (
	// InventoryDeclared: the document declares the object.
	InventoryDeclared InventoryState = "Declared"
	// InventoryKept: the document declares the object no more, and it is
	// not deleted in authentik while something else declares it: an object
	// of the cluster, in any namespace, with its slug or stage name, or
	// another published document. It is deleted once nothing does.
	InventoryKept InventoryState = "Kept"
	// InventoryDeleted: the document deletes the object in authentik (an
	// entry of state absent), from since until deletionRetentionHours
	// later.
	InventoryDeleted InventoryState = "Deleted"
)

// InventoryObject is one authentik object, identified as authentik finds it:
// a flow by its slug, a stage by its model and name, a binding by its flow's
// slug, its stage and its order.
type InventoryObject struct {
	// model is the object's authentik model: authentik_flows.flow,
	// authentik_flows.flowstagebinding, or a stage's.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	Model string `json:"model"`

	// slug of the flow, or of a binding's flow.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Slug string `json:"slug,omitempty"`

	// name of the stage, or of a binding's stage.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Name string `json:"name,omitempty"`

	// stageModel is a binding's stage's authentik model.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	StageModel string `json:"stageModel,omitempty"`

	// order of a binding.
	// +optional
	Order *int32 `json:"order,omitempty"`

	// state is Declared, Kept or Deleted.
	// +required
	State InventoryState `json:"state"`

	// since is when the deletion of a Deleted object was first published.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// InventoryDocument is what one published document declared, keeps or
// deletes.
type InventoryDocument struct {
	// key of the document in the ConfigMap (or Secret): <flow>.yaml.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=258
	// +required
	Key string `json:"key"`

	// objects are the authentik objects of the document.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8192
	// +optional
	Objects []InventoryObject `json:"objects,omitempty"`
}

// BlueprintExportStatus is the observed state of a BlueprintExport.
type BlueprintExportStatus struct {
	Status `json:",inline"`

	// configMap is the ConfigMap the documents are written to.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ConfigMap string `json:"configMap,omitempty"`

	// secret is the Secret the documents that carry secret material are
	// written to (secrets: Inline), if any.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Secret string `json:"secret,omitempty"`

	// flows lists every selected flow, by name.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1024
	// +optional
	Flows []PublishedFlow `json:"flows,omitempty"`

	// mountedSecrets names the Secrets the documents read with !File
	// (secrets: Mount): list each under authentik's Helm chart's
	// blueprints.secrets, or the stages that need them fail to apply.
	// +listType=set
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	MountedSecrets []string `json:"mountedSecrets,omitempty"`

	// deletions is how many objects deleted in the cluster the documents
	// delete in authentik (entries of state absent).
	// +optional
	Deletions int32 `json:"deletions,omitempty"`

	// inventory is every authentik object the published documents declared,
	// by document: what the export has applied, from which it computes what
	// to delete in authentik when the objects leave the cluster, whatever
	// the order and timing of the deletes, and across restarts of the
	// manager.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=4096
	// +optional
	Inventory []InventoryDocument `json:"inventory,omitempty"`
}

// BlueprintExport publishes the Flows of its namespace, with every stage and
// binding they need, as authentik blueprints in a ConfigMap that authentik's
// Helm chart mounts (blueprints.configMaps): authentik then applies what the
// cluster declares. Only Ready flows are published; a flow that stops being
// Ready keeps its last published document. What is deleted in the cluster
// is deleted in authentik.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bpx,categories={stagehand}
// +kubebuilder:printcolumn:name="ConfigMap",type=string,JSONPath=`.status.configMap`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BlueprintExport struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's standard metadata: name, namespace, labels
	// and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec selects the flows and names the ConfigMap. Every field has a
	// default: an empty spec publishes every Flow of the namespace to the
	// ConfigMap stagehand-blueprints.
	// +kubebuilder:default={}
	// +optional
	Spec BlueprintExportSpec `json:"spec,omitzero"`

	// status reports what is published.
	// +optional
	Status BlueprintExportStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// BlueprintExportList is a list of BlueprintExports.
type BlueprintExportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BlueprintExport `json:"items"`
}

func init() {
	SchemeBuilder.Register(&BlueprintExport{}, &BlueprintExportList{})
}

// ConfigMapName is the ConfigMap the export writes: spec.configMapName, else
// DefaultBlueprintConfigMap.
func (o *BlueprintExport) ConfigMapName() string {
	if o.Spec.ConfigMapName != "" {
		return o.Spec.ConfigMapName
	}
	return DefaultBlueprintConfigMap
}

// GetConditions returns the export's status conditions.
func (o *BlueprintExport) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the export's status conditions.
func (o *BlueprintExport) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetObservedGeneration returns the generation the export's status describes.
func (o *BlueprintExport) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// SetObservedGeneration sets the generation the export's status describes.
func (o *BlueprintExport) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

package imports

import (
	"fmt"
	"regexp"
	"strings"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// role is what an entry is to the import.
type role int

const (
	// roleOther is a model stagehand does not serve: reported.
	roleOther role = iota
	// roleFlow, roleBinding, roleStage and roleSource become objects.
	roleFlow
	roleBinding
	roleStage
	roleSource
	// roleForeignStage is a stage of a model stagehand does not serve:
	// reported, and referred to by model and name.
	roleForeignStage
	// rolePolicy and rolePolicyBinding are policies and their bindings.
	rolePolicy
	rolePolicyBinding
	// roleMeta is one of authentik's meta models (apply another
	// blueprint, ...), which write no object.
	roleMeta
	// roleDeviceType is a WebAuthn device type, which authentik manages
	// itself and blueprints may not write.
	roleDeviceType
)

// entry is one entry of one document.
type entry struct {
	doc   *document
	e     *blueprint.Entry
	index int

	role role
	// kind is the stagehand kind of a flow, binding, stage or source.
	kind string
	// skip says why the entry is not applied at all (state absent,
	// conditions that do not hold), empty when it is.
	skip string
	// conditional is set when the entry's conditions cannot be evaluated
	// from the files: it is imported as if they held.
	conditional bool

	// identity is the entry's authentik identity: a flow's or source's
	// slug, a stage's name, set by classify (empty when the entry lacks
	// it, which convert reports).
	identity string

	// classifyLimited are the values a limit stopped while classifying
	// the entry.
	classifyLimited limits
}

// live reports whether the entry creates or updates an object: not
// absent, and its conditions do not rule it out.
func (en *entry) live() bool { return en.skip == "" }

var (
	modelFlow       = model(flowsv1alpha1.KindFlow)
	modelBinding    = model(flowsv1alpha1.KindFlowStageBinding)
	modelSource     = model(flowsv1alpha1.KindSource)
	modelDeviceType = model(flowsv1alpha1.KindWebAuthnDeviceType)
)

// The base models a !Find may name to find any stage, source or policy.
const (
	modelAnyStage  = "authentik_flows.stage"
	modelAnyPolicy = "authentik_policies.policy"
	modelPolicyBnd = "authentik_policies.policybinding"
)

func model(kind string) string {
	k, ok := flowsv1alpha1.LookupKind(kind)
	if !ok || k.Model == "" {
		panic("no authentik model for kind " + kind)
	}
	return k.Model
}

// kindOfModel is the stagehand kind that stands for a model, if any.
func kindOfModel(m string) (flowsv1alpha1.KindInfo, bool) {
	for _, k := range flowsv1alpha1.Kinds {
		if k.Model != "" && k.Model == m {
			return k, true
		}
	}
	return flowsv1alpha1.KindInfo{}, false
}

// authentik's models are "<app label>.<model name>"; its stages live in
// apps authentik_stages_*, each model named *stage, and its sources in
// apps authentik_sources_*, each named *source.
var (
	stageModel  = regexp.MustCompile(`^authentik_stages_[a-z0-9_]+\.[a-z0-9_]*stage$`)
	sourceModel = regexp.MustCompile(`^authentik_sources_[a-z0-9_]+\.[a-z0-9_]*source$`)
)

// isStageModel reports whether m is a model of stages (of any kind).
func isStageModel(m string) bool { return m == modelAnyStage || stageModel.MatchString(m) }

// isSourceModel reports whether m is a model of sources.
func isSourceModel(m string) bool { return m == modelSource || sourceModel.MatchString(m) }

// covers reports whether a !Find of model find finds objects of model m:
// the same model, or the base model of its family.
func covers(find, m string) bool {
	switch {
	case find == m:
		return true
	case find == modelAnyStage:
		return isStageModel(m)
	case find == modelSource:
		return isSourceModel(m)
	case find == modelAnyPolicy:
		return strings.HasPrefix(m, "authentik_policies") && m != modelPolicyBnd
	}
	return false
}

// classify decides an entry's role, whether it is applied, and its
// identity.
func (im *importer) classify(en *entry) {
	e := en.e
	switch k, ok := kindOfModel(e.Model); {
	case ok && k.Kind == flowsv1alpha1.KindFlow:
		en.role, en.kind = roleFlow, k.Kind
	case ok && k.Kind == flowsv1alpha1.KindFlowStageBinding:
		en.role, en.kind = roleBinding, k.Kind
	case ok && k.Stage:
		en.role, en.kind = roleStage, k.Kind
	case ok && k.Kind == flowsv1alpha1.KindWebAuthnDeviceType:
		en.role = roleDeviceType
	case isSourceModel(e.Model):
		en.role, en.kind = roleSource, flowsv1alpha1.KindSource
	case isStageModel(e.Model):
		en.role = roleForeignStage
	case e.Model == modelPolicyBnd:
		en.role = rolePolicyBinding
	case strings.HasPrefix(e.Model, "authentik_policies"):
		en.role = rolePolicy
	case strings.HasPrefix(e.Model, "authentik_blueprints.meta"):
		en.role = roleMeta
	}

	if e.State == blueprint.StateAbsent {
		en.skip = "state absent"
	}
	if en.skip == "" && len(e.Conditions) > 0 {
		holds, known := im.conditionsHold(en)
		switch {
		case !known:
			en.conditional = true
		case !holds:
			en.skip = "its conditions do not hold"
		}
	}

	field := ""
	switch en.role {
	case roleFlow, roleSource:
		field = "slug"
	case roleStage, roleForeignStage:
		field = "name"
	}
	if field != "" {
		if s, ok := im.literal(en, field); ok {
			en.identity = s
		}
	}
}

// conditionsHold evaluates an entry's conditions from the files alone:
// known is false when one of them reads authentik (a !Find of something
// the files do not declare, !Env, !File, ...).
func (im *importer) conditionsHold(en *entry) (holds, known bool) {
	r := &resolver{im: im, doc: en.doc, noFind: true}
	for _, c := range en.e.Conditions {
		v := r.value(c)
		if hasUnresolved(v) {
			return false, false
		}
		if !truthy(v) {
			return false, true
		}
	}
	return true, true
}

// literal is the string value of one of an entry's fields (identifiers
// first, then attrs, as authentik merges them), computed without looking
// outside the entry's document.
func (im *importer) literal(en *entry, key string) (string, bool) {
	raw, ok := en.field(key)
	if !ok {
		return "", false
	}
	v := (&resolver{im: im, doc: en.doc, noFind: true}).value(raw)
	s, ok := v.(string)
	return s, ok && s != ""
}

// field is an entry's value for key: its identifiers win over its attrs,
// as authentik writes both to the object.
func (en *entry) field(key string) (any, bool) {
	if v, ok := en.e.Identifiers.Get(key); ok {
		return v, true
	}
	return en.e.Attrs.Get(key)
}

// describe names the entry for a person: its model and identity, or its
// identifiers.
func (en *entry) describe() string {
	e := en.e
	for _, key := range []string{"slug", "name", "field_key", "aaguid"} {
		if v, ok := en.field(key); ok {
			if s, ok := v.(string); ok {
				return blueprint.Show(e.Model) + " " + blueprint.Quote(s)
			}
		}
	}
	if len(e.Identifiers) == 0 {
		return fmt.Sprintf("%s (entry %d)", blueprint.Show(e.Model), en.index+1)
	}
	return blueprint.Show(e.Model) + " " + blueprint.Show(e.Identifiers)
}

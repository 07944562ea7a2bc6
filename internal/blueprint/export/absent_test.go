package export

import (
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// Absent entries for Options.Absent, built by hand in the form the
// controller's blueprint.Removed gives them: every reference a !Find, so
// that the entry means the same in any document.

// AbsentFlow deletes the flow whose slug is slug; authentik deletes its
// bindings with it.
func AbsentFlow(slug string) blueprint.Entry {
	return blueprint.Entry{
		Model:       modelFlow,
		State:       blueprint.StateAbsent,
		Identifiers: blueprint.Map{{Key: "slug", Value: slug}},
	}
}

// AbsentStage deletes the stage of model (Model of its kind) named name;
// authentik deletes its bindings with it.
func AbsentStage(model, name string) blueprint.Entry {
	return blueprint.Entry{
		Model:       model,
		State:       blueprint.StateAbsent,
		Identifiers: blueprint.Map{{Key: "name", Value: name}},
	}
}

// AbsentBinding deletes the binding, at order, of the stage of stageModel
// named stageName to the flow whose slug is flowSlug. It is needed whenever
// a binding's order, stage or flow changes, not only when the binding is
// deleted: those are its identifiers, so the new values are a new binding
// in authentik, and the old one stays until deleted.
func AbsentBinding(flowSlug, stageModel, stageName string, order int32) blueprint.Entry {
	return blueprint.Entry{
		Model: modelBinding,
		State: blueprint.StateAbsent,
		Identifiers: blueprint.Map{
			{Key: "target", Value: blueprint.FindBy(modelFlow, "slug", flowSlug)},
			{Key: "stage", Value: blueprint.FindBy(stageModel, "name", stageName)},
			{Key: "order", Value: int64(order)},
		},
	}
}

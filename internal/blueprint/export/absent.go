package export

import (
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// Deleting in authentik what was deleted in the cluster. authentik does
// not delete an object when the entry that created it leaves a blueprint:
// the document must say so, with an entry of state absent that finds the
// object by its identifiers. These build such entries, in the form
// blueprint.Removed gives them (every reference a !Find, so the entry means
// the same in any document); pass them in Options.Absent.
//
// Deleting is the one thing a document can do that no later apply undoes.
// Before publishing an absent entry, the caller must know that nothing
// else declares the object: a stage left this flow's document, but another
// flow's document may still bind it (its entry there says present; two
// documents, one saying present and one absent, would fight on every
// apply).

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

// Package imports turns authentik blueprints into stagehand objects: the
// way in for people who already have flows in authentik (its default
// blueprints, examples they adapted, exports of their instance), so that
// moving to stagehand is a command, not a rewrite.
//
// Import reads blueprint files (blueprint.Decode and Validate: any error
// names the file and line) and gives, per file, the stagehand objects it
// declares and a report (Notes) of everything in it those objects do not
// carry. Manifests writes the objects as YAML for kubectl apply or
// kustomize; WriteReport writes the report for a person.
//
// # What is carried
//
// Entries of the models stagehand serves become objects: flows, bindings,
// the identification, password, authenticator validation, captcha and user
// login stages, and sources (their slug and name; their settings stay in
// authentik). Every binding of every flow is kept, in order: a binding to a
// stage of a model stagehand does not serve (a prompt, user write or email
// stage...) becomes a binding to that authentik stage by model and name
// (StageReference.Model), and so do an authenticator validation stage's
// configuration stages.
//
// Values are computed as authentik computes them where the files alone
// decide them: !KeyOf, !Find of an object the files declare (in any of the
// files given), !Context (the document's context, else the tag's default),
// !Format, !If, !Condition and !AtIndex of such values, and the raw UUIDs
// authentik's own exporter writes (/api/v3/flows/instances/<slug>/export/
// identifies each object by its pk and refers to others by theirs). A
// !Find of a flow, stage or source the files do not declare is carried as
// a reference to it by slug or name; !Env and !File, which read authentik's
// worker, are not.
//
// # Names
//
// An object's name is its authentik identity when that is a valid object
// name (a flow's slug, a stage's name, a source's slug), so that
// references between separately imported files agree. Otherwise it is the
// identity made valid: lowercase, every run of other characters a '-'
// ("Change your password" is change-your-password), and, only when two
// identities would give one name, a hash of the identity appended
// (change-your-password-1a2b3c4d). The authentik identity itself is kept
// where the renderer reads it, so that publishing the objects renames
// nothing in authentik: a stage's spec.name, a flow's spec.slug, a
// source's spec.slug. A binding is named after its flow and stage.
//
// # What is reported
//
// Nothing is dropped silently. Each Note says where (file, line) and what:
// models stagehand does not serve, entries of state absent, entry
// conditions, policies and policy bindings, !Env and !File values,
// permissions, attributes stagehand does not model, references it cannot
// carry, renamed objects, and what the user must do (create the Secret
// that holds a captcha's private key, which is never written to the
// output; import or create a flow the files refer to).
package imports

// Package httpapi serves authentik's endpoints for every kind stagehand
// models, from the manager's cache:
//
//	GET /api/v3/stages/identification/                      list
//	GET /api/v3/stages/identification/{stage_uuid}/         retrieve
//	GET /api/v3/stages/password/                            list
//	GET /api/v3/stages/password/{stage_uuid}/               retrieve
//	GET /api/v3/stages/authenticator/validate/              list
//	GET /api/v3/stages/authenticator/validate/{stage_uuid}/ retrieve
//	GET /api/v3/stages/captcha/                             list
//	GET /api/v3/stages/captcha/{stage_uuid}/                retrieve
//	GET /api/v3/stages/user_login/                          list
//	GET /api/v3/stages/user_login/{stage_uuid}/             retrieve
//	GET /api/v3/flows/instances/                            list
//	GET /api/v3/flows/instances/{slug}/                     retrieve
//	GET /api/v3/flows/bindings/                             list
//	GET /api/v3/flows/bindings/{fsb_uuid}/                  retrieve
//
// Each is a kindEndpoint (kinds.go), which says how to add one. The bodies
// are authentik 2026.8's serializers': its field names, order, types and
// defaults, references as the target's uid (null, or left out of a list,
// when the target does not exist), flow_set built from the stage's
// FlowStageBindings; they also carry FlowSet's background, which authentik
// 2025.12 has and 2026.8 renamed background_url, so that they satisfy both
// versions' schemas (openapi_test.go validates them against both). The
// server reads only the cache, through the refs indexes (objects by uid,
// bindings by stage or by flow), so a request never waits on the API server
// once its caller's token and permissions are cached. It knows nothing of the reconcilers. It is a
// manager Runnable that runs on every replica, leader or not, and answers
// 503 until the cache has synced.
//
// # authentik's behaviour, as read from its source, and where we differ
//
// Order of checks (DRF): route (404 {"detail":"Not found."}), then
// authentication (403), then the method (405 {"detail":"Method \"POST\" not
// allowed."}), then the filter backends in authentik's order: object
// permissions (403 when the caller may read no object of the kind),
// django-filter (400 {"<param>": ["<message>"]}), ordering and search; then,
// for a retrieve, the lookup: a pk that is not a UUID is 404 "Not found.", a
// UUID that matches nothing (or an object of another kind, or one the
// filters exclude) is 404 "No <Kind> matches the given query.".
//
// Object permissions (authentik.rbac.filters.ObjectFilter): a caller with the
// model's global view permission sees everything; otherwise the queryset is
// narrowed to the objects the caller may view, and if that leaves nothing,
// the answer is 403 "You do not have permission to perform this action.".
// In Kubernetes terms the global permission is `get` on the kind in every
// namespace (a SubjectAccessReview with namespace ""), an object permission
// is `get` in the object's namespace. So a retrieve of an object the caller
// may not read is a 404, exactly as for one that does not exist, unless the
// caller may read no object of the kind at all, which is a 403; a list shows
// the readable namespaces' objects, or is a 403 when there are none.
//
// Authentication (authentik's TokenAuthentication): no Authorization header,
// or one without a space, is 403 "Authentication credentials were not
// provided."; a scheme other than Bearer is 403 "Unsupported authentication
// type"; a token with whitespace in it, which authentik never issued, and a
// token the API server's TokenReview does not authenticate (or
// authenticates as system:anonymous) are 403 "Token invalid/expired".
// authentik never answers 401. A failure to reach the API server is 503
// (not cached), as is a request that needs more SubjectAccessReviews than
// Options.MaxAccessReviewsPerRequest (with Retry-After).
//
// Pagination (authentik.api.pagination.Pagination): `page_size` defaults to
// 20 and is capped at 100 (the tenant's pagination_default_page_size and
// pagination_max_page_size); `page` is a number or "last"; a page that does
// not exist is 404 {"detail":"Invalid page."}. The envelope is
// {"pagination": {next, previous, count, current, total_pages, start_index,
// end_index}, "results": [...], "autocomplete": {}} with 0 for no next or
// previous page. Differs: a `page_size` that is not a positive integer
// gives the default page size here; authentik gives 100 (its paginator
// falls back to DRF's PAGE_SIZE setting), an accident.
//
// Filters (the viewsets' filterset_fields, in their order), with
// django-filter's messages:
//   - identification: name, password_stage, captcha_stage,
//     case_insensitive_matching, show_matched_user, enrollment_flow,
//     recovery_flow, passwordless_flow, show_source_labels, webauthn_stage;
//   - password: name, configure_flow, failed_attempts_before_cancel,
//     allow_show_password;
//   - authenticator validate: name, not_configured_action,
//     configuration_stages (repeatable; any of them);
//   - captcha: name, public_key;
//   - user login ("__all__", the model's fields): stage_uuid, name,
//     session_duration, terminate_other_sessions, remember_me_offset,
//     network_binding, geoip_binding, remember_device;
//   - flows: flow_uuid, name, slug, designation, denied_action;
//   - bindings ("__all__"): pbm_uuid (the policybindingmodel_ptr_id),
//     policies (repeatable; stagehand has no policies, so any value is a
//     400), policy_engine_mode, fsb_uuid, target, stage, evaluate_on_plan,
//     re_evaluate_policies, invalid_response_action, order.
//
// A foreign-key filter answers "Select a valid choice. That choice is not one
// of the available choices." for a malformed UUID and for one that is no
// object of the target kind alike (Django's ModelChoiceField); a primary-key
// filter (flow_uuid, fsb_uuid, pbm_uuid, stage_uuid) "Enter a valid UUID.";
// a number filter "Enter a number." (it is a DecimalField: 5.0 matches 5); a
// choice filter "Select a valid choice. <value> is not one of the available
// choices."; a many-to-many filter "“<value>” is not a valid UUID." before
// it looks the values up. Text filters match exactly. An empty value means
// no filter. Differs: django-filter silently ignores a boolean it cannot read
// (`show_matched_user=yes` filters nothing); here it is a 400 with DRF's
// "Must be a valid boolean.", because a silently ignored typo is an
// accident. A parameter given twice counts with its last value, as Django's
// QueryDict.get reads it; unknown parameters are ignored.
//
// search (DRF's SearchFilter over the viewset's search_fields: name for the
// stages; name, slug, designation, title and denied_action for flows; the
// stage's name for bindings): terms split on whitespace and commas, quoted
// phrases kept whole, each term a case-insensitive substring of one of the
// fields. ordering (DRF's OrderingFilter): comma-separated fields, "-" for
// descending; unknown fields are dropped silently and with none left the
// viewset's default applies (name for stages; slug, name for flows; order
// for bindings). Accepted: pk and the body's own scalar and array fields
// that are model fields, with NULL last ascending as in PostgreSQL; the
// many-to-many fields (flow_set, sources, configuration_stages,
// webauthn_allowed_device_types, a flow's stages and policies), which make
// authentik return one row per related object, and the computed ones
// (component, export_url, cache_count, ...), which authentik cannot order
// by, are not. Text compares byte by byte, as PostgreSQL's C collation does
// (a database with a language's collation may put "Login" after "default",
// where bytes put it before). Ties are broken by name, namespace and pk.
//
// flow_set has one element per FlowStageBinding of the stage whose flow
// exists (a stage bound twice to a flow, at two orders, appears twice, as
// in authentik), sorted by flow slug, then binding order, then binding
// name. Two bindings of one stage to one flow at one order, which authentik
// refuses (its FlowStageBinding is unique on them), count once: only the
// first created is served, here, in a flow's stages and by the bindings
// endpoint, as if authentik had refused the others (which the controllers
// report not Ready). Each element's
// policybindingmodel_ptr_id is a UUIDv5 of the flow's uid (see
// PolicyBindingModelPtrID); background and background_url carry the same
// value, the flow's background or authentik's default image. A flow's
// stages has the uid of each of its bindings' stages, in the order the flow
// runs them.
//
// Flows are looked up by slug. authentik's slugs are unique; stagehand's
// only per namespace (and two flows of a namespace may share one, which
// their status warns about), so a slug may name several flows: a retrieve
// answers with the oldest one the caller may read and the filters keep
// (ties: namespace, name, uid), so that a flow created later elsewhere never
// takes over URLs that already lead to another.
//
// A FlowStageBinding whose flow or stage does not exist is not served (it is
// left out of lists and a retrieve is a 404), as authentik deletes a binding
// with its flow or its stage; neither is one whose stage lives only in
// authentik (StageReference.model), which has no uid for stage and no body
// for stage_obj. A flow's stages and a stage's flow_set leave them out the
// same way.
package httpapi

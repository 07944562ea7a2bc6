// Package httpapi serves authentik's stage endpoints from the manager's
// cache:
//
//	GET /api/v3/stages/identification/                      list
//	GET /api/v3/stages/identification/{stage_uuid}/         retrieve
//	GET /api/v3/stages/password/                            list
//	GET /api/v3/stages/password/{stage_uuid}/               retrieve
//	GET /api/v3/stages/authenticator/validate/              list
//	GET /api/v3/stages/authenticator/validate/{stage_uuid}/ retrieve
//
// The bodies are authentik's (2025.12 serializers): its field names, order,
// types and defaults, references as the target's uid (null, or left out of
// a list, when the target does not exist), flow_set built from the stage's
// FlowStageBindings. The server reads only the cache, through the refs
// indexes (objects by uid, bindings by stage), so a request never waits on
// the API server once its caller's token and permissions are cached. It
// knows nothing of the reconcilers. It is a manager Runnable that runs on
// every replica, leader or not, and answers 503 until the cache has synced.
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
// type"; a token the API server's TokenReview does not authenticate is 403
// "Token invalid/expired". authentik never answers 401. A failure to reach
// the API server is 503 (not cached).
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
// Filters (the viewsets' filterset_fields), with django-filter's messages:
//   - identification: name, password_stage, captcha_stage,
//     case_insensitive_matching, show_matched_user, enrollment_flow,
//     recovery_flow, passwordless_flow, show_source_labels;
//   - password: name, configure_flow, failed_attempts_before_cancel,
//     allow_show_password;
//   - authenticator validate: name, not_configured_action,
//     configuration_stages (repeatable; any of them).
//
// A foreign-key filter answers "Select a valid choice. That choice is not one
// of the available choices." for a malformed UUID and for one that is no
// object of the target kind alike (Django's ModelChoiceField); a number
// filter "Enter a number." (it is a DecimalField: 5.0 matches 5); a choice
// filter "Select a valid choice. <value> is not one of the available
// choices."; configuration_stages "“<value>” is not a valid UUID." before it
// looks the values up. An empty value means no filter. Differs: django-filter
// silently ignores a boolean it cannot read (`show_matched_user=yes` filters
// nothing); here it is a 400 with DRF's "Must be a valid boolean.", because a
// silently ignored typo is an accident. A parameter given twice counts with
// its last value, as Django's QueryDict.get reads it; unknown parameters are
// ignored.
//
// search (DRF's SearchFilter over name): terms split on whitespace and
// commas, quoted phrases kept whole, each term a case-insensitive substring
// of the name. ordering (DRF's OrderingFilter): comma-separated fields, "-"
// for descending; unknown fields are dropped silently and with none left the
// default, name, applies. Accepted: pk, name and each stage's own scalar and
// array fields, with NULL last ascending as in PostgreSQL; the many-to-many
// fields (flow_set, sources, configuration_stages,
// webauthn_allowed_device_types), which make authentik return one row per
// related object, are not. Ties are broken by name, namespace and pk.
//
// flow_set has one element per FlowStageBinding of the stage whose flow
// exists (a stage bound twice to a flow appears twice, as in authentik),
// sorted by flow slug, then binding order, then binding name. Each element's
// policybindingmodel_ptr_id is a UUIDv5 of the flow's uid (see
// PolicyBindingModelPtrID); background and background_url carry the same
// value, the flow's background or authentik's default image.
package httpapi

package httpapi

import (
	"context"
	"errors"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// GET /api/v3/flows/instances/{slug}/export/: the flow as an authentik
// blueprint, the document a BlueprintExport publishes for it (without the
// deletions and apply-first entries a publication adds), so that every
// export_url of a flow_set leads somewhere real.
//
// As authentik's FlowViewSet.export, a detail action: the caller needs to
// read the flow (a 404 for a slug the caller may not read, or that names no
// flow), and the viewset's filters do not apply (authentik's action has
// filter_backends=[]), and every kind the document shows (a 403
// otherwise; see mayReadAll). The body is YAML, an attachment named
// <slug>.yaml. The captcha key is never in it: the document reads it with
// !File from where authentik mounts the stage's Secret. A flow that cannot be rendered
// yet (a stage it binds does not exist) is a 409 naming what is missing;
// authentik, whose foreign keys always exist, never fails there.

// exportAction is the path segment of the export action.
const exportAction = "export"

// exportRoute is the export action's route template, the metrics' label.
const exportRoute = apiPrefix + "flows/instances/{slug}/export/"

// export answers the export action of the flow the slug names.
func (e *kindEndpoint[O, R]) export(ctx context.Context, rq *request, slug string) response {
	found, _, err := e.find(ctx, rq, slug)
	if err != nil {
		return rq.serverError(err)
	}
	var flow *flowsv1alpha1.Flow
	for _, o := range found {
		ok, err := rq.perm.may(ctx, o.GetNamespace())
		if err != nil {
			return rq.reviewOrServerError(err)
		}
		if f, isFlow := any(o).(*flowsv1alpha1.Flow); ok && isFlow {
			flow = f
			break
		}
	}
	if flow == nil {
		return detailResponse(404, e.info.notFound())
	}
	var bindings flowsv1alpha1.FlowStageBindingList
	if err := rq.rv.r.List(ctx, &bindings, client.MatchingFields{refs.Index: refs.KeyOf(flowsv1alpha1.KindFlow, flow)}); err != nil {
		return rq.serverError(err)
	}
	res, err := export.Render(flow, bindings.Items, export.Reader(ctx, rq.rv.r, flow.Namespace), export.Options{})
	if err != nil {
		var missing *export.MissingError
		if errors.As(err, &missing) {
			return detailResponse(409, fmt.Sprintf("Flow %q cannot be exported until what it needs exists: %s", flow.EffectiveSlug(), missingList(missing)))
		}
		return rq.serverError(err)
	}
	if resp, denied := rq.mayReadAll(ctx, flow.Namespace, res.DependsOn); denied {
		return resp
	}
	doc, err := blueprint.Encode(res.Blueprint)
	if err != nil {
		return rq.serverError(err)
	}
	return response{status: 200, raw: doc, contentType: "application/yaml",
		headers: map[string]string{"Content-Disposition": fmt.Sprintf("attachment; filename=%q", flow.EffectiveSlug()+".yaml")}}
}

// mayReadAll answers 403 (denied true) unless the caller may read every kind
// of object the document was rendered from, in the flow's namespace (or the
// cluster, for a cluster-scoped kind): the document shows their settings,
// and reading a flow alone must not show what its stages are. authentik
// asks for its own export permission there; RBAC asks for each kind.
func (rq *request) mayReadAll(ctx context.Context, namespace string, objs []export.Object) (response, bool) {
	checked := map[string]bool{}
	for _, o := range objs {
		info, ok := flowsv1alpha1.LookupKind(o.Kind)
		if !ok || checked[info.Kind] {
			continue // a Secret: its value is never in the document
		}
		checked[info.Kind] = true
		p := rq.perm
		p.resource = info.Resource
		ns := namespace
		if info.ClusterScoped {
			ns = ""
		}
		ok, err := p.may(ctx, ns)
		if err != nil {
			return rq.reviewOrServerError(err), true
		}
		if !ok {
			return detailResponse(403, msgDenied), true
		}
	}
	return response{}, false
}

// missingList names what a render found missing.
func missingList(m *export.MissingError) string {
	out := ""
	for i, x := range m.Missing {
		if i > 0 {
			out += "; "
		}
		out += fmt.Sprintf("%s (%s)", x.Object, x.By)
	}
	return out
}

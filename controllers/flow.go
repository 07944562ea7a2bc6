package controllers

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// maxPlan is the most stages status.stages holds (its MaxItems).
const maxPlan = 1024

// flowReconciler writes a Flow's status: its effective slug, its plan (the
// stages its bindings bind, in order, each with its readiness), Ready when
// every binding and bound stage is, and a warning when another flow, in any
// namespace, has the same slug.
type flowReconciler struct {
	client client.Client
	status statusWriter
}

// Reconcile evaluates one Flow and writes its status.
func (r *flowReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var flow flowsv1alpha1.Flow
	if err := r.client.Get(ctx, req.NamespacedName, &flow); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	var bindings flowsv1alpha1.FlowStageBindingList
	if err := r.client.List(ctx, &bindings, client.MatchingFields{refs.Index: refs.KeyOf(flowsv1alpha1.KindFlow, &flow)}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing the flow's bindings: %w", err)
	}
	stages := map[string]client.Object{}
	for _, b := range bindings.Items {
		if b.Spec.StageRef.IsExternal() {
			continue // a stage that lives only in authentik
		}
		key := refs.Key(string(b.Spec.StageRef.Kind), b.Namespace, b.Spec.StageRef.Name)
		if _, done := stages[key]; done {
			continue
		}
		stage, err := flowsv1alpha1.New(string(b.Spec.StageRef.Kind))
		if err != nil {
			return ctrl.Result{}, err
		}
		err = r.client.Get(ctx, types.NamespacedName{Namespace: b.Namespace, Name: b.Spec.StageRef.Name}, stage)
		switch {
		case apierrors.IsNotFound(err):
			stages[key] = nil
		case err != nil:
			return ctrl.Result{}, fmt.Errorf("looking up %s %q: %w", b.Spec.StageRef.Kind, b.Spec.StageRef.Name, err)
		default:
			stages[key] = stage
		}
	}
	var sameSlug flowsv1alpha1.FlowList
	if err := r.client.List(ctx, &sameSlug, client.MatchingFields{refs.AuthentikName: flow.EffectiveSlug()}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing flows with the same slug: %w", err)
	}

	before := flow.DeepCopy()
	plan, ready := flowPlan(bindings.Items, stages)
	warnings := duplicateWarning(&flow, flowsv1alpha1.KindFlow, "slug", flow.EffectiveSlug(), flowsv1alpha1.ReasonDuplicateSlug, listObjects(&sameSlug))
	flow.Status.Slug = flow.EffectiveSlug()
	flow.Status.Stages = plan
	fresh := setConditions(&flow, ready, warnings, metav1.Now())
	return ctrl.Result{}, r.status.write(ctx, &flow, before, fresh)
}

// setup registers the Flow reconciler. A flow is re-evaluated when it
// changes, when one of its bindings comes, goes, changes or changes
// readiness, when a bound stage comes, goes or changes readiness, and when
// another flow, in any namespace, takes or gives up its slug.
func (r *flowReconciler) setup(mgr ctrl.Manager) error {
	c := mgr.GetClient()
	b := ctrl.NewControllerManagedBy(mgr).
		Named("flow").
		For(&flowsv1alpha1.Flow{}, builder.WithPredicates(ownChanges)).
		Watches(&flowsv1alpha1.FlowStageBinding{}, bindingFlow(), builder.WithPredicates(onSpecOrReadiness)).
		Watches(&flowsv1alpha1.Flow{}, peers(c, refs.AuthentikName, refs.AuthentikNameOf, func() client.ObjectList { return &flowsv1alpha1.FlowList{} }),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	for _, k := range flowsv1alpha1.StageKinds() {
		stage, err := flowsv1alpha1.New(string(k))
		if err != nil {
			return err
		}
		b = b.Watches(stage, stageFlows(c, string(k)), builder.WithPredicates(onReadiness))
	}
	return b.Complete(r)
}

// flowPlan computes a flow's plan and Ready condition from its bindings and
// the stages they bind (keyed by refs.Key; nil or absent when the stage does
// not exist).
//
// The plan lists every binding, by order then binding name, colliding ones
// included. The flow is Ready when every binding is Ready and every bound
// stage exists and is Ready, and no two bindings bind the same stage at the
// same order (BindingConflict, which authentik refuses); NotChecked when a
// binding binds a stage that lives only in authentik, or a bound stage is
// NotChecked itself.
func flowPlan(bindings []flowsv1alpha1.FlowStageBinding, stages map[string]client.Object) ([]flowsv1alpha1.FlowPlanStage, metav1.Condition) {
	sorted := make([]*flowsv1alpha1.FlowStageBinding, len(bindings))
	for i := range bindings {
		sorted[i] = &bindings[i]
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Spec.Order != sorted[j].Spec.Order {
			return sorted[i].Spec.Order < sorted[j].Spec.Order
		}
		return sorted[i].Name < sorted[j].Name
	})

	type slot struct {
		stage flowsv1alpha1.StageReference
		order int32
	}
	var (
		plan      = make([]flowsv1alpha1.FlowPlanStage, 0, len(sorted))
		notReady  []string
		slots     []slot
		bySlot    = map[slot][]string{}
		conflicts []string
		external  int
		// unchecked names the bound stages that are NotChecked themselves
		// (a validate stage's configuration stage by model).
		unchecked []string
	)
	for _, b := range sorted {
		ref := b.Spec.StageRef
		stage := stages[refs.Key(string(ref.Kind), b.Namespace, ref.Name)]
		where := fmt.Sprintf("order %d, %s %q", b.Spec.Order, flowsv1alpha1.KindFlowStageBinding, b.Name)
		ready := false
		switch {
		case ref.IsExternal():
			external++
			if isReady(b) {
				ready = true
			} else {
				notReady = append(notReady, fmt.Sprintf("%s %q (order %d) not Ready", flowsv1alpha1.KindFlowStageBinding, b.Name, b.Spec.Order))
			}
		case stage == nil:
			notReady = append(notReady, fmt.Sprintf("%s %q (%s) not found", ref.Kind, ref.Name, where))
		case !isReady(stage):
			notReady = append(notReady, fmt.Sprintf("%s %q (%s) not Ready", ref.Kind, ref.Name, where))
		case !isReady(b):
			notReady = append(notReady, fmt.Sprintf("%s %q (order %d) not Ready", flowsv1alpha1.KindFlowStageBinding, b.Name, b.Spec.Order))
		default:
			ready = true
			if isNotChecked(stage) {
				unchecked = append(unchecked, fmt.Sprintf("%s %q (%s) refers to stages that live only in authentik, not checked", ref.Kind, ref.Name, where))
			}
		}
		plan = append(plan, flowsv1alpha1.FlowPlanStage{
			Order:   b.Spec.Order,
			Kind:    ref.Kind,
			Model:   ref.Model,
			Name:    ref.Name,
			Binding: b.Name,
			Ready:   ready,
		})
		s := slot{stage: ref, order: b.Spec.Order}
		if _, seen := bySlot[s]; !seen {
			slots = append(slots, s)
		}
		bySlot[s] = append(bySlot[s], b.Name)
	}
	for _, s := range slots {
		if names := bySlot[s]; len(names) > 1 {
			conflicts = append(conflicts, fmt.Sprintf("%ss %s all bind %s at order %d", flowsv1alpha1.KindFlowStageBinding, quotedNames(names), stageName(s.stage), s.order))
		}
	}

	ready := metav1.Condition{Type: flowsv1alpha1.ConditionReady, Status: metav1.ConditionFalse}
	switch {
	case len(conflicts) > 0:
		ready.Reason = flowsv1alpha1.ReasonBindingConflict
		ready.Message = joinLimited(append(conflicts, notReady...), maxMessage)
	case len(notReady) > 0:
		ready.Reason = flowsv1alpha1.ReasonStagesNotReady
		ready.Message = joinLimited(notReady, maxMessage)
	default:
		ready.Status = metav1.ConditionTrue
		ready.Reason = flowsv1alpha1.ReasonResolved
		switch len(plan) {
		case 0:
			ready.Message = "No stages bound"
		case 1:
			ready.Message = "The stage is Ready"
		default:
			ready.Message = fmt.Sprintf("All %d stages are Ready", len(plan))
		}
		if external > 0 {
			ready.Message += ", " + externalNote(external)
		}
		if external > 0 || len(unchecked) > 0 {
			ready.Reason = flowsv1alpha1.ReasonNotChecked
			ready.Message = joinLimited(append([]string{ready.Message}, unchecked...), maxMessage)
		}
	}
	if len(plan) > maxPlan {
		ready.Message = truncate(ready.Message+fmt.Sprintf(" (status.stages lists the first %d of %d)", maxPlan, len(plan)), maxMessage)
		plan = plan[:maxPlan]
	}
	return plan, ready
}

// stageName names a bound stage for a message: `PasswordStage "pw"`, or
// `authentik stage authentik_stages_user_write.userwritestage "write"`.
func stageName(r flowsv1alpha1.StageReference) string {
	if r.IsExternal() {
		return fmt.Sprintf("authentik stage %s %q", r.Model, r.Name)
	}
	return fmt.Sprintf("%s %q", r.Kind, r.Name)
}

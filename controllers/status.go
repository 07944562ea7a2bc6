package controllers

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// This file holds the pure part of every reconciler: from what a reconcile
// found in the cache to the status it writes. Nothing here talks to the API
// server, so all of it is table-tested.

// maxMessage is the longest condition message the API server accepts
// (metav1.Condition.Message).
const maxMessage = 32768

// maxEventNote is the longest note an events.k8s.io/v1 Event may carry.
const maxEventNote = 1024

// resolved is one reference an object makes, looked up.
type resolved struct {
	refs.Reference

	// Obj is the referenced object as the cache (or, for a Secret, the API
	// server) has it; nil when it does not exist.
	Obj client.Object

	// Invalid says why an existing object cannot be used, as the end of a
	// sentence that starts with the reference (`has no key "secret"`). Empty
	// when the object can be used.
	Invalid string

	// OtherKind, for a stage that does not exist, is another stage kind
	// with an object of the name in the namespace: the reference's kind is
	// probably wrong.
	OtherKind string
}

// warning is a problem authentik would accept but a person would want to know
// about. It becomes the Warning condition and, when it first appears, a
// Kubernetes Event.
type warning struct {
	// Reason is the Warning condition's (and the Event's) reason, such as
	// DesignationMismatch.
	Reason string
	// Message is a sentence naming the objects involved.
	Message string
	// Related is the other object the warning is about, if any; the Event
	// names it as related.
	Related client.Object
}

// readyFromReferences is the Ready condition of an object whose readiness is
// that every reference it makes resolves to a usable object. Its message
// names every reference that does not, by kind, name and field. A reference
// to a stage that lives only in authentik is taken on trust: Ready, with
// reason NotChecked and the reference named.
func readyFromReferences(rs []resolved) metav1.Condition {
	var problems, external []string
	reason := ""
	for _, r := range rs {
		switch {
		case r.External():
			external = append(external, fmt.Sprintf("%s (%s)", r.Reference, r.Field))
		case r.Obj == nil:
			problems = append(problems, notFoundMessage(r))
			reason = flowsv1alpha1.ReasonReferenceNotFound
		case r.Invalid != "":
			problems = append(problems, fmt.Sprintf("%s (%s) %s", r.Reference, r.Field, r.Invalid))
			if reason == "" {
				reason = flowsv1alpha1.ReasonReferenceInvalid
			}
		}
	}
	if len(problems) > 0 {
		return metav1.Condition{
			Type:    flowsv1alpha1.ConditionReady,
			Status:  metav1.ConditionFalse,
			Reason:  reason,
			Message: joinLimited(problems, maxMessage),
		}
	}
	msg := "No references to resolve"
	switch len(rs) {
	case 0:
	case 1:
		msg = "The reference resolves"
	default:
		msg = fmt.Sprintf("All %d references resolve", len(rs))
	}
	reason = flowsv1alpha1.ReasonResolved
	if len(external) > 0 {
		reason = flowsv1alpha1.ReasonNotChecked
		msg = joinLimited(append([]string{msg + ", " + externalNote(len(external))}, external...), maxMessage)
	}
	return metav1.Condition{
		Type:    flowsv1alpha1.ConditionReady,
		Status:  metav1.ConditionTrue,
		Reason:  reason,
		Message: msg,
	}
}

// notFoundMessage says that a reference's object does not exist, where it was
// looked for, and which other stage kind has an object of that name:
// `PasswordStage "x" (spec.stageRef) not found in namespace team-a, but an
// IdentificationStage "x" exists there`.
func notFoundMessage(r resolved) string {
	if r.Kind == refs.KindSecret {
		return fmt.Sprintf("%s (%s) %s", r.Reference, r.Field, secretNotReadable(r.Namespace))
	}
	msg := fmt.Sprintf("%s (%s) not found", r.Reference, r.Field)
	if r.Namespace != "" {
		msg += " in namespace " + r.Namespace
	}
	if r.OtherKind != "" {
		msg += fmt.Sprintf(", but %s %s %q exists there", article(r.OtherKind), r.OtherKind, r.Name)
	}
	return msg
}

// article is "an" before a vowel, "a" otherwise.
func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOUaeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// withConflict makes ready a BindingConflict when conflict is not empty:
// the object is unusable whatever its references, and only a person can
// fix it (kstatus: Stalled). Problems with references are named after it.
func withConflict(ready metav1.Condition, conflict string) metav1.Condition {
	if conflict == "" {
		return ready
	}
	msgs := []string{conflict}
	if ready.Status != metav1.ConditionTrue {
		msgs = append(msgs, ready.Message)
	}
	return metav1.Condition{
		Type:    flowsv1alpha1.ConditionReady,
		Status:  metav1.ConditionFalse,
		Reason:  flowsv1alpha1.ReasonBindingConflict,
		Message: joinLimited(msgs, maxMessage),
	}
}

// externalNote says that n references are to stages that live only in
// authentik, which stagehand takes on trust.
func externalNote(n int) string {
	if n == 1 {
		return "1 of them external (a stage that lives only in authentik, not checked)"
	}
	return fmt.Sprintf("%d of them external (stages that live only in authentik, not checked)", n)
}

// setConditions writes the outcome of an evaluation of obj's generation into
// its status: observedGeneration, the Ready condition, and the Warning
// condition (present only while there are warnings). Conditions keep their
// lastTransitionTime unless their status changes; now is the time of a
// transition.
//
// The Warning condition's message lists the warnings (shownWarnings: at most
// maxWarnings, each at most maxWarningMessage long, so that the message is
// never cut); its reason is the first warning's (each Event carries its own
// warning's reason).
//
// It returns the warnings that are new, those the Warning condition listed
// before does not: they are announced as Events. A warning the condition
// does not list (past maxWarnings) is counted, and never announced, so that
// it cannot be announced again and again.
func setConditions(obj flowsv1alpha1.Object, ready metav1.Condition, warnings []warning, now metav1.Time) []warning {
	generation := obj.GetGeneration()
	conditions := obj.GetConditions()
	defer func() { obj.SetConditions(conditions) }()
	before := listedWarnings(conditions)

	obj.SetObservedGeneration(generation)
	ready.ObservedGeneration = generation
	ready.LastTransitionTime = now
	meta.SetStatusCondition(&conditions, ready)
	setKstatusConditions(&conditions, ready)

	if len(warnings) == 0 {
		meta.RemoveStatusCondition(&conditions, flowsv1alpha1.ConditionWarning)
		return nil
	}
	shown, hidden := shownWarnings(warnings)
	msgs := make([]string, len(shown), len(shown)+1)
	for i, w := range shown {
		msgs[i] = w.Message
	}
	if hidden > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more", hidden))
	}
	meta.SetStatusCondition(&conditions, metav1.Condition{
		Type:               flowsv1alpha1.ConditionWarning,
		Status:             metav1.ConditionTrue,
		Reason:             shown[0].Reason,
		Message:            strings.Join(msgs, warningSeparator),
		ObservedGeneration: generation,
		LastTransitionTime: now,
	})

	var fresh []warning
	for _, w := range shown {
		if !before[w.Message] {
			fresh = append(fresh, w)
		}
	}
	return fresh
}

// The Warning condition lists at most maxWarnings warnings, each at most
// maxWarningMessage long (an Event's note), joined by warningSeparator: so
// the message always fits a condition (maxMessage) whole, and the warnings
// it lists can be read back from it exactly.
const (
	maxWarnings       = 30
	maxWarningMessage = maxEventNote
	warningSeparator  = "; "
)

// shownWarnings are the warnings the Warning condition lists, messages cut
// to maxWarningMessage, and how many more there are. A warning message never
// holds a ';' (it is made of kinds, object names, fields and designations,
// none of which can), so the separator cannot appear inside one.
func shownWarnings(ws []warning) (shown []warning, hidden int) {
	n := min(len(ws), maxWarnings)
	shown = make([]warning, n)
	for i := range n {
		shown[i] = ws[i]
		shown[i].Message = truncate(ws[i].Message, maxWarningMessage)
	}
	return shown, len(ws) - n
}

// listedWarnings are the warning messages the Warning condition lists.
func listedWarnings(conditions []metav1.Condition) map[string]bool {
	c := meta.FindStatusCondition(conditions, flowsv1alpha1.ConditionWarning)
	if c == nil || c.Status != metav1.ConditionTrue {
		return nil
	}
	out := map[string]bool{}
	for _, m := range strings.Split(c.Message, warningSeparator) {
		out[m] = true
	}
	return out
}

// setKstatusConditions derives kstatus's abnormal-true conditions from
// Ready, so that tools built on kstatus (Flux's health checks among them),
// which do not read Ready, see an object that is not Ready as InProgress
// (Reconciling: waiting for a reference that may still appear) or Failed
// (Stalled: a reference that exists but cannot be used, colliding bindings).
// Both are absent while the object is Ready.
func setKstatusConditions(conditions *[]metav1.Condition, ready metav1.Condition) {
	set, clear := "", []string{flowsv1alpha1.ConditionReconciling, flowsv1alpha1.ConditionStalled}
	if ready.Status != metav1.ConditionTrue {
		switch ready.Reason {
		case flowsv1alpha1.ReasonReferenceInvalid, flowsv1alpha1.ReasonBindingConflict, flowsv1alpha1.ReasonTooLarge, flowsv1alpha1.ReasonNotOwned, flowsv1alpha1.ReasonSecretsForbidden:
			set, clear = flowsv1alpha1.ConditionStalled, clear[:1]
		default:
			set, clear = flowsv1alpha1.ConditionReconciling, clear[1:]
		}
	}
	for _, t := range clear {
		meta.RemoveStatusCondition(conditions, t)
	}
	if set != "" {
		c := ready
		c.Type, c.Status = set, metav1.ConditionTrue
		meta.SetStatusCondition(conditions, c)
	}
}

// joinLimited joins items with "; ". When the result would be longer than
// limit, it leaves out the last items and says how many.
func joinLimited(items []string, limit int) string {
	full := strings.Join(items, "; ")
	if len(full) <= limit {
		return full
	}
	const reserve = len("; and 2147483647 more")
	var b strings.Builder
	for i, it := range items {
		sep := ""
		if i > 0 {
			sep = "; "
		}
		if b.Len()+len(sep)+len(it)+reserve > limit {
			if i == 0 {
				return truncate(it, limit)
			}
			fmt.Fprintf(&b, "; and %d more", len(items)-i)
			return b.String()
		}
		b.WriteString(sep)
		b.WriteString(it)
	}
	return b.String()
}

// truncate cuts s to at most limit bytes, marking the cut.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const mark = "..."
	return s[:limit-len(mark)] + mark
}

// quotedNames is `"a", "b"`.
func quotedNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// latencyRuns is how many times each latency is measured.
const latencyRuns = 20

// TestReferenceLatency measures, on the real manager, the delay from
// creating a missing reference to its referrer being Ready, and from
// deleting it to the referrer not being Ready: for a stage (one hop: the
// referenced object's event, a reconcile, a status patch) and for a flow
// (two hops: the stage's and binding's status, then the flow's). Run it with
// -v to read the figures:
//
//	KUBEBUILDER_ASSETS=$PWD/bin/k8s go test ./controllers -run TestReferenceLatency -count=1 -v
//
// Each delay is timed from just before the Create or Delete call to the
// arrival of the watch event that carries the new status, so it includes
// the API round trips on both sides. It fails only past the suite's
// generous deadline; the target is well under a second.
func TestReferenceLatency(t *testing.T) {
	ns := namespace(t)
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}

	id := newIdentificationStage(ns, "ident")
	id.Spec.PasswordStageRef = ref("password")
	flow := newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication)
	create(t, id, flow, newBinding(ns, "login-captcha", "login", flowsv1alpha1.StageKindCaptcha, "captcha", 10),
		newSecret(ns, "keys", map[string]string{"private": "k"}))
	expectReady(t, id, metav1.ConditionFalse, notFound)
	expectReady(t, flow, metav1.ConditionFalse, flowsv1alpha1.ReasonStagesNotReady)

	var stageUp, stageDown, flowUp, flowDown []time.Duration
	for range latencyRuns {
		pw := newPasswordStage(ns, "password")
		stageUp = append(stageUp, timeUntil(t, wc, &flowsv1alpha1.IdentificationStageList{}, id, true, func() { create(t, pw) }))
		stageDown = append(stageDown, timeUntil(t, wc, &flowsv1alpha1.IdentificationStageList{}, id, false, func() { remove(t, pw) }))

		cs := newCaptchaStage(ns, "captcha", "keys", "private")
		flowUp = append(flowUp, timeUntil(t, wc, &flowsv1alpha1.FlowList{}, flow, true, func() { create(t, cs) }))
		flowDown = append(flowDown, timeUntil(t, wc, &flowsv1alpha1.FlowList{}, flow, false, func() { remove(t, cs) }))
	}
	t.Logf("over %d runs, median / max:", latencyRuns)
	t.Logf("  IdentificationStage, create its PasswordStage -> Ready:     %s", summary(stageUp))
	t.Logf("  IdentificationStage, delete its PasswordStage -> not Ready: %s", summary(stageDown))
	t.Logf("  Flow, create its bound CaptchaStage -> Ready:               %s", summary(flowUp))
	t.Logf("  Flow, delete its bound CaptchaStage -> not Ready:           %s", summary(flowDown))
}

// timeUntil runs act and returns how long it takes until obj's Ready
// condition, for its current generation, is True (ready) or not.
func timeUntil(t *testing.T, wc client.WithWatch, list client.ObjectList, obj client.Object, ready bool, act func()) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	w, err := wc.Watch(ctx, list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{"metadata.name": obj.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	act()
	for {
		select {
		case ev, open := <-w.ResultChan():
			if !open {
				t.Fatalf("%s: the watch ended before Ready was %v", obj.GetName(), ready)
			}
			o, isObj := ev.Object.(client.Object)
			if !isObj {
				continue
			}
			st, isStagehand := o.(flowsv1alpha1.Object)
			if isStagehand && st.GetObservedGeneration() == o.GetGeneration() && isReady(o) == ready {
				return time.Since(start)
			}
		case <-ctx.Done():
			t.Fatalf("%s: Ready did not become %v within %s", obj.GetName(), ready, timeout)
		}
	}
}

// summary is "median / max" of ds.
func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("%6.1fms / %6.1fms", ms(s[len(s)/2]), ms(s[len(s)-1]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

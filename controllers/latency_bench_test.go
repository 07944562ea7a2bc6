package controllers

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// BenchmarkReferenceLatency measures, on the real manager, the delay from
// creating a missing reference to its referrer being Ready, and from
// deleting it to the referrer not being Ready: for a stage (one hop: the
// referenced object's event, a reconcile, a status patch) and for a flow
// (two hops: the stage's and binding's status, then the flow's). Each
// iteration does all four; the medians and maxima are reported as metrics:
//
//	make bench BENCH=BenchmarkReferenceLatency
//
// Each delay is timed from just before the Create or Delete call to the
// arrival of the watch event that carries the new status, so it includes
// the API round trips on both sides. The target is well under a second.
func BenchmarkReferenceLatency(b *testing.B) {
	ns := namespace(b)
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		b.Fatal(err)
	}

	id := newIdentificationStage(ns, "ident")
	id.Spec.PasswordStageRef = ref("password")
	flow := newFlow(ns, "login", flowsv1alpha1.FlowDesignationAuthentication)
	create(b, id, flow, newBinding(ns, "login-captcha", "login", flowsv1alpha1.StageKindCaptcha, "captcha", 10),
		newSecret(ns, "keys", map[string]string{"private": "k"}))
	expectReady(b, id, metav1.ConditionFalse, notFound)
	expectReady(b, flow, metav1.ConditionFalse, flowsv1alpha1.ReasonStagesNotReady)

	var stageUp, stageDown, flowUp, flowDown []time.Duration
	for b.Loop() {
		pw := newPasswordStage(ns, "password")
		stageUp = append(stageUp, timeUntil(b, wc, &flowsv1alpha1.IdentificationStageList{}, id, true, func() { create(b, pw) }))
		stageDown = append(stageDown, timeUntil(b, wc, &flowsv1alpha1.IdentificationStageList{}, id, false, func() { remove(b, pw) }))

		cs := newCaptchaStage(ns, "captcha", "keys", "private")
		flowUp = append(flowUp, timeUntil(b, wc, &flowsv1alpha1.FlowList{}, flow, true, func() { create(b, cs) }))
		flowDown = append(flowDown, timeUntil(b, wc, &flowsv1alpha1.FlowList{}, flow, false, func() { remove(b, cs) }))
	}
	report(b, "stage-up", stageUp)
	report(b, "stage-down", stageDown)
	report(b, "flow-up", flowUp)
	report(b, "flow-down", flowDown)
}

// report reports the median and maximum of ds, in milliseconds.
func report(b *testing.B, name string, ds []time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	b.ReportMetric(ms(s[len(s)/2]), name+"-median-ms")
	b.ReportMetric(ms(s[len(s)-1]), name+"-max-ms")
}

// timeUntil runs act and returns how long it takes until obj's Ready
// condition, for its current generation, is True (ready) or not.
func timeUntil(t testing.TB, wc client.WithWatch, list client.ObjectList, obj client.Object, ready bool, act func()) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Timeout)
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
			t.Fatalf("%s: Ready did not become %v within %s", obj.GetName(), ready, testenv.Timeout)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

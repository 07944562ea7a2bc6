package v1alpha1_test

import (
	"context"
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// TestSchemaDefaults: authentik's defaults are schema defaults, filled in by
// the API server, so every reader (controllers, the HTTP API, kubectl, Argo
// CD diffs) sees the same values without knowing them. Optional booleans
// are pointers, so a value equal to Go's zero value, explicit false above
// all, survives every step of the round trip: the manifest as kubectl sends
// it, what etcd stores, the Go object a controller reads, and that Go object
// written back.
//
// The objects are really created (not dry-run): the test reads back what
// was stored.
func TestSchemaDefaults(t *testing.T) {
	cases := []struct {
		name string
		kind string
		in   string // the object as written, without metadata
		want string // its spec as stored
	}{{
		name: "Flow minimal",
		kind: "Flow",
		in:   `{"spec":{"title":"Welcome","designation":"authentication"}}`,
		want: `{"title":"Welcome","designation":"authentication","policyEngineMode":"any","compatibilityMode":false,"layout":"stacked","deniedAction":"message_continue","authentication":"none"}`,
	}, {
		name: "Flow explicit",
		kind: "Flow",
		in:   `{"spec":{"title":"Welcome","designation":"recovery","policyEngineMode":"all","compatibilityMode":true,"layout":"sidebar_left","deniedAction":"continue","authentication":"require_unauthenticated"}}`,
		want: `{"title":"Welcome","designation":"recovery","policyEngineMode":"all","compatibilityMode":true,"layout":"sidebar_left","deniedAction":"continue","authentication":"require_unauthenticated"}`,
	}, {
		name: "FlowStageBinding minimal",
		kind: "FlowStageBinding",
		in:   `{"spec":{"targetRef":{"name":"f"},"stageRef":{"kind":"PasswordStage","name":"p"},"order":0}}`,
		want: `{"targetRef":{"name":"f"},"stageRef":{"kind":"PasswordStage","name":"p"},"order":0,"evaluateOnPlan":false,"reEvaluatePolicies":true,"invalidResponseAction":"retry","policyEngineMode":"any"}`,
	}, {
		name: "FlowStageBinding explicit false",
		kind: "FlowStageBinding",
		in:   `{"spec":{"targetRef":{"name":"f"},"stageRef":{"kind":"PasswordStage","name":"p"},"order":-1,"evaluateOnPlan":true,"reEvaluatePolicies":false,"invalidResponseAction":"restart_with_context","policyEngineMode":"all"}}`,
		want: `{"targetRef":{"name":"f"},"stageRef":{"kind":"PasswordStage","name":"p"},"order":-1,"evaluateOnPlan":true,"reEvaluatePolicies":false,"invalidResponseAction":"restart_with_context","policyEngineMode":"all"}`,
	}, {
		name: "IdentificationStage minimal",
		kind: "IdentificationStage",
		in:   `{"spec":{"userFields":["username"]}}`,
		want: `{"userFields":["username"],"caseInsensitiveMatching":true,"showMatchedUser":true,"showSourceLabels":false,"pretendUserExists":true,"enableRememberMe":false}`,
	}, {
		name: "IdentificationStage explicit false",
		kind: "IdentificationStage",
		in:   `{"spec":{"sourceRefs":[{"name":"github"}],"caseInsensitiveMatching":false,"showMatchedUser":false,"showSourceLabels":true,"pretendUserExists":false,"enableRememberMe":true}}`,
		want: `{"sourceRefs":[{"name":"github"}],"caseInsensitiveMatching":false,"showMatchedUser":false,"showSourceLabels":true,"pretendUserExists":false,"enableRememberMe":true}`,
	}, {
		name: "PasswordStage minimal",
		kind: "PasswordStage",
		in:   `{"spec":{"backends":["authentik.core.auth.InbuiltBackend"]}}`,
		want: `{"backends":["authentik.core.auth.InbuiltBackend"],"failedAttemptsBeforeCancel":5,"allowShowPassword":false}`,
	}, {
		name: "PasswordStage explicit zero",
		kind: "PasswordStage",
		in:   `{"spec":{"backends":["authentik.core.auth.TokenBackend"],"failedAttemptsBeforeCancel":0,"allowShowPassword":true}}`,
		want: `{"backends":["authentik.core.auth.TokenBackend"],"failedAttemptsBeforeCancel":0,"allowShowPassword":true}`,
	}, {
		// No spec at all: the spec defaults to {}, and its fields to
		// authentik's defaults, so the empty manifest is authentik's default
		// validation stage.
		name: "AuthenticatorValidateStage without spec",
		kind: "AuthenticatorValidateStage",
		in:   `{}`,
		want: `{"notConfiguredAction":"skip","deviceClasses":["static","totp","webauthn","duo","sms","email"],"lastAuthThreshold":"seconds=0","webauthnUserVerification":"preferred","emailOTPThrottlingFactor":1,"smsOTPThrottlingFactor":1,"totpOTPThrottlingFactor":1,"staticOTPThrottlingFactor":1}`,
	}, {
		name: "AuthenticatorValidateStage explicit",
		kind: "AuthenticatorValidateStage",
		in:   `{"spec":{"notConfiguredAction":"deny","deviceClasses":["webauthn"],"lastAuthThreshold":"hours=1","webauthnUserVerification":"required","webauthnHints":["security-key","hybrid"],"webauthnAllowedDeviceTypeRefs":[{"name":"yubikey-5"}],"emailOTPThrottlingFactor":0,"smsOTPThrottlingFactor":2.5,"totpOTPThrottlingFactor":0.5,"staticOTPThrottlingFactor":3}}`,
		want: `{"notConfiguredAction":"deny","deviceClasses":["webauthn"],"lastAuthThreshold":"hours=1","webauthnUserVerification":"required","webauthnHints":["security-key","hybrid"],"webauthnAllowedDeviceTypeRefs":[{"name":"yubikey-5"}],"emailOTPThrottlingFactor":0,"smsOTPThrottlingFactor":2.5,"totpOTPThrottlingFactor":0.5,"staticOTPThrottlingFactor":3}`,
	}, {
		name: "CaptchaStage minimal",
		kind: "CaptchaStage",
		in:   `{"spec":{"publicKey":"site-key","privateKeySecretRef":{"name":"captcha","key":"secret"}}}`,
		want: `{"publicKey":"site-key","privateKeySecretRef":{"name":"captcha","key":"secret"},"jsUrl":"https://www.recaptcha.net/recaptcha/api.js","apiUrl":"https://www.recaptcha.net/recaptcha/api/siteverify","requestContentType":"application/x-www-form-urlencoded","interactive":false,"scoreMinThreshold":0.5,"scoreMaxThreshold":1,"errorOnInvalidScore":true}`,
	}, {
		name: "CaptchaStage explicit false and zeros",
		kind: "CaptchaStage",
		in:   `{"spec":{"publicKey":"site-key","privateKeySecretRef":{"name":"captcha","key":"secret"},"requestContentType":"application/json","interactive":true,"scoreMinThreshold":0,"scoreMaxThreshold":0,"errorOnInvalidScore":false}}`,
		want: `{"publicKey":"site-key","privateKeySecretRef":{"name":"captcha","key":"secret"},"jsUrl":"https://www.recaptcha.net/recaptcha/api.js","apiUrl":"https://www.recaptcha.net/recaptcha/api/siteverify","requestContentType":"application/json","interactive":true,"scoreMinThreshold":0,"scoreMaxThreshold":0,"errorOnInvalidScore":false}`,
	}, {
		name: "Source without spec",
		kind: "Source",
		in:   `{}`,
		want: `{"enabled":true}`,
	}, {
		name: "Source explicit false",
		kind: "Source",
		in:   `{"spec":{"enabled":false}}`,
		want: `{"enabled":false}`,
	}, {
		// No spec at all: authentik's default login stage.
		name: "UserLoginStage without spec",
		kind: "UserLoginStage",
		in:   `{}`,
		want: `{"sessionDuration":"seconds=0","terminateOtherSessions":false,"rememberMeOffset":"seconds=0","networkBinding":"no_binding","geoipBinding":"no_binding","rememberDevice":"days=30"}`,
	}, {
		name: "UserLoginStage explicit",
		kind: "UserLoginStage",
		in:   `{"spec":{"sessionDuration":"hours=8","terminateOtherSessions":true,"rememberMeOffset":"days=14","networkBinding":"bind_asn_network","geoipBinding":"bind_continent_country","rememberDevice":"seconds=0"}}`,
		want: `{"sessionDuration":"hours=8","terminateOtherSessions":true,"rememberMeOffset":"days=14","networkBinding":"bind_asn_network","geoipBinding":"bind_continent_country","rememberDevice":"seconds=0"}`,
	}, {
		name: "FlowStageBinding to a stage that lives only in authentik",
		kind: "FlowStageBinding",
		in:   `{"spec":{"targetRef":{"name":"f"},"stageRef":{"model":"authentik_stages_user_write.userwritestage","name":"default-source-enrollment-write"},"order":30}}`,
		want: `{"targetRef":{"name":"f"},"stageRef":{"model":"authentik_stages_user_write.userwritestage","name":"default-source-enrollment-write"},"order":30,"evaluateOnPlan":false,"reEvaluatePolicies":true,"invalidResponseAction":"retry","policyEngineMode":"any"}`,
	}, {
		// No spec at all: publish every flow of the namespace to
		// stagehand-blueprints.
		name: "BlueprintExport without spec",
		kind: "BlueprintExport",
		in:   `{}`,
		want: `{"configMapName":"stagehand-blueprints","secrets":"Mount","secretMountRoot":"/blueprints/mounted","deletionRetentionHours":168}`,
	}, {
		name: "WebAuthnDeviceType has no defaults",
		kind: "WebAuthnDeviceType",
		in:   `{"spec":{"aaguid":"ee882879-721c-4913-9775-3dfcce97072a","description":"YubiKey 5 Series"}}`,
		want: `{"aaguid":"ee882879-721c-4913-9775-3dfcce97072a","description":"YubiKey 5 Series"}`,
	}}

	ns := namespace(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			obj := manifest(t, c.kind, ns, c.in, "")
			obj.SetName("")
			obj.SetGenerateName("defaults-")
			if err := k.Create(ctx(t), obj); err != nil {
				t.Fatalf("create: %v", err)
			}
			if clusterScoped(c.kind) {
				t.Cleanup(func() { _ = k.Delete(context.Background(), obj) })
			}
			key := client.ObjectKeyFromObject(obj)

			// 1. What the API server stored.
			stored := getUnstructured(t, c.kind, key)
			assertSpec(t, "stored", stored.Object["spec"], c.want)

			// 2. What a controller reads: the Go type.
			goObj := typed(t, stored)
			var asJSON map[string]any
			roundTrip(t, goObj, &asJSON)
			assertSpec(t, "read into the Go type", asJSON["spec"], c.want)

			// 3. The Go object written back, as a controller or a typed
			// client writes it, then read again.
			if err := k.Update(ctx(t), goObj.(client.Object)); err != nil {
				t.Fatalf("writing the Go object back: %v", err)
			}
			assertSpec(t, "written back from the Go type", getUnstructured(t, c.kind, key).Object["spec"], c.want)
		})
	}
}

// TestAAGUIDImmutable: a device type's aaguid is its identity (its pk in the
// API), so it cannot change once created; its description can. This needs a
// stored object: the rule compares the update with what is stored.
func TestAAGUIDImmutable(t *testing.T) {
	obj := manifest(t, "WebAuthnDeviceType", "", bases["WebAuthnDeviceType"], `{"metadata":{"name":null,"generateName":"yubikey-"}}`)
	if err := k.Create(ctx(t), obj); err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { _ = k.Delete(context.Background(), obj) })

	patch := func(p string) error {
		return k.Patch(ctx(t), obj.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(p)))
	}
	checkRefusal(t, patch(`{"spec":{"aaguid":"ee882879-721c-4913-9775-3dfcce97072a"}}`), refusal{"spec.aaguid", "aaguid is immutable"})
	if err := patch(`{"spec":{"aaguid":"cb69481e-8ff7-4039-93ec-0a2729a154a8","description":"YubiKey 5 Series (firmware 5.1)"}}`); err != nil {
		t.Errorf("changing the description, aaguid unchanged: %v", err)
	}
	got := getUnstructured(t, "WebAuthnDeviceType", client.ObjectKeyFromObject(obj))
	if aaguid, _, _ := unstructured.NestedString(got.Object, "spec", "aaguid"); aaguid != "cb69481e-8ff7-4039-93ec-0a2729a154a8" {
		t.Errorf("stored aaguid = %q, want the original", aaguid)
	}
	if d, _, _ := unstructured.NestedString(got.Object, "spec", "description"); d != "YubiKey 5 Series (firmware 5.1)" {
		t.Errorf("stored description = %q, want the updated one", d)
	}
}

func getUnstructured(t *testing.T, kind string, key client.ObjectKey) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(flowsv1alpha1.GroupVersion.WithKind(kind))
	if err := k.Get(ctx(t), key, u); err != nil {
		t.Fatalf("get %s %s: %v", kind, key, err)
	}
	return u
}

// roundTrip marshals v to JSON and unmarshals it into out.
func roundTrip(t *testing.T, v, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

// assertSpec compares a spec with the JSON object want, key order aside.
func assertSpec(t *testing.T, stage string, spec any, want string) {
	t.Helper()
	var got, w any
	roundTrip(t, spec, &got)
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want in the test: %v", err)
	}
	g, _ := json.Marshal(got)
	wb, _ := json.Marshal(w)
	if string(g) != string(wb) {
		t.Errorf("%s spec:\n got %s\nwant %s", stage, g, wb)
	}
}

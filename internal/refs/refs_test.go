package refs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

func TestOf(t *testing.T) {
	meta := metav1.ObjectMeta{Namespace: "ns", Name: "obj"}
	ref := func(name string) *flowsv1alpha1.LocalObjectReference {
		return &flowsv1alpha1.LocalObjectReference{Name: name}
	}
	for _, tc := range []struct {
		name string
		obj  client.Object
		want []Reference
	}{
		{
			name: "binding: its flow, then its stage",
			obj: &flowsv1alpha1.FlowStageBinding{ObjectMeta: meta, Spec: flowsv1alpha1.FlowStageBindingSpec{
				TargetRef: flowsv1alpha1.LocalObjectReference{Name: "login"},
				StageRef:  flowsv1alpha1.StageReference{Kind: flowsv1alpha1.StageKindPassword, Name: "pw"},
			}},
			want: []Reference{
				{Field: "spec.targetRef", Kind: flowsv1alpha1.KindFlow, Namespace: "ns", Name: "login"},
				{Field: "spec.stageRef", Kind: "PasswordStage", Namespace: "ns", Name: "pw"},
			},
		},
		{
			name: "binding to a stage that lives only in authentik: by model",
			obj: &flowsv1alpha1.FlowStageBinding{ObjectMeta: meta, Spec: flowsv1alpha1.FlowStageBindingSpec{
				TargetRef: flowsv1alpha1.LocalObjectReference{Name: "login"},
				StageRef:  flowsv1alpha1.StageReference{Model: "authentik_stages_user_write.userwritestage", Name: "Write user"},
			}},
			want: []Reference{
				{Field: "spec.targetRef", Kind: flowsv1alpha1.KindFlow, Namespace: "ns", Name: "login"},
				{Field: "spec.stageRef", Model: "authentik_stages_user_write.userwritestage", Namespace: "ns", Name: "Write user"},
			},
		},
		{
			name: "identification stage: every reference field, in field order",
			obj: &flowsv1alpha1.IdentificationStage{ObjectMeta: meta, Spec: flowsv1alpha1.IdentificationStageSpec{
				PasswordStageRef:    ref("pw"),
				CaptchaStageRef:     ref("cap"),
				EnrollmentFlowRef:   ref("enroll"),
				RecoveryFlowRef:     ref("recover"),
				PasswordlessFlowRef: ref("passkey"),
				SourceRefs:          []flowsv1alpha1.LocalObjectReference{{Name: "github"}, {Name: "gitlab"}},
				WebAuthnStageRef:    ref("mfa"),
			}},
			want: []Reference{
				{Field: "spec.passwordStageRef", Kind: "PasswordStage", Namespace: "ns", Name: "pw"},
				{Field: "spec.captchaStageRef", Kind: "CaptchaStage", Namespace: "ns", Name: "cap"},
				{Field: "spec.enrollmentFlowRef", Kind: flowsv1alpha1.KindFlow, Namespace: "ns", Name: "enroll"},
				{Field: "spec.recoveryFlowRef", Kind: flowsv1alpha1.KindFlow, Namespace: "ns", Name: "recover"},
				{Field: "spec.passwordlessFlowRef", Kind: flowsv1alpha1.KindFlow, Namespace: "ns", Name: "passkey"},
				{Field: "spec.sourceRefs[0]", Kind: flowsv1alpha1.KindSource, Namespace: "ns", Name: "github"},
				{Field: "spec.sourceRefs[1]", Kind: flowsv1alpha1.KindSource, Namespace: "ns", Name: "gitlab"},
				{Field: "spec.webauthnStageRef", Kind: "AuthenticatorValidateStage", Namespace: "ns", Name: "mfa"},
			},
		},
		{
			name: "identification stage without references",
			obj:  &flowsv1alpha1.IdentificationStage{ObjectMeta: meta, Spec: flowsv1alpha1.IdentificationStageSpec{UserFields: []flowsv1alpha1.UserField{"email"}}},
		},
		{
			name: "password stage: its configure flow",
			obj:  &flowsv1alpha1.PasswordStage{ObjectMeta: meta, Spec: flowsv1alpha1.PasswordStageSpec{ConfigureFlowRef: ref("change")}},
			want: []Reference{{Field: "spec.configureFlowRef", Kind: flowsv1alpha1.KindFlow, Namespace: "ns", Name: "change"}},
		},
		{
			name: "validate stage: configuration stages of any kind, and cluster-scoped device types",
			obj: &flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: meta, Spec: flowsv1alpha1.AuthenticatorValidateStageSpec{
				ConfigurationStageRefs:        []flowsv1alpha1.StageReference{{Kind: flowsv1alpha1.StageKindPassword, Name: "pw"}, {Kind: flowsv1alpha1.StageKindCaptcha, Name: "cap"}},
				WebAuthnAllowedDeviceTypeRefs: []flowsv1alpha1.LocalObjectReference{{Name: "yubikey"}},
			}},
			want: []Reference{
				{Field: "spec.configurationStageRefs[0]", Kind: "PasswordStage", Namespace: "ns", Name: "pw"},
				{Field: "spec.configurationStageRefs[1]", Kind: "CaptchaStage", Namespace: "ns", Name: "cap"},
				{Field: "spec.webauthnAllowedDeviceTypeRefs[0]", Kind: flowsv1alpha1.KindWebAuthnDeviceType, Name: "yubikey"},
			},
		},
		{
			name: "captcha stage: its Secret",
			obj: &flowsv1alpha1.CaptchaStage{ObjectMeta: meta, Spec: flowsv1alpha1.CaptchaStageSpec{
				PrivateKeySecretRef: flowsv1alpha1.SecretKeyReference{Name: "keys", Key: "private"},
			}},
			want: []Reference{{Field: "spec.privateKeySecretRef", Kind: KindSecret, Namespace: "ns", Name: "keys"}},
		},
		{name: "flow: none", obj: &flowsv1alpha1.Flow{ObjectMeta: meta}},
		{name: "source: none", obj: &flowsv1alpha1.Source{ObjectMeta: meta}},
		{name: "device type: none", obj: &flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: metav1.ObjectMeta{Name: "yubikey"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Of(tc.obj)); diff != "" {
				t.Errorf("Of (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReferenceKeys: the index holds each referenced object once, however
// many fields name it, under the key a watch looks it up by.
func TestReferenceKeys(t *testing.T) {
	s := &flowsv1alpha1.IdentificationStage{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "id"},
		Spec: flowsv1alpha1.IdentificationStageSpec{
			EnrollmentFlowRef: &flowsv1alpha1.LocalObjectReference{Name: "f"},
			RecoveryFlowRef:   &flowsv1alpha1.LocalObjectReference{Name: "f"},
			SourceRefs:        []flowsv1alpha1.LocalObjectReference{{Name: "github"}},
		},
	}
	want := []string{"Flow/ns/f", "Source/ns/github"}
	if diff := cmp.Diff(want, referenceKeys(s)); diff != "" {
		t.Errorf("referenceKeys (-want +got):\n%s", diff)
	}
	ext := &flowsv1alpha1.FlowStageBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b"}, Spec: flowsv1alpha1.FlowStageBindingSpec{
		TargetRef: flowsv1alpha1.LocalObjectReference{Name: "f"},
		StageRef:  flowsv1alpha1.StageReference{Model: "authentik_stages_prompt.promptstage", Name: "prompt"},
	}}
	if diff := cmp.Diff([]string{"Flow/ns/f"}, referenceKeys(ext)); diff != "" {
		t.Errorf("an external stage is not indexed (-want +got):\n%s", diff)
	}
	flow := &flowsv1alpha1.Flow{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "f"}}
	if got := KeyOf(flowsv1alpha1.KindFlow, flow); got != want[0] {
		t.Errorf("KeyOf(flow) = %q, want %q: a watch on the flow would not find its referrers", got, want[0])
	}
	dt := &flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: metav1.ObjectMeta{Name: "yubikey"}}
	if got, want := KeyOf(flowsv1alpha1.KindWebAuthnDeviceType, dt), "WebAuthnDeviceType//yubikey"; got != want {
		t.Errorf("KeyOf(device type) = %q, want %q", got, want)
	}
}

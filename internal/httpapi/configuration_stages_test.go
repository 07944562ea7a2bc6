package httpapi

import (
	"encoding/json"
	"slices"
	"testing"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// A configuration stage that lives only in authentik
// (configurationStageRefs[].model) has no pk stagehand could send. A
// validate stage with one is served without configuration_stages (which
// authentik's schema does not require), rather than with a list that says
// what is not so: the others alone, or, with only such stages, [] beside
// not_configured_action configure, which authentik's serializer refuses
// ("you must set a configuration stage"). The configuration_stages filter
// still finds it by the configuration stages that are stagehand objects.
func TestConfigurationStagesByModel(t *testing.T) {
	pw := &flowsv1alpha1.PasswordStage{ObjectMeta: om(ns, "pw", 1)}
	local := flowsv1alpha1.StageReference{Kind: flowsv1alpha1.StageKindPassword, Name: "pw"}
	totp := flowsv1alpha1.StageReference{Model: "authentik_stages_authenticator_totp.authenticatortotpstage", Name: "default-authenticator-totp-setup"}
	webauthn := flowsv1alpha1.StageReference{Model: "authentik_stages_authenticator_webauthn.authenticatorwebauthnstage", Name: "default-authenticator-webauthn-setup"}
	validate := func(name string, n int, refs ...flowsv1alpha1.StageReference) *flowsv1alpha1.AuthenticatorValidateStage {
		return &flowsv1alpha1.AuthenticatorValidateStage{ObjectMeta: om(ns, name, n), Spec: flowsv1alpha1.AuthenticatorValidateStageSpec{
			NotConfiguredAction:    flowsv1alpha1.NotConfiguredActionConfigure,
			ConfigurationStageRefs: refs,
		}}
	}
	h := memServer(t, pw,
		validate("by-model", 2, totp, webauthn),
		validate("mixed", 3, local, totp),
		validate("own", 4, local),
		validate("none", 5))

	for _, tc := range []struct {
		n    int
		want string // configuration_stages as served; "" when left out
	}{
		{2, ""},
		{3, ""},
		{4, `["` + string(uid(1)) + `"]`},
		{5, `[]`},
	} {
		path := "/api/v3/stages/authenticator/validate/" + string(uid(tc.n)) + "/"
		rec := get(t, h, path)
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		got, served := body["configuration_stages"]
		switch {
		case tc.want == "" && served:
			t.Errorf("GET %s: configuration_stages %s, want it left out", path, got)
		case tc.want != "" && string(got) != tc.want:
			t.Errorf("GET %s: configuration_stages %s, want %s", path, got, tc.want)
		}
	}

	path := "/api/v3/stages/authenticator/validate/?configuration_stages=" + string(uid(1))
	rec := get(t, h, path)
	var list struct {
		Results []struct {
			Name string `json:"name"`
		} `json:"results"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 {
		t.Fatalf("GET %s: %d %v %s", path, rec.Code, err, rec.Body)
	}
	var names []string
	for _, r := range list.Results {
		names = append(names, r.Name)
	}
	if want := []string{"mixed", "own"}; !slices.Equal(names, want) {
		t.Errorf("GET %s: %v, want %v", path, names, want)
	}
}

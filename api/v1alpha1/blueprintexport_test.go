package v1alpha1_test

import (
	"testing"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// ValidBlueprintConfigMapName, which the controller checks for exports
// stored before the schema did, takes what the schema's rule takes
// (TestAdmissionBlueprintExport).
func TestValidBlueprintConfigMapName(t *testing.T) {
	for name, want := range map[string]bool{
		"stagehand-blueprints":        true,
		"stagehand-blueprints-team-a": true,
		"stagehand-blueprints-":       true,
		"stagehand-blueprintsx":       false,
		"authentik-blueprints":        false,
		"kube-root-ca.crt":            false,
		"":                            false,
	} {
		if got := flowsv1alpha1.ValidBlueprintConfigMapName(name); got != want {
			t.Errorf("ValidBlueprintConfigMapName(%q) = %v, want %v", name, got, want)
		}
	}
}

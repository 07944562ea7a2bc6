package imports

import (
	"errors"
	"strings"
	"testing"

	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// goodFile is a small blueprint that imports.
const goodFile = `version: 1
entries:
- model: authentik_flows.flow
  id: flow
  identifiers: {slug: good}
  attrs: {name: Good, title: Good, designation: authentication}
- model: authentik_stages_user_login.userloginstage
  id: login
  identifiers: {name: good-login}
- model: authentik_flows.flowstagebinding
  identifiers: {target: !KeyOf flow, stage: !KeyOf login, order: 10}
`

// Bad input is an error that names the file, line and column, and the
// file gives nothing; the other files are not affected.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"invalid YAML", "version: 1\nentries:\n- model: a\n  attrs: {x: [1, 2}\n",
			[]string{"bad.yaml:4:1: invalid YAML: did not find expected ',' or ']'"}},
		{"an unknown tag", "version: 1\nentries:\n- model: authentik_flows.flow\n  identifiers: {slug: x}\n  attrs: {title: !Secret x}\n",
			[]string{"bad.yaml:5:18: unknown tag !Secret: authentik knows !AtIndex, !Condition, !Context, !Enumerate, !Env, !File, !Find, !FindObject, !Format, !If, !Index, !KeyOf, !ParseJSON, !Value"}},
		{"a !KeyOf to a missing id", "version: 1\nentries:\n- model: authentik_flows.flow\n  id: flow\n  identifiers: {slug: x}\n  attrs: {title: X, designation: authentication}\n- model: authentik_flows.flowstagebinding\n  identifiers: {target: !KeyOf flow, stage: !KeyOf nowhere, order: 1}\n",
			[]string{"bad.yaml:8:45: entry 2 (authentik_flows.flowstagebinding): !KeyOf nowhere names no entry"}},
		{"a !KeyOf to a later entry", "version: 1\nentries:\n- model: authentik_flows.flowstagebinding\n  identifiers: {target: !KeyOf flow, stage: !KeyOf flow, order: 1}\n- model: authentik_flows.flow\n  id: flow\n  identifiers: {slug: x}\n",
			[]string{"bad.yaml:4:25: entry 1 (authentik_flows.flowstagebinding): !KeyOf flow names an entry that is not before it"}},
		{"version 2", "version: 2\nentries: []\n",
			[]string{"bad.yaml:1:10: version 2 is not supported: authentik reads blueprints of version 1"}},
		{"an empty file", "",
			[]string{"bad.yaml: the file is empty: it holds no blueprint"}},
		{"two documents", goodFile + "---\nversion: 1\n",
			[]string{"bad.yaml:12:1: a blueprint file holds one YAML document; this is a second one"}},
		{"an order that is not a number", "version: 1\nentries:\n- model: authentik_flows.flow\n  id: flow\n  identifiers: {slug: x}\n  attrs: {title: X, designation: authentication}\n- model: authentik_stages_user_login.userloginstage\n  id: s\n  identifiers: {name: s}\n- model: authentik_flows.flowstagebinding\n  identifiers: {target: !KeyOf flow, stage: !KeyOf s, order: ten}\n",
			[]string{`bad.yaml:10:3: authentik_flows.flowstagebinding {target: !KeyOf flow, stage: !KeyOf s, order: ten}: order: want an integer, not ten`}},
		{"a binding without its order", "version: 1\nentries:\n- model: authentik_flows.flow\n  id: flow\n  identifiers: {slug: x}\n  attrs: {title: X, designation: authentication}\n- model: authentik_stages_user_login.userloginstage\n  id: s\n  identifiers: {name: s}\n- model: authentik_flows.flowstagebinding\n  identifiers: {target: !KeyOf flow, stage: !KeyOf s}\n",
			[]string{`bad.yaml:10:3: authentik_flows.flowstagebinding {target: !KeyOf flow, stage: !KeyOf s}: a binding needs its order`}},
		{"a flow without its title", "version: 1\nentries:\n- model: authentik_flows.flow\n  identifiers: {slug: x}\n  attrs: {designation: authentication}\n",
			[]string{`bad.yaml:3:3: authentik_flows.flow "x": a flow needs its title and designation`}},
		{"a stage without its name", "version: 1\nentries:\n- model: authentik_stages_password.passwordstage\n  attrs: {backends: [authentik.core.auth.InbuiltBackend]}\n",
			[]string{`bad.yaml:3:3: authentik_stages_password.passwordstage (entry 1): a stage needs its name`}},
		{"a boolean that is a string", "version: 1\nentries:\n- model: authentik_stages_identification.identificationstage\n  identifiers: {name: id}\n  attrs: {user_fields: [email], pretend_user_exists: 'no'}\n",
			[]string{`bad.yaml:3:3: authentik_stages_identification.identificationstage "id": pretend_user_exists: want true or false, not no`}},
		{"a password stage that is a flow", "version: 1\nentries:\n- model: authentik_flows.flow\n  id: flow\n  identifiers: {slug: x}\n  attrs: {title: X, designation: authentication}\n- model: authentik_stages_identification.identificationstage\n  identifiers: {name: id}\n  attrs: {user_fields: [email], password_stage: !KeyOf flow}\n",
			[]string{`bad.yaml:7:3: authentik_stages_identification.identificationstage "id": password_stage: names authentik_flows.flow "x", which is not a PasswordStage`}},
		{"one flow, declared twice differently", goodFile + "- model: authentik_flows.flow\n  identifiers: {slug: good}\n  attrs: {name: Other, title: Good, designation: authentication}\n",
			[]string{`bad.yaml:12:3: authentik_flows.flow "good" (Flow good) is also declared by bad.yaml:3:3, differently`}},
		{"an order out of range", "version: 1\nentries:\n- model: authentik_flows.flowstagebinding\n  identifiers: {target: !Find [authentik_flows.flow, [slug, x]], stage: !Find [authentik_stages_dummy.dummystage, [name, d]], order: 4294967296}\n",
			[]string{`bad.yaml:3:3: authentik_flows.flowstagebinding {target: !Find [authentik_flows.flow, [slug, x]], stage: !Find [authentik_stages_dummy.dummystage, [name, d]], order: 4294967296}: order: 4294967296 is out of range (a 32-bit integer)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := append(inline("bad.yaml", tc.data), inline("good.yaml", goodFile)...)
			res, err := Import(files, Options{})
			if err != nil {
				t.Fatal(err)
			}
			bad, good := res.Files[0], res.Files[1]
			if bad.Err == nil {
				t.Fatalf("no error; objects %v", bad.Objects)
			}
			for _, want := range tc.want {
				if !strings.Contains(bad.Err.Error(), want) {
					t.Errorf("error:\n%v\nwant it to hold:\n%s", bad.Err, want)
				}
			}
			var be *blueprint.Error
			if !errors.As(bad.Err, &be) || be.File != "bad.yaml" {
				t.Errorf("the error is not a *blueprint.Error of bad.yaml: %#v", bad.Err)
			}
			if len(bad.Objects) != 0 {
				t.Errorf("a file that failed gives %d objects", len(bad.Objects))
			}
			if good.Err != nil || len(good.Objects) != 3 {
				t.Errorf("the good file: %v, %d objects", good.Err, len(good.Objects))
			}
			if got := len(res.Objects()); got != 3 {
				t.Errorf("Objects: %d; want the good file's 3", got)
			}
			if res.Err() == nil {
				t.Error("Result.Err is nil")
			}
		})
	}
}

// A bad namespace is refused before anything is read.
func TestBadNamespace(t *testing.T) {
	if _, err := Import(inline("good.yaml", goodFile), Options{Namespace: "Not_A_Namespace"}); err == nil || !strings.Contains(err.Error(), `namespace "Not_A_Namespace"`) {
		t.Errorf("error %v", err)
	}
}

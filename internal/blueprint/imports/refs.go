package imports

import (
	"fmt"
	"slices"
	"strings"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// References. A reference field's value, computed, is a ref (an entry of
// the files), an outside !Find (an object in authentik, found by its
// conditions), or a raw UUID (an export's pk) that names an entry of the
// files or not. Each kind of reference takes what stagehand can name.

// byPK follows a raw UUID to the entry whose pk it is. A UUID that is no
// entry's pk names an object the files do not hold: noted, and not
// carried.
func (c *converter) byPK(f *fields, key, what string, v string) (*entry, bool) {
	if t := c.im.byPK[normUUID(v)]; t != nil {
		return t, true
	}
	c.note(f.en.e.Pos, CategoryReference, "%s: %s is not carried: %s is the pk of %s the files do not declare (an export refers to objects by pk: import the exports of the objects it refers to with it)", f.what, key, v, what)
	return nil, false
}

// singleCond is the value of a !Find's only condition, when that is an
// exact lookup of field and its value a string.
func singleCond(o outside, field string) (string, bool) {
	if len(o.conds) != 1 {
		return "", false
	}
	c := o.conds[0]
	if c.field != field && c.field != field+"__exact" {
		return "", false
	}
	s, ok := c.value.(string)
	return s, ok && s != ""
}

// flowRef reads a reference to a flow: the Flow object's name and the
// flow's slug (its identity). ok is false when the reference is set but
// cannot be carried (noted); a required reference that is absent is an
// error.
func (c *converter) flowRef(f *fields, key string, required bool) (*flowsv1alpha1.LocalObjectReference, string, bool) {
	v, present := f.get(key)
	if !present {
		if _, written := f.m.Get(key); required && !written {
			f.errorf(key, "a binding needs its target flow")
		}
		return nil, "", !required
	}
	return c.flowValue(f, key, v)
}

// usable says whether t, which f's key names, can be carried: it must be
// what the key takes (isWhat; else an error: it names t, "which is not"
// what) and applied (else a note). A t without an identity is an error of
// its own entry.
func (c *converter) usable(f *fields, key string, t *entry, isWhat bool, what string) bool {
	switch {
	case !isWhat:
		f.errorf(key, "names %s, which is not %s", t.describe(), what)
		return false
	case !t.live():
		c.note(f.en.e.Pos, CategoryReference, "%s: %s is not carried: it names %s, which is not applied (%s)", f.what, key, t.describe(), t.skip)
		return false
	}
	return true
}

func (c *converter) flowValue(f *fields, key string, v any) (*flowsv1alpha1.LocalObjectReference, string, bool) {
	switch v := v.(type) {
	case ref:
		t := v.to
		if !c.usable(f, key, t, t.role == roleFlow, "a flow") || t.identity == "" {
			return nil, "", false // without an identity, the flow's entry is an error already
		}
		name := c.im.names.name(familyFlow, t.identity, t.identity, false)
		return &flowsv1alpha1.LocalObjectReference{Name: name}, t.identity, true
	case outside:
		slug, ok := singleCond(v, "slug")
		if v.model != modelFlow || !ok {
			c.note(v.pos, CategoryReference, "%s: %s is not carried: a !Find of %s by %s, which stagehand cannot name (it names flows by slug)", f.what, key, v.model, conds(v))
			return nil, "", false
		}
		name := c.im.names.name(familyFlow, slug, slug, false)
		c.note(v.pos, CategoryMissing, "%s: %s names the flow of slug %q, which the files do not declare: import its blueprint too, or create Flow %s", f.what, key, slug, name)
		return &flowsv1alpha1.LocalObjectReference{Name: name}, slug, true
	case string:
		if isUUID(v) {
			if t, ok := c.byPK(f, key, "a flow", v); ok {
				return c.flowValue(f, key, ref{to: t})
			}
			return nil, "", false
		}
	}
	f.errorf(key, "want a reference to a flow (!KeyOf, !Find or a pk), not %s", blueprint.Show(v))
	return nil, "", false
}

// conds writes a !Find's conditions for a person.
func conds(o outside) string {
	parts := make([]string, len(o.conds))
	for i, c := range o.conds {
		parts[i] = c.field + " " + blueprint.Show(c.value)
	}
	return strings.Join(parts, " and ")
}

// stageRef reads a reference to a stage of any kind (a binding's stage).
func (c *converter) stageRef(f *fields, key string) (flowsv1alpha1.StageReference, stagePart, bool) {
	v, present := f.get(key)
	if !present {
		if _, written := f.m.Get(key); !written {
			f.errorf(key, "a binding needs its stage")
		}
		return flowsv1alpha1.StageReference{}, stagePart{}, false
	}
	return c.stageValue(f, key, v)
}

// stageValue is a StageReference: a stage object for a stage of a kind
// stagehand serves that the files declare, else authentik's stage by
// model and name.
func (c *converter) stageValue(f *fields, key string, v any) (flowsv1alpha1.StageReference, stagePart, bool) {
	none := flowsv1alpha1.StageReference{}
	switch v := v.(type) {
	case ref:
		t := v.to
		if !c.usable(f, key, t, t.role == roleStage || t.role == roleForeignStage, "a stage") {
			return none, stagePart{}, false
		}
		switch {
		case t.identity == "":
			if t.role == roleStage {
				return none, stagePart{}, false // the stage's entry is an error already
			}
			c.note(f.en.e.Pos, CategoryReference, "%s: %s is not carried: it names %s, which has no name to find it by", f.what, key, t.describe())
			return none, stagePart{}, false
		case t.role == roleForeignStage:
			return flowsv1alpha1.StageReference{Model: t.e.Model, Name: t.identity}, stagePart{key: t.identity, external: true}, true
		}
		name := c.im.names.name(familyStage, t.identity, t.identity, false)
		return flowsv1alpha1.StageReference{Kind: flowsv1alpha1.StageKind(t.kind), Name: name}, stagePart{key: t.identity}, true
	case outside:
		name, ok := singleCond(v, "name")
		if !isStageModel(v.model) || !ok {
			c.note(v.pos, CategoryReference, "%s: %s is not carried: a !Find of %s by %s, which stagehand cannot name (it names authentik's stages by model and name)", f.what, key, v.model, conds(v))
			return none, stagePart{}, false
		}
		if k, served := kindOfModel(v.model); served {
			c.note(v.pos, CategoryMissing, "%s: %s names authentik's %s %q, which the files do not declare: it is referred to by model and name; import its blueprint too to manage it as a %s", f.what, key, v.model, name, k.Kind)
		}
		return flowsv1alpha1.StageReference{Model: v.model, Name: name}, stagePart{key: name, external: true}, true
	case string:
		if isUUID(v) {
			if t, ok := c.byPK(f, key, "a stage", v); ok {
				return c.stageValue(f, key, ref{to: t})
			}
			return none, stagePart{}, false
		}
	}
	f.errorf(key, "want a reference to a stage (!KeyOf, !Find or a pk), not %s", blueprint.Show(v))
	return none, stagePart{}, false
}

// localStage reads a reference to a stage object of one kind (an
// identification stage's password stage, ...), which can only name a
// stage object.
func (c *converter) localStage(f *fields, key string, kind flowsv1alpha1.StageKind) *flowsv1alpha1.LocalObjectReference {
	v, present := f.get(key)
	if !present {
		return nil
	}
	return c.localStageValue(f, key, kind, v)
}

func (c *converter) localStageValue(f *fields, key string, kind flowsv1alpha1.StageKind, v any) *flowsv1alpha1.LocalObjectReference {
	switch v := v.(type) {
	case ref:
		t := v.to
		if !c.usable(f, key, t, t.role == roleStage && t.kind == string(kind), "a "+string(kind)) || t.identity == "" {
			return nil
		}
		return &flowsv1alpha1.LocalObjectReference{Name: c.im.names.name(familyStage, t.identity, t.identity, false)}
	case outside:
		name, ok := singleCond(v, "name")
		if (v.model != model(string(kind)) && v.model != modelAnyStage) || !ok {
			c.note(v.pos, CategoryReference, "%s: %s is not carried: a !Find of %s by %s, which stagehand cannot name (it names a %s by its name)", f.what, key, v.model, conds(v), kind)
			return nil
		}
		obj := c.im.names.name(familyStage, name, name, false)
		c.note(v.pos, CategoryMissing, "%s: %s names the %s %q, which the files do not declare: import its blueprint too, or create %s %s", f.what, key, kind, name, kind, obj)
		return &flowsv1alpha1.LocalObjectReference{Name: obj}
	case string:
		if isUUID(v) {
			if t, ok := c.byPK(f, key, "a stage", v); ok {
				return c.localStageValue(f, key, kind, ref{to: t})
			}
			return nil
		}
	}
	f.errorf(key, "want a reference to a %s (!KeyOf, !Find or a pk), not %s", kind, blueprint.Show(v))
	return nil
}

// sources reads a list of sources: each a Source object, declared by the
// files or given here from its slug.
func (c *converter) sources(f *fields, key string) []flowsv1alpha1.LocalObjectReference {
	var out []flowsv1alpha1.LocalObjectReference
	for i, v := range f.list(key) {
		if name, ok := c.sourceValue(f, fmt.Sprintf("%s[%d]", key, i), v); ok {
			out = appendRef(out, name)
		}
	}
	return out
}

func (c *converter) sourceValue(f *fields, key string, v any) (string, bool) {
	switch v := v.(type) {
	case ref:
		t := v.to
		if !c.usable(f, key, t, t.role == roleSource, "a source") || t.identity == "" {
			return "", false
		}
		return c.im.names.name(familySource, t.identity, t.identity, false), true
	case outside:
		slug, ok := singleCond(v, "slug")
		if !isSourceModel(v.model) || !ok {
			c.note(v.pos, CategoryReference, "%s: %s is not carried: a !Find of %s by %s, which stagehand cannot name (it names sources by slug)", f.what, key, v.model, conds(v))
			return "", false
		}
		name := c.im.names.name(familySource, slug, slug, false)
		if !c.stubbed["Source/"+slug] {
			c.stubbed["Source/"+slug] = true
			src := c.im.newObject(flowsv1alpha1.KindSource, name).(*flowsv1alpha1.Source)
			if name != slug {
				src.Spec.Slug = slug
			}
			c.d.stubs = append(c.d.stubs, Object{Object: src, File: c.d.file, Pos: v.pos, From: fmt.Sprintf("%s %q, found by %s", v.model, slug, f.what)})
			c.note(v.pos, CategorySource, "%s: %s is authentik's source %q: given as Source %s, for the stage to list (its settings stay authentik's)", f.what, key, slug, name)
		}
		return name, true
	case string:
		if isUUID(v) {
			if t, ok := c.byPK(f, key, "a source", v); ok {
				return c.sourceValue(f, key, ref{to: t})
			}
			return "", false
		}
	}
	f.errorf(key, "want a reference to a source (!KeyOf, !Find or a pk), not %s", blueprint.Show(v))
	return "", false
}

// deviceTypes reads a list of WebAuthn device types: each found by its
// AAGUID (a device type's pk is its AAGUID), and given as a
// WebAuthnDeviceType of that AAGUID.
func (c *converter) deviceTypes(f *fields, key string) []flowsv1alpha1.LocalObjectReference {
	var out []flowsv1alpha1.LocalObjectReference
	for i, v := range f.list(key) {
		k := fmt.Sprintf("%s[%d]", key, i)
		pos := f.en.e.Pos
		aaguid := ""
		switch v := v.(type) {
		case outside:
			pos = v.pos
			if s, ok := singleCond(v, "aaguid"); ok && v.model == modelDeviceType {
				aaguid = s
			} else if s, ok := singleCond(v, "pk"); ok && v.model == modelDeviceType {
				aaguid = s
			}
		case string:
			aaguid = v
		case ref:
			if v.to.role == roleDeviceType {
				if s, ok := c.im.literal(v.to, "aaguid"); ok {
					aaguid = s
				}
			}
		}
		if !isUUID(aaguid) {
			c.note(pos, CategoryReference, "%s: %s is not carried: %s does not name a device type by its AAGUID", f.what, k, blueprint.Show(v))
			continue
		}
		aaguid = normUUID(aaguid)
		name := c.im.names.name(familyDeviceType, aaguid, aaguid, false)
		if !c.stubbed["WebAuthnDeviceType/"+aaguid] {
			c.stubbed["WebAuthnDeviceType/"+aaguid] = true
			dt := c.im.newObject(flowsv1alpha1.KindWebAuthnDeviceType, name).(*flowsv1alpha1.WebAuthnDeviceType)
			dt.Spec.AAGUID = aaguid
			dt.Spec.Description = "AAGUID " + aaguid
			c.d.stubs = append(c.d.stubs, Object{Object: dt, File: c.d.file, Pos: pos, From: fmt.Sprintf("%s %s, allowed by %s", modelDeviceType, aaguid, f.what)})
			c.note(pos, CategoryDeviceType, "%s: %s is the WebAuthn device type of AAGUID %s: given as WebAuthnDeviceType %s with a placeholder description (set the model's name); if the cluster has a device type of that AAGUID already, leave this one out and name that one", f.what, k, aaguid, name)
		}
		out = appendRef(out, name)
	}
	return out
}

// appendRef appends a reference to name unless refs has one.
func appendRef(refs []flowsv1alpha1.LocalObjectReference, name string) []flowsv1alpha1.LocalObjectReference {
	if slices.ContainsFunc(refs, func(r flowsv1alpha1.LocalObjectReference) bool { return r.Name == name }) {
		return refs
	}
	return append(refs, flowsv1alpha1.LocalObjectReference{Name: name})
}

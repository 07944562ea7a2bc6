package imports

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/blueprint/export"
)

// reserveNames learns every identity the files declare or refer to, by
// converting once, and fixes the names.
func (im *importer) reserveNames() {
	for _, d := range im.docs {
		im.convert(d)
	}
	im.names.assign()
}

// converter converts the entries of one document.
type converter struct {
	im *importer
	d  *document
	// flowName is the name of the document's one flow when the document
	// is one stagehand published ("stagehand <namespace>/<flow>"): the
	// Flow object's name then comes back as it was.
	flowName string
	// stubbed are the sources and device types already given as stubs.
	stubbed map[string]bool
}

func (im *importer) convert(d *document) {
	d.res.Notes, d.errs, d.objects, d.stubs = nil, nil, nil, nil
	// Context entries are computed again, so that their notes are made
	// again (the first conversion's are dropped).
	d.contextValues = map[contextKey]computed{}
	im.steps = 0
	c := &converter{im: im, d: d, stubbed: map[string]bool{}}
	c.document()
	pks := 0
	var stopped []*entry
	var stoppedBy limits
	for _, en := range im.entries {
		if en.doc != d {
			continue
		}
		if _, ok := en.e.Identifiers.Get("pk"); ok {
			pks++
		}
		before := im.limited
		c.entry(en)
		if l := im.limited.since(before); l.any() || en.classifyLimited.any() {
			stopped = append(stopped, en)
			stoppedBy.add(l)
			stoppedBy.add(en.classifyLimited)
		}
	}
	if len(stopped) > 0 {
		d.errs = append(d.errs, im.limitError(d, stopped, stoppedBy))
	}
	if pks > 0 {
		d.note(blueprint.Pos{}, CategoryPK, "%d %s identified by pk (an export of authentik's): pks are not carried; stagehand's documents find objects by slug and name, so applying them updates these objects wherever their slug and name match", pks, plural(pks, "entry is", "entries are"))
	}
}

// stagehandDocument matches the metadata.name of a document stagehand
// renders (export.BlueprintName).
var stagehandDocument = regexp.MustCompile(`^stagehand ([a-z0-9-]+)/([a-z0-9.-]+)$`)

// document notes what concerns the document as a whole.
func (c *converter) document() {
	bp := c.d.bp
	if m := bp.Metadata; m != nil {
		if m.Labels[blueprint.LabelInstantiate] == "false" {
			c.d.note(blueprint.Pos{}, CategoryBlueprint, "%q is marked %s: \"false\": authentik discovers it without applying it (an example); the objects are imported all the same", m.Name, blueprint.LabelInstantiate)
		}
		if sm := stagehandDocument.FindStringSubmatch(m.Name); sm != nil {
			flows := 0
			for _, en := range c.im.entries {
				if en.doc == c.d && en.role == roleFlow && en.live() {
					flows++
				}
			}
			if flows == 1 && validName(sm[2]) {
				c.flowName = sm[2]
			}
		}
	}
}

func (c *converter) note(pos blueprint.Pos, cat Category, format string, args ...any) {
	c.d.note(pos, cat, format, args...)
}

// entry converts one entry, or says why it is not carried.
func (c *converter) entry(en *entry) {
	e := en.e
	what := en.describe()
	if len(e.Permissions) > 0 {
		perms := make([]string, len(e.Permissions))
		for i, p := range e.Permissions {
			perms[i] = blueprint.Show(p.Permission)
			if p.User != nil {
				perms[i] += " to user " + blueprint.Show(p.User)
			}
			if p.Role != nil {
				perms[i] += " to role " + blueprint.Show(p.Role)
			}
		}
		c.note(e.Pos, CategoryPermission, "%s grants %d %s (%s): not carried; grant them in authentik", what, len(perms), plural(len(perms), "permission", "permissions"), strings.Join(perms, ", "))
	}
	if en.skip != "" {
		if e.State == blueprint.StateAbsent {
			c.note(e.Pos, CategoryAbsent, "%s is not carried: it deletes the object in authentik, and stagehand's objects declare what exists (a BlueprintExport deletes in authentik what is deleted in the cluster)", what)
		} else {
			c.note(e.Pos, CategoryCondition, "%s is not carried: %s, so authentik does not apply it", what, en.skip)
		}
		return
	}
	switch en.role {
	case roleOther:
		c.note(e.Pos, CategoryModel, "%s is not carried: stagehand does not serve %s", what, e.Model)
		return
	case roleDeviceType:
		c.note(e.Pos, CategoryModel, "%s is not carried: authentik manages WebAuthn device types itself (stagehand's documents find them by aaguid)", what)
		return
	case roleForeignStage:
		c.note(e.Pos, CategoryModel, "%s is not carried: stagehand does not serve %s; bindings and configuration stages refer to it by model and name, and it stays authentik's", what, e.Model)
		return
	case rolePolicy:
		c.note(e.Pos, CategoryPolicy, "%s is not carried: policies are not stagehand kinds; they stay authentik's", what)
		return
	case rolePolicyBinding:
		c.note(e.Pos, CategoryPolicyBinding, "%s is not carried: %s", c.describePolicyBinding(en), "policies are not stagehand kinds; the binding it guards is carried, and in authentik the policy stays bound to it")
		return
	case roleMeta:
		c.note(e.Pos, CategoryMeta, "%s is not carried: authentik's meta models write no object", c.describeMeta(en))
		return
	}
	if en.conditional {
		c.note(e.Pos, CategoryCondition, "%s has conditions the import cannot evaluate (%s): not carried; the object is imported as if they held", what, c.conditionsWhy(en))
	}
	switch e.State {
	case blueprint.StateCreated, blueprint.StateMustCreated:
		c.note(e.Pos, CategoryState, "%s has state %s: carried as present, as stagehand's documents write every field on every apply", what, e.State)
	}
	f := c.fields(en)
	var obj client.Object
	switch en.role {
	case roleFlow:
		obj = c.flow(en, f)
	case roleBinding:
		obj = c.binding(en, f)
	case roleStage:
		obj = c.stage(en, f)
	case roleSource:
		obj = c.source(en, f)
	}
	if obj == nil {
		return
	}
	f.rest()
	c.d.objects = append(c.d.objects, Object{Object: obj, File: c.d.file, Pos: e.Pos, From: what})
}

func (c *converter) conditionsWhy(en *entry) string {
	r := &resolver{im: c.im, doc: c.d}
	for _, cond := range en.e.Conditions {
		if v := r.value(cond); !known(v) {
			return why(v)
		}
	}
	return "values the files do not decide"
}

// describePolicyBinding names a policy binding by its policy and target.
func (c *converter) describePolicyBinding(en *entry) string {
	r := &resolver{im: c.im, doc: c.d}
	part := func(key string) string {
		raw, ok := en.field(key)
		if !ok {
			return "?"
		}
		switch v := r.value(raw).(type) {
		case ref:
			return c.describeTarget(v.to)
		case string:
			if t := c.im.byPK[normUUID(v)]; t != nil && isUUID(v) {
				return c.describeTarget(t)
			}
			return v
		default:
			return blueprint.Show(raw)
		}
	}
	order := "?"
	if raw, ok := en.field("order"); ok {
		order = blueprint.Show(raw)
	}
	return fmt.Sprintf("%s (order %s) of %s to %s", en.e.Model, order, part("policy"), part("target"))
}

// describeTarget names an entry something is bound to: a binding by its
// stage and order, anything else by its model and identity.
func (c *converter) describeTarget(t *entry) string {
	if t.role != roleBinding {
		return t.describe()
	}
	r := &resolver{im: c.im, doc: t.doc}
	stage := "?"
	if raw, ok := t.field("stage"); ok {
		switch v := r.value(raw).(type) {
		case ref:
			stage = v.to.describe()
		default:
			stage = blueprint.Show(raw)
		}
	}
	order := "?"
	if raw, ok := t.field("order"); ok {
		order = blueprint.Show(raw)
	}
	return fmt.Sprintf("the binding of %s at order %s", stage, order)
}

func (c *converter) describeMeta(en *entry) string {
	if en.e.Model == "authentik_blueprints.metaapplyblueprint" {
		if ids, ok := en.e.Attrs.Get("identifiers"); ok {
			return fmt.Sprintf("%s (apply blueprint %s first)", en.e.Model, blueprint.Show(ids))
		}
	}
	return en.describe()
}

// fields reads an entry's fields: its attrs and identifiers merged
// (identifiers win, as authentik writes both), pk left out.
type fields struct {
	c    *converter
	en   *entry
	what string
	m    blueprint.Map
	used map[string]bool
	r    *resolver
}

func (c *converter) fields(en *entry) *fields {
	m := blueprint.Map{}
	for _, fld := range en.e.Attrs {
		m.Set(fld.Key, fld.Value)
	}
	for _, fld := range en.e.Identifiers {
		if fld.Key != "pk" {
			m.Set(fld.Key, fld.Value)
		}
	}
	return &fields{
		c: c, en: en, what: en.describe(), m: m, used: map[string]bool{},
		r: &resolver{im: c.im, doc: c.d, note: c.d.note},
	}
}

// get is a field's value, computed; ok is false when the field is
// absent, null, or not decided by the files (which is noted).
func (f *fields) get(key string) (any, bool) {
	f.used[key] = true
	raw, ok := f.m.Get(key)
	if !ok {
		return nil, false
	}
	v := f.r.value(raw)
	if u, ok := firstUnresolved(v); ok {
		f.unresolved(key, u)
		return nil, false
	}
	return v, v != nil
}

// unresolved notes a field the import cannot compute.
func (f *fields) unresolved(key string, u unresolved) {
	cat, pos := CategoryTag, f.en.e.Pos
	switch u.tag.(type) {
	case *blueprint.Env:
		cat = CategoryEnv
	case *blueprint.File:
		cat = CategoryFile
	}
	if u.tag != nil && u.tag.Position().Line > 0 {
		pos = u.tag.Position()
	}
	f.c.note(pos, cat, "%s: %s is not carried: %s; set it in the manifest", f.what, key, u.why)
}

func (f *fields) errorf(key, format string, args ...any) {
	f.c.d.errorf(f.en.e.Pos, "%s: %s: %s", f.what, key, fmt.Sprintf(format, args...))
}

// rest notes the fields nothing read: attributes stagehand does not model.
func (f *fields) rest() {
	for _, fld := range f.m {
		if f.used[fld.Key] {
			continue
		}
		f.c.note(f.en.e.Pos, CategoryAttribute, "%s: %s (%s) is not carried: stagehand does not model it", f.what, fld.Key, brief(blueprint.Show(fld.Value)))
	}
}

func brief(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func (f *fields) str(key string) string {
	v, ok := f.get(key)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		f.errorf(key, "want a string, not %s", blueprint.Show(v))
	}
	return s
}

func (f *fields) boolp(key string) *bool {
	v, ok := f.get(key)
	if !ok {
		return nil
	}
	b, ok := v.(bool)
	if !ok {
		f.errorf(key, "want true or false, not %s", blueprint.Show(v))
		return nil
	}
	return &b
}

func (f *fields) int32p(key string) *int32 {
	v, ok := f.get(key)
	if !ok {
		return nil
	}
	var i int64
	switch n := v.(type) {
	case int64:
		i = n
	case float64:
		if n != math.Trunc(n) {
			f.errorf(key, "want an integer, not %s", blueprint.Show(v))
			return nil
		}
		i = int64(n)
	default:
		f.errorf(key, "want an integer, not %s", blueprint.Show(v))
		return nil
	}
	if i < math.MinInt32 || i > math.MaxInt32 {
		f.errorf(key, "%d is out of range (a 32-bit integer)", i)
		return nil
	}
	out := int32(i)
	return &out
}

func (f *fields) floatp(key string) *float64 {
	v, ok := f.get(key)
	if !ok {
		return nil
	}
	switch n := v.(type) {
	case float64:
		return &n
	case int64:
		out := float64(n)
		return &out
	}
	f.errorf(key, "want a number, not %s", blueprint.Show(v))
	return nil
}

// list is a field that holds a list.
func (f *fields) list(key string) []any {
	v, ok := f.get(key)
	if !ok {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		f.errorf(key, "want a list, not %s", blueprint.Show(v))
	}
	return l
}

// strs is a list of strings (enum values), nil when empty.
func strs[T ~string](f *fields, key string) []T {
	var out []T
	for i, v := range f.list(key) {
		s, ok := v.(string)
		if !ok {
			f.errorf(fmt.Sprintf("%s[%d]", key, i), "want a string, not %s", blueprint.Show(v))
			continue
		}
		out = append(out, T(s))
	}
	return out
}

// objectName is the name of an object of the entry's identity, and a note
// when it is not the identity itself.
func (c *converter) objectName(en *entry, fam family, preferred, keeps string) string {
	name := c.im.names.name(fam, en.identity, preferred, true)
	if c.im.names.final && name != en.identity {
		c.note(en.e.Pos, CategoryName, "%s is object %s (%s)", en.describe(), name, keeps)
	}
	return name
}

func (c *converter) flow(en *entry, f *fields) client.Object {
	f.used["slug"] = true
	if en.identity == "" {
		c.d.errorf(en.e.Pos, "%s: a flow needs its slug", en.describe())
		return nil
	}
	preferred := en.identity
	if c.flowName != "" {
		preferred = c.flowName
	}
	name := c.objectName(en, familyFlow, preferred, "spec.slug keeps the slug")
	fl := c.im.newObject(flowsv1alpha1.KindFlow, name).(*flowsv1alpha1.Flow)
	sp := &fl.Spec
	if name != en.identity {
		sp.Slug = en.identity
	}
	sp.Name = f.str("name")
	sp.Title = f.str("title")
	sp.Designation = flowsv1alpha1.FlowDesignation(f.str("designation"))
	if sp.Title == "" || sp.Designation == "" {
		c.d.errorf(en.e.Pos, "%s: a flow needs its title and designation (stagehand's Flow requires both; authentik's would, to create it)", en.describe())
	}
	if bg := f.str("background"); bg != "" {
		if strings.HasPrefix(bg, "/static") || strings.HasPrefix(bg, "http://") || strings.HasPrefix(bg, "https://") {
			sp.Background = bg
		} else {
			c.note(en.e.Pos, CategoryAttribute, "%s: background %s is not carried: a file uploaded to authentik; stagehand's Flow takes a path under /static or an http(s) URL", en.describe(), bg)
		}
	}
	sp.PolicyEngineMode = flowsv1alpha1.PolicyEngineMode(f.str("policy_engine_mode"))
	sp.CompatibilityMode = f.boolp("compatibility_mode")
	sp.Layout = flowsv1alpha1.FlowLayout(f.str("layout"))
	sp.DeniedAction = flowsv1alpha1.DeniedAction(f.str("denied_action"))
	sp.Authentication = flowsv1alpha1.FlowAuthentication(f.str("authentication"))
	return fl
}

func (c *converter) binding(en *entry, f *fields) client.Object {
	what := en.describe()
	target, flowKey, tok := c.flowRef(f, "target", true)
	stage, part, sok := c.stageRef(f, "stage")
	order := f.int32p("order")
	if order == nil {
		if _, present := f.m.Get("order"); !present {
			c.d.errorf(en.e.Pos, "%s: a binding needs its order", what)
		} else {
			c.note(en.e.Pos, CategoryReference, "%s is not carried: its order is not decided by the files", what)
		}
		return nil
	}
	switch {
	case !tok:
		c.note(en.e.Pos, CategoryReference, "%s is not carried: its flow cannot be named (see the note on its target)", what)
		return nil
	case !sok:
		c.note(en.e.Pos, CategoryReference, "%s is not carried: its stage cannot be named (see the note on its stage)", what)
		return nil
	}
	fsb := c.im.newObject(flowsv1alpha1.KindFlowStageBinding, c.im.names.binding(flowKey, part, *order)).(*flowsv1alpha1.FlowStageBinding)
	sp := &fsb.Spec
	sp.TargetRef = *target
	sp.StageRef = stage
	sp.Order = *order
	sp.EvaluateOnPlan = f.boolp("evaluate_on_plan")
	sp.ReEvaluatePolicies = f.boolp("re_evaluate_policies")
	sp.InvalidResponseAction = flowsv1alpha1.InvalidResponseAction(f.str("invalid_response_action"))
	sp.PolicyEngineMode = flowsv1alpha1.PolicyEngineMode(f.str("policy_engine_mode"))
	return fsb
}

func (c *converter) source(en *entry, f *fields) client.Object {
	f.used["slug"] = true
	if en.identity == "" {
		c.d.errorf(en.e.Pos, "%s: a source needs its slug", en.describe())
		return nil
	}
	name := c.objectName(en, familySource, en.identity, "spec.slug keeps the slug")
	src := c.im.newObject(flowsv1alpha1.KindSource, name).(*flowsv1alpha1.Source)
	if name != en.identity {
		src.Spec.Slug = en.identity
	}
	src.Spec.Name = f.str("name")
	src.Spec.Enabled = f.boolp("enabled")
	var rest []string
	for _, fld := range f.m {
		if !f.used[fld.Key] {
			rest = append(rest, fld.Key)
			f.used[fld.Key] = true
		}
	}
	if len(rest) > 0 {
		c.note(en.e.Pos, CategoryAttribute, "%s: its settings (%s) are not carried: a Source keeps only what stages that list it need; the settings stay authentik's", en.describe(), strings.Join(rest, ", "))
	}
	return src
}

// stage converts a stage of a kind stagehand serves.
func (c *converter) stage(en *entry, f *fields) client.Object {
	f.used["name"] = true
	if en.identity == "" {
		c.d.errorf(en.e.Pos, "%s: a stage needs its name", en.describe())
		return nil
	}
	name := c.objectName(en, familyStage, en.identity, "spec.name keeps authentik's name")
	specName := ""
	if name != en.identity {
		specName = en.identity
	}
	switch flowsv1alpha1.StageKind(en.kind) {
	case flowsv1alpha1.StageKindIdentification:
		s := c.im.newObject(en.kind, name).(*flowsv1alpha1.IdentificationStage)
		sp := &s.Spec
		sp.Name = specName
		sp.UserFields = strs[flowsv1alpha1.UserField](f, "user_fields")
		sp.PasswordStageRef = c.localStage(f, "password_stage", flowsv1alpha1.StageKindPassword)
		sp.CaptchaStageRef = c.localStage(f, "captcha_stage", flowsv1alpha1.StageKindCaptcha)
		sp.CaseInsensitiveMatching = f.boolp("case_insensitive_matching")
		sp.ShowMatchedUser = f.boolp("show_matched_user")
		sp.EnrollmentFlowRef, _, _ = c.flowRef(f, "enrollment_flow", false)
		sp.RecoveryFlowRef, _, _ = c.flowRef(f, "recovery_flow", false)
		sp.PasswordlessFlowRef, _, _ = c.flowRef(f, "passwordless_flow", false)
		sp.SourceRefs = c.sources(f, "sources")
		sp.ShowSourceLabels = f.boolp("show_source_labels")
		sp.PretendUserExists = f.boolp("pretend_user_exists")
		sp.EnableRememberMe = f.boolp("enable_remember_me")
		sp.WebAuthnStageRef = c.localStage(f, "webauthn_stage", flowsv1alpha1.StageKindAuthenticatorValidate)
		return s
	case flowsv1alpha1.StageKindPassword:
		s := c.im.newObject(en.kind, name).(*flowsv1alpha1.PasswordStage)
		sp := &s.Spec
		sp.Name = specName
		sp.Backends = strs[flowsv1alpha1.PasswordBackend](f, "backends")
		sp.ConfigureFlowRef, _, _ = c.flowRef(f, "configure_flow", false)
		sp.FailedAttemptsBeforeCancel = f.int32p("failed_attempts_before_cancel")
		sp.AllowShowPassword = f.boolp("allow_show_password")
		return s
	case flowsv1alpha1.StageKindAuthenticatorValidate:
		s := c.im.newObject(en.kind, name).(*flowsv1alpha1.AuthenticatorValidateStage)
		sp := &s.Spec
		sp.Name = specName
		sp.NotConfiguredAction = flowsv1alpha1.NotConfiguredAction(f.str("not_configured_action"))
		sp.DeviceClasses = strs[flowsv1alpha1.DeviceClass](f, "device_classes")
		for i, v := range f.list("configuration_stages") {
			if r, _, ok := c.stageValue(f, fmt.Sprintf("configuration_stages[%d]", i), v); ok {
				sp.ConfigurationStageRefs = append(sp.ConfigurationStageRefs, r)
			}
		}
		sp.LastAuthThreshold = flowsv1alpha1.TimeDelta(f.str("last_auth_threshold"))
		sp.WebAuthnUserVerification = flowsv1alpha1.UserVerification(f.str("webauthn_user_verification"))
		sp.WebAuthnHints = strs[flowsv1alpha1.WebAuthnHint](f, "webauthn_hints")
		sp.WebAuthnAllowedDeviceTypeRefs = c.deviceTypes(f, "webauthn_allowed_device_types")
		sp.EmailOTPThrottlingFactor = f.floatp("email_otp_throttling_factor")
		sp.SMSOTPThrottlingFactor = f.floatp("sms_otp_throttling_factor")
		sp.TOTPOTPThrottlingFactor = f.floatp("totp_otp_throttling_factor")
		sp.StaticOTPThrottlingFactor = f.floatp("static_otp_throttling_factor")
		return s
	case flowsv1alpha1.StageKindCaptcha:
		s := c.im.newObject(en.kind, name).(*flowsv1alpha1.CaptchaStage)
		sp := &s.Spec
		sp.Name = specName
		sp.PublicKey = f.str("public_key")
		sp.PrivateKeySecretRef = c.privateKey(f, name)
		sp.JSURL = f.str("js_url")
		sp.APIURL = f.str("api_url")
		sp.RequestContentType = flowsv1alpha1.RequestContentType(f.str("request_content_type"))
		sp.Interactive = f.boolp("interactive")
		sp.ScoreMinThreshold = f.floatp("score_min_threshold")
		sp.ScoreMaxThreshold = f.floatp("score_max_threshold")
		sp.ErrorOnInvalidScore = f.boolp("error_on_invalid_score")
		return s
	case flowsv1alpha1.StageKindUserLogin:
		s := c.im.newObject(en.kind, name).(*flowsv1alpha1.UserLoginStage)
		sp := &s.Spec
		sp.Name = specName
		sp.SessionDuration = flowsv1alpha1.TimeDelta(f.str("session_duration"))
		sp.TerminateOtherSessions = f.boolp("terminate_other_sessions")
		sp.RememberMeOffset = flowsv1alpha1.TimeDelta(f.str("remember_me_offset"))
		sp.NetworkBinding = flowsv1alpha1.NetworkBinding(f.str("network_binding"))
		sp.GeoIPBinding = flowsv1alpha1.GeoIPBinding(f.str("geoip_binding"))
		sp.RememberDevice = flowsv1alpha1.TimeDelta(f.str("remember_device"))
		return s
	}
	// Every stage kind is above; a new kind must be added.
	panic("no conversion for stage kind " + en.kind)
}

// mountedSecret is the path at which authentik's Helm chart mounts a key
// of a Secret listed in blueprints.secrets, which stagehand's documents
// read with !File (export.SecretPath).
var mountedSecret = regexp.MustCompile(`^` + regexp.QuoteMeta(export.DefaultSecretMountRoot) + `/secret-([^/]+)/([^/]+)$`)

// privateKeyKey is the Secret key an import names for a captcha's private
// key, as the samples do.
const privateKeyKey = "privateKey"

// privateKey is the Secret key reference of a captcha stage's private
// key. The key itself never goes to the output: a document stagehand
// published names the Secret it reads (!File of where authentik mounts
// it), and any other value becomes a Secret named like the stage, which
// the user must create.
func (c *converter) privateKey(f *fields, stageName string) flowsv1alpha1.SecretKeyReference {
	f.used["private_key"] = true
	ref := flowsv1alpha1.SecretKeyReference{Name: stageName, Key: privateKeyKey}
	create := func(from string) {
		ns := " in the objects' namespace"
		if c.im.opts.Namespace != "" {
			ns = " -n " + c.im.opts.Namespace
		}
		c.note(f.en.e.Pos, CategorySecret, "%s: the private key %s is not written to the output: create Secret %s with key %s holding it, labelled %s=true, without which stagehand does not read it (kubectl create secret generic %s --from-literal=%s=...%s, then kubectl label secret %s %s=true%s)",
			f.what, from, ref.Name, ref.Key, flowsv1alpha1.LabelSecretReadable, ref.Name, ref.Key, ns, ref.Name, flowsv1alpha1.LabelSecretReadable, ns)
	}
	raw, ok := f.m.Get("private_key")
	if !ok {
		create("(not in the file)")
		return ref
	}
	switch v := f.r.value(raw).(type) {
	case string:
		create(fmt.Sprintf("(in the file, in the entry at line %d)", f.en.e.Pos.Line))
	case unresolved:
		if file, ok := v.tag.(*blueprint.File); ok {
			if p, ok := file.Path.(string); ok {
				if m := mountedSecret.FindStringSubmatch(p); m != nil && validName(m[1]) && secretKey.MatchString(m[2]) {
					ref = flowsv1alpha1.SecretKeyReference{Name: m[1], Key: m[2]}
					c.note(file.Pos, CategorySecret, "%s: the private key is key %s of Secret %s, which authentik's worker mounts (!File %s): the CaptchaStage names that Secret; make sure it exists in the objects' namespace, labelled %s=true, without which stagehand does not read it", f.what, ref.Key, ref.Name, p, flowsv1alpha1.LabelSecretReadable)
					return ref
				}
			}
		}
		create(fmt.Sprintf("(%s)", v.why))
	default:
		create(fmt.Sprintf("(%s)", blueprint.Show(raw)))
	}
	return ref
}

// secretKey is what a Secret key may be.
var secretKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

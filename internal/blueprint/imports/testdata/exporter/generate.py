# Writes testdata/exporter/*.yaml as authentik's FlowExporter would: one
# BlueprintEntry.from_model per object, dumped with yaml.SafeDumper
# (BlueprintDumper: sorted keys, block style, UUIDs as strings).
import yaml, uuid

def u(n):  # stable UUIDs
    return str(uuid.UUID(int=(0x6a1f0000_0000_4000_8000_000000000000 + n)))

def entry(model, identifiers, attrs):
    return {"model": model, "state": "present", "conditions": [], "identifiers": identifiers,
            "attrs": attrs, "permissions": [], "id": None}

def doc(name, entries):
    return {"version": 1, "entries": entries, "context": {},
            "metadata": {"name": name, "labels": {"blueprints.goauthentik.io/generated": "true"}}}

# default-password-change
pc_flow, pc_fsb_prompt, pc_fsb_write = u(1), u(2), u(3)
pc_prompt, pc_write = u(4), u(5)
f_pw, f_pw2, pc_policy = u(6), u(7), u(8)
pc = doc("authentik Export - 2026-04-12 10:31:07.491235+00:00", [
    entry("authentik_flows.flow", {"pk": pc_flow, "slug": "default-password-change"},
          {"name": "Change Password", "title": "Change password", "designation": "stage_configuration",
           "policy_engine_mode": "any", "layout": "stacked", "denied_action": "message_continue",
           "authentication": "require_authenticated"}),
    entry("authentik_stages_prompt.prompt", {"pk": f_pw},
          {"name": "default-password-change-field-password", "field_key": "password", "label": "Password",
           "type": "password", "required": True, "placeholder": "Password", "order": 300}),
    entry("authentik_stages_prompt.prompt", {"pk": f_pw2},
          {"name": "default-password-change-field-password-repeat", "field_key": "password_repeat",
           "label": "Password (repeat)", "type": "password", "required": True,
           "placeholder": "Password (repeat)", "order": 301}),
    entry("authentik_policies_password.passwordpolicy", {"pk": pc_policy},
          {"name": "default-password-change-password-policy", "password_field": "password",
           "error_message": "Password needs to be 8 characters or longer.", "check_static_rules": True,
           "check_zxcvbn": True, "length_min": 8, "zxcvbn_score_threshold": 2}),
    entry("authentik_stages_prompt.promptstage", {"pk": pc_prompt, "name": "default-password-change-prompt"},
          {"fields": [f_pw, f_pw2], "validation_policies": [pc_policy]}),
    entry("authentik_stages_user_write.userwritestage", {"pk": pc_write, "name": "default-password-change-write"},
          {"user_creation_mode": "never_create", "user_type": "external"}),
    entry("authentik_flows.flowstagebinding", {"pk": pc_fsb_prompt, "target": pc_flow, "stage": pc_prompt, "order": 0},
          {"re_evaluate_policies": True, "policy_engine_mode": "any", "invalid_response_action": "retry"}),
    entry("authentik_flows.flowstagebinding", {"pk": pc_fsb_write, "target": pc_flow, "stage": pc_write, "order": 1},
          {"re_evaluate_policies": True, "policy_engine_mode": "any", "invalid_response_action": "retry"}),
])

# default-authentication-flow
af = u(20)
s_id, s_pw, s_mfa, s_login = u(21), u(22), u(23), u(24)
b_id, b_pw, b_mfa, b_login = u(25), u(26), u(27), u(28)
pbm_pw, pbm_mfa = u(29), u(30)   # the bindings' policybindingmodel_ptr_id, which policy bindings target
p_pw, p_mfa, pb_pw, pb_mfa = u(31), u(32), u(33), u(34)
expr_pw = ('flow_plan = request.context.get("flow_plan")\nif not flow_plan:\n    return True\n'
           '# If the user does not have a backend attached to it, they haven\'t\n'
           '# been authenticated yet and we need the password stage\n'
           'return not hasattr(flow_plan.context.get("pending_user"), "backend")\n')
expr_mfa = ('flow_plan = request.context.get("flow_plan")\nif not flow_plan:\n    return True\n'
            '# if the authentication method is webauthn (passwordless), then we skip the authenticator\n'
            '# validation stage by returning false (true will execute the stage)\n'
            'return not (flow_plan.context.get("auth_method") == "auth_webauthn_pwl")\n')
binding_attrs = {"re_evaluate_policies": True, "policy_engine_mode": "any", "invalid_response_action": "retry"}
auth = doc("authentik Export - 2026-04-12 10:30:55.120871+00:00", [
    entry("authentik_flows.flow", {"pk": af, "slug": "default-authentication-flow"},
          {"name": "Welcome to authentik!", "title": "Welcome to authentik!", "designation": "authentication",
           "policy_engine_mode": "any", "layout": "stacked", "denied_action": "message_continue",
           "authentication": "none"}),
    entry("authentik_policies_expression.expressionpolicy", {"pk": p_pw},
          {"name": "default-authentication-flow-password-stage", "expression": expr_pw}),
    entry("authentik_policies_expression.expressionpolicy", {"pk": p_mfa},
          {"name": "default-authentication-flow-authenticator-validate-stage", "expression": expr_mfa}),
    entry("authentik_stages_identification.identificationstage", {"pk": s_id, "name": "default-authentication-identification"},
          {"user_fields": ["email", "username"], "case_insensitive_matching": True, "show_matched_user": True,
           "pretend_user_exists": True}),
    entry("authentik_stages_password.passwordstage", {"pk": s_pw, "name": "default-authentication-password"},
          {"backends": ["authentik.core.auth.InbuiltBackend", "authentik.sources.kerberos.auth.KerberosBackend",
                        "authentik.sources.ldap.auth.LDAPBackend", "authentik.core.auth.TokenBackend"],
           "configure_flow": pc_flow, "failed_attempts_before_cancel": 5}),
    entry("authentik_stages_authenticator_validate.authenticatorvalidatestage",
          {"pk": s_mfa, "name": "default-authentication-mfa-validation"},
          {"not_configured_action": "skip", "device_classes": ["static", "totp", "webauthn", "duo", "sms", "email"],
           "last_auth_threshold": "seconds=0", "webauthn_user_verification": "preferred",
           "email_otp_throttling_factor": 1.0, "sms_otp_throttling_factor": 1.0,
           "totp_otp_throttling_factor": 1.0, "static_otp_throttling_factor": 1.0}),
    entry("authentik_stages_user_login.userloginstage", {"pk": s_login, "name": "default-authentication-login"},
          {"session_duration": "seconds=0", "remember_me_offset": "seconds=0", "network_binding": "no_binding",
           "geoip_binding": "no_binding", "remember_device": "days=30"}),
    entry("authentik_flows.flowstagebinding", {"pk": b_id, "target": af, "stage": s_id, "order": 10}, dict(binding_attrs)),
    entry("authentik_flows.flowstagebinding", {"pk": b_pw, "target": af, "stage": s_pw, "order": 20}, dict(binding_attrs)),
    entry("authentik_flows.flowstagebinding", {"pk": b_mfa, "target": af, "stage": s_mfa, "order": 30}, dict(binding_attrs)),
    entry("authentik_flows.flowstagebinding", {"pk": b_login, "target": af, "stage": s_login, "order": 100}, dict(binding_attrs)),
    entry("authentik_policies.policybinding", {"pk": pb_pw, "policy": p_pw, "target": pbm_pw, "order": 10},
          {"enabled": True, "timeout": 30, "failure_result": True}),
    entry("authentik_policies.policybinding", {"pk": pb_mfa, "policy": p_mfa, "target": pbm_mfa, "order": 10},
          {"enabled": True, "timeout": 30, "failure_result": True}),
])

for name, d in [("default-password-change.yaml", pc), ("default-authentication-flow.yaml", auth)]:
    with open(name, "w") as f:
        yaml.dump(d, f, Dumper=yaml.SafeDumper, default_flow_style=False)

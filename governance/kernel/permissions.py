"""The one place that answers "may this actor do X to this object?".

Every view, API endpoint and service asks ``can`` / ``require``. People are allowed by role;
API tokens by scope and, when the token is limited to some models, by the object's model.
Object rules (separation of duties) live here too, so no caller re-implements them; who may see a restricted
incident is governance.kernel.visibility's one rule, which the object rules call.
"""

from typing import Any

from governance.kernel.errors import PermissionDenied
from governance.kernel.principals import Requester, SystemActor, TokenPrincipal

# roles_of and the incident visibility rule are re-exported: callers ask this module about permissions.
from governance.kernel.roles import Role
from governance.kernel.roles import roles_of as roles_of
from governance.kernel.visibility import PRIVILEGED_INCIDENT_ROLES as PRIVILEGED_INCIDENT_ROLES
from governance.kernel.visibility import incident_visible_to as incident_visible_to
from governance.kernel.visibility import sources_visible

WORKING_ROLES = frozenset({Role.DATA_SCIENCE, Role.COMPLIANCE, Role.LEGAL, Role.MODEL_RISK, Role.PRODUCT, Role.ENGINEERING})
BUILDERS = frozenset({Role.DATA_SCIENCE, Role.ENGINEERING, Role.MODEL_RISK})
LAUNCHERS = frozenset({Role.DATA_SCIENCE, Role.ENGINEERING, Role.PRODUCT})
# Who writes a launch and its rollout plan: the people answerable for the model and for the product using it.
AUTHORS = frozenset({Role.DATA_SCIENCE, Role.PRODUCT})
# Who reports what a rollout measured in production: Engineering operates the serving stack, and the people who
# built or asked for the model do not supply the measurements their own rollout is judged on.
OPERATORS = frozenset({Role.ENGINEERING})
EVERYONE = frozenset(Role.values)

# action -> (roles that may do it, API token scope that may do it or None)
RULES: dict[str, tuple[frozenset[str], str | None]] = {
    "model.view": (EVERYONE, "models:read"),
    "model.create": (BUILDERS, "models:write"),
    "model.edit": (BUILDERS, "models:write"),
    "version.create": (BUILDERS, "models:write"),
    "feature.edit": (BUILDERS, "models:write"),
    "feature.assess_proxy_risk": (frozenset({Role.COMPLIANCE, Role.MODEL_RISK, Role.LEGAL}), None),
    "model.classify": (frozenset({Role.MODEL_RISK}), None),
    "validation.view": (EVERYONE, "validations:read"),
    "validation.perform": (frozenset({Role.MODEL_RISK}), None),
    "validation.waive": (frozenset({Role.MODEL_RISK, Role.COMPLIANCE}), None),
    "finding.remediate": (WORKING_ROLES, None),
    "policy.view": (EVERYONE, None),
    "policy.propose": (WORKING_ROLES, None),
    "policy.approve": (frozenset({Role.COMPLIANCE, Role.MODEL_RISK}), None),
    "launch.view": (EVERYONE, "launches:read"),
    "launch.create": (AUTHORS, "launches:write"),
    "launch.edit": (AUTHORS, "launches:write"),
    "launch.withdraw": (LAUNCHERS, None),
    "checklist.attest": (WORKING_ROLES, None),
    "checklist.waive": (frozenset({Role.MODEL_RISK, Role.COMPLIANCE}), None),
    # Model Risk validates the evidence, so it does not submit it.
    "evaluation.submit": (frozenset({Role.DATA_SCIENCE, Role.ENGINEERING}), "evaluations:write"),
    "gate.read": (EVERYONE, "gate:read"),
    "rollout.edit": (AUTHORS, "launches:write"),
    # Advancing moves to the next stage only when its minimum time, guardrails and named-role approval already
    # allow it; the step carries no judgment of its own, so whoever runs the launch may take it.
    "rollout.advance": (LAUNCHERS, "rollouts:write"),
    "rollout.approve_stage": (WORKING_ROLES, None),
    # A kill switch: anyone who works on launches can stop one that is hurting people; it only ever makes less ship.
    "rollout.rollback": (WORKING_ROLES, "rollouts:write"),
    "observation.submit": (OPERATORS, "observations:write"),
    "incident.view": (EVERYONE, "incidents:read"),
    "incident.create": (WORKING_ROLES, "incidents:write"),
    "incident.edit": (WORKING_ROLES, "incidents:write"),
    "postmortem.edit": (WORKING_ROLES, None),
    "postmortem.review": (WORKING_ROLES, None),
    "action_item.edit": (WORKING_ROLES, None),
    # Which regimes a model falls under decides what its examiner's file must hold: a legal and compliance call,
    # with Model Risk, which keeps the inventory.
    "regime.declare": (frozenset({Role.COMPLIANCE, Role.LEGAL, Role.MODEL_RISK}), None),
    # The evidence bundle carries every record about a model: for those who answer examiners and assessors.
    "evidence.export": (frozenset({Role.COMPLIANCE, Role.LEGAL, Role.MODEL_RISK}), None),
    "report.view": (EVERYONE, "reports:write"),
    "report.request": (WORKING_ROLES, "reports:write"),
    "audit.view": (EVERYONE, None),
    # Administrators (superusers) may too, as they may everything; no token may.
    "lockout.lift": (frozenset({Role.COMPLIANCE}), None),
    # Who hands credentials to CI and monitoring: Compliance and administrators. No token may issue a token.
    "token.manage": (frozenset({Role.COMPLIANCE}), None),
    # What the registry guard does with a hand move of an MLflow alias decides what may serve, like a policy.
    "registry.guard_mode": (frozenset({Role.COMPLIANCE, Role.MODEL_RISK}), None),
}


def has_role(user: Requester, role: str) -> bool:
    return Role(role) in roles_of(user)


def governed_model_id(obj: Any) -> int | None:
    """The MLModel an object belongs to, for token model limits (None when not model-bound)."""
    if obj is None:
        return None
    getter = getattr(obj, "governed_model_id", None)
    if getter is not None:
        return int(getter)
    if obj._meta.model_name == "mlmodel":
        return int(obj.pk)
    model_id = getattr(obj, "model_id", None)
    return None if model_id is None else int(model_id)


def _object_rule(actor: Requester, action: str, obj: Any) -> bool:
    """Object-level rules that hold whatever the role."""
    if obj is None:
        return True
    if action.startswith("incident.") or action.startswith("postmortem.") or action.startswith("action_item."):
        if getattr(obj, "source_incident_id", None) is None:
            return True  # not an incident's record: a launch or a model an incident is opened against
        incident = obj if obj._meta.model_name == "incident" else obj.incident
        return incident_visible_to(actor, incident)
    if action == "report.view":
        return sources_visible(actor, getattr(obj, "source_incident_ids", None))
    return True


def can(actor: Requester, action: str, obj: Any = None) -> bool:
    if action not in RULES:
        raise KeyError(f"unknown action {action!r}")
    roles, scope = RULES[action]
    if isinstance(actor, SystemActor):
        return True
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", True):
        return False
    if isinstance(actor, TokenPrincipal):
        if scope is None or scope not in actor.scopes:
            return False
        if actor.model_ids is not None and obj is not None:
            model_id = governed_model_id(obj)
            if model_id is not None and model_id not in actor.model_ids:
                return False
        return _object_rule(actor, action, obj)
    allowed = actor.is_superuser or bool(roles_of(actor) & roles)
    return allowed and _object_rule(actor, action, obj)


def require(actor: Requester, action: str, obj: Any = None, *, message: str | None = None) -> None:
    if not can(actor, action, obj):
        raise PermissionDenied(message or _denial_message(actor, action), code="permission_denied")


def _denial_message(actor: Requester, action: str) -> str:
    roles, scope = RULES[action]
    what = action.replace(".", " ").replace("_", " ")
    if isinstance(actor, TokenPrincipal):
        if scope and scope in actor.scopes:
            return f"This token may not {what} for this model."
        return f"This token lacks the {scope or 'required'} scope needed to {what}."
    names = ", ".join(sorted(Role(r).label for r in roles))
    return f"You need one of these roles to {what}: {names}."

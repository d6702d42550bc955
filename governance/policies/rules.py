"""Validation of policy content and rollout plans: pure functions that name the offending field."""

import math
import re
from collections.abc import Collection
from typing import Any, Literal, overload

from governance.kernel.errors import ValidationFailed
from governance.kernel.roles import Role
from governance.policies.defaults import CATEGORIES
from governance.policies.expressions import COMPARATORS, RuleSyntaxError, parse_rule

SIGNING_ROLES = [r for r in Role.values if r != Role.VIEWER]
ITEM_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,79}$")
METRIC_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
GUARDRAIL_ACTIONS = ("ROLLBACK", "PAUSE", "ALERT")
THRESHOLD_RANGES = {
    # key: (minimum, maximum, integer?)
    "air_floor": (0.01, 1.0, False),
    "eo_max_diff": (0.0, 1.0, False),
    "psi_act": (0.001, 10.0, False),
    "psi_watch": (0.001, 10.0, False),
    "min_group_count": (1, 1_000_000, True),
    "null_rate_tolerance": (0.0, 1.0, False),
}


@overload
def _number(value: object, field: str, *, integer: Literal[True], minimum: float | None = None,
            maximum: float | None = None) -> int: ...
@overload
def _number(value: object, field: str, *, integer: Literal[False] = False, minimum: float | None = None,
            maximum: float | None = None) -> float: ...
@overload
def _number(value: object, field: str, *, integer: bool, minimum: float | None = None,
            maximum: float | None = None) -> int | float: ...
def _number(value: object, field: str, *, integer: bool = False, minimum: float | None = None,
            maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed("Enter a number.", field=field)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationFailed("Enter a finite number.", field=field)
    if integer and value != int(value):
        raise ValidationFailed("Enter a whole number.", field=field)
    if minimum is not None and value < minimum:
        raise ValidationFailed(f"Must be at least {minimum}.", field=field)
    if maximum is not None and value > maximum:
        raise ValidationFailed(f"Must be at most {maximum}.", field=field)
    return int(value) if integer else float(value)


def _text(value: object, field: str, *, max_length: int = 2000, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed("Enter text.", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationFailed("This field is required.", field=field)
    if len(value) > max_length:
        raise ValidationFailed(f"At most {max_length} characters.", field=field)
    return value


def validate_roles(roles: object, field: str = "required_roles", *, allow_empty: bool = False) -> list[str]:
    if not isinstance(roles, list | tuple):
        raise ValidationFailed("Give a list of roles.", field=field)
    for role in roles:
        if role not in SIGNING_ROLES:
            raise ValidationFailed(f"Unknown or non-signing role {role!r}; use {', '.join(SIGNING_ROLES)}.",
                                   field=field)
    if len(set(roles)) != len(roles):
        raise ValidationFailed("A role is listed twice.", field=field)
    if not roles and not allow_empty:
        raise ValidationFailed("At least one role must sign.", field=field)
    return list(roles)


def validate_thresholds(thresholds: object, field: str = "thresholds", *, partial: bool = False) -> dict[str, Any]:
    if not isinstance(thresholds, dict):
        raise ValidationFailed("Give thresholds as an object.", field=field)
    out = {}
    for key, value in thresholds.items():
        if key not in THRESHOLD_RANGES:
            raise ValidationFailed(f"Unknown threshold {key!r}; known: {', '.join(THRESHOLD_RANGES)}.",
                                   field=f"{field}.{key}")
        low, high, integer = THRESHOLD_RANGES[key]
        out[key] = _number(value, f"{field}.{key}", integer=integer, minimum=low, maximum=high)
    if not partial:
        missing = sorted(set(THRESHOLD_RANGES) - set(out))
        if missing:
            raise ValidationFailed(f"Missing threshold {missing[0]!r}.", field=f"{field}.{missing[0]}")
    if "psi_watch" in out and "psi_act" in out and out["psi_watch"] > out["psi_act"]:
        raise ValidationFailed("The PSI watch level cannot exceed the act level.", field=f"{field}.psi_watch")
    return out


def validate_checklist_item(item: object, field: str = "item") -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValidationFailed("Give the checklist item as an object.", field=field)
    key = item.get("key")
    if not isinstance(key, str) or not ITEM_KEY_RE.match(key):
        raise ValidationFailed("The key uses lower-case letters, digits, '_', '.', ':' or '-'.", field=f"{field}.key")
    kind = item.get("kind", "MANUAL")
    if kind not in ("MANUAL", "AUTOMATIC"):
        raise ValidationFailed("Kind is MANUAL or AUTOMATIC.", field=f"{field}.kind")
    category = item.get("category")
    if category not in CATEGORIES:
        raise ValidationFailed(f"Unknown category {category!r}; use {', '.join(CATEGORIES)}.",
                               field=f"{field}.category")
    rule = item.get("rule") or ""
    if kind == "AUTOMATIC":
        try:
            rule = str(parse_rule(rule))
        except RuleSyntaxError as error:
            raise ValidationFailed(str(error), field=f"{field}.rule", code=error.code) from None
    elif rule:
        raise ValidationFailed("Only automatic items have a rule.", field=f"{field}.rule")
    blocking = item.get("blocking", True)
    if not isinstance(blocking, bool):
        raise ValidationFailed("Blocking is true or false.", field=f"{field}.blocking")
    stage = item.get("stage") or ""
    if not isinstance(stage, str) or len(stage) > 40:
        raise ValidationFailed("Give the stage as the name of a rollout stage.", field=f"{field}.stage")
    if stage and kind != "MANUAL":
        raise ValidationFailed("Only an attested (manual) item can name the stage whose result it attests.",
                               field=f"{field}.stage")
    return {
        "key": key, "title": _text(item.get("title"), f"{field}.title", max_length=200),
        "category": category, "blocking": blocking, "kind": kind, "rule": rule,
        "guidance": _text(item.get("guidance"), f"{field}.guidance"),
        **({"stage": stage} if stage else {}),  # absent when empty: older policies keep their content hash
    }


def validate_stages(stages: object, *, tier: str, min_shadow_minutes: int, field: str = "stages"
                    ) -> list[dict[str, Any]]:
    """Percentages never decrease, the last stage is 100 %, and TIER_1 starts with a shadow at least as long as the
    policy's minimum (when the policy sets one)."""
    if not isinstance(stages, list) or not stages:
        raise ValidationFailed("A rollout needs at least one stage.", field=field)
    if len(stages) > 20:
        raise ValidationFailed("At most 20 stages.", field=field)
    out: list[dict[str, Any]]
    previous: float
    out, names, previous = [], set(), -1
    for index, stage in enumerate(stages):
        where = f"{field}[{index}]"
        if not isinstance(stage, dict):
            raise ValidationFailed("Give the stage as an object.", field=where)
        name = _text(stage.get("name"), f"{where}.name", max_length=40)
        if not re.match(r"^[a-z0-9][a-z0-9_-]*$", name):
            raise ValidationFailed("Stage names use lower-case letters, digits, '-' or '_'.", field=f"{where}.name")
        if name in names:
            raise ValidationFailed(f"Stage {name!r} appears twice.", field=f"{where}.name")
        names.add(name)
        percent = _number(stage.get("traffic_percent"), f"{where}.traffic_percent", minimum=0, maximum=100)
        if percent < previous:
            raise ValidationFailed(f"Traffic cannot decrease: {percent:g} % follows {previous:g} %.",
                                   field=f"{where}.traffic_percent")
        previous = percent
        minutes = _number(stage.get("min_duration_minutes", 0), f"{where}.min_duration_minutes", integer=True,
                          minimum=0, maximum=365 * 24 * 60)
        approval_role = stage.get("approval_role") or ""
        if approval_role and approval_role not in SIGNING_ROLES:
            raise ValidationFailed(f"Unknown role {approval_role!r}.", field=f"{where}.approval_role")
        out.append({"name": name, "traffic_percent": percent, "min_duration_minutes": minutes,
                    "approval_role": approval_role})
    if out[-1]["traffic_percent"] != 100:
        raise ValidationFailed("The last stage must serve 100 % of traffic.", field=f"{field}[{len(out) - 1}]"
                               ".traffic_percent")
    if tier == "TIER_1" and min_shadow_minutes > 0:
        first = out[0]
        if first["traffic_percent"] != 0:
            raise ValidationFailed("A TIER_1 rollout starts with a shadow stage at 0 % traffic.",
                                   field=f"{field}[0].traffic_percent", code="shadow_required")
        if first["min_duration_minutes"] < min_shadow_minutes:
            raise ValidationFailed(
                f"The TIER_1 shadow stage lasts at least {min_shadow_minutes} minutes "
                f"({min_shadow_minutes / 1440:g} days) under the policy.", field=f"{field}[0].min_duration_minutes", code="shadow_too_short")
    return out


def validate_guardrail(guardrail: object, *, stage_names: Collection[str] = (), field: str = "guardrail"
                       ) -> dict[str, Any]:
    if not isinstance(guardrail, dict):
        raise ValidationFailed("Give the guardrail as an object.", field=field)
    metric = guardrail.get("metric")
    if not isinstance(metric, str) or not METRIC_RE.match(metric) or len(metric) > 100:
        raise ValidationFailed("Metric keys use lower-case letters, digits, '_' and dots.", field=f"{field}.metric")
    comparator = guardrail.get("comparator")
    if comparator not in COMPARATORS or comparator in ("==", "!="):
        raise ValidationFailed("Comparator is one of <=, <, >=, >.", field=f"{field}.comparator")
    threshold = _number(guardrail.get("threshold"), f"{field}.threshold")
    window = _number(guardrail.get("window_minutes", 60), f"{field}.window_minutes", integer=True, minimum=1,
                     maximum=30 * 24 * 60)
    failure_limit = _number(guardrail.get("failure_limit", 1), f"{field}.failure_limit", integer=True, minimum=1,
                            maximum=1000)
    sustain = _number(guardrail.get("sustain_minutes", 0), f"{field}.sustain_minutes", integer=True, minimum=0)
    if sustain >= window:
        raise ValidationFailed("The sustain time must be shorter than the evaluation window.",
                               field=f"{field}.sustain_minutes")
    action = guardrail.get("action")
    if action not in GUARDRAIL_ACTIONS:
        raise ValidationFailed(f"Action is one of {', '.join(GUARDRAIL_ACTIONS)}.", field=f"{field}.action")
    stage = guardrail.get("stage") or ""
    if stage and stage_names and stage not in stage_names:
        raise ValidationFailed(f"No stage named {stage!r} in the plan.", field=f"{field}.stage")
    out = {"metric": metric, "comparator": comparator, "threshold": threshold, "window_minutes": window,
           "failure_limit": failure_limit, "sustain_minutes": sustain, "action": action, "stage": stage}
    segment = guardrail.get("segment")
    if segment not in (None, ""):
        # "*" is one rule for every segment, each evaluated on its own; absent, the untagged observations.
        if not isinstance(segment, str) or not segment.strip() or len(segment.strip()) > 100:
            raise ValidationFailed("Segment is the name observations are tagged with (at most 100 characters), "
                                   "or * for every segment.", field=f"{field}.segment")
        out["segment"] = segment.strip()
    return out


def validate_rollout(rollout: object, *, tier: str, field: str = "rollout") -> dict[str, Any]:
    if not isinstance(rollout, dict):
        raise ValidationFailed("Give the rollout template as an object.", field=field)
    min_shadow = _number(rollout.get("min_shadow_minutes", 0), f"{field}.min_shadow_minutes", integer=True,
                         minimum=0, maximum=365 * 24 * 60)
    stages = validate_stages(rollout.get("stages"), tier=tier, min_shadow_minutes=min_shadow,
                             field=f"{field}.stages")
    names = [s["name"] for s in stages]
    guardrails = rollout.get("guardrails", [])
    if not isinstance(guardrails, list):
        raise ValidationFailed("Give guardrails as a list.", field=f"{field}.guardrails")
    return {"min_shadow_minutes": min_shadow, "stages": stages,
            "guardrails": [validate_guardrail(g, stage_names=names, field=f"{field}.guardrails[{i}]")
                           for i, g in enumerate(guardrails)]}


def validate_policy_content(content: object, *, tier: str) -> dict[str, Any]:
    if not isinstance(content, dict):
        raise ValidationFailed("Give the policy as an object.", field="content")
    checklist = content.get("checklist", [])
    if not isinstance(checklist, list):
        raise ValidationFailed("Give the checklist as a list.", field="checklist")
    items = [validate_checklist_item(item, field=f"checklist[{i}]") for i, item in enumerate(checklist)]
    keys = [item["key"] for item in items]
    if len(set(keys)) != len(keys):
        duplicate = next(k for k in keys if keys.count(k) > 1)
        raise ValidationFailed(f"Checklist key {duplicate!r} appears twice.", field="checklist")
    rollout = validate_rollout(content.get("rollout"), tier=tier)
    names = {s["name"] for s in rollout["stages"]}
    for i, item in enumerate(items):
        if item.get("stage") and item["stage"] not in names:
            raise ValidationFailed(f"Checklist item {item['key']!r} attests stage {item['stage']!r}, which the "
                                   f"rollout template does not have.", field=f"checklist[{i}].stage",
                                   code="unknown_stage")
    return {
        "required_roles": validate_roles(content.get("required_roles")),
        "roles_if_protected_attributes": validate_roles(content.get("roles_if_protected_attributes", []),
                                                        "roles_if_protected_attributes", allow_empty=True),
        "thresholds": validate_thresholds(content.get("thresholds")),
        "checklist": items,
        "rollout": rollout,
    }


def apply_change(content: dict[str, Any], operation: str, payload: Any, *, tier: str) -> dict[str, Any]:
    """The policy content after ``operation``; raises ValidationFailed when the result would be invalid."""
    new = {**content}
    if operation == "ADD_CHECKLIST_ITEM":
        item = validate_checklist_item(payload, field="payload")
        if any(existing["key"] == item["key"] for existing in content["checklist"]):
            raise ValidationFailed(f"The checklist already has an item {item['key']!r}.", field="payload.key")
        new["checklist"] = [*content["checklist"], item]
    elif operation == "ADD_GUARDRAIL":
        rollout = content["rollout"]
        guardrail = validate_guardrail(payload, stage_names=[s["name"] for s in rollout["stages"]], field="payload")
        new["rollout"] = {**rollout, "guardrails": [*rollout["guardrails"], guardrail]}
    elif operation == "SET_REQUIRED_ROLES":
        if not isinstance(payload, dict):
            raise ValidationFailed("Give the roles as an object.", field="payload")
        new["required_roles"] = validate_roles(payload.get("required_roles"), "payload.required_roles")
        if "roles_if_protected_attributes" in payload:
            new["roles_if_protected_attributes"] = validate_roles(
                payload["roles_if_protected_attributes"], "payload.roles_if_protected_attributes", allow_empty=True)
    elif operation == "SET_THRESHOLDS":
        new["thresholds"] = {**content["thresholds"], **validate_thresholds(payload, "payload", partial=True)}
    elif operation == "SET_ROLLOUT":
        new["rollout"] = validate_rollout(payload, tier=tier, field="payload")
    elif operation == "REPLACE":
        new = payload
    else:
        raise ValidationFailed(f"Unknown operation {operation!r}.", field="operation")
    return validate_policy_content(new, tier=tier)

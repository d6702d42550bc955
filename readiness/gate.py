"""The launch gate: may this version go to this stage? Always an answer, always explained, fail closed.

The decision reads only stored state (status, content hash, current signatures, checklist statuses and
waivers, rollout position) with a fixed number of queries, so it stays fast however long the launch's
history is. The receipt is an HMAC-signed copy of the verdict that CI archives as evidence.
"""

import base64
import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from governance.canonical import canonical_json
from governance.models import MLModel, ModelVersion

from .models import ChecklistItem, ItemStatus, LaunchRequest, LaunchStatus, RolloutStage, SignOff

log = logging.getLogger(__name__)
S = LaunchStatus
CLEARED = {S.APPROVED, S.ROLLING_OUT, S.LAUNCHED}


def _reason(code: str, detail: str) -> dict:
    return {"code": code, "detail": detail}


def _launch_for(version: ModelVersion):
    return (
        LaunchRequest.objects.filter(version=version).exclude(status=S.WITHDRAWN)
        .select_related("plan__current_stage")
        .prefetch_related(
            Prefetch("signoffs", queryset=SignOff.objects.select_related("signer")),
            Prefetch("items", queryset=ChecklistItem.objects.filter(blocking=True).prefetch_related("waivers")),
            Prefetch("plan__stages", queryset=RolloutStage.objects.order_by("position")),
        )
        .order_by("-created_at", "-pk").first()
    )


def evaluate(model: str, version: str, stage: str, *, now=None) -> dict:
    """The verdict without the receipt (see ``decide``)."""
    now = now or timezone.now()
    verdict = {"decision": "deny", "model": model, "version": version, "stage": stage, "launch": None,
               "status": None, "reasons": [], "content_hash": None, "evaluated_at": now}
    reasons = verdict["reasons"]
    model_row = MLModel.objects.filter(slug=model).only("pk", "slug").first()
    if model_row is None:
        reasons.append(_reason("unknown_model", f"No model {model!r} in the inventory."))
        return verdict
    version_row = ModelVersion.objects.filter(model=model_row, version=version).only("pk").first()
    if version_row is None:
        reasons.append(_reason("unknown_version", f"{model} has no registered version {version!r}."))
        return verdict
    launch = _launch_for(version_row)
    if launch is None:
        reasons.append(_reason("no_launch", f"No launch request exists for {model} {version}."))
        return verdict
    verdict.update(launch=launch.pk, status=launch.status, content_hash=launch.content_hash)

    if launch.status == S.ROLLED_BACK:
        reasons.append(_reason("rolled_back", f"Launch #{launch.pk} was rolled back: {launch.rollback_reason}"))
        return verdict
    if launch.status == S.REJECTED:
        reasons.append(_reason("rejected", f"Launch #{launch.pk} was rejected at sign-off."))

    signoffs = list(launch.signoffs.all())
    for role in launch.required_roles:
        valid = [s for s in signoffs if s.role == role and not s.stale and s.approves
                 and s.content_hash == launch.content_hash]
        if valid:
            continue
        if any(s.role == role and s.stale for s in signoffs):
            reasons.append(_reason("stale_signoff", f"The {role} sign-off covers content that has since changed; "
                                                    "it must be given again."))
        else:
            reasons.append(_reason("missing_signoff", f"No current {role} sign-off."))

    for item in launch.items.all():
        if item.status == ItemStatus.PASS or any(w.is_valid(now) for w in item.waivers.all()):
            continue
        detail = (item.result or {}).get("detail") or item.get_status_display()
        if item.status == ItemStatus.INCONCLUSIVE:
            reasons.append(_reason("blocking_check_inconclusive", f"{item.title}: {detail}"))
        else:
            reasons.append(_reason("blocking_check_failed", f"{item.title}: {detail}"))

    if launch.status not in CLEARED and not any(r["code"] == "rejected" for r in reasons):
        reasons.append(_reason("not_approved", f"Launch #{launch.pk} is {launch.get_status_display().lower()}."))

    plan = getattr(launch, "plan", None)
    stages = list(plan.stages.all()) if plan else []
    target = next((s for s in stages if s.name == stage), None)
    if target is None:
        known = ", ".join(s.name for s in stages) or "none"
        reasons.append(_reason("unknown_stage", f"The rollout plan has no stage {stage!r} (stages: {known})."))
    elif launch.status != S.LAUNCHED:
        current = plan.current_stage
        reached = current.position if (current and launch.status == S.ROLLING_OUT) else 0
        if target.position > reached:
            where = f"the current stage is {current.name}" if current and launch.status == S.ROLLING_OUT \
                else "the rollout has not started, so only the first stage may be deployed"
            reasons.append(_reason("stage_not_reached", f"Stage {stage} is not reached: {where}."))
    if not reasons:
        verdict["decision"] = "allow"
    return verdict


def sign_receipt(verdict: dict) -> str:
    payload = canonical_json({**verdict, "reasons": [r["code"] for r in verdict["reasons"]]})
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    mac = hmac.new(settings.GATE_RECEIPT_KEY.encode(), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def verify_receipt(receipt: str, key: str | None = None) -> dict | None:
    """The verdict inside a receipt, or None when the receipt was not signed with this key."""
    key = key if key is not None else settings.GATE_RECEIPT_KEY
    try:
        body, mac = receipt.strip().rsplit(".", 1)
    except ValueError:
        return None
    expected = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        return None
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def decide(model: str, version: str, stage: str) -> dict:
    """The gate's full answer. Any failure inside is a deny: Gatehouse never allows what it cannot decide."""
    try:
        verdict = evaluate(model, version, stage)
    except Exception:  # fail closed, by design
        log.exception("gate evaluation failed for %s %s %s", model, version, stage)
        verdict = {"decision": "deny", "model": model, "version": version, "stage": stage, "launch": None,
                   "status": None, "content_hash": None, "evaluated_at": timezone.now(),
                   "reasons": [_reason("internal_error", "Gatehouse could not decide; denying by default.")]}
    verdict["evaluated_at"] = verdict["evaluated_at"].isoformat()
    try:
        verdict["receipt"] = sign_receipt(verdict)
    except Exception:
        log.exception("gate receipt signing failed")
        verdict.update(decision="deny", receipt=None)
    return verdict

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
from django.db.models import Exists, OuterRef
from django.utils import timezone

from governance.kernel.canonical import canonical_json
from governance.models import MLModel, ModelVersion

from .models import (
    ChecklistItem,
    ItemStatus,
    LaunchRequest,
    LaunchStatus,
    RolloutStage,
    SignDecision,
    SignOff,
    Waiver,
)

log = logging.getLogger(__name__)
S = LaunchStatus
CLEARED = {S.APPROVED, S.ROLLING_OUT, S.LAUNCHED}


def _reason(code: str, detail: str) -> dict:
    return {"code": code, "detail": detail}


def _launch_row(model: str, version: str):
    """The launch that governs model/version (the newest that was not withdrawn), as plain values."""
    return (LaunchRequest.objects.filter(version__model__slug=model, version__version=version)
            .exclude(status=S.WITHDRAWN).order_by("-created_at", "-pk")
            .values("pk", "status", "content_hash", "required_roles",
                    "plan__current_stage__position", "plan__current_stage__name").first())


def _explain_missing(model: str, version: str) -> dict:
    if not MLModel.objects.filter(slug=model).exists():
        return _reason("unknown_model", f"No model {model!r} in the inventory.")
    if not ModelVersion.objects.filter(model__slug=model, version=version).exists():
        return _reason("unknown_version", f"{model} has no registered version {version!r}.")
    return _reason("no_launch", f"No launch request exists for {model} {version}.")


def evaluate(model: str, version: str, stage: str, *, now=None) -> dict:
    """The verdict without the receipt (see ``decide``). Reads plain values in four queries on the common path:
    the launch, its signatures, its blocking items that are not passing (with any valid waiver), its stages."""
    now = now or timezone.now()
    verdict = {"decision": "deny", "model": model, "version": version, "stage": stage, "launch": None,
               "status": None, "reasons": [], "content_hash": None, "evaluated_at": now}
    reasons = verdict["reasons"]
    launch = _launch_row(model, version)
    if launch is None:
        reasons.append(_explain_missing(model, version))
        return verdict
    pk, status = launch["pk"], launch["status"]
    verdict.update(launch=pk, status=status, content_hash=launch["content_hash"])
    if status == S.ROLLED_BACK:
        # Not the reason: it may be a restricted incident's content, and a verdict travels to CI and into receipts.
        reasons.append(_reason("rolled_back", f"Launch #{pk} was rolled back; its page says why."))
        return verdict
    if status == S.REJECTED:
        reasons.append(_reason("rejected", f"Launch #{pk} was rejected at sign-off."))

    signoffs = list(SignOff.objects.filter(launch_id=pk).values_list("role", "stale", "decision", "content_hash"))
    approving = {SignDecision.APPROVE, SignDecision.APPROVE_WITH_CONDITIONS}
    for role in launch["required_roles"]:
        if any(r == role and not stale and decision in approving and digest == launch["content_hash"]
               for r, stale, decision, digest in signoffs):
            continue
        if any(r == role and stale for r, stale, _, _ in signoffs):
            reasons.append(_reason("stale_signoff", f"The {role} sign-off covers content that has since changed; "
                                                    "it must be given again."))
        else:
            reasons.append(_reason("missing_signoff", f"No current {role} sign-off."))

    valid_waiver = Waiver.objects.filter(item=OuterRef("pk"), revoked_at=None, expires_at__gt=now)
    open_items = (ChecklistItem.objects.filter(launch_id=pk, blocking=True).exclude(status=ItemStatus.PASS)
                  .annotate(waived=Exists(valid_waiver)).filter(waived=False)
                  .order_by("position", "pk").values_list("title", "status", "result"))
    for title, item_status, result in open_items:
        detail = (result or {}).get("detail") or ItemStatus(item_status).label
        code = "blocking_check_inconclusive" if item_status == ItemStatus.INCONCLUSIVE else "blocking_check_failed"
        reasons.append(_reason(code, f"{title}: {detail}"))

    if status not in CLEARED and not any(r["code"] == "rejected" for r in reasons):
        reasons.append(_reason("not_approved", f"Launch #{pk} is {S(status).label.lower()}."))

    stages = dict(RolloutStage.objects.filter(plan__launch_id=pk).values_list("name", "position"))
    if stage not in stages:
        known = ", ".join(sorted(stages, key=stages.get)) or "none"
        reasons.append(_reason("unknown_stage", f"The rollout plan has no stage {stage!r} (stages: {known})."))
    elif status != S.LAUNCHED:
        rolling = status == S.ROLLING_OUT and launch["plan__current_stage__position"] is not None
        reached = launch["plan__current_stage__position"] if rolling else 0
        if stages[stage] > reached:
            where = (f"the current stage is {launch['plan__current_stage__name']}" if rolling
                     else "the rollout has not started, so only the first stage may be deployed")
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

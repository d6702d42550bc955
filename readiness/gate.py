"""The launch gate: may this version go to this stage? Always an answer, always explained, fail closed.

The decision reads only stored state (status, content hash, current signatures, checklist statuses and
waivers, rollout position) with a fixed number of queries, so it stays fast however long the launch's
history is. The receipt is a signed copy of the verdict that CI archives as evidence: Ed25519 (JWS compact form)
with the key's id, ``issued_at`` and ``valid_until``; anyone checks it with the public keys at /api/v1/keys/.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from governance.kernel import signing
from governance.models import MLModel, ModelVersion
from governance.validation.selectors import gate_reasons as model_risk_reasons

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
CLEARED = {LaunchStatus.APPROVED, LaunchStatus.ROLLING_OUT, LaunchStatus.LAUNCHED}


def _reason(code: str, detail: str) -> dict[str, str]:
    return {"code": code, "detail": detail}


def _launch_row(model: str, version: str) -> dict[str, Any] | None:
    """The launch that governs model/version (the newest that was not withdrawn), as plain values."""
    row = (LaunchRequest.objects.filter(version__model__slug=model, version__version=version)
            .exclude(status=LaunchStatus.WITHDRAWN).order_by("-created_at", "-pk")
            .values("pk", "status", "content_hash", "required_roles",
                    "plan__current_stage__position", "plan__current_stage__name").first())
    return None if row is None else dict(row)


def _explain_missing(model: str, version: str) -> dict[str, str]:
    if not MLModel.objects.filter(slug=model).exists():
        return _reason("unknown_model", f"No model {model!r} in the inventory.")
    if not ModelVersion.objects.filter(model__slug=model, version=version).exists():
        return _reason("unknown_version", f"{model} has no registered version {version!r}.")
    return _reason("no_launch", f"No launch request exists for {model} {version}.")


def evaluate(model: str, version: str, stage: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The verdict without the receipt (see ``decide``). Reads plain values in four queries on the common path:
    the launch, its signatures, its blocking items that are not passing (with any valid waiver), its stages."""
    now = now or timezone.now()
    reasons: list[dict[str, str]] = []
    verdict: dict[str, Any] = {"decision": "deny", "model": model, "version": version, "stage": stage,
                               "launch": None, "status": None, "reasons": reasons, "content_hash": None, "evaluated_at": now}
    launch = _launch_row(model, version)
    if launch is None:
        reasons.append(_explain_missing(model, version))
        return verdict
    pk, status = launch["pk"], launch["status"]
    verdict.update(launch=pk, status=status, content_hash=launch["content_hash"])
    if status == LaunchStatus.ROLLED_BACK:
        # Not the reason: it may be a restricted incident's content, and a verdict travels to CI and into receipts.
        reasons.append(_reason("rolled_back", f"Launch #{pk} was rolled back; its page says why."))
        return verdict
    if status == LaunchStatus.REJECTED:
        reasons.append(_reason("rejected", f"Launch #{pk} was rejected at sign-off."))
    reasons.extend(model_risk_reasons(model, now=now))  # one query: validation, findings, holds, waivers

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
        reasons.append(_reason("not_approved", f"Launch #{pk} is {LaunchStatus(status).label.lower()}."))

    stages = dict(RolloutStage.objects.filter(plan__launch_id=pk).values_list("name", "position"))
    if stage not in stages:
        known = ", ".join(sorted(stages, key=stages.__getitem__)) or "none"
        reasons.append(_reason("unknown_stage", f"The rollout plan has no stage {stage!r} (stages: {known})."))
    elif status != LaunchStatus.LAUNCHED:
        rolling = status == LaunchStatus.ROLLING_OUT and launch["plan__current_stage__position"] is not None
        reached = launch["plan__current_stage__position"] if rolling else 0
        if stages[stage] > reached:
            where = (f"the current stage is {launch['plan__current_stage__name']}" if rolling
                     else "the rollout has not started, so only the first stage may be deployed")
            reasons.append(_reason("stage_not_reached", f"Stage {stage} is not reached: {where}."))
    if not reasons:
        verdict["decision"] = "allow"
    return verdict


RECEIPT_TYPE = "gatehouse-gate-receipt+jws"


def sign_receipt(verdict: dict[str, Any], *, now: datetime | None = None) -> str:
    """The verdict (reasons as codes), when it was issued and until when a deploy step may rely on it."""
    now = now or timezone.now()
    payload = {**verdict, "reasons": [r["code"] for r in verdict["reasons"]], "issued_at": now,
               "valid_until": now + timedelta(seconds=settings.GATE_RECEIPT_TTL_SECONDS)}
    return signing.keyring().sign(payload, typ=RECEIPT_TYPE)


@dataclass(frozen=True)
class ReceiptCheck:
    """``status`` is ``valid``, ``expired`` (the signature holds but ``valid_until`` has passed) or ``invalid``;
    ``reason`` says why in words, ``code`` for programs and tests (a ``SignatureError``'s code, ``no_expiry``
    or ``expired``)."""

    status: str
    verdict: dict[str, Any] | None = None
    kid: str | None = None
    key_status: str | None = None
    reason: str = ""
    code: str = ""

    @property
    def valid(self) -> bool:
        return self.status == "valid"


def verify_receipt(receipt: str, *, keys: dict[str, signing.PublishedKey] | None = None,
                   now: datetime | None = None) -> ReceiptCheck:
    """Check a receipt against published keys (this Gatehouse's, active and retired, unless ``keys`` is given)."""
    keys = keys if keys is not None else signing.keyring().published
    try:
        verdict, key = signing.verify_token(receipt, keys)
    except signing.SignatureError as error:
        return ReceiptCheck("invalid", reason=str(error), code=error.code)
    try:
        valid_until = datetime.fromisoformat(verdict["valid_until"])
    except (KeyError, TypeError, ValueError):
        return ReceiptCheck("invalid", verdict, key.kid, key.status, "the receipt carries no valid_until",
                            code="no_expiry")
    if (now or timezone.now()) > valid_until:
        return ReceiptCheck("expired", verdict, key.kid, key.status, f"it expired at {verdict['valid_until']}",
                            code="expired")
    return ReceiptCheck("valid", verdict, key.kid, key.status)


def decide(model: str, version: str, stage: str) -> dict[str, Any]:
    """The gate's full answer. Any failure inside is a deny: Gatehouse never allows what it cannot decide."""
    verdict: dict[str, Any]
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

"""The launch gate: may this version go to this stage? Always an answer, always explained, fail closed.

The decision reads only stored state (status, content hash, current signatures, checklist statuses and
waivers, rollout position) with a fixed number of queries, so it stays fast however long the launch's
history is. The receipt is a signed copy of the verdict that CI archives as evidence: Ed25519 (JWS compact form)
with the key's id, ``issued_at`` and ``valid_until``; anyone checks it with the public keys at /api/v1/keys/.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from governance.kernel import signing
from governance.kernel.prepared import Prepared
from governance.models import MLModel, ModelVersion
from governance.validation.selectors import gate_reasons as model_risk_reasons

from . import pending
from .models import (
    ChecklistItem,
    Guardrail,
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


# The first breached guardrail of the launch's plan, read with the launch (no query of its own): a rollout
# paused or alerted by a breach, in any segment, is not allowed on while the breach stands.
_breached = Guardrail.objects.filter(plan__launch=OuterRef("pk"), state=Guardrail.State.BREACHED).order_by("pk")


_LAUNCH_FIELDS = ("pk", "status", "content_hash", "required_roles", "version__artifact_sha256",
                  "plan__current_stage__position", "plan__current_stage__name", "breached", "breached_rule")

# Each read of the decision is compiled once per thread (governance.kernel.prepared): building these statements
# cost several times what running them does.
_launch_statement = Prepared(
    lambda model, version: LaunchRequest.objects.filter(version__model__slug=model, version__version=version)
    .exclude(status=LaunchStatus.WITHDRAWN).order_by("-created_at", "-pk")
    .annotate(breached=Subquery(_breached.values("state_detail")[:1]),
              breached_rule=Subquery(_breached.values("pk")[:1]))
    .values_list(*_LAUNCH_FIELDS)[:1],
    model="text", version="text")
_signoffs_statement = Prepared(
    lambda launch: SignOff.objects.filter(launch_id=launch).values_list("role", "stale", "decision", "content_hash"),
    launch="int")
_stages_statement = Prepared(
    lambda launch: RolloutStage.objects.filter(plan__launch_id=launch).values_list("name", "position"),
    launch="int")
_open_items_statement = Prepared(
    lambda launch, now: ChecklistItem.objects.filter(launch_id=launch, blocking=True).exclude(status=ItemStatus.PASS)
    .annotate(waived=Exists(Waiver.objects.filter(item=OuterRef("pk"), revoked_at=None, expires_at__gt=now)))
    .filter(waived=False).order_by("position", "pk").values_list("title", "status", "result", "stage"),
    launch="int", now="datetime")


def _launch_row(model: str, version: str) -> dict[str, Any] | None:
    """The launch that governs model/version (the newest that was not withdrawn), as plain values."""
    rows = _launch_statement.rows(model=model, version=version)
    return dict(zip(_LAUNCH_FIELDS, rows[0], strict=True)) if rows else None


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
                               "launch": None, "status": None, "reasons": reasons, "content_hash": None, "artifact_sha256": None,
                               "evaluated_at": now, "pending_decision": None}
    launch = _launch_row(model, version)
    if launch is None:
        reasons.append(_explain_missing(model, version))
        return verdict
    pk, status = launch["pk"], launch["status"]
    verdict.update(launch=pk, status=status, content_hash=launch["content_hash"],
                   artifact_sha256=launch["version__artifact_sha256"])
    if status == LaunchStatus.ROLLED_BACK:
        # Not the reason: it may be a restricted incident's content, and a verdict travels to CI and into receipts.
        reasons.append(_reason("rolled_back", f"Launch #{pk} was rolled back; its page says why."))
        return verdict
    if status == LaunchStatus.REJECTED:
        reasons.append(_reason("rejected", f"Launch #{pk} was rejected at sign-off."))
    reasons.extend(model_risk_reasons(model, now=now))  # one query: validation, findings, holds, waivers

    signoffs = _signoffs_statement.rows(launch=pk)
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

    stages = dict(_stages_statement.rows(launch=pk))
    open_items = _open_items_statement.rows(launch=pk, now=now)
    for title, item_status, result, item_stage in open_items:
        if item_stage and item_stage in stages and stages.get(stage, -1) <= stages[item_stage]:
            continue  # it attests a stage's result: it holds back the stages after that one, not that one
        detail = (result or {}).get("detail") or ItemStatus(item_status).label
        if item_stage:
            code, detail = "stage_result_not_attested", f"it attests the result of stage {item_stage}: {detail}"
        else:
            code = "blocking_check_inconclusive" if item_status == ItemStatus.INCONCLUSIVE else "blocking_check_failed"
        reasons.append(_reason(code, f"{title}: {detail}"))

    if status not in CLEARED and not any(r["code"] == "rejected" for r in reasons):
        reasons.append(_reason("not_approved", f"Launch #{pk} is {LaunchStatus(status).label.lower()}."))

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
    if status == LaunchStatus.ROLLING_OUT and launch["breached_rule"] is not None:
        detail = (launch["breached"] or {}).get("detail") or "breached"
        reasons.append(_reason("guardrail_breached", f"A guardrail of the rollout is breached: {detail.rstrip('.')}."))
    if pending.is_inconclusive(reasons):  # a person may have settled it (readiness.pending)
        pending.apply(verdict, launch_id=pk, stage=stage, content_hash=launch["content_hash"], now=now)
    if not reasons:
        verdict["decision"] = "allow"
    return verdict


RECEIPT_TYPE = "gatehouse-gate-receipt+jws"


def sign_receipt(verdict: dict[str, Any], *, now: datetime | None = None) -> str:
    """The verdict (reasons as codes), when it was issued and until when a deploy step may rely on it. Besides
    ``issued_at``/``valid_until`` (read by people) it carries the registered JWT claims (RFC 7519 §4.1) that
    standard libraries enforce: ``jti`` (the receipt's id), ``iat``, ``nbf`` and ``exp`` in seconds since the epoch;
    a library checking only standard claims would otherwise accept an expired receipt."""
    now = now or timezone.now()
    until = now + timedelta(seconds=settings.GATE_RECEIPT_TTL_SECONDS)
    payload = {**verdict, "reasons": [r["code"] for r in verdict["reasons"]], "issued_at": now, "valid_until": until,
               "jti": uuid.uuid4().hex, "iat": int(now.timestamp()), "nbf": int(now.timestamp()),
               "exp": int(until.timestamp())}
    return signing.keyring().sign(payload, typ=RECEIPT_TYPE)


#: What a caller may expect a receipt to be for (``--expect`` and the API), and the verdict key each one names.
EXPECTABLE = {"model": "model", "version": "version", "stage": "stage", "digest": "artifact_sha256"}


@dataclass(frozen=True)
class ReceiptCheck:
    """``status`` is ``valid``, ``expired`` (the signature holds but ``exp`` has passed) or ``invalid``;
    ``reason`` says why in words, ``code`` for programs and tests (a ``SignatureError``'s code, ``no_expiry``,
    ``not_yet_valid``, ``expired`` or ``not_as_expected``)."""

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
                   now: datetime | None = None, expect: dict[str, str] | None = None) -> ReceiptCheck:
    """Check a receipt against published keys (this Gatehouse's, active and retired, unless ``keys`` is given),
    its validity window, and that it is for what the caller is about to ship (``expect``: keys of EXPECTABLE):
    a valid receipt for another model, version, stage or artifact is no evidence for this one."""
    keys = keys if keys is not None else signing.keyring().published
    try:
        verdict, key = signing.verify_token(receipt, keys)
    except signing.SignatureError as error:
        return ReceiptCheck("invalid", reason=str(error), code=error.code)
    at = (now or timezone.now()).timestamp()
    exp, nbf = verdict.get("exp"), verdict.get("nbf")
    if not isinstance(exp, int) or isinstance(exp, bool) or not isinstance(nbf, int) or isinstance(nbf, bool):
        return ReceiptCheck("invalid", verdict, key.kid, key.status, "the receipt carries no exp and nbf claims",
                            code="no_expiry")
    for name, wanted in (expect or {}).items():
        if verdict.get(EXPECTABLE[name]) != wanted:
            return ReceiptCheck("invalid", verdict, key.kid, key.status,
                                f"it is for {name} {verdict.get(EXPECTABLE[name])!r}, not {wanted!r}",
                                code="not_as_expected")
    if at < nbf:
        return ReceiptCheck("invalid", verdict, key.kid, key.status, "it is not valid yet (nbf is in the future)",
                            code="not_yet_valid")
    if at >= exp:
        return ReceiptCheck("expired", verdict, key.kid, key.status, f"it expired at {verdict.get('valid_until')}",
                            code="expired")
    return ReceiptCheck("valid", verdict, key.kid, key.status)


RETRY_AFTER_SECONDS = settings.GATE_RETRY_AFTER_SECONDS  # one delay for the plain gate and every contract


class GateUndecided(Exception):
    """The decision could not be computed from current state (the database went away, the receipt could not be
    signed, any unexpected error). Every caller — the plain gate and each deploy-tool contract — answers it with
    HTTP 503, ``Retry-After`` and ``verdict`` as the body: a deny with the reason ``internal_error``. Never a 200
    deny, because a pipeline that checks only the status code would then carry on."""

    def __init__(self, verdict: dict[str, Any]):
        super().__init__("Gatehouse could not decide")
        self.verdict = verdict
        self.retry_after = settings.GATE_RETRY_AFTER_SECONDS


def undecided(model: str, version: str, stage: str) -> GateUndecided:
    """The ``internal_error`` deny for a decision that could not be made, signed when signing still works."""
    verdict: dict[str, Any] = {
        "decision": "deny", "model": model[:100], "version": version[:100], "stage": stage[:100], "launch": None,
        "status": None, "content_hash": None, "artifact_sha256": None, "evaluated_at": timezone.now().isoformat(),
        "pending_decision": None, "reasons": [_reason("internal_error", "Gatehouse could not decide; denying by default. Retry later.")]}
    try:
        verdict["receipt"] = sign_receipt(verdict)
    except Exception:
        log.exception("gate receipt signing failed for an internal_error deny")
        verdict["receipt"] = None
    return GateUndecided(verdict)


def decide(model: str, version: str, stage: str) -> dict[str, Any]:
    """The gate's full answer, receipt included. Raises ``GateUndecided`` when either the verdict or its receipt
    could not be made: Gatehouse never allows what it cannot decide, and never says a plain 200 deny for it."""
    try:
        verdict = evaluate(model, version, stage)
        verdict["evaluated_at"] = verdict["evaluated_at"].isoformat()
    except Exception as error:  # fail closed, by design
        log.exception("gate evaluation failed for %s %s %s", model, version, stage)
        raise undecided(model, version, stage) from error
    try:
        verdict["receipt"] = sign_receipt(verdict)
    except Exception as error:
        log.exception("gate receipt signing failed")
        raise undecided(model, version, stage) from error
    return verdict

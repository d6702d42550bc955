"""State changes of the registry integration: links, alias mappings, syncing versions in, and moving aliases.

Two rules shape this module.

- **Fetch, then write.** A sync reads everything it needs from MLflow first and writes to Gatehouse only when the
  whole read succeeded, in one transaction: MLflow down or answering an error leaves nothing half-written (only
  the link's "last sync failed" note, which is how the failure is shown).
- **The rollout decides, the registry follows.** Entering a mapped stage or rolling back never waits for, or
  fails because of, MLflow. The alias change is recorded (an ``AliasActuation``) in the same transaction as the
  rollout change, applied to MLflow once that transaction commits, and retried by a periodic task while MLflow
  is unreachable. A pending or refused change is shown on the dashboard until it is applied.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.inventory.services import create_version
from governance.kernel import audit
from governance.kernel.canonical import content_hash
from governance.kernel.errors import Conflict, DomainError, ValidationFailed
from governance.kernel.permissions import require
from governance.kernel.principals import SystemActor, acting_person, actor_label
from governance.kernel.reauth import confirm_identity
from governance.models import GIT_COMMIT_RE, SHA256_RE, MLModel, ModelVersion, RiskTier
from readiness.models import LaunchRequest, LaunchStatus, RolloutStage

from .mlflow import Client, MlflowRefused, MlflowUnavailable, aliases_of, enabled
from .models import (
    AliasActuation,
    AliasMapping,
    AliasMove,
    AliasState,
    ApprovalTag,
    GuardMode,
    RegistryLink,
    SyncedVersion,
    WebhookDelivery,
)

if TYPE_CHECKING:
    from governance.kernel.principals import Actor
    from postmortems.models import Incident

log = logging.getLogger(__name__)
SYNC_ACTOR = SystemActor("mlflow-sync")
ACTUATOR = SystemActor("mlflow-alias")
GUARD_ACTOR = SystemActor("mlflow-guard")
# MLflow has no artifact digest of its own: Gatehouse reads it from this model-version tag (or the run's tag).
DIGEST_TAG = "artifact_sha256"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
ALIAS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,254}$")
# The approval tag: ``gatehouse.<stage>`` = the id (jti) of the gate receipt Gatehouse signed when the launch entered
# that stage. MLflow tag keys take letters, digits, '_', '-', '.', ' ' and '/'; anything else in a stage name is '_'.
APPROVAL_TAG_PREFIX = "gatehouse."
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")


def approval_tag_key(stage: str) -> str:
    return APPROVAL_TAG_PREFIX + _TAG_UNSAFE.sub("_", stage)


# -- configuration -------------------------------------------------------------------------------------------

def link_model(model: MLModel, *, actor: Actor, registered_model: str) -> RegistryLink:
    """Link a Gatehouse model to a registered model in MLflow. When the integration is on, MLflow must know the
    name, so a typo is caught now rather than at the first sync."""
    require(actor, "model.edit", model)
    name = (registered_model or "").strip()
    if not name or len(name) > 256:
        raise ValidationFailed("Give the registered model's name in MLflow (at most 256 characters).",
                               field="registered_model")
    if enabled():
        try:
            Client.from_settings().get_registered_model(name)
        except MlflowRefused as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise ValidationFailed(f"MLflow has no registered model named {name!r}.",
                                       field="registered_model") from None
            raise
    with transaction.atomic():
        try:
            with transaction.atomic():
                link = RegistryLink.objects.create(model=model, registered_model=name, created_by=str(actor)[:200])
        except IntegrityError:
            raise Conflict(f"{model.slug} is already linked, or {name!r} is linked to another model.",
                           code="already_linked") from None
        audit.record("registry.linked", link, actor=actor, after={"model": model.slug, "registered_model": name})
    return link


def set_alias_mapping(*, actor: Actor, tier: str, stage: str, alias: str) -> AliasMapping | None:
    """Map a rollout stage of a tier to an MLflow alias (an empty alias removes the mapping). The mapping decides
    what serving reads, so it is a risk role's decision, like a policy approval."""
    require(actor, "policy.approve")
    if tier not in RiskTier.values:
        raise ValidationFailed(f"Unknown tier {tier!r} (one of {', '.join(RiskTier.values)}).", field="tier")
    stage, alias = (stage or "").strip(), (alias or "").strip()
    if not stage or len(stage) > 40:
        raise ValidationFailed("Name the rollout stage (at most 40 characters).", field="stage")
    if alias and (not ALIAS_RE.match(alias) or alias.lower() == "latest" or re.match(r"^v\d+$", alias, re.I)):
        raise ValidationFailed("An alias starts with a letter or underscore, uses letters, digits, '-' and '_', "
                               "and is neither 'latest' nor v<number> (MLflow reserves those).", field="alias")
    with transaction.atomic():
        current = AliasMapping.objects.select_for_update().filter(tier=tier, stage=stage).first()
        before = {"alias": current.alias} if current else None
        if not alias:
            if current:
                current.delete()
                audit.record("registry.alias_unmapped", actor=actor, object_type="registry.aliasmapping",
                             object_id=f"{tier}:{stage}", object_repr=f"{tier}: {stage}", before=before)
            return None
        if AliasMapping.objects.filter(tier=tier, alias=alias).exclude(stage=stage).exists():
            raise Conflict(f"In {tier}, @{alias} is already mapped to another stage.", code="alias_taken")
        if current and current.alias == alias:
            return current
        mapping = current or AliasMapping(tier=tier, stage=stage)
        mapping.alias = alias
        mapping.save()
        audit.record("registry.alias_mapped", mapping, actor=actor, before=before,
                     after={"tier": tier, "stage": stage, "alias": alias})
    return mapping


def set_guard_mode(link: RegistryLink, *, actor: Actor, mode: str, password: str | None = None,
                   sso_proof: dict[str, Any] | None = None, request: Any = None) -> RegistryLink:
    """Choose what the guard does with a hand move of this model's governed aliases: ``REVERT``, ``REPORT``, or
    empty for the tier's default. Like a policy approval it decides what may serve, so it is a risk role's choice
    and the chooser confirms who they are (password, or a fresh authentication with the identity provider)."""
    require(actor, "registry.guard_mode", link.model,
            message="Only Compliance or Model Risk can choose what the registry guard does.")
    mode = (mode or "").strip().upper()
    if mode not in GuardMode.values and mode != "":
        raise ValidationFailed(f"Unknown guard mode {mode!r}: choose REVERT, REPORT, or empty for the tier's "
                               f"default.", field="mode")
    confirmation = confirm_identity(acting_person(actor), password=password, proof=sso_proof, request=request)
    with transaction.atomic():
        link = RegistryLink.objects.select_for_update(of=("self",)).select_related("model").get(pk=link.pk)
        if link.guard_mode == mode:
            return link
        before = {"guard_mode": link.guard_mode or None, "effective": link.effective_guard_mode}
        link.guard_mode = mode
        link.save(update_fields=["guard_mode"])
        audit.record("registry.guard_mode_set", link, actor=actor, before=before, after={
            "registered_model": link.registered_model, "model": link.model.slug, "guard_mode": mode or None,
            "effective": link.effective_guard_mode,
            "tier_default": link.default_guard_mode,
            **(confirmation.as_audit() if confirmation else {})})
    return link


# -- sync: MLflow versions into Gatehouse --------------------------------------------------------------------

def _fetch(client: Client, link: RegistryLink) -> dict[str, Any]:
    """Everything a sync needs from MLflow. Reads only: an error here leaves Gatehouse untouched."""
    registered = client.get_registered_model(link.registered_model)
    versions = client.search_versions(link.registered_model)
    known = dict(SyncedVersion.objects.filter(link=link).values_list("mlflow_version", "fingerprint"))
    changed = []
    for version in sorted(versions, key=lambda v: int(v["version"])):
        if known.get(int(version["version"])) == fingerprint(version):
            continue  # incremental: unchanged since the last sync, so its run is not fetched again
        run = client.get_run(version["run_id"]) if version.get("run_id") else None
        changed.append((version, run))
    tags = {int(v["version"]): _pairs(v.get("tags")) for v in versions}
    return {"aliases": aliases_of(registered), "changed": changed, "seen": len(versions), "tags": tags}


def fingerprint(version: dict[str, Any]) -> str:
    return content_hash(version)


def _pairs(items: Iterable[dict[str, Any]] | None) -> dict[str, Any]:
    return {i["key"]: i.get("value") for i in items or [] if "key" in i}


def _digest(tags: dict[str, Any], run_tags: dict[str, Any]) -> tuple[str, str]:
    """The artifact digest where MLflow carries one, and a note when it is missing or malformed."""
    raw = (tags.get(DIGEST_TAG) or run_tags.get(DIGEST_TAG) or "").strip().lower().removeprefix("sha256:")
    if not raw:
        return "", f"No artifact digest: tag the version (or its run) with {DIGEST_TAG}."
    if not SHA256_RE.match(raw):
        return "", f"The {DIGEST_TAG} tag is not a sha256 digest (64 hexadecimal characters)."
    return raw, ""


def _sync_version(link: RegistryLink, version: dict[str, Any], run: dict[str, Any] | None, *,
                  actor: Actor) -> tuple[SyncedVersion, str]:
    number = int(version["version"])
    tags = _pairs(version.get("tags"))
    data = (run or {}).get("data", {})
    run_tags = _pairs(data.get("tags"))
    metrics = {m["key"]: m.get("value") for m in data.get("metrics", []) if "key" in m}
    digest, note = _digest(tags, run_tags)
    commit = (run_tags.get(GIT_COMMIT_TAG) or "").strip().lower()
    synced = SyncedVersion.objects.filter(link=link, mlflow_version=number).select_related("model_version").first()
    outcome = "updated" if synced else "new"
    synced = synced or SyncedVersion(link=link, mlflow_version=number)
    synced.run_id, synced.source = version.get("run_id") or "", (version.get("source") or "")[:1000]
    synced.status, synced.description = version.get("status") or "", version.get("description") or ""
    synced.tags, synced.metrics, synced.artifact_sha256 = tags, metrics, digest
    synced.git_commit = commit if GIT_COMMIT_RE.match(commit) else ""
    synced.mlflow_created_ms = int(version.get("creation_timestamp") or 0)
    synced.mlflow_updated_ms = int(version.get("last_updated_timestamp") or 0)
    synced.fingerprint, synced.synced_at = fingerprint(version), timezone.now()
    if synced.model_version is None and not note and synced.status == "READY":
        existing = ModelVersion.objects.filter(model=link.model, version=str(number)).first()
        if existing is None:
            synced.model_version = create_version(
                link.model, actor=actor, version=str(number), artifact_sha256=digest, git_commit=synced.git_commit,
                training_data_ref=f"mlflow run {synced.run_id}" if synced.run_id else "",
                model_card=synced.description)
            outcome = "created"
        elif existing.artifact_sha256 == digest and not SyncedVersion.objects.filter(model_version=existing).exists():
            synced.model_version, outcome = existing, "adopted"
        else:
            note = (f"Gatehouse already has a version {number} of {link.model.slug} with another artifact digest; "
                    f"it was not overwritten.")
    elif synced.status != "READY" and not note:
        note = f"MLflow status {synced.status or 'unknown'}: waiting for READY."
    if synced.model_version is not None and digest and synced.model_version.artifact_sha256 != digest:
        note = (f"The artifact digest in MLflow ({digest[:12]}…) differs from the one Gatehouse recorded "
                f"({synced.model_version.artifact_sha256[:12]}…).")
    synced.note = note[:300]
    synced.save()
    audit.record("registry.version_synced", synced, actor=actor, after={
        "registered_model": link.registered_model, "mlflow_version": number, "outcome": outcome,
        "run_id": synced.run_id, "source": synced.source, "artifact_sha256": digest, "metrics": len(metrics),
        "gatehouse_version": synced.model_version.version if synced.model_version else None, "note": synced.note})
    return synced, outcome


def governed_aliases(link: RegistryLink) -> set[str]:
    """The aliases of a link that Gatehouse governs: those its tier maps, and any it has set before."""
    mapped = set(AliasMapping.objects.filter(tier=link.model.risk_tier).values_list("alias", flat=True))
    return mapped | set(AliasState.objects.filter(link=link).values_list("alias", flat=True))


def _observe_aliases(link: RegistryLink, aliases: dict[str, str], *, fetched_at: datetime, actor: Actor,
                     tags: dict[int, dict[str, Any]] | None = None) -> int:
    """Record where each governed alias points; report (once) an alias that points where Gatehouse did not put
    it, and let the guard act on one that points at a version Gatehouse holds no allow for. Returns how many
    governed aliases are drifted now."""
    drifted = 0
    for alias in sorted(governed_aliases(link)):
        state, _ = AliasState.objects.select_for_update().get_or_create(link=link, alias=alias)
        if state.expected_since and state.expected_since >= fetched_at:
            drifted += state.drifted  # Gatehouse moved it after this sync read MLflow: the read is stale
            continue
        was, seen_before = state.drifted, (state.observed_at is not None, state.observed_version)
        observed = aliases.get(alias)
        state.observed_version, state.observed_at = (int(observed) if observed else None), timezone.now()
        state.save(update_fields=["observed_version", "observed_at"])
        drifted += state.drifted
        if state.drifted and not was:
            audit.record("registry.alias_drift_detected", state, actor=actor, after={
                "registered_model": link.registered_model, "alias": alias, "expected": state.expected_version,
                "observed": state.observed_version, "model": link.model.slug})
        elif was and not state.drifted:
            audit.record("registry.alias_drift_cleared", state, actor=actor, after={
                "registered_model": link.registered_model, "alias": alias, "version": state.observed_version})
        _guard(link, state, moved=seen_before != (True, state.observed_version),
               tags=(tags or {}).get(state.observed_version, {}) if state.observed_version is not None else {})
    return drifted


# -- the guard: a governed alias points only where Gatehouse allows ------------------------------------------

def approved_stage_change(link: RegistryLink, alias: str) -> AliasActuation | None:
    """The change that gives the alias its current allow: the latest time a launch that is not rolled back
    entered the mapped stage (applied, waiting, or superseded before MLflow took it: the launch got there)."""
    return (AliasActuation.objects
            .filter(link=link, alias=alias, kind=AliasActuation.Kind.STAGE, target_version__isnull=False)
            .exclude(status=AliasActuation.Status.FAILED).exclude(launch__status=LaunchStatus.ROLLED_BACK)
            .select_related("launch").order_by("-requested_at", "-pk").first())


def _exposure_percent(link: RegistryLink, alias: str, launch: LaunchRequest | None) -> float | None:
    """The traffic share of the stage an alias stands for: the approved launch's stage, else any launch of the
    model with a stage of that name (None when unknown: the severity rule then takes full exposure)."""
    stage = AliasMapping.objects.filter(tier=link.model.risk_tier, alias=alias).values_list("stage", flat=True).first()
    if stage is None:
        return None
    stages = RolloutStage.objects.filter(name=stage)
    row = (stages.filter(plan__launch=launch) if launch is not None else stages.none()).first() or \
        stages.filter(plan__launch__version__model=link.model).order_by("-pk").first()
    return row.traffic_percent if row is not None else None


def approval_holding(link: RegistryLink, alias: str, version: int, tags: dict[str, Any]) -> ApprovalTag | None:
    """The approval that lets ``alias`` point at MLflow ``version``, or None. It holds when the version's tag
    ``gatehouse.<stage>`` names a receipt Gatehouse signed (kept, not rolled back), that receipt verifies with the
    published keys for this model, this version and this stage with an allow, and the gate still allows that
    version at that stage now. A tag copied onto another version, or one naming no receipt, holds nothing."""
    from readiness import gate

    stage = AliasMapping.objects.filter(tier=link.model.risk_tier, alias=alias).values_list("stage", flat=True).first()
    if stage is None:
        return None
    jti = tags.get(approval_tag_key(stage))
    if not isinstance(jti, str) or not jti:
        return None
    approval = (ApprovalTag.objects.filter(link=link, receipt_id=jti, mlflow_version=version, stage=stage,
                                           status__in=(ApprovalTag.Status.PENDING, ApprovalTag.Status.SET))
                .first())
    synced = (SyncedVersion.objects.filter(link=link, mlflow_version=version, model_version__isnull=False)
              .values_list("model_version__version", flat=True).first())
    if approval is None or synced is None:
        return None
    expect = {"model": link.model.slug, "version": synced, "stage": stage}
    # checked as of its issue: a receipt's expiry bounds one deploy step; whether the allow is still current is
    # the gate's answer now
    check = gate.verify_receipt(approval.receipt, now=approval.issued_at, expect=expect)
    if not check.valid or (check.verdict or {}).get("decision") != "allow":
        return None
    if gate.evaluate(link.model.slug, synced, stage)["decision"] != "allow":
        return None
    return approval


def _guard(link: RegistryLink, state: AliasState, *, moved: bool, tags: dict[str, Any]) -> None:
    """Called with the alias row locked, in the sync's transaction. An alias that points at a version without a
    current allow is put back (revert) or only reported (report), and the hand move enters the alias history. A
    move to a version whose approval tag proves a current allow for the stage is accepted (and recorded). A
    change Gatehouse is already waiting to make settles the alias itself, so nothing more is requested then; and
    an incident is opened once per hand move being undone, so repeated syncs change nothing."""
    approved = approved_stage_change(link, state.alias)
    target = approved.target_version if approved is not None else None
    if state.observed_version == target:
        if state.incident_id is not None:
            state.incident = None
            state.save(update_fields=["incident"])
        return
    holding = (approval_holding(link, state.alias, state.observed_version, tags)
               if state.observed_version is not None else None)
    waiting = AliasActuation.objects.filter(link=link, alias=state.alias,
                                            status=AliasActuation.Status.PENDING).first()
    revert = link.effective_guard_mode == GuardMode.REVERT and holding is None
    where = f"v{state.observed_version}" if state.observed_version is not None else "nowhere (removed)"
    allowed = f"v{target}" if target is not None else "no version"
    if holding is not None:
        response = f"Accepted: {where} holds a current approval for {holding.stage} (receipt {holding.receipt_id})."
    elif waiting is not None:
        settles = f"v{waiting.target_version}" if waiting.target_version is not None else "nothing"
        response = f"A change Gatehouse is waiting to make puts it at {settles}."
    elif revert:
        response = f"Gatehouse put it back to {allowed}." if target is not None else "Gatehouse removed it."
    else:
        response = "Reported only (the model's guard is set to report)."
    if moved:
        AliasMove.objects.create(link=link, alias=state.alias, version=state.observed_version,
                                 at=state.observed_at or timezone.now(),
                                 by=AliasMove.By.HAND, actor_label="MLflow (by hand)", response=response[:300])
        audit.record("registry.alias_move_seen", state, actor=GUARD_ACTOR, after={
            "registered_model": link.registered_model, "alias": state.alias, "observed": state.observed_version,
            "allowed": target, "mode": link.effective_guard_mode, "model": link.model.slug,
            "accepted_receipt": holding.receipt_id if holding is not None else None})
    if holding is not None or waiting is not None or not revert:
        return
    reason = (f"@{state.alias} of {link.registered_model} pointed at {where}, but Gatehouse allows {allowed} for "
              f"that stage; the guard undoes the move.")
    _request(link, launch=approved.launch if approved is not None else None, alias=state.alias,
             kind=AliasActuation.Kind.GUARD, target=target, reason=reason, actor=GUARD_ACTOR)
    if state.incident_id is None:
        state.incident = _open_guard_incident(link, state, reason=reason, launch=approved.launch if approved else None)
        state.save(update_fields=["incident"])


def _open_guard_incident(link: RegistryLink, state: AliasState, *, reason: str,
                         launch: LaunchRequest | None) -> Incident:
    from postmortems.services import open_incident
    from postmortems.severity import self_opened_severity

    now = timezone.now()
    exposure = _exposure_percent(link, state.alias, launch)
    return open_incident(
        actor=GUARD_ACTOR, title=f"MLflow alias {link.registered_model}@{state.alias} moved without approval"[:200],
        severity=self_opened_severity(link.model.risk_tier, exposure), detection_source="MONITORING",
        detected_at=now, began_at=now, summary=reason, models=[link.model],
        timeline=[{"at": now, "kind": "DETECTION", "text": reason}])


def sync_link(link: RegistryLink, *, actor: Actor = SYNC_ACTOR) -> dict[str, int]:
    """Bring new and changed MLflow versions of one registered model into Gatehouse (incremental: a version
    whose MLflow timestamp has not moved is skipped; idempotent: a second run changes nothing), and check the
    governed aliases. Versions with an artifact digest become Gatehouse model versions that can be launched."""
    client = Client.from_settings()
    fetched_at = timezone.now()
    try:
        fetched = _fetch(client, link)
        return _write_sync(link, fetched, fetched_at=fetched_at, actor=actor)
    except DomainError as error:  # nothing of this sync was written; say why where people look
        RegistryLink.objects.filter(pk=link.pk).update(last_sync_error=error.message[:2000],
                                                       last_sync_error_at=timezone.now())
        raise


def _write_sync(link: RegistryLink, fetched: dict[str, Any], *, fetched_at: datetime, actor: Actor) -> dict[str, int]:
    summary = {"seen": fetched["seen"], "new": 0, "created": 0, "adopted": 0, "updated": 0,
               "awaiting_digest": 0, "drifted": 0}
    with transaction.atomic():
        link = RegistryLink.objects.select_for_update().select_related("model").get(pk=link.pk)
        for version, run in fetched["changed"]:
            synced, outcome = _sync_version(link, version, run, actor=actor)
            summary[outcome] += 1
            summary["awaiting_digest"] += synced.model_version is None
        summary["drifted"] = _observe_aliases(link, fetched["aliases"], fetched_at=fetched_at, actor=actor,
                                              tags=fetched.get("tags"))
        link.last_synced_at, link.last_sync_error, link.last_sync_error_at = timezone.now(), "", None
        link.save(update_fields=["last_synced_at", "last_sync_error", "last_sync_error_at"])
    return summary


def sync_all(*, actor: Actor = SYNC_ACTOR) -> dict[str, dict[str, Any]]:
    """Sync every link; one failing registered model does not stop the others."""
    results: dict[str, dict[str, Any]] = {}
    for link in RegistryLink.objects.select_related("model").order_by("pk"):
        try:
            results[link.registered_model] = sync_link(link, actor=actor)
        except DomainError as error:  # MLflow down or refusing, or a version Gatehouse cannot accept
            log.warning("MLflow sync of %s failed: %s", link.registered_model, error.message)
            results[link.registered_model] = {"error": error.message}
    return results


# -- actuation: the gate moves the registry ------------------------------------------------------------------

def _link_of(launch: LaunchRequest) -> RegistryLink | None:
    return RegistryLink.objects.filter(model_id=launch.version.model_id).first()


def _mlflow_number(model_version: ModelVersion) -> int | None:
    return SyncedVersion.objects.filter(model_version=model_version).values_list("mlflow_version", flat=True).first()


def _current_target(state: AliasState) -> int | None:
    """Where Gatehouse means the alias to point: a change still waiting, else the last one applied."""
    pending = AliasActuation.objects.filter(link=state.link_id, alias=state.alias, status=AliasActuation.Status.PENDING).first()
    return pending.target_version if pending else state.expected_version


def _position(state: AliasState) -> int | None:
    """Where the alias points as far as Gatehouse knows: a change still waiting, else what MLflow last reported
    (Gatehouse's own changes update that too), else what Gatehouse last set."""
    pending = AliasActuation.objects.filter(link=state.link_id, alias=state.alias, status=AliasActuation.Status.PENDING).first()
    if pending is not None:
        return pending.target_version
    return state.observed_version if state.observed_at is not None else state.expected_version


def _request(link: RegistryLink, *, launch: LaunchRequest | None, alias: str, kind: str, target: int | None, reason: str,
             actor: Actor, error: str = "", receipt_id: str = "") -> AliasActuation:
    """Record an alias change in the caller's transaction; apply it to MLflow after commit."""
    state, _ = AliasState.objects.get_or_create(link=link, alias=alias)
    state = AliasState.objects.select_for_update().get(pk=state.pk)
    previous = _current_target(state)
    superseded = list(AliasActuation.objects.filter(link=link, alias=alias, status=AliasActuation.Status.PENDING)
                      .values_list("pk", flat=True))
    AliasActuation.objects.filter(pk__in=superseded).update(status=AliasActuation.Status.SUPERSEDED)
    actuation = AliasActuation.objects.create(
        link=link, launch=launch, alias=alias, kind=kind, target_version=target, previous_version=previous,
        receipt_id=receipt_id, requested_by=actor_label(actor)[:200], reason=reason[:500], status=AliasActuation.Status.FAILED if error else AliasActuation.Status.PENDING, last_error=error)
    audit.record("registry.alias_change_requested", actuation, actor=actor, after={
        "registered_model": link.registered_model, "alias": alias, "from": previous, "to": target, "kind": kind,
        "launch": launch.pk if launch is not None else None, "reason": actuation.reason, "superseded": superseded,
        "error": error or None, "receipt_id": receipt_id or None})
    if not error:
        transaction.on_commit(lambda: _task("apply_alias_change").delay(actuation.pk), robust=True)
    return actuation


def on_stage_entered(launch: LaunchRequest, stage: RolloutStage, *, actor: Actor) -> AliasActuation | None:
    """A launch entered a stage its tier maps to an alias: point the alias at the launch's MLflow version."""
    if not enabled():
        return None
    link = _link_of(launch)
    mapping = AliasMapping.objects.filter(tier=launch.tier, stage=stage.name).first()
    if link is None or mapping is None:
        return None
    number = _mlflow_number(launch.version)
    error = "" if number is not None else (
        f"Version {launch.version.version} did not come from MLflow's {link.registered_model}, so no MLflow "
        f"version can be given @{mapping.alias}.")
    approval = _sign_approval(link, launch, stage, number, actor=actor) if number is not None else None
    return _request(link, launch=launch, alias=mapping.alias, kind=AliasActuation.Kind.STAGE, target=number,
                    reason=f"Launch #{launch.pk} ({launch.version}) entered stage {stage.name}.", actor=actor,
                    error=error, receipt_id=approval.receipt_id if approval is not None else "")


def _sign_approval(link: RegistryLink, launch: LaunchRequest, stage: RolloutStage, number: int, *,
                   actor: Actor) -> ApprovalTag | None:
    """Ask the gate for the stage the launch just entered and keep its signed receipt as the approval the version
    tag will name. Only an allow becomes a tag; a deny, or a gate that cannot decide, leaves the version untagged
    (so a deployment job that checks the tag refuses it) without holding up the rollout."""
    from readiness import gate
    from readiness.deploy.decision import receipt_id

    model, version = link.model.slug, launch.version.version
    try:
        with transaction.atomic():  # a failure inside the gate must not break the rollout's transaction
            verdict = gate.decide(model, version, stage.name)
    except gate.GateUndecided:
        log.warning("No approval tag for %s %s at %s: the gate could not decide", model, version, stage.name)
        return None
    if verdict["decision"] != "allow":
        audit.record("registry.approval_tag_withheld", launch, actor=actor, after={
            "registered_model": link.registered_model, "mlflow_version": number, "stage": stage.name,
            "reasons": [r["code"] for r in verdict["reasons"]]})
        return None
    approval = ApprovalTag.objects.create(
        link=link, launch=launch, mlflow_version=number, stage=stage.name, key=approval_tag_key(stage.name),
        receipt_id=receipt_id(verdict["receipt"]), receipt=verdict["receipt"])
    audit.record("registry.approval_tag_requested", approval, actor=actor, after={
        "registered_model": link.registered_model, "mlflow_version": number, "stage": stage.name,
        "key": approval.key, "receipt_id": approval.receipt_id, "launch": launch.pk})
    return approval


def previous_approved_version(link: RegistryLink, alias: str, *, excluding: int) -> int | None:
    """The version Gatehouse last gave this alias for an approved launch that reached the mapped stage and has not
    been rolled back itself (a change superseded before MLflow took it still counts: the launch got there)."""
    return (AliasActuation.objects
            .filter(link=link, alias=alias, status__in=(AliasActuation.Status.APPLIED, AliasActuation.Status.SUPERSEDED), kind=AliasActuation.Kind.STAGE,
                    target_version__isnull=False)
            .exclude(target_version=excluding).exclude(launch__status=LaunchStatus.ROLLED_BACK)
            .order_by("-requested_at", "-pk").values_list("target_version", flat=True).first())


def on_rolled_back(launch: LaunchRequest, *, actor: Actor, reason: str) -> list[AliasActuation]:
    """Every governed alias that points (or is about to point) at the rolled-back version goes back to the
    previous approved version; with none, the alias is removed rather than left on a version that failed. An
    alias that points elsewhere (moved by hand, say) is not this rollback's business and is left alone: here by
    its last known position, and again when the change is applied, by where MLflow shows it then."""
    if not enabled():
        return []
    link = _link_of(launch)
    number = _mlflow_number(launch.version) if link else None
    if link is None or number is None:
        return []
    _withdraw_approvals(link, launch, actor=actor)
    changes = []
    for state in AliasState.objects.filter(link=link).order_by("alias"):
        if _position(state) != number:
            continue
        target = previous_approved_version(link, state.alias, excluding=number)
        changes.append(_request(
            link, launch=launch, alias=state.alias, kind=AliasActuation.Kind.ROLLBACK, target=target, actor=actor,
            reason=f"Launch #{launch.pk} ({launch.version}) was rolled back: {reason}"))
    return changes


def _withdraw_approvals(link: RegistryLink, launch: LaunchRequest, *, actor: Actor) -> None:
    """A rolled-back launch's approval tags come off its version (whatever its aliases do), after this
    transaction commits, so a deployment job that checks the tag stops trusting it."""
    for approval in ApprovalTag.objects.select_for_update().filter(
            launch=launch, status__in=(ApprovalTag.Status.PENDING, ApprovalTag.Status.SET, ApprovalTag.Status.FAILED)):
        before = approval.status
        approval.status, approval.last_error = ApprovalTag.Status.REMOVING, ""
        approval.save(update_fields=["status", "last_error"])
        audit.record("registry.approval_tag_withdrawn", approval, actor=actor, before={"status": before}, after={
            "registered_model": link.registered_model, "mlflow_version": approval.mlflow_version,
            "key": approval.key, "receipt_id": approval.receipt_id, "launch": launch.pk})
        _after_commit("remove_approval_tag", approval.pk)


def remove_approval_tag(approval_id: int) -> ApprovalTag | None:
    """Take a withdrawn approval tag off its MLflow version. Removing is idempotent (a tag already gone counts as
    removed); unreachable MLflow leaves it waiting for the periodic retry."""
    with transaction.atomic():
        approval = ApprovalTag.objects.select_for_update().select_related("link").filter(pk=approval_id).first()
        if approval is None or approval.status != ApprovalTag.Status.REMOVING:
            return approval
        approval.attempts += 1
        try:
            Client.from_settings().delete_version_tag(approval.link.registered_model, str(approval.mlflow_version),
                                                      approval.key)
        except MlflowUnavailable as error:
            approval.last_error = error.message[:2000]
            approval.save(update_fields=["attempts", "last_error"])
            return approval
        except MlflowRefused as error:
            approval.last_error = error.message[:2000]
            approval.save(update_fields=["attempts", "last_error"])
            audit.record("registry.approval_tag_failed", approval, actor=ACTUATOR, after={
                "registered_model": approval.link.registered_model, "key": approval.key, "error": approval.last_error})
            return approval
        approval.status, approval.removed_at, approval.last_error = ApprovalTag.Status.REMOVED, timezone.now(), ""
        approval.save(update_fields=["status", "attempts", "removed_at", "last_error"])
        audit.record("registry.approval_tag_removed", approval, actor=ACTUATOR, after={
            "registered_model": approval.link.registered_model, "mlflow_version": approval.mlflow_version,
            "key": approval.key, "receipt_id": approval.receipt_id})
    return approval


def _set_approval_tag(client: Client, actuation: AliasActuation) -> ApprovalTag | None:
    """Before a stage change moves the alias, tag the version with its approval, so a job that reads the alias
    finds the tag already there. A tag withdrawn meanwhile (the launch was rolled back) is not set."""
    approval = (ApprovalTag.objects.select_for_update().filter(link=actuation.link, receipt_id=actuation.receipt_id)
                .first())
    if approval is None or approval.status not in (ApprovalTag.Status.PENDING, ApprovalTag.Status.SET):
        return None
    approval.attempts += 1
    client.set_version_tag(actuation.link.registered_model, str(approval.mlflow_version), approval.key,
                           approval.receipt_id)
    return approval


def apply_alias_change(actuation_id: int) -> AliasActuation | None:
    """Make MLflow match one recorded alias change. The alias row is locked for the call, so changes to one alias
    reach MLflow in the order Gatehouse decided them; setting an alias is idempotent, so a retry after a crash is
    harmless. Unreachable: stays PENDING with the error, for the periodic retry. Refused: FAILED, shown."""
    with transaction.atomic():
        row = AliasActuation.objects.filter(pk=actuation_id).values("link_id", "alias").first()
        if row is None:
            return None
        state = AliasState.objects.select_for_update().get(link_id=row["link_id"], alias=row["alias"])
        actuation = AliasActuation.objects.select_for_update(of=("self",)).select_related("link").get(pk=actuation_id)
        if actuation.status != AliasActuation.Status.PENDING:
            return actuation
        actuation.attempts += 1
        link = actuation.link
        approval = None
        try:
            client = Client.from_settings()
            if actuation.kind == AliasActuation.Kind.STAGE and actuation.receipt_id:
                approval = _set_approval_tag(client, actuation)
            if actuation.kind == AliasActuation.Kind.ROLLBACK:
                now_at = aliases_of(client.get_registered_model(link.registered_model)).get(actuation.alias)
                targets = {str(v) if v is not None else None for v in (actuation.previous_version, actuation.target_version)}
                if now_at not in targets:
                    return _skip_rollback(actuation, state, now_at)
            if actuation.target_version is None:
                client.delete_alias(link.registered_model, actuation.alias)
            else:
                client.set_alias(link.registered_model, actuation.alias, str(actuation.target_version))
        except MlflowUnavailable as error:
            actuation.last_error = error.message[:2000]
            actuation.save(update_fields=["attempts", "last_error"])
            return actuation
        except MlflowRefused as error:
            actuation.status, actuation.last_error = AliasActuation.Status.FAILED, error.message[:2000]
            actuation.save(update_fields=["status", "attempts", "last_error"])
            if approval is not None and approval.status == ApprovalTag.Status.PENDING:
                approval.status, approval.last_error = ApprovalTag.Status.FAILED, actuation.last_error
                approval.save(update_fields=["status", "attempts", "last_error"])
            audit.record("registry.alias_change_failed", actuation, actor=ACTUATOR, after={
                "registered_model": link.registered_model, "alias": actuation.alias,
                "to": actuation.target_version, "error": actuation.last_error, "launch": actuation.launch_id})
            return actuation
        now = timezone.now()
        if approval is not None and approval.status != ApprovalTag.Status.SET:
            approval.status, approval.set_at, approval.last_error = ApprovalTag.Status.SET, now, ""
            approval.save(update_fields=["status", "attempts", "set_at", "last_error"])
            audit.record("registry.approval_tag_set", approval, actor=ACTUATOR, after={
                "registered_model": link.registered_model, "mlflow_version": approval.mlflow_version,
                "key": approval.key, "receipt_id": approval.receipt_id, "launch": actuation.launch_id})
        before = {"version": state.expected_version}
        actuation.status, actuation.applied_at, actuation.last_error = AliasActuation.Status.APPLIED, now, ""
        actuation.save(update_fields=["status", "attempts", "applied_at", "last_error"])
        state.expected_version = state.observed_version = actuation.target_version
        state.expected_since = state.observed_at = now
        if state.incident_id is not None and actuation.kind != AliasActuation.Kind.GUARD:
            state.incident = None  # a rollout decision replaced the correction: the hand move is over
        state.save(update_fields=["expected_version", "expected_since", "observed_version", "observed_at",
                                  "incident"])
        AliasMove.objects.create(link=link, alias=actuation.alias, version=actuation.target_version, at=now,
                                 by=AliasMove.By.GATEHOUSE, actor_label=actuation.requested_by or actor_label(ACTUATOR),
                                 launch_id=actuation.launch_id, response=actuation.reason[:300])
        if actuation.kind == AliasActuation.Kind.GUARD:
            verb = "registry.alias_corrected"
        else:
            verb = "registry.alias_set" if actuation.target_version is not None else "registry.alias_removed"
        audit.record(verb, state, actor=ACTUATOR, before=before, after={
                         "registered_model": link.registered_model, "alias": actuation.alias,
                         "version": actuation.target_version, "launch": actuation.launch_id,
                         "kind": actuation.kind, "reason": actuation.reason})
    return actuation


def _skip_rollback(actuation: AliasActuation, state: AliasState, now_at: str | None) -> AliasActuation:
    """A rollback change for an alias MLflow shows neither on the rolled-back version nor already where the
    rollback would put it (moved by hand since): leave the alias alone; the guard judges that move."""
    where = f"v{now_at}" if now_at else "nothing"
    actuation.status = AliasActuation.Status.SUPERSEDED
    actuation.last_error = f"Left alone: MLflow shows @{actuation.alias} at {where}, not v{actuation.previous_version}."
    actuation.save(update_fields=["status", "attempts", "last_error"])
    audit.record("registry.alias_change_skipped", actuation, actor=ACTUATOR, after={
        "registered_model": actuation.link.registered_model, "alias": actuation.alias, "observed": now_at,
        "rolled_back": actuation.previous_version, "launch": actuation.launch_id})
    return actuation


def retry_pending(*, limit: int = 200) -> dict[str, int]:
    """Apply every alias change still waiting, oldest first; one failure does not stop the rest."""
    summary = {"applied": 0, "pending": 0, "failed": 0}
    if not enabled():
        return summary
    for pk in AliasActuation.objects.filter(status=AliasActuation.Status.PENDING).order_by("requested_at", "pk") \
            .values_list("pk", flat=True)[:limit]:
        try:
            actuation = apply_alias_change(pk)
        except Exception:  # isolate one bad row from the others; it stays PENDING and is logged
            log.exception("Applying alias change #%s failed", pk)
            summary["pending"] += 1
            continue
        if actuation is not None:
            summary[{AliasActuation.Status.APPLIED: "applied", AliasActuation.Status.FAILED: "failed"}.get(AliasActuation.Status(actuation.status), "pending")] += 1
    for pk in ApprovalTag.objects.filter(status=ApprovalTag.Status.REMOVING).order_by("pk") \
            .values_list("pk", flat=True)[:limit]:
        try:
            remove_approval_tag(pk)
        except Exception:  # one bad row does not stop the rest; it stays REMOVING and is logged
            log.exception("Removing approval tag #%s failed", pk)
    return summary


# -- webhooks ------------------------------------------------------------------------------------------------

WEBHOOK_TOLERANCE_SECONDS = 300


def verify_webhook(*, body: bytes, delivery_id: str, timestamp: str, signature: str, secret: str,
                   now: float | None = None) -> None:
    """MLflow signs a delivery as ``v1,`` + base64(HMAC-SHA256(secret, "<delivery id>.<timestamp>.<body>")); a
    delivery older than five minutes is refused so a captured one cannot be replayed."""
    import base64
    import hashlib
    import hmac

    from governance.kernel.errors import PermissionDenied

    if not secret:
        raise PermissionDenied("MLflow webhooks are off: set MLFLOW_WEBHOOK_SECRET.", code="webhooks_off")
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        raise PermissionDenied("Missing or malformed X-MLflow-Timestamp.", code="bad_signature") from None
    now = now if now is not None else timezone.now().timestamp()
    if abs(now - sent) > WEBHOOK_TOLERANCE_SECONDS:
        raise PermissionDenied("The delivery is too old (or the clocks disagree).", code="bad_signature")
    content = f"{delivery_id}.{timestamp}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(secret.encode(), content, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, signature or ""):
        raise PermissionDenied("The webhook signature does not match.", code="bad_signature")


def receive_webhook(payload: object, *, delivery_id: str) -> RegistryLink | None:
    """A verified MLflow event about a registered model: sync that model (after this request) if it is linked.
    The event is only a nudge; the sync reads MLflow itself, so a lost event only waits for the periodic sync. A
    delivery id already received is refused (a captured delivery replayed within its five minutes)."""
    if not delivery_id:
        raise ValidationFailed("The delivery has no X-MLflow-Delivery-Id.", field="X-MLflow-Delivery-Id")
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(delivery_id=delivery_id[:200])
    except IntegrityError:
        raise Conflict("This webhook delivery was already received.", code="replayed_delivery") from None
    data = payload.get("data") if isinstance(payload, dict) else None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        raise ValidationFailed("The event names no registered model.", field="data.name")
    link = RegistryLink.objects.filter(registered_model=name).first()
    if link is not None:
        link_id = link.pk
        transaction.on_commit(lambda: _task("sync_registered_model").delay(link_id), robust=True)
    return link


def _after_commit(task: str, pk: int) -> None:
    transaction.on_commit(lambda: _task(task).delay(pk), robust=True)


def _task(name: str) -> Any:
    """A registry Celery task, looked up by name: the task module calls these services, so importing it from
    here would make a cycle."""
    from celery import current_app

    return current_app.tasks[f"registry.tasks.{name}"]

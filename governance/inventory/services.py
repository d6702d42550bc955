"""State changes of the model inventory: models, versions and features. Each checks permission, validates,
locks, writes and audits. Launches built on a version learn of feature changes through the
``features_changed`` signal; this module knows nothing of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from governance.inventory import materiality
from governance.inventory.materiality import Exposure, Materiality, Purpose
from governance.inventory.models import (
    Feature,
    FeatureSource,
    MLModel,
    ModelVersion,
    ProxyRiskStatus,
    RiskTier,
)
from governance.inventory.signals import features_changed, version_registered
from governance.kernel import audit, clock
from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.models import User
from governance.kernel.permissions import can, require
from governance.kernel.principals import acting_person
from governance.kernel.reauth import Confirmation, confirm_identity
from governance.kernel.services import full_clean, save_unique, snapshot

if TYPE_CHECKING:
    from django.http import HttpRequest

    from governance.kernel.principals import Actor

MATERIALITY_FIELDS = ("materiality", "materiality_exposure", "materiality_purpose", "materiality_reason")
MODEL_FIELDS = ("slug", "name", "owner", "business_use", "risk_tier", "regulatory_scope", "protected_attributes",
                "vendor")
VERSION_FIELDS = ("version", "artifact_sha256", "git_commit", "training_data_ref", "model_card")
FEATURE_FIELDS = ("name", "description", "source", "vendor", "is_critical", "proxy_risk_status",
                  "proxy_risk_ref", "vendor_sla_ref", "drift_monitor_ref")


def _normalise_attributes(value: object) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed("Give protected attributes as a list of names.", field="protected_attributes")
    cleaned = sorted({v.strip().lower() for v in value if v.strip()})
    if any(len(v) > 60 for v in cleaned):
        raise ValidationFailed("A protected attribute name is at most 60 characters.", field="protected_attributes")
    return cleaned


def _check_tier(risk_tier: object) -> None:
    if risk_tier not in RiskTier.values:
        raise ValidationFailed(
            f"Unknown risk tier {risk_tier!r}; use one of {', '.join(RiskTier.values)}.", field="risk_tier"
        )



def _check_tier_meets_materiality(risk_tier: str, level: str) -> None:
    if level and not materiality.tier_allowed(risk_tier, level):
        floor = materiality.REQUIREMENTS[level].minimum_tier
        raise ValidationFailed(f"A model of {Materiality(level).label.lower()} materiality is held to {floor} or stricter; "
                               f"{risk_tier} is laxer.", field="risk_tier", code="tier_below_materiality")


def create_model(*, actor: Actor, slug: str, name: str, owner: User, business_use: str, risk_tier: str,
                 regulatory_scope: str = "", protected_attributes: object = None, vendor: str = "") -> MLModel:
    """Register a model in the inventory (a vendor model names its supplier)."""
    require(actor, "model.create")
    if getattr(actor, "model_ids", None) is not None:
        raise PermissionDenied("This token is limited to some models, so it cannot register a new one (it could "
                               "not see it afterwards); use a token without a model limit.", code="token_model_limit")
    _check_tier(risk_tier)
    model = MLModel(slug=slug, name=name, owner=owner, business_use=business_use, risk_tier=risk_tier,
                    regulatory_scope=regulatory_scope, vendor=(vendor or "").strip(),
                    protected_attributes=_normalise_attributes(protected_attributes), created_at=clock.now())
    full_clean(model)
    with transaction.atomic():
        save_unique(model, field="slug", message=f"A model with slug {slug!r} already exists.")
        audit.record("model.created", model, actor=actor, after=snapshot(model, MODEL_FIELDS))
    return model


def update_model(model: MLModel, *, actor: Actor, password: str | None = None,
                 sso_proof: dict[str, Any] | None = None, request: HttpRequest | None = None,
                 **changes: Any) -> MLModel:
    """Edit an inventory entry; the slug is its address and cannot change. A new risk tier changes which policy
    every later launch of the model must pass, so the person confirms who they are as an approver of a policy
    change does (password, or a fresh authentication with the identity provider); other edits do not ask."""
    require(actor, "model.edit", model)
    unknown = set(changes) - set(MODEL_FIELDS) - {"slug"}
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0])
    if "slug" in changes and changes.pop("slug") != model.slug:
        raise ValidationFailed("The slug is the model's address and cannot change.", field="slug")
    confirmation: Confirmation | None = None
    if "risk_tier" in changes:
        _check_tier(changes["risk_tier"])
        if changes["risk_tier"] != model.risk_tier:
            confirmation = _confirm(actor, password=password, sso_proof=sso_proof, request=request)
    if "protected_attributes" in changes:
        changes["protected_attributes"] = _normalise_attributes(changes["protected_attributes"])
    with transaction.atomic():
        locked = MLModel.objects.select_for_update().get(pk=model.pk)
        if "risk_tier" in changes and changes["risk_tier"] != locked.risk_tier:
            if confirmation is None:  # the tier moved between the read and the lock: this edit now changes it
                raise Conflict("The model's risk tier changed meanwhile; reload the page and confirm the change.",
                               code="tier_changed")
            _check_tier_meets_materiality(changes["risk_tier"], locked.materiality)
        before = snapshot(locked, MODEL_FIELDS)
        for name, value in changes.items():
            setattr(locked, name, value)
        full_clean(locked)
        after = snapshot(locked, MODEL_FIELDS)
        if after == before:
            return locked
        locked.save()
        changed_after = {k: v for k, v in after.items() if before[k] != v}
        if confirmation and "risk_tier" in changed_after:
            changed_after.update(confirmation.as_audit())
        audit.record("model.updated", locked, actor=actor,
                     before={k: v for k, v in before.items() if after[k] != v}, after=changed_after)
    return locked


def _confirm(actor: Actor, *, password: str | None, sso_proof: dict[str, Any] | None,
             request: HttpRequest | None) -> Confirmation | None:
    """Re-authentication of the person behind ``actor`` for a decision that changes what may ship: only a person
    makes one (an API token or Gatehouse itself is refused)."""
    return confirm_identity(acting_person(actor), password=password, proof=sso_proof, request=request)


def create_version(model: MLModel, *, actor: Actor, version: str, artifact_sha256: str, git_commit: str = "",
                   training_data_ref: str = "", model_card: str = "",
                   features: Iterable[dict[str, Any]] = ()) -> ModelVersion:
    """Register a version with its features in one step (nothing is half-saved)."""
    require(actor, "version.create", model)
    mv = ModelVersion(model=model, version=version, artifact_sha256=(artifact_sha256 or "").strip().lower(),
                      git_commit=(git_commit or "").strip().lower(), training_data_ref=training_data_ref,
                      model_card=model_card, created_by=actor if isinstance(actor, User) else None,
                      created_at=clock.now())
    full_clean(mv)
    seen = set()
    rows = []
    for index, data in enumerate(features):
        feature = Feature(version=mv, **data)
        full_clean(feature, exclude=["version"])
        _check_feature_assessment(actor, feature, previous=None, field=f"features[{index}].proxy_risk_status")
        if feature.name in seen:
            raise ValidationFailed(f"Feature {feature.name!r} is listed twice.", field=f"features[{index}].name")
        seen.add(feature.name)
        rows.append(feature)
    with transaction.atomic():
        save_unique(mv, field="version", message=f"{model.slug} already has a version {version!r}.")
        for feature in rows:
            feature.version = mv
        Feature.objects.bulk_create(rows)
        audit.record("version.created", mv, actor=actor, after={
            **snapshot(mv, VERSION_FIELDS), "model": model.slug,
            "features": [snapshot(f, FEATURE_FIELDS) for f in rows],
        })
        version_registered.send(sender=ModelVersion, version=mv, actor=actor)
    return mv


def _check_feature_assessment(actor: Actor, feature: Feature, *, previous: str | None,
                              field: str = "proxy_risk_status") -> None:
    """Only Compliance, Legal or Model Risk may record the outcome of a proxy-risk assessment."""
    if feature.source != FeatureSource.THIRD_PARTY:
        return
    if feature.proxy_risk_status != (previous or "NOT_ASSESSED") and feature.proxy_risk_status not in (
        "NOT_ASSESSED", "IN_PROGRESS"
    ) and not can(actor, "feature.assess_proxy_risk", feature.version):
        raise ValidationFailed(
            "Only Compliance, Legal or Model Risk can record a proxy-risk assessment outcome.", field=field,
            code="proxy_risk_assessor_required")


def _features_changed(version: ModelVersion, actor: Actor) -> None:
    """Launches of this version carry items derived from its features: tell whoever keeps them in step."""
    features_changed.send(sender=ModelVersion, version=version, actor=actor)


def add_feature(version: ModelVersion, *, actor: Actor, **data: Any) -> Feature:
    require(actor, "feature.edit", version)
    feature = Feature(version=version, **data)
    full_clean(feature)
    _check_feature_assessment(actor, feature, previous=None)
    with transaction.atomic():
        save_unique(feature, field="name", message=f"{version} already has a feature {feature.name!r}.")
        audit.record("feature.added", feature, actor=actor,
                     after={**snapshot(feature, FEATURE_FIELDS), "version": str(version)})
        _features_changed(version, actor)
    return feature


CONTROL_FIELDS = {"proxy_risk_status", "proxy_risk_ref", "vendor_sla_ref", "drift_monitor_ref"}


def update_feature(feature: Feature, *, actor: Actor, **changes: Any) -> Feature:
    """Builders edit features; Compliance, Legal and Model Risk may record the third-party controls."""
    if not can(actor, "feature.edit", feature.version):
        require(actor, "feature.assess_proxy_risk", feature.version)
        other = sorted(k for k, v in changes.items() if k not in CONTROL_FIELDS and getattr(feature, k, v) != v)
        if other:
            raise PermissionDenied(f"Your role may record third-party controls only, not {other[0]}.", code="controls_only")
    with transaction.atomic():
        locked = Feature.objects.select_for_update().select_related("version").get(pk=feature.pk)
        before = snapshot(locked, FEATURE_FIELDS)
        for name, value in changes.items():
            if name not in FEATURE_FIELDS:
                raise ValidationFailed(f"Unknown field {name!r}.", field=name)
            setattr(locked, name, value)
        full_clean(locked)
        _check_feature_assessment(actor, locked, previous=before["proxy_risk_status"])
        after = snapshot(locked, FEATURE_FIELDS)
        if after == before:
            return locked
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError:
            raise ValidationFailed(f"This version already has a feature {locked.name!r}.", field="name") from None
        audit.record("feature.updated", locked, actor=actor,
                     before={k: v for k, v in before.items() if after[k] != v},
                     after={k: v for k, v in after.items() if before[k] != v})
        _features_changed(locked.version, actor)
    return locked




def assess_proxy_risk(feature: Feature, *, actor: Actor, status: str, reference: str) -> Feature:
    """Compliance, Legal or Model Risk record a third-party feature's proxy-risk assessment: the outcome and the
    document it rests on, with who recorded it and when. An outcome names its document: a bare verdict cannot be
    checked by the readiness review that relies on it."""
    require(actor, "feature.assess_proxy_risk", feature.version,
            message="Only Compliance, Legal or Model Risk can record a proxy-risk assessment.")
    if feature.source != FeatureSource.THIRD_PARTY:
        raise ValidationFailed("Only a third-party feature carries a proxy-risk assessment.", field="status",
                               code="not_third_party")
    if status not in ProxyRiskStatus.values:
        raise ValidationFailed(f"Status is one of {', '.join(ProxyRiskStatus.values)}.", field="status")
    reference = (reference or "").strip()
    if len(reference) > 300:
        raise ValidationFailed("At most 300 characters.", field="reference")
    if status.startswith("ASSESSED_") and not reference:
        raise ValidationFailed("Name the assessment document the outcome rests on.", field="reference",
                               code="assessment_reference_required")
    with transaction.atomic():
        locked = Feature.objects.select_for_update().select_related("version").get(pk=feature.pk)
        before = {"proxy_risk_status": locked.proxy_risk_status, "proxy_risk_ref": locked.proxy_risk_ref}
        locked.proxy_risk_status, locked.proxy_risk_ref = status, reference
        locked.proxy_risk_assessed_by = actor if isinstance(actor, User) else None
        locked.proxy_risk_assessed_at = clock.now()
        locked.save(update_fields=["proxy_risk_status", "proxy_risk_ref", "proxy_risk_assessed_by",
                                   "proxy_risk_assessed_at"])
        audit.record("feature.proxy_risk_assessed", locked, actor=actor, before=before,
                     after={"proxy_risk_status": status, "proxy_risk_ref": reference,
                            "version": str(locked.version)})
        _features_changed(locked.version, actor)
    return locked


MODEL_RISK_FIELDS = ("intended_use", "out_of_scope_use", "methodology", "limitations", "training_data_sha256",
                     "fairness_group_attributes")


def document_model_risk(version: ModelVersion, *, actor: Actor, **changes: Any) -> ModelVersion:
    """Record a version's model risk documentation: intended and out-of-scope use, methodology, limitations, the
    training data's hash, and the protected attribute each fairness group stands for. Builders write it; Model Risk,
    Compliance and Legal may too, since the documentation is theirs to challenge."""
    if not can(actor, "feature.edit", version):
        require(actor, "feature.assess_proxy_risk", version)
    unknown = sorted(set(changes) - set(MODEL_RISK_FIELDS))
    if unknown:
        raise ValidationFailed(f"Unknown field {unknown[0]!r}.", field=unknown[0])
    groups = changes.get("fairness_group_attributes")
    if groups is not None:
        attributes = set(version.model.protected_attributes or [])
        if not isinstance(groups, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in groups.items()):
            raise ValidationFailed("Map each group name to the protected attribute it stands for.",
                                   field="fairness_group_attributes")
        stray = sorted(v for v in groups.values() if attributes and v not in attributes)
        if stray:
            raise ValidationFailed(f"{stray[0]!r} is not a protected attribute this model monitors "
                                   f"({', '.join(sorted(attributes))}).", field="fairness_group_attributes")
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
        before = snapshot(locked, MODEL_RISK_FIELDS)
        for name, value in changes.items():
            setattr(locked, name, value.strip() if isinstance(value, str) else value)
        full_clean(locked)
        after = snapshot(locked, MODEL_RISK_FIELDS)
        if after == before:
            return locked
        locked.save(update_fields=[k for k in MODEL_RISK_FIELDS if before[k] != after[k]])
        audit.record("version.documented", locked, actor=actor,
                     before={k: v for k, v in before.items() if after[k] != v},
                     after={k: v for k, v in after.items() if before[k] != v})
    return locked


def _locked_model(model: MLModel) -> MLModel:
    return MLModel.objects.select_for_update().get(pk=model.pk)


def set_materiality(model: MLModel, *, actor: Actor, exposure: str, purpose: str, reason: str,
                    password: str | None = None, sso_proof: dict[str, Any] | None = None,
                    request: HttpRequest | None = None) -> MLModel:
    """Model Risk sets a model's materiality from its exposure and purpose, with a reason; the result is stored
    with its inputs and who set it. A tier laxer than the materiality allows is refused: raise the tier first.
    Materiality decides the validation a model needs before the gate lets it ship, so the person re-authenticates
    as for a tier change."""
    require(actor, "model.classify", model, message="Only Model Risk sets a model's materiality.")
    if exposure not in Exposure.values:
        raise ValidationFailed(f"Unknown exposure {exposure!r}; use one of {', '.join(Exposure.values)}.",
                               field="exposure")
    if purpose not in Purpose.values:
        raise ValidationFailed(f"Unknown purpose {purpose!r}; use one of {', '.join(Purpose.values)}.",
                               field="purpose")
    if not (reason or "").strip():
        raise ValidationFailed("Say why this exposure and purpose.", field="reason")
    level = materiality.materiality_of(exposure, purpose)
    confirmation = _confirm(actor, password=password, sso_proof=sso_proof, request=request)
    with transaction.atomic():
        locked = _locked_model(model)
        _check_tier_meets_materiality(locked.risk_tier, level)
        before = snapshot(locked, MATERIALITY_FIELDS)
        locked.materiality, locked.materiality_exposure, locked.materiality_purpose = level, exposure, purpose
        locked.materiality_reason = reason.strip()
        locked.materiality_set_by = acting_person(actor)
        locked.materiality_set_at = clock.now()
        locked.save(update_fields=[*MATERIALITY_FIELDS, "materiality_set_by", "materiality_set_at", "updated_at"])
        audit.record("model.materiality_set", locked, actor=actor, before=before,
                     after={**snapshot(locked, MATERIALITY_FIELDS), **(confirmation.as_audit() if confirmation else {})})
    return locked


def decide_is_model(model: MLModel, *, actor: Actor, is_model: bool, reason: str) -> MLModel:
    """Model Risk records whether an inventory entry is a model in the guidance's sense, and why."""
    require(actor, "model.classify", model, message="Only Model Risk decides whether an entry is a model.")
    if not isinstance(is_model, bool):
        raise ValidationFailed("Answer yes or no.", field="is_model")
    if not (reason or "").strip():
        raise ValidationFailed("Give the reason for the decision.", field="reason")
    with transaction.atomic():
        locked = _locked_model(model)
        before = {"is_model": locked.is_model, "reason": locked.is_model_reason}
        locked.is_model, locked.is_model_reason = is_model, reason.strip()
        locked.is_model_decided_by, locked.is_model_decided_at = acting_person(actor), clock.now()
        locked.save(update_fields=["is_model", "is_model_reason", "is_model_decided_by", "is_model_decided_at",
                                   "updated_at"])
        audit.record("model.is_model_decided", locked, actor=actor, before=before,
                     after={"is_model": is_model, "reason": locked.is_model_reason})
    return locked


def retire_model(model: MLModel, *, actor: Actor, reason: str) -> MLModel:
    """A retired model stays in the inventory (a regulator asks about models that were used); it gains no
    launches' approval afterwards because the gate reads the retirement."""
    require(actor, "model.classify", model, message="Only Model Risk retires a model.")
    if not (reason or "").strip():
        raise ValidationFailed("Say why the model is retired.", field="reason")
    with transaction.atomic():
        locked = _locked_model(model)
        if locked.retired_at is not None:
            raise Conflict("This model is already retired.", code="already_retired")
        locked.retired_at, locked.retired_reason = clock.now(), reason.strip()
        locked.save(update_fields=["retired_at", "retired_reason", "updated_at"])
        audit.record("model.retired", locked, actor=actor, after={"reason": locked.retired_reason})
    return locked

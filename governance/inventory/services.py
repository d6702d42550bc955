"""State changes of the model inventory: models, versions and features. Each checks permission, validates,
locks, writes and audits. Launches built on a version learn of feature changes through the
``features_changed`` signal; this module knows nothing of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from governance.inventory.models import Feature, FeatureSource, MLModel, ModelVersion, RiskTier
from governance.inventory.signals import features_changed
from governance.kernel import audit, clock
from governance.kernel.errors import PermissionDenied, ValidationFailed
from governance.kernel.models import User
from governance.kernel.permissions import can, require
from governance.kernel.services import full_clean, save_unique, snapshot

if TYPE_CHECKING:
    from governance.kernel.principals import Actor

MODEL_FIELDS = ("slug", "name", "owner", "business_use", "risk_tier", "regulatory_scope", "protected_attributes")
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



def create_model(*, actor: Actor, slug: str, name: str, owner: User, business_use: str, risk_tier: str,
                 regulatory_scope: str = "", protected_attributes: object = None) -> MLModel:
    """Register a model in the inventory."""
    require(actor, "model.create")
    _check_tier(risk_tier)
    model = MLModel(slug=slug, name=name, owner=owner, business_use=business_use, risk_tier=risk_tier,
                    regulatory_scope=regulatory_scope,
                    protected_attributes=_normalise_attributes(protected_attributes), created_at=clock.now())
    full_clean(model)
    with transaction.atomic():
        save_unique(model, field="slug", message=f"A model with slug {slug!r} already exists.")
        audit.record("model.created", model, actor=actor, after=snapshot(model, MODEL_FIELDS))
    return model


def update_model(model: MLModel, *, actor: Actor, **changes: Any) -> MLModel:
    """Edit an inventory entry; the slug is its address and cannot change."""
    require(actor, "model.edit", model)
    unknown = set(changes) - set(MODEL_FIELDS) - {"slug"}
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0])
    if "slug" in changes and changes.pop("slug") != model.slug:
        raise ValidationFailed("The slug is the model's address and cannot change.", field="slug")
    if "risk_tier" in changes:
        _check_tier(changes["risk_tier"])
    if "protected_attributes" in changes:
        changes["protected_attributes"] = _normalise_attributes(changes["protected_attributes"])
    with transaction.atomic():
        locked = MLModel.objects.select_for_update().get(pk=model.pk)
        before = snapshot(locked, MODEL_FIELDS)
        for name, value in changes.items():
            setattr(locked, name, value)
        full_clean(locked)
        after = snapshot(locked, MODEL_FIELDS)
        if after == before:
            return locked
        locked.save()
        audit.record("model.updated", locked, actor=actor,
                     before={k: v for k, v in before.items() if after[k] != v},
                     after={k: v for k, v in after.items() if before[k] != v})
    return locked


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

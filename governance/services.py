"""State changes of the governance app. Each checks permission, validates, locks, writes and audits."""

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import audit
from .canonical import sha256_hex
from .errors import Conflict, PermissionDenied, ValidationFailed
from .models import ApiToken, Feature, FeatureSource, MLModel, ModelVersion, RiskTier, RoleMembership, User
from .permissions import can, require
from .principals import SystemActor
from .roles import Role

MODEL_FIELDS = ("slug", "name", "owner", "business_use", "risk_tier", "regulatory_scope", "protected_attributes")
VERSION_FIELDS = ("version", "artifact_sha256", "git_commit", "training_data_ref", "model_card")
FEATURE_FIELDS = ("name", "description", "source", "vendor", "is_critical", "proxy_risk_status",
                  "proxy_risk_ref", "vendor_sla_ref", "drift_monitor_ref")


def full_clean(instance, *, exclude=None) -> None:
    """Run Django's field validation and turn the first problem into a ValidationFailed naming the field."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        field = None if field == "__all__" else field
        raise ValidationFailed(" ".join(messages), field=field) from None


def snapshot(instance, fields) -> dict:
    data = {}
    for name in fields:
        value = getattr(instance, name)
        if hasattr(value, "pk"):
            value = value.pk
        data[name] = value
    return data


def _normalise_attributes(value) -> list[str]:
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


def _check_tier(risk_tier):
    if risk_tier not in RiskTier.values:
        raise ValidationFailed(
            f"Unknown risk tier {risk_tier!r}; use one of {', '.join(RiskTier.values)}.", field="risk_tier"
        )


def _save_unique(instance, *, field: str, message: str):
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise ValidationFailed(message, field=field) from None


def create_model(*, actor, slug: str, name: str, owner: User, business_use: str, risk_tier: str,
                 regulatory_scope: str = "", protected_attributes=None) -> MLModel:
    """Register a model in the inventory."""
    require(actor, "model.create")
    _check_tier(risk_tier)
    model = MLModel(slug=slug, name=name, owner=owner, business_use=business_use, risk_tier=risk_tier,
                    regulatory_scope=regulatory_scope,
                    protected_attributes=_normalise_attributes(protected_attributes))
    full_clean(model)
    with transaction.atomic():
        _save_unique(model, field="slug", message=f"A model with slug {slug!r} already exists.")
        audit.record("model.created", model, actor=actor, after=snapshot(model, MODEL_FIELDS))
    return model


def update_model(model: MLModel, *, actor, **changes) -> MLModel:
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


def create_version(model: MLModel, *, actor, version: str, artifact_sha256: str, git_commit: str = "",
                   training_data_ref: str = "", model_card: str = "", features=()) -> ModelVersion:
    """Register a version with its features in one step (nothing is half-saved)."""
    require(actor, "version.create", model)
    mv = ModelVersion(model=model, version=version, artifact_sha256=(artifact_sha256 or "").strip().lower(),
                      git_commit=(git_commit or "").strip().lower(), training_data_ref=training_data_ref,
                      model_card=model_card, created_by=actor if isinstance(actor, User) else None)
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
        _save_unique(mv, field="version", message=f"{model.slug} already has a version {version!r}.")
        for feature in rows:
            feature.version = mv
        Feature.objects.bulk_create(rows)
        audit.record("version.created", mv, actor=actor, after={
            **snapshot(mv, VERSION_FIELDS), "model": model.slug,
            "features": [snapshot(f, FEATURE_FIELDS) for f in rows],
        })
    return mv


def _check_feature_assessment(actor, feature: Feature, *, previous: str | None, field: str = "proxy_risk_status"):
    """Only Compliance, Legal or Model Risk may record the outcome of a proxy-risk assessment."""
    if feature.source != FeatureSource.THIRD_PARTY:
        return
    if feature.proxy_risk_status != (previous or "NOT_ASSESSED") and feature.proxy_risk_status not in (
        "NOT_ASSESSED", "IN_PROGRESS"
    ) and not can(actor, "feature.assess_proxy_risk", feature.version):
        raise ValidationFailed(
            "Only Compliance, Legal or Model Risk can record a proxy-risk assessment outcome.", field=field
        )


def _features_changed(version, actor):
    """Launches of this version carry items derived from its features; keep them in step."""
    from readiness.services import on_features_changed

    on_features_changed(version, actor=actor)


def add_feature(version: ModelVersion, *, actor, **data) -> Feature:
    require(actor, "feature.edit", version)
    feature = Feature(version=version, **data)
    full_clean(feature)
    _check_feature_assessment(actor, feature, previous=None)
    with transaction.atomic():
        _save_unique(feature, field="name", message=f"{version} already has a feature {feature.name!r}.")
        audit.record("feature.added", feature, actor=actor,
                     after={**snapshot(feature, FEATURE_FIELDS), "version": str(version)})
        _features_changed(version, actor)
    return feature


CONTROL_FIELDS = {"proxy_risk_status", "proxy_risk_ref", "vendor_sla_ref", "drift_monitor_ref"}


def update_feature(feature: Feature, *, actor, **changes) -> Feature:
    """Builders edit features; Compliance, Legal and Model Risk may record the third-party controls."""
    if not can(actor, "feature.edit", feature.version):
        require(actor, "feature.assess_proxy_risk", feature.version)
        other = sorted(k for k, v in changes.items() if k not in CONTROL_FIELDS and getattr(feature, k, v) != v)
        if other:
            raise PermissionDenied(f"Your role may record third-party controls only, not {other[0]}.")
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


def _is_administrator(actor) -> bool:
    return isinstance(actor, SystemActor) or getattr(actor, "is_superuser", False)


def create_person(*, actor, username: str, first_name: str, last_name: str, email: str = "",
                  password: str | None = None, roles=(), is_superuser: bool = False) -> User:
    """Add a person with roles. Only an administrator (or Gatehouse itself, when seeding) may."""
    if not _is_administrator(actor):
        raise ValidationFailed("Only an administrator can add people.", field="username")
    with transaction.atomic():
        user = User(username=username, first_name=first_name, last_name=last_name, email=email,
                    is_superuser=is_superuser, is_staff=is_superuser)
        user.set_password(password) if password else user.set_unusable_password()
        full_clean(user, exclude=["password"])
        _save_unique(user, field="username", message=f"Username {username!r} is taken.")
        audit.record("person.created", user, actor=actor, after={
            "username": username, "name": user.get_full_name(), "superuser": is_superuser,
        })
        for role in roles:
            grant_role(user, role, actor=actor)
    return user


def grant_role(user: User, role: str, *, actor) -> RoleMembership:
    """Role changes are an administrator's act and are audited like any other change."""
    if not _is_administrator(actor):
        raise ValidationFailed("Only an administrator can grant roles.", field="role")
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}.", field="role")
    with transaction.atomic():
        membership, created = RoleMembership.objects.get_or_create(user=user, role=role)
        if created:
            audit.record("role.granted", user, actor=actor, after={"role": role})
    user.__dict__.pop("_gatehouse_roles", None)
    return membership


def revoke_role(user: User, role: str, *, actor) -> None:
    if not _is_administrator(actor):
        raise ValidationFailed("Only an administrator can revoke roles.", field="role")
    with transaction.atomic():
        deleted, _ = RoleMembership.objects.filter(user=user, role=role).delete()
        if deleted:
            audit.record("role.revoked", user, actor=actor, before={"role": role})
    user.__dict__.pop("_gatehouse_roles", None)


TOKEN_PREFIX = "gth"


def issue_api_token(*, actor, name: str, scopes, models=(), expires_days: int | None = None):
    """Create a token and return (token, secret). The secret exists only in this return value."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the token a name.", field="name")
    scopes = sorted(set(scopes))
    if not scopes:
        raise ValidationFailed("Give the token at least one scope.", field="scopes")
    unknown = [s for s in scopes if s not in ApiToken.Scope.values]
    if unknown:
        raise ValidationFailed(
            f"Unknown scope {unknown[0]!r}; known scopes: {', '.join(ApiToken.Scope.values)}.", field="scopes"
        )
    if expires_days is not None and expires_days <= 0:
        raise ValidationFailed("Expiry must be a positive number of days.", field="expires_days")
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        name=name, prefix=prefix, secret_hash=sha256_hex(secret), scopes=scopes,
        created_by=actor if isinstance(actor, User) else None,
        expires_at=timezone.now() + timedelta(days=expires_days) if expires_days else None,
    )
    with transaction.atomic():
        _save_unique(token, field="name", message=f"A token named {name!r} already exists.")
        if models:
            token.allowed_models.set(models)
        audit.record("token.issued", token, actor=actor, after={
            "name": name, "scopes": scopes, "models": sorted(m.slug for m in models),
            "expires_at": token.expires_at,
        })
    return token, secret


def revoke_api_token(token: ApiToken, *, actor) -> ApiToken:
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            raise Conflict(f"Token {locked.name!r} is already revoked.")
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.record("token.revoked", locked, actor=actor, after={"revoked_at": locked.revoked_at})
    return locked

"""State changes of the kernel: people, their roles and API tokens. Each checks permission, validates, locks,
writes and audits. Also the two helpers every service uses to validate and to describe a row in the audit log."""

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from governance.kernel import audit, clock
from governance.kernel.canonical import sha256_hex
from governance.kernel.errors import Conflict, ValidationFailed
from governance.kernel.models import ApiToken, RoleMembership, User
from governance.kernel.permissions import require
from governance.kernel.principals import Actor, SystemActor
from governance.kernel.roles import Role

UNIQUENESS_CODES = frozenset({"unique", "unique_together", "unique_for_date", "unique_for_month", "unique_for_year"})


def full_clean(instance: Model, *, exclude: Iterable[str] | None = None) -> None:
    """Run Django's field validation and turn the first problem into a ValidationFailed naming the field. A record
    that already exists is a Conflict (409, code ``duplicate``): the input is well formed, the state refuses it."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        name, errors = next(iter(exc.error_dict.items()))
        field = None if name == "__all__" else name
        message = " ".join(str(message) for error in errors for message in error.messages)
        if any(error.code in UNIQUENESS_CODES for error in errors):
            raise Conflict(message, field=field, code="duplicate") from None
        raise ValidationFailed(message, field=field) from None


def save_unique(instance: Model, *, field: str, message: str) -> None:
    """Save, turning a unique-constraint violation into a Conflict on ``field`` (409, code ``duplicate``)."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise Conflict(message, field=field, code="duplicate") from None


def snapshot(instance: Model, fields: Iterable[str]) -> dict[str, Any]:
    data = {}
    for name in fields:
        value = getattr(instance, name)
        if hasattr(value, "pk"):
            value = value.pk
        data[name] = value
    return data



def _is_administrator(actor: Actor) -> bool:
    return isinstance(actor, SystemActor) or bool(getattr(actor, "is_superuser", False))


def create_person(*, actor: Actor, username: str, first_name: str, last_name: str, email: str = "",
                  password: str | None = None, roles: Iterable[str] = (), is_superuser: bool = False) -> User:
    """Add a person with roles. Only an administrator (or Gatehouse itself, when seeding) may."""
    if not _is_administrator(actor):
        raise ValidationFailed("Only an administrator can add people.", field="username")
    with transaction.atomic():
        user = User(username=username, first_name=first_name, last_name=last_name, email=email,
                    is_superuser=is_superuser, is_staff=is_superuser, date_joined=clock.now())
        user.set_password(password) if password else user.set_unusable_password()
        full_clean(user, exclude=["password"])
        save_unique(user, field="username", message=f"Username {username!r} is taken.")
        audit.record("person.created", user, actor=actor, after={
            "username": username, "name": user.get_full_name(), "superuser": is_superuser,
        })
        for role in roles:
            grant_role(user, role, actor=actor)
    return user


def grant_role(user: User, role: str, *, actor: Actor) -> RoleMembership:
    """Role changes are an administrator's act and are audited like any other change."""
    if not _is_administrator(actor):
        raise ValidationFailed("Only an administrator can grant roles.", field="role")
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}.", field="role")
    with transaction.atomic():
        membership, created = RoleMembership.objects.get_or_create(user=user, role=role,
                                                                   defaults={"granted_at": clock.now()})
        if created:
            audit.record("role.granted", user, actor=actor, after={"role": role})
    user.__dict__.pop("_gatehouse_roles", None)
    return membership


def revoke_role(user: User, role: str, *, actor: Actor) -> None:
    if not _is_administrator(actor):
        raise ValidationFailed("Only an administrator can revoke roles.", field="role")
    with transaction.atomic():
        deleted, _ = RoleMembership.objects.filter(user=user, role=role).delete()
        if deleted:
            audit.record("role.revoked", user, actor=actor, before={"role": role})
    user.__dict__.pop("_gatehouse_roles", None)


def sync_roles_from_groups(user: User, roles: Iterable[str], *, groups: Iterable[str],
                           actor: Actor) -> tuple[list[str], list[str]]:
    """Make a single-sign-on person's roles exactly those their identity provider's groups map to: the provider
    is the source of truth, so someone removed from a group loses the role at their next sign-in. Each grant and
    revocation is audited with its source (the provider and the groups it named). Returns (granted, revoked)."""
    wanted = {r for r in roles if r in Role.values}
    source = {"source": "identity provider", "issuer": user.sso_issuer, "groups": sorted(groups)}
    with transaction.atomic():
        held = set(RoleMembership.objects.select_for_update().filter(user=user).values_list("role", flat=True))
        granted, revoked = sorted(wanted - held), sorted(held - wanted)
        for role in granted:
            RoleMembership.objects.create(user=user, role=role, granted_at=clock.now())
            audit.record("role.granted", user, actor=actor, after={"role": role, **source})
        if revoked:
            RoleMembership.objects.filter(user=user, role__in=revoked).delete()
        for role in revoked:
            audit.record("role.revoked", user, actor=actor, before={"role": role}, after=source)
    user.__dict__.pop("_gatehouse_roles", None)
    return granted, revoked


TOKEN_PREFIX = "gth"


def issue_api_token(*, actor: Actor, name: str, scopes: Iterable[str], models: Iterable[Any] = (),
                    expires_days: int | None = None, password: str | None = None,
                    sso_proof: dict[str, Any] | None = None, request: Any = None) -> tuple[ApiToken, str]:
    """Create a token and return (token, secret). The secret exists only in this return value. Compliance or an
    administrator issues it; a person confirms who they are first, since the credential acts in their name's
    record."""
    require(actor, "token.manage", message="Only Compliance or an administrator can issue API tokens.")
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
        , code="unknown_scope")
    if expires_days is not None and expires_days <= 0:
        raise ValidationFailed("Expiry must be a positive number of days.", field="expires_days")
    confirmation = None
    if isinstance(actor, User):
        from governance.kernel.reauth import confirm_identity

        confirmation = confirm_identity(actor, password=password, proof=sso_proof, request=request)
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        name=name, prefix=prefix, secret_hash=sha256_hex(secret), scopes=scopes,
        created_by=actor if isinstance(actor, User) else None,
        expires_at=timezone.now() + timedelta(days=expires_days) if expires_days else None,
    )
    with transaction.atomic():
        save_unique(token, field="name", message=f"A token named {name!r} already exists.")
        if models:
            token.allowed_models.set(models)
        audit.record("token.issued", token, actor=actor, after={
            "name": name, "scopes": scopes, "models": sorted(m.slug for m in models),
            "expires_at": token.expires_at, **(confirmation.as_audit() if confirmation else {}),
        })
    return token, secret


def revoke_api_token(token: ApiToken, *, actor: Actor) -> ApiToken:
    """Compliance or an administrator revokes a token; it stops working at once."""
    require(actor, "token.manage", message="Only Compliance or an administrator can revoke API tokens.")
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            raise Conflict(f"Token {locked.name!r} is already revoked.", code="already_revoked")
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.record("token.revoked", locked, actor=actor, after={"revoked_at": locked.revoked_at})
    return locked

"""E-mails about launches, and the Celery tasks that send them after the transaction that caused them commits.

The tasks live here, not in ``tasks.py``, so that services and rollouts can schedule them without importing
the periodic jobs (which import the rollouts): no import cycle."""

import contextlib
from contextvars import ContextVar

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mass_mail

from governance.kernel import formatting as fmt
from governance.models import User

from .models import LaunchRequest

_SUPPRESSED: ContextVar[bool] = ContextVar("gatehouse_notifications_suppressed", default=False)


@contextlib.contextmanager
def suppressed():
    """Send nothing inside this block: seeding retells past events, which must not e-mail anyone today."""
    token = _SUPPRESSED.set(True)
    try:
        yield
    finally:
        _SUPPRESSED.reset(token)


def _url(launch) -> str:
    return settings.SITE_URL.rstrip("/") + launch.get_absolute_url()


def signers_for(launch: LaunchRequest):
    """People who hold a role the launch still needs, other than its author."""
    return (User.objects.filter(is_active=True, memberships__role__in=launch.required_roles)
            .exclude(pk=launch.author_id).exclude(email="").distinct().prefetch_related("memberships"))


def notify_signers(launch_id: int) -> int:
    if _SUPPRESSED.get():
        return 0
    launch = LaunchRequest.objects.select_related("version__model", "author").get(pk=launch_id)
    messages = []
    for user in signers_for(launch):
        roles = sorted(fmt.role(m.role) for m in user.memberships.all() if m.role in launch.required_roles)
        body = (
            f"{launch.author.display_name} sent “{launch.title}” ({launch.version}) for review.\n\n"
            f"It needs a sign-off as {fmt.join(roles, 'or')}. Review the checklist, the latest evaluation and the "
            f"decision memo, then sign or reject:\n{_url(launch)}\n"
        )
        messages.append((f"[Gatehouse] Sign-off needed: {launch.title}", body, settings.DEFAULT_FROM_EMAIL,
                         [user.email]))
    send_mass_mail(messages, fail_silently=False)
    return len(messages)


def notify_launch_people(launch_id: int, event: str, detail: str) -> int:
    """Tell the author, the signers and the model owner that something happened to the launch."""
    if _SUPPRESSED.get():
        return 0
    launch = (LaunchRequest.objects.select_related("version__model__owner", "author")
              .prefetch_related("signoffs__signer").get(pk=launch_id))
    people = {launch.author, launch.version.model.owner, *(s.signer for s in launch.signoffs.all())}
    recipients = sorted({p.email for p in people if p.email and p.is_active})
    if not recipients:
        return 0
    subject = f"[Gatehouse] {launch.title}: {fmt.words(event).lower()}"
    body = f"{detail}\n\nLaunch: {launch.title} ({launch.version}), now {launch.get_status_display()}.\n{_url(launch)}\n"
    send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)], fail_silently=False)
    return len(recipients)


def notify_resign(launch_id: int, signer_ids: list[int], content_hash: str) -> int:
    """Tell each signer whose signature went stale that the launch needs it again. Only the launch's title,
    version and link: what changed may be restricted, and the page shows it to those who may read it."""
    if _SUPPRESSED.get():
        return 0
    launch = LaunchRequest.objects.select_related("version__model").get(pk=launch_id)
    if launch.content_hash != content_hash:
        return 0  # the content moved on again; the request for the newer content says so
    messages = []
    for user in User.objects.filter(pk__in=signer_ids, is_active=True).exclude(email=""):
        body = (f"The content of “{launch.title}” ({launch.version}) changed after you signed it, so your "
                f"signature is stale. Review what changed and sign again:\n{_url(launch)}\n")
        messages.append((f"[Gatehouse] Please sign again: {launch.title}", body, settings.DEFAULT_FROM_EMAIL,
                         [user.email]))
    send_mass_mail(messages, fail_silently=False)
    return len(messages)


# Task names are spelled out so that messages queued before a deploy that moves code keep finding their task.
@shared_task(name="readiness.tasks.notify_signers", acks_late=True, autoretry_for=(ConnectionError, OSError),
             retry_backoff=True, max_retries=5)
def notify_signers_task(launch_id: int) -> int:
    return notify_signers(launch_id)


@shared_task(name="readiness.tasks.notify_launch_people", acks_late=True,
             autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5)
def notify_launch_people_task(launch_id: int, event: str, detail: str) -> int:
    return notify_launch_people(launch_id, event, detail)


@shared_task(name="readiness.tasks.notify_resign", acks_late=True, autoretry_for=(ConnectionError, OSError),
             retry_backoff=True, max_retries=5)
def notify_resign_task(launch_id: int, signer_ids: list[int], content_hash: str) -> int:
    return notify_resign(launch_id, signer_ids, content_hash)

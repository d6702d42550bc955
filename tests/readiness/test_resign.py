"""Stale signatures: each signer is told once per content (e-mail and dashboard), and the launch page asks again."""

import pytest
from django.core import mail
from django.urls import reverse

from governance.kernel.errors import Conflict, PermissionDenied
from governance.kernel.models import AuditEvent
from readiness import services
from readiness.models import LaunchStatus, ResignRequest
from tests.factories import PASSWORD
from tests.readiness.test_rollouts import approved

pytestmark = pytest.mark.django_db


def staled(people, capture, text="Now with a smaller canary."):
    launch = approved(people)
    with capture(execute=True):
        services.update_memo(launch, actor=people["author"], rationale=text)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.IN_REVIEW
    return launch


def test_a_content_change_emails_each_stale_signer_once(people, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    launch = staled(people, django_capture_on_commit_callbacks)
    again = [m for m in mail.outbox if "sign again" in m.subject]
    assert sorted(m.to[0] for m in again) == sorted([people["data_science"].email, people["product"].email])
    body = again[0].body
    assert launch.get_absolute_url() in body and "smaller canary" not in body  # no content in the e-mail
    assert set(ResignRequest.objects.values_list("content_hash", flat=True)) == {launch.content_hash}
    assert AuditEvent.objects.filter(verb="signoff.resign_requested").count() == 1

    # asking again for the same content sends nothing and records nothing
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.ask_to_resign(launch, actor=people["author"]) == 0
    assert mail.outbox == [] and AuditEvent.objects.filter(verb="signoff.resign_requested").count() == 1


def test_a_further_change_asks_again_for_the_new_content(people, django_capture_on_commit_callbacks):
    launch = staled(people, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.update_memo(launch, actor=people["author"], rationale="And a longer shadow.")
    launch.refresh_from_db()
    assert len([m for m in mail.outbox if "sign again" in m.subject]) == 2
    assert ResignRequest.objects.filter(content_hash=launch.content_hash).count() == 2


def test_the_dashboard_lists_it_until_the_signer_signs_again(client, people, django_capture_on_commit_callbacks):
    launch = staled(people, django_capture_on_commit_callbacks)
    signer = people["product"]
    client.force_login(signer)
    page = client.get(reverse("dashboard")).content.decode()
    assert "Signatures to give again" in page and launch.title in page.split("Signatures to give again")[1][:2000]
    services.sign_off(launch, actor=signer, role="PRODUCT", decision="APPROVE", password=PASSWORD,
                      content_hash=launch.content_hash)
    page = client.get(reverse("dashboard")).content.decode()
    assert "None of your signatures went stale." in page


def test_ask_to_re_sign_from_the_launch_page(client, people, django_capture_on_commit_callbacks):
    launch = staled(people, django_capture_on_commit_callbacks)
    ResignRequest.objects.all().delete()  # as if the change predated the notices
    client.force_login(people["author"])
    page = client.get(launch.get_absolute_url()).content.decode()
    assert "Ask to re-sign" in page
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("readiness:ask_resign", args=[launch.pk]), follow=True)
    assert "Asked 2 people to sign again." in response.content.decode()
    assert len(mail.outbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("readiness:ask_resign", args=[launch.pk]), follow=True)
    assert "already been asked" in response.content.decode() and len(mail.outbox) == 2


def test_only_the_launch_people_may_ask_and_only_when_something_is_stale(people, django_capture_on_commit_callbacks):
    launch = staled(people, django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied):
        services.ask_to_resign(launch, actor=people["viewer"])
    fresh = approved(people)
    with pytest.raises(Conflict) as caught:
        services.ask_to_resign(fresh, actor=people["author"])
    assert caught.value.code == "not_in_review"

"""Launch pages: what people see and submit, with constant query counts."""

import pytest
from django.urls import reverse

from readiness import services
from readiness.models import LaunchStatus, SignOff
from tests.factories import PASSWORD, make_launch, pass_everything

pytestmark = pytest.mark.django_db


def test_launch_detail_shows_status_checklist_and_signers(client, people):
    launch = make_launch(author=people["author"], third_party=True)
    client.force_login(people["compliance"])
    body = client.get(launch.get_absolute_url()).content.decode()
    assert "Pre-flight checklist" in body and "Proxy-risk assessment for third-party feature device_score" in body
    assert "not signed" in body and launch.content_hash in body


def test_launch_detail_keeps_constant_queries(client, people, django_assert_max_num_queries):
    small = pass_everything(make_launch(author=people["author"]), attester=people["data_science"])
    big = pass_everything(make_launch(author=people["author"], third_party=True), attester=people["data_science"])
    for _ in range(5):
        services.submit_evaluation(big, actor=people["data_science"], metrics={"psi.max": 0.1})
    services.submit_for_review(big, actor=people["author"])
    for person, role in (("compliance", "COMPLIANCE"), ("legal", "LEGAL")):
        big.refresh_from_db()
        services.sign_off(big, actor=people[person], role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=big.content_hash)
    client.force_login(people["model_risk"])
    counts = []
    for launch in (small, big):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(launch.get_absolute_url()).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(25):
        client.get(big.get_absolute_url())


def test_launch_list_filters_awaiting_my_signature(client, people):
    mine = pass_everything(make_launch(author=people["author"], title="Needs Cole"), attester=people["data_science"])
    services.submit_for_review(mine, actor=people["author"])
    make_launch(author=people["author"], title="Still a draft")
    client.force_login(people["compliance"])
    response = client.get(reverse("readiness:launch_list"), {"mine": "on"})
    assert [launch.title for launch in response.context["launches"]] == ["Needs Cole"]
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "Awaiting my signature" in dashboard and "Needs Cole" in dashboard


def test_sign_form_wrong_password_shows_error_next_to_the_field(client, people):
    launch = pass_everything(make_launch(author=people["author"]), attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    launch.refresh_from_db()
    client.force_login(people["legal"])
    response = client.post(reverse("readiness:sign", args=[launch.pk]), {
        "role": "LEGAL", "decision": "APPROVE", "password": "nope", "content_hash": launch.content_hash})
    assert response.status_code == 200
    assert "not correct" in " ".join(response.context["form"].errors["password"])
    assert not SignOff.objects.exists()


def test_sign_form_signs(client, people):
    launch = pass_everything(make_launch(author=people["author"]), attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    launch.refresh_from_db()
    client.force_login(people["legal"])
    response = client.post(reverse("readiness:sign", args=[launch.pk]), {
        "role": "LEGAL", "decision": "APPROVE", "password": PASSWORD, "content_hash": launch.content_hash})
    assert response.status_code == 302
    assert SignOff.objects.get().signer == people["legal"]


def test_waiver_form_without_reason_changes_nothing(client, people):
    launch = make_launch(author=people["author"])
    item = launch.items.get(key="dataset_diff_psi")
    client.force_login(people["model_risk"])
    response = client.post(reverse("readiness:waive", args=[launch.pk, item.pk]),
                           {"reason": "", "expires_at": "2099-01-01T00:00", "password": PASSWORD})
    assert "needs a reason" in " ".join(response.context["form"].errors["reason"])
    assert not item.waivers.exists()


def test_viewer_sees_but_cannot_create(client, people):
    launch = make_launch(author=people["author"])
    client.force_login(people["viewer"])
    assert client.get(launch.get_absolute_url()).status_code == 200
    assert client.get(reverse("readiness:launch_create")).status_code == 403
    response = client.post(reverse("readiness:launch_submit", args=[launch.pk]))
    launch.refresh_from_db()
    assert response.status_code == 302 and launch.status == LaunchStatus.DRAFT


def test_create_launch_through_the_form(client, people):
    from tests.factories import ModelVersionFactory

    version = ModelVersionFactory()
    client.force_login(people["author"])
    response = client.post(reverse("readiness:launch_create"), {"version": version.pk, "title": "Go"})
    assert response.status_code == 302
    assert version.launches.get().author == people["author"]


def test_policy_pages_render(client, people):
    client.force_login(people["viewer"])
    assert "Tier 1 (high risk)" in client.get(reverse("governance:policy_list")).content.decode()
    body = client.get(reverse("governance:policy_detail", args=["TIER_1"])).content.decode()
    assert "Data Science, Compliance, Legal and Model Risk Management" in body

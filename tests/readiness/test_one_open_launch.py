"""One open launch per model version: the service refuses a second one naming the first, the database backs it."""

import pytest
from django.db import IntegrityError, transaction

from governance.kernel.errors import Conflict
from readiness import services
from readiness.models import OPEN_STATUSES, TERMINAL_STATUSES, LaunchRequest, LaunchStatus
from tests.factories import make_launch

pytestmark = pytest.mark.django_db


def test_open_and_terminal_follow_the_state_machine():
    assert TERMINAL_STATUSES == {LaunchStatus.WITHDRAWN, LaunchStatus.ROLLED_BACK}
    assert LaunchStatus.REJECTED in OPEN_STATUSES and LaunchStatus.LAUNCHED in OPEN_STATUSES


def test_a_second_launch_for_the_same_version_is_refused_naming_the_open_one(people):
    first = make_launch(author=people["author"])
    with pytest.raises(Conflict) as caught:
        services.create_launch(first.version, actor=people["author"], title="Again")
    assert caught.value.code == "open_launch_exists" and caught.value.field == "version"
    assert f"#{first.pk}" in caught.value.message
    assert LaunchRequest.objects.filter(version=first.version).count() == 1


def test_the_api_answers_409_naming_the_open_launch(people, api_client):
    first = make_launch(author=people["author"])
    api_client.force_login(people["author"])
    response = api_client.post("/api/v1/launches/", {"model": first.version.model.slug,
                                                     "version": first.version.version, "title": "Again"},
                               format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "open_launch_exists" and f"#{first.pk}" in response.json()["detail"]
    assert LaunchRequest.objects.filter(version=first.version).count() == 1


def test_after_withdrawing_a_new_launch_may_be_opened(people):
    first = make_launch(author=people["author"])
    services.withdraw(first, actor=people["author"], reason="Wrong data cut.")
    second = services.create_launch(first.version, actor=people["author"], title="Second try")
    assert second.pk != first.pk and second.status == LaunchStatus.DRAFT


def test_the_database_refuses_a_second_open_row(people):
    first = make_launch(author=people["author"])
    with pytest.raises(IntegrityError), transaction.atomic():
        LaunchRequest.objects.create(version=first.version, policy_version=first.policy_version, title="Raw",
                                     author=people["author"], status=LaunchStatus.IN_REVIEW)
    LaunchRequest.objects.create(version=first.version, policy_version=first.policy_version, title="Closed",
                                 author=people["author"], status=LaunchStatus.WITHDRAWN)

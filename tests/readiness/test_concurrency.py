"""Races on PostgreSQL: simultaneous signatures, and a signature racing a content change."""

import threading

import pytest
from django.db import connections

from governance.kernel.audit import verify_chain
from governance.kernel.errors import DomainError
from governance.models import AuditEvent
from readiness import services
from readiness.models import LaunchRequest, LaunchStatus, SignOff
from tests.factories import PASSWORD, make_launch, pass_everything

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*jobs):
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def runner(index, job):
        try:
            barrier.wait()
            outcomes[index] = job()
        except DomainError as error:
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def ready_for_last_signatures(people):
    launch = pass_everything(make_launch(author=people["author"]), attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    for person, role in (("data_science", "DATA_SCIENCE"), ("legal", "LEGAL")):
        launch.refresh_from_db()
        services.sign_off(launch, actor=people[person], role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    launch.refresh_from_db()
    return launch


@pytest.mark.parametrize("attempt", range(3))
def test_two_final_signers_at_once_lose_nothing_and_approve_once(people, attempt):
    launch = ready_for_last_signatures(people)
    digest = launch.content_hash

    def signer(person, role):
        return lambda: services.sign_off(LaunchRequest.objects.get(pk=launch.pk), actor=people[person], role=role,
                                         decision="APPROVE", password=PASSWORD, content_hash=digest)

    outcomes = run_together(signer("compliance", "COMPLIANCE"), signer("model_risk", "MODEL_RISK"))
    assert all(isinstance(o, SignOff) for o in outcomes), outcomes
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED
    assert SignOff.objects.filter(launch=launch, stale=False).count() == 4
    approvals = AuditEvent.objects.filter(verb="launch.status_changed", object_id=str(launch.pk),
                                          after__status="APPROVED")
    assert approvals.count() == 1
    assert verify_chain()[1] is None


@pytest.mark.parametrize("attempt", range(3))
def test_signature_racing_a_content_change_never_approves_stale_content(people, attempt):
    launch = ready_for_last_signatures(people)
    services.sign_off(launch, actor=people["compliance"], role="COMPLIANCE", decision="APPROVE", password=PASSWORD,
                      content_hash=launch.content_hash)
    launch.refresh_from_db()
    digest = launch.content_hash
    outcomes = run_together(
        lambda: services.sign_off(LaunchRequest.objects.get(pk=launch.pk), actor=people["model_risk"], role="MODEL_RISK",
                                  decision="APPROVE", password=PASSWORD, content_hash=digest),
        lambda: services.update_memo(LaunchRequest.objects.get(pk=launch.pk), actor=people["author"],
                                     risks="Vendor may repopulate device fields."),
    )
    launch.refresh_from_db()
    current = SignOff.objects.filter(launch=launch, stale=False)
    # Either the signature landed first (then the edit staled everything and the launch is back in review),
    # or the edit landed first (then the signature was refused as covering old content).
    assert launch.status == LaunchStatus.IN_REVIEW
    assert all(s.content_hash == launch.content_hash for s in current)
    assert SignOff.objects.filter(launch=launch, signer=people["model_risk"]).count() == (
        0 if isinstance(outcomes[0], DomainError) else 1)
    assert verify_chain()[1] is None


@pytest.mark.parametrize("attempt", range(3))
def test_two_launches_opened_at_once_for_one_version_leave_one(people, attempt):
    from governance.kernel.errors import Conflict
    from governance.models import ModelVersion

    first = make_launch(author=people["author"])
    services.withdraw(first, actor=people["author"], reason="Start over.")
    version_pk = first.version_id

    def opener(title):
        return lambda: services.create_launch(ModelVersion.objects.get(pk=version_pk), actor=people["author"],
                                              title=title)

    outcomes = run_together(opener("A"), opener("B"))
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "LaunchRequest"], outcomes
    refused = next(o for o in outcomes if isinstance(o, Conflict))
    assert refused.code == "open_launch_exists"
    assert LaunchRequest.objects.filter(version_id=version_pk).exclude(status=LaunchStatus.WITHDRAWN).count() == 1

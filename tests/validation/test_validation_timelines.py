"""verify_timelines reads validations, findings and the needs they cleared: no finding closed before it was
remediated, none recorded after its validation was signed, no validation before its model existed."""

from datetime import UTC, date, datetime, timedelta

import pytest

from governance.kernel import clock
from governance.kernel.roles import Role
from governance.validation import services
from governance.validation.models import Finding
from reporting.timeline_checks import FindingRecord, NeedRecord, ValidationRecord, check_validation
from reporting.timelines import verify_timelines
from tests.factories import MLModelFactory, make_user

T0 = datetime(2026, 1, 10, 9, tzinfo=UTC)
NOW = T0 + timedelta(days=100)


def record(**changes):
    base = dict(id=1, model="credit", model_created_at=T0 - timedelta(days=30), started_at=T0, completed=True,
                completed_at=T0 + timedelta(days=20), valid_until=date(2027, 1, 30),
                findings=[FindingRecord(7, "Proxy", T0 + timedelta(days=2), date(2026, 2, 1), True,
                                        T0 + timedelta(days=5), T0 + timedelta(days=6))],
                resolved_needs=[NeedRecord(3, "Incident #1", T0 - timedelta(days=1), T0 + timedelta(days=20))])
    base.update(changes)
    return ValidationRecord(**base)


def codes(validation):
    return sorted(v.code for v in check_validation(validation, NOW))


def test_a_possible_validation_has_no_violation():
    assert codes(record()) == []


def test_a_validation_before_its_model_existed():
    assert codes(record(model_created_at=T0 + timedelta(days=1))) == ["validation_started_before_model_created"]


def test_a_finding_closed_before_its_remediation():
    finding = FindingRecord(7, "Proxy", T0 + timedelta(days=2), date(2026, 2, 1), True, T0 + timedelta(days=5),
                            T0 + timedelta(days=4))
    assert codes(record(findings=[finding])) == ["closed_before_remediated"]


def test_a_finding_recorded_after_the_validation_was_signed():
    finding = FindingRecord(7, "Late", T0 + timedelta(days=25), date(2026, 3, 1), False)
    assert codes(record(findings=[finding])) == ["validation_signed_before_finding_created"]


def test_open_finding_with_a_closing_and_signed_validation_without_time():
    finding = FindingRecord(7, "Proxy", T0 + timedelta(days=2), date(2026, 1, 1), False, None, T0)
    assert codes(record(findings=[finding], completed_at=None)) == [
        "closed_before_finding_created", "due_before_created", "open_with_closing", "signed_without_time"]


def test_a_need_cleared_before_it_was_opened_and_a_signing_in_the_future():
    need = NeedRecord(3, "Incident #1", T0 + timedelta(days=30), T0 + timedelta(days=20))
    assert codes(record(resolved_needs=[need], completed_at=NOW + timedelta(days=1), valid_until=None)) == [
        "in_future", "need_resolved_before_need_opened"]


@pytest.mark.django_db
def test_verify_timelines_names_a_rewritten_finding():
    mrm, owner = make_user("vera", Role.MODEL_RISK), make_user("olga", Role.DATA_SCIENCE)
    validation = services.start_validation(MLModelFactory(), actor=mrm, scope=["DATA"])
    finding = services.add_finding(validation, actor=mrm, severity="LOW", title="t", description="d", owner=owner,
                                   due_date=clock.today())
    assert verify_timelines() == []
    Finding.objects.filter(pk=finding.pk).update(closed_at=clock.now() - timedelta(days=3))
    assert [v.code for v in verify_timelines()] == ["closed_before_finding_created", "open_with_closing"]

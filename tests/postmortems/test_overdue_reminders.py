"""Owners of overdue open action items get one e-mail a day listing them (the Celery beat task)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from governance.kernel.roles import Role
from postmortems import services
from postmortems.models import ActionItem
from postmortems.tasks import remind_overdue_action_items
from tests.factories import make_user
from tests.postmortems.helpers import open_incident

pytestmark = pytest.mark.django_db


def item(incident, owner, title, *, days_overdue, status="OPEN"):
    created = services.add_action_item(incident, actor=owner, title=title, kind="PROCESS", owner=owner,
                                       due_date=timezone.localdate())
    ActionItem.objects.filter(pk=created.pk).update(due_date=timezone.localdate() - timedelta(days=days_overdue),
                                                    status=status)
    return created


@pytest.fixture
def owners(db):
    ana = make_user("ana", Role.DATA_SCIENCE, email="ana@example.com", first_name="Ana")
    ben = make_user("ben", Role.ENGINEERING, email="ben@example.com", first_name="Ben")
    return ana, ben


def test_each_owner_gets_one_message_listing_their_overdue_items(owners):
    ana, ben = owners
    incident = open_incident(title="Vendor field drift")
    item(incident, ana, "Add a drift monitor", days_overdue=3)
    item(incident, ana, "Write the vendor SLA", days_overdue=1)
    item(incident, ana, "Not yet due", days_overdue=-5)
    item(incident, ana, "Already done", days_overdue=9, status="DONE")
    item(incident, ana, "Dropped", days_overdue=9, status="WONT_DO")
    item(incident, ben, "Tune the fairness alert", days_overdue=2, status="IN_PROGRESS")

    assert remind_overdue_action_items() == 2
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {"ana@example.com", "ben@example.com"}
    body = by_recipient["ana@example.com"].body
    assert "Add a drift monitor" in body and "Write the vendor SLA" in body and "3 days overdue" in body
    assert "Not yet due" not in body and "Already done" not in body and "Dropped" not in body
    assert by_recipient["ana@example.com"].subject == "Gatehouse: 2 overdue action items"
    assert "/incidents/" in body


def test_a_second_run_on_the_same_day_sends_nothing(owners):
    ana, _ = owners
    item(open_incident(), ana, "Add a drift monitor", days_overdue=3)
    assert remind_overdue_action_items() == 1
    assert remind_overdue_action_items() == 0
    assert len(mail.outbox) == 1


def test_the_next_day_reminds_again(owners):
    ana, _ = owners
    item(open_incident(), ana, "Add a drift monitor", days_overdue=3)
    services.send_overdue_reminders()
    assert services.send_overdue_reminders(today=timezone.localdate() + timedelta(days=1)) == 1


def test_a_restricted_incident_is_not_named_in_the_e_mail(owners, people):
    ana, _ = owners
    secret = open_incident(people["legal"], title="Privileged lending matter", restricted=True, members=[ana])
    item(secret, ana, "Brief the board risk committee", days_overdue=2)
    remind_overdue_action_items()
    body = mail.outbox[0].body
    assert "Brief the board risk committee" not in body and "Privileged" not in body
    assert f"restricted incident #{secret.pk}" in body and secret.action_items.get().get_absolute_url() in body


def test_nothing_overdue_sends_nothing(owners):
    assert remind_overdue_action_items() == 0 and mail.outbox == []

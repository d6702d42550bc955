"""The demo's reports are each asked for by someone who may read all of it, so none is refused or comes out
sealed where the README shows it whole."""

import pytest
from django.core.management import call_command

from examples.management.commands.demo import Command
from postmortems.models import Incident
from reporting.models import Report

pytestmark = pytest.mark.django_db


def test_the_demo_asks_for_every_report_including_the_restricted_incident_as_a_member_of_its_circle(capsys):
    call_command("seed_examples", verbosity=0)
    command = Command()
    command.request_reports()
    assert "incident" not in capsys.readouterr().err.lower()
    e1 = Incident.objects.get(restricted=True, launch__version__model__slug="credit-line-decisioning")
    report = Report.objects.get(kind="INCIDENT_REPORT", incident=e1)
    assert report.requested_by in e1.members.all()
    assert Report.objects.filter(kind="INCIDENT_REPORT").count() == Incident.objects.count()
    pack = Report.objects.get(kind="GOVERNANCE_PACK")
    assert pack.requested_by.username == "cole"


@pytest.mark.parametrize(("given", "url"), [("8610", "http://127.0.0.1:8610/"),
                                            ("127.0.0.1:8000", "http://127.0.0.1:8000/"),
                                            ("0.0.0.0:8001", "http://0.0.0.0:8001/"),
                                            ("[::1]:8002", "http://[::1]:8002/")])
def test_the_demo_prints_an_address_a_browser_opens(given, url):
    assert Command.url(given) == url
    assert url in Command().tour(Command.url(given))

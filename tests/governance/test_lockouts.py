"""Lifting a lockout: Compliance or an administrator, from the Lockouts page, re-entering their password, with
a reason; the lift is audited and lets the person sign in again at once. Nobody else can."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client

from governance.kernel import audit, lockouts
from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.models import AuditEvent
from governance.kernel.principals import SystemActor
from governance.kernel.roles import Role
from governance.kernel.throttling import SCOPE_ACCOUNT, SCOPE_ADDRESS
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

WRONG = "not the password at all"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def log_in(username, password, address):
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password}).status_code


def lock(username, address, times=3):
    for _ in range(times):
        log_in(username, WRONG, address)


@pytest.fixture
def cole():
    return make_user("cole", Role.COMPLIANCE)


def signed_in(user, address="10.20.0.1"):
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def test_compliance_sees_current_lockouts_and_lifts_one(cole):
    make_user("lee", Role.PRODUCT)
    lock("lee", "198.51.100.4")
    page = signed_in(cole).get("/lockouts/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "lee" in text and "198.51.100.4" in text and "Lift" in text
    client = signed_in(cole)
    form = {"scope": SCOPE_ACCOUNT, "username": "lee", "ip_address": "198.51.100.4",
            "reason": "Lee phoned: the failures were his, caps lock.", "password": PASSWORD}
    response = client.post("/lockouts/lift/", form)
    assert response.status_code == 302 and response["Location"].startswith("/lockouts/")
    assert log_in("lee", PASSWORD, "198.51.100.4") == 302
    event = AuditEvent.objects.get(verb="auth.lockout_lifted")
    assert event.actor_id == cole.pk and event.after["username"] == "lee"
    assert event.after["reason"].startswith("Lee phoned") and event.after["confirmed_by"] == "password"
    assert audit.verify_chain()[1] is None
    assert "Nobody is locked out" in signed_in(cole).get("/lockouts/").content.decode()


def test_lifting_needs_the_lifter_password_and_changes_nothing_without_it(cole):
    make_user("lee", Role.PRODUCT)
    lock("lee", "198.51.100.4")
    client = signed_in(cole)
    form = {"scope": SCOPE_ACCOUNT, "username": "lee", "ip_address": "198.51.100.4", "reason": "asked by phone"}
    response = client.post("/lockouts/lift/", {**form, "password": WRONG})
    assert response.status_code == 200 and "not correct" in response.content.decode()
    response = client.post("/lockouts/lift/", form)
    assert response.status_code == 200 and response.context["form"].errors["password"]
    assert log_in("lee", PASSWORD, "198.51.100.4") == 429
    assert not AuditEvent.objects.filter(verb="auth.lockout_lifted").exists()


def test_administrator_lifts_an_address_lockout():
    admin = make_user("root", superuser=True)
    make_user("alice", Role.DATA_SCIENCE)
    for name in ("bob", "carol", "dave"):
        lock(name, "203.0.113.9", times=2)
    assert log_in("alice", PASSWORD, "203.0.113.9") == 429
    found = lockouts.current_lockouts()
    assert [(lo.scope, lo.ip_address) for lo in found] == [(SCOPE_ADDRESS, "203.0.113.9")]
    lockouts.lift_lockout(actor=admin, scope=SCOPE_ADDRESS, ip_address="203.0.113.9", reason="office NAT, reached IT",
                          password=PASSWORD)
    assert not AccessAttempt.objects.filter(ip_address="203.0.113.9").exists()
    assert log_in("alice", PASSWORD, "203.0.113.9") == 302


@pytest.mark.parametrize("role", [Role.DATA_SCIENCE, Role.MODEL_RISK, Role.LEGAL, Role.VIEWER])
def test_other_roles_cannot_see_or_lift_lockouts(role):
    person = make_user("someone", role)
    make_user("lee", Role.PRODUCT)
    lock("lee", "198.51.100.4")
    client = signed_in(person)
    assert client.get("/lockouts/").status_code == 403
    assert client.post("/lockouts/lift/", {"scope": SCOPE_ACCOUNT, "username": "lee", "ip_address": "198.51.100.4",
                                           "reason": "r", "password": PASSWORD}).status_code == 403
    with pytest.raises(PermissionDenied):
        lockouts.lift_lockout(actor=person, scope=SCOPE_ACCOUNT, username="lee", ip_address="198.51.100.4",
                              reason="r", password=PASSWORD)
    with pytest.raises(PermissionDenied):
        lockouts.lift_lockout(actor=SystemActor("script"), scope=SCOPE_ACCOUNT, username="lee",
                              ip_address="198.51.100.4", reason="r", password=PASSWORD)
    assert log_in("lee", PASSWORD, "198.51.100.4") == 429


def test_bad_requests_are_refused_by_name(cole):
    make_user("lee", Role.PRODUCT)
    lock("lee", "198.51.100.4")
    cases = [({"scope": "everything"}, "scope"), ({"ip_address": "not an address"}, "ip_address"),
             ({"username": " "}, "username"), ({"reason": "  "}, "reason")]
    base = {"scope": SCOPE_ACCOUNT, "username": "lee", "ip_address": "198.51.100.4", "reason": "r"}
    for change, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            lockouts.lift_lockout(actor=cole, password=PASSWORD, **{**base, **change})
        assert refused.value.field == field
    with pytest.raises(Conflict) as refused:  # someone who is not locked out
        lockouts.lift_lockout(actor=cole, password=PASSWORD, **{**base, "username": "cole"})
    assert refused.value.code == "not_locked_out"
    response = signed_in(cole).post("/lockouts/lift/", {**base, "ip_address": "nowhere", "password": PASSWORD})
    assert response.status_code == 200 and "Name the locked address" in response.content.decode()
    assert log_in("lee", PASSWORD, "198.51.100.4") == 429


def test_lockouts_page_keeps_constant_queries(cole, django_assert_max_num_queries):
    for n in range(6):
        make_user(f"user{n}", Role.PRODUCT)
        lock(f"user{n}", f"198.51.100.{n + 1}")
    client = signed_in(cole)
    client.get("/lockouts/")
    with django_assert_max_num_queries(8):
        response = client.get("/lockouts/")
    assert response.content.decode().count("Lift<span") == 6


def test_lockouts_link_in_the_navigation_only_for_those_who_may_lift(cole):
    assert 'href="/lockouts/"' in signed_in(cole).get("/").content.decode()
    assert 'href="/lockouts/"' not in signed_in(make_user("vic", Role.VIEWER)).get("/").content.decode()

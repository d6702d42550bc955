"""Passwords are throttled so that nobody can lock others out: logins and every password re-entry (signatures,
waivers, approvals) share one count of failures per account *and* address; an address is locked for every
account only at a much higher spray limit; the address is the direct peer unless proxies are declared. A
lockout says for how long and is audited."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.utils import timezone

from governance.kernel import audit
from governance.kernel.models import AuditEvent
from governance.kernel.roles import Role
from governance.kernel.throttling import LockedOut, client_address
from readiness import services
from tests.factories import PASSWORD, make_launch, make_user, pass_everything

pytestmark = pytest.mark.django_db

WRONG = "not the password at all"


@pytest.fixture(autouse=True)
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.TRUSTED_PROXY_COUNT = 0
    return 3


def log_in(username, password, address="10.0.0.1", **headers):
    client = Client(REMOTE_ADDR=address, **headers)
    return client, client.post("/login/", {"username": username, "password": password})


def test_account_is_locked_from_the_failing_address_only(limit):
    make_user("alice", Role.DATA_SCIENCE)
    answers = [log_in("alice", WRONG)[1].status_code for _ in range(limit)]
    assert answers[:-1] == [200] * (limit - 1) and answers[-1] == 429
    client, response = log_in("alice", PASSWORD)  # the right password, from the same address: still locked
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert log_in("alice", PASSWORD, address="10.0.0.2")[1].status_code == 302  # her own desk


def test_failures_for_a_name_that_does_not_exist_lock_nobody_else(limit):
    make_user("cole", Role.COMPLIANCE)
    make_user("lee", Role.PRODUCT)
    for _ in range(limit + 2):
        log_in("nobody-by-this-name", WRONG, address="10.5.5.5")
    assert log_in("cole", PASSWORD, address="10.5.5.5")[1].status_code == 302
    assert log_in("lee", PASSWORD, address="10.5.5.5")[1].status_code == 302


def test_failures_for_cole_from_elsewhere_leave_cole_signing_in_from_his_own(limit):
    make_user("cole", Role.COMPLIANCE)
    for _ in range(limit):
        log_in("cole", WRONG, address="198.51.100.7")
    assert log_in("cole", PASSWORD, address="198.51.100.7")[1].status_code == 429
    assert log_in("cole", PASSWORD, address="10.0.0.8")[1].status_code == 302


def test_address_is_locked_across_accounts_only_at_the_spray_limit():
    make_user("alice", Role.DATA_SCIENCE)
    for name in ("bob", "carol"):  # two failures each: no account reaches its limit, nor the address yet
        log_in(name, WRONG, address="10.9.9.9")
        log_in(name, WRONG, address="10.9.9.9")
    assert log_in("alice", PASSWORD, address="10.9.9.9")[1].status_code == 302
    log_in("dave", WRONG, address="10.9.9.9")
    _, response = log_in("erin", WRONG, address="10.9.9.9")  # the sixth failure from the address
    assert response.status_code == 429 and "across accounts" in response.content.decode()
    assert log_in("alice", PASSWORD, address="10.9.9.9")[1].status_code == 429
    assert log_in("alice", PASSWORD, address="10.0.0.3")[1].status_code == 302
    event = AuditEvent.objects.filter(verb="auth.locked_out").first()
    assert event.after["scope"] == "address" and event.after["ip_address"] == "10.9.9.9"


def test_lockout_says_for_how_long():
    make_user("alice", Role.DATA_SCIENCE)
    for _ in range(3):
        _, response = log_in("alice", WRONG)
    text = response.content.decode()
    assert "locked for 15 minutes" in text and "administrator" in text and "another address" in text


def test_right_password_before_the_limit_logs_in_and_clears_the_count():
    make_user("alice", Role.DATA_SCIENCE)
    log_in("alice", WRONG)
    log_in("alice", WRONG)
    assert log_in("alice", PASSWORD)[1].status_code == 302
    log_in("alice", WRONG)
    assert log_in("alice", PASSWORD)[1].status_code == 302


def test_lock_expires_after_the_cool_off():
    make_user("alice", Role.DATA_SCIENCE)
    for _ in range(3):
        log_in("alice", WRONG)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert log_in("alice", PASSWORD)[1].status_code == 302


def test_every_lockout_is_audited():
    make_user("alice", Role.DATA_SCIENCE)
    for _ in range(3):
        log_in("alice", WRONG, address="10.1.2.3")
    event = AuditEvent.objects.get(verb="auth.locked_out")
    assert event.after["username"] == "alice" and event.after["ip_address"] == "10.1.2.3"
    assert event.after["scope"] == "account from address"
    assert audit.verify_chain()[1] is None


def test_axes_rows_are_not_edited_in_the_admin():
    """Lifting a lockout is the audited, re-authenticated service (the Lockouts page), not a row deletion."""
    admin = Client()
    admin.force_login(make_user("root", superuser=True))
    assert admin.get("/admin/axes/accessattempt/").status_code == 404


def test_signature_password_failures_lock_the_signer_from_that_address_only(client):
    author = make_user("author", Role.DATA_SCIENCE)
    signer = make_user("cole", Role.COMPLIANCE)
    make_user("vic", Role.VIEWER)
    launch = pass_everything(make_launch(author=author), attester=make_user("ds2", Role.DATA_SCIENCE))
    services.submit_for_review(launch, actor=author)
    launch.refresh_from_db()
    client.force_login(signer)
    form = {"role": "COMPLIANCE", "decision": "APPROVE", "content_hash": launch.content_hash}
    for _ in range(3):
        response = client.post(f"/launches/{launch.pk}/sign/", {**form, "password": WRONG})
    assert response.status_code == 429 and "locked for 15 minutes" in response.content.decode()
    with pytest.raises(LockedOut):  # the same address (the test client's): the right password is not checked
        services.sign_off(launch, actor=signer, role="COMPLIANCE", decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    assert not launch.signoffs.exists()
    assert log_in("cole", PASSWORD, address="127.0.0.1")[1].status_code == 429
    assert log_in("vic", PASSWORD, address="127.0.0.1")[1].status_code == 302  # a colleague at that address
    assert log_in("cole", PASSWORD, address="10.7.7.7")[1].status_code == 302  # cole elsewhere


# -- the client's address --------------------------------------------------------------------------------

def _request(peer, forwarded=None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=peer, **headers)


def test_forwarded_for_is_ignored_without_declared_proxies():
    assert client_address(_request("192.0.2.10", "203.0.113.5")) == "192.0.2.10"


def test_behind_proxies_the_client_is_the_entry_the_last_proxy_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(_request("10.0.0.254", "203.0.113.5")) == "203.0.113.5"
    # entries the client wrote itself, left of what the proxy appended, are not believed
    assert client_address(_request("10.0.0.254", "1.2.3.4, 203.0.113.5")) == "203.0.113.5"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(_request("10.0.0.253", "1.2.3.4, 203.0.113.5, 10.0.0.254")) == "203.0.113.5"
    # a request that did not come through every proxy, or a garbled entry, counts as the direct peer
    assert client_address(_request("10.0.0.253", "203.0.113.5")) == "10.0.0.253"
    assert client_address(_request("10.0.0.253", "x, not-an-address")) == "10.0.0.253"


def test_spoofed_forwarded_for_does_not_escape_the_lock():
    make_user("alice", Role.DATA_SCIENCE)
    for n in range(3):
        log_in("alice", WRONG, address="10.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert log_in("alice", PASSWORD, address="10.0.0.1",
                  HTTP_X_FORWARDED_FOR="203.0.113.99")[1].status_code == 429


def test_behind_a_proxy_one_client_locks_only_itself(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    make_user("alice", Role.DATA_SCIENCE)
    proxy = "10.0.0.254"
    for _ in range(3):
        log_in("alice", WRONG, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.66")
    assert log_in("alice", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.66")[1].status_code == 429
    assert log_in("alice", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")[1].status_code == 302
    assert AccessAttempt.objects.get().ip_address == "203.0.113.66"


def test_password_validators_refuse_weak_passwords():
    for weak in ("short1", "password1234", "12345678901234"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("a long and unusual passphrase")

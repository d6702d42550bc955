"""Passwords are throttled: logins and the password re-entry of a signature share one count of failures, per
account and per address; a lockout says for how long, is audited, and an administrator can lift it."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from governance.kernel import audit
from governance.kernel.models import AuditEvent
from governance.kernel.roles import Role
from governance.kernel.throttling import LockedOut
from readiness import services
from tests.factories import PASSWORD, make_launch, make_user, pass_everything

pytestmark = pytest.mark.django_db

WRONG = "not the password at all"


@pytest.fixture(autouse=True)
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return 3


def log_in(username, password, address="10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    return client, client.post("/login/", {"username": username, "password": password})


def test_account_is_locked_after_the_failure_limit(limit):
    make_user("alice", Role.DATA_SCIENCE)
    answers = [log_in("alice", WRONG)[1].status_code for _ in range(limit)]
    assert answers[:-1] == [200] * (limit - 1) and answers[-1] == 429
    client, response = log_in("alice", PASSWORD, address="10.0.0.2")  # the right password, from elsewhere
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_says_for_how_long():
    make_user("alice", Role.DATA_SCIENCE)
    for _ in range(3):
        _, response = log_in("alice", WRONG)
    text = response.content.decode()
    assert "locked for 15 minutes" in text and "administrator" in text


def test_address_is_locked_after_failures_across_accounts():
    make_user("alice", Role.DATA_SCIENCE)
    for name in ("bob", "carol", "dave"):  # one failure each: no account reaches the limit, the address does
        log_in(name, WRONG, address="10.9.9.9")
    assert log_in("alice", PASSWORD, address="10.9.9.9")[1].status_code == 429
    assert log_in("alice", PASSWORD, address="10.0.0.3")[1].status_code == 302


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
    assert audit.verify_chain()[1] is None


def test_administrator_unlocks_an_account():
    make_user("alice", Role.DATA_SCIENCE)
    make_user("root", superuser=True)
    for _ in range(3):
        log_in("alice", WRONG)
    admin = Client()
    admin.force_login(make_user("admin2", superuser=True))
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    response = admin.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids,
                                                        "post": "yes"})
    assert response.status_code == 302 and not AccessAttempt.objects.exists()
    assert log_in("alice", PASSWORD)[1].status_code == 302


def test_signature_password_is_throttled_with_logins(client):
    author = make_user("author", Role.DATA_SCIENCE)
    signer = make_user("cole", Role.COMPLIANCE)
    launch = pass_everything(make_launch(author=author), attester=make_user("ds2", Role.DATA_SCIENCE))
    services.submit_for_review(launch, actor=author)
    launch.refresh_from_db()
    client.force_login(signer)
    form = {"role": "COMPLIANCE", "decision": "APPROVE", "content_hash": launch.content_hash}
    for _ in range(3):
        response = client.post(f"/launches/{launch.pk}/sign/", {**form, "password": WRONG})
    assert response.status_code == 429 and "locked for 15 minutes" in response.content.decode()
    with pytest.raises(LockedOut):
        services.sign_off(launch, actor=signer, role="COMPLIANCE", decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    assert not launch.signoffs.exists()
    assert log_in("cole", PASSWORD, address="10.7.7.7")[1].status_code == 429


def test_password_validators_refuse_weak_passwords():
    for weak in ("short1", "password1234", "12345678901234"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("a long and unusual passphrase")

"""Anchors outside the database: the chain head, copied where the database cannot rewrite it, exposes a log
that was emptied, cut back, or rewritten with every hash recomputed — and the command names which."""

import os
import stat

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from governance.kernel import anchors, audit
from governance.kernel.tasks import anchor_audit_log
from governance.models import AuditEvent
from tests.factories import tamper
from tests.governance.test_audit_log import _append
from tests.governance.tsa import LocalAuthority, make_authority

pytestmark = pytest.mark.django_db


@pytest.fixture
def anchor_dir(settings, tmp_path):
    directory = tmp_path / "anchors"
    directory.mkdir()
    settings.AUDIT_ANCHOR_DIR = str(directory)
    settings.AUDIT_TSA_URL = ""
    settings.AUDIT_TSA_CA_FILE = ""
    return directory


def verify_fails() -> tuple[str, ...]:
    """The codes of what ``verify_audit_log`` found wrong (it must find something)."""
    with pytest.raises(CommandError) as info:
        call_command("verify_audit_log")
    assert info.value.code == "audit_log_not_intact"
    return info.value.reasons


def _rewrite_from(seq: int, after: dict):
    """Rewrite event ``seq`` and recompute its hash and every later one: a chain that verifies on its own."""
    prev_hash = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else audit.GENESIS_HASH
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        if event.seq == seq:
            event.after = after
        event.prev_hash, event.hash = prev_hash, audit.compute_hash(prev_hash, event)
        tamper("UPDATE governance_auditevent SET after = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [audit.canonical_json(event.after), event.prev_hash, event.hash, event.pk])
        prev_hash = event.hash


def test_an_anchor_holds_the_head_and_is_never_overwritten(anchor_dir):
    _append(3)
    anchor = anchors.write_anchor()
    head = anchors.chain_head()
    assert (anchor.seq, anchor.hash) == (3, head.hash)
    assert anchors.write_anchor() is None, "an unchanged head is not anchored twice"
    path = anchor_dir / anchor.source
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    with pytest.raises(FileExistsError):
        anchors._write_exclusively(path, b"{}")
    _append(2)
    assert anchors.write_anchor().seq == 5 and len(list(anchor_dir.glob("*.json"))) == 2


def test_the_periodic_task_and_the_command_write_anchors(anchor_dir, capsys):
    _append(2)
    assert anchor_audit_log.delay().get() is not None
    _append(1)
    call_command("anchor_audit_log")
    assert "Anchored event #3" in capsys.readouterr().out


def test_an_intact_log_agrees_with_its_anchors_and_says_what_is_not_yet_anchored(anchor_dir, capsys):
    _append(4)
    anchors.write_anchor()
    _append(2)
    call_command("verify_audit_log")
    out = capsys.readouterr().out
    assert "6 events verified" in out and "Consistent with 1 anchors" in out
    assert "2 later events are vouched for by the chain alone" in out


def test_without_anchors_the_command_says_what_it_cannot_detect(settings, capsys):
    settings.AUDIT_ANCHOR_DIR = ""
    _append(1)
    call_command("verify_audit_log")
    assert "cannot be detected" in capsys.readouterr().out


def test_removing_the_newest_events_is_detected(anchor_dir):
    _append(5)
    anchors.write_anchor()
    tamper("DELETE FROM governance_auditevent WHERE seq >= %s", [4])
    assert audit.verify_chain() == (3, None), "the shortened chain is consistent on its own"
    assert verify_fails() == ("log_shortened",)


def test_a_rewritten_chain_with_recomputed_hashes_is_detected(anchor_dir):
    _append(5)
    anchors.write_anchor()
    _rewrite_from(2, {"i": 1, "note": "rewritten"})
    assert audit.verify_chain() == (5, None), "the forged chain is consistent on its own"
    assert verify_fails() == ("anchor_mismatch",)


def test_a_head_printed_on_a_report_is_an_anchor_too(settings):
    settings.AUDIT_ANCHOR_DIR = ""
    _append(3)
    printed = anchors.chain_head()
    _rewrite_from(1, {"i": 0, "note": "rewritten"})
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit_log", "--head", f"{printed.seq}:{printed.hash}")
    assert (caught.value.code, caught.value.reasons) == ("audit_log_not_intact", ("anchor_mismatch",))


@pytest.mark.postgres
def test_truncation_with_the_trigger_dropped_is_detected(anchor_dir):
    _append(4)
    anchors.write_anchor()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("DROP TRIGGER governance_auditevent_no_truncate ON governance_auditevent")
        cursor.execute("TRUNCATE governance_auditevent, governance_auditsource")
    assert audit.verify_chain() == (0, None)
    assert verify_fails() == ("protection_missing", "log_emptied")  # the dropped trigger is named too


@pytest.mark.postgres
def test_truncation_followed_by_new_events_is_detected(anchor_dir):
    _append(4)
    anchors.write_anchor()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("DROP TRIGGER governance_auditevent_no_truncate ON governance_auditevent")
        cursor.execute("TRUNCATE governance_auditevent, governance_auditsource")
    _append(6)  # the chain restarts at #1 from the genesis hash and verifies on its own
    assert audit.verify_chain() == (6, None)
    assert verify_fails() == ("protection_missing", "written_after_anchor")


# -- RFC 3161 timestamps from a local authority (OpenSSL's `openssl ts`) --------------------------------------

@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tsa")
    ca_file = make_authority(directory)
    with LocalAuthority(directory) as tsa:
        tsa.ca_file = str(ca_file)
        yield tsa


def test_anchors_carry_a_timestamp_that_verifies(anchor_dir, settings, authority, capsys):
    settings.AUDIT_TSA_URL, settings.AUDIT_TSA_CA_FILE = authority.url, authority.ca_file
    _append(3)
    anchor = anchors.write_anchor()
    assert anchor.token_path.exists() and authority.requests >= 1
    call_command("verify_audit_log")
    assert "1 with verified timestamps" in capsys.readouterr().out


def test_a_forged_anchor_file_fails_its_timestamp(anchor_dir, settings, authority):
    """Someone who can write to the anchor directory cannot make an anchor agree with a rewritten chain."""
    settings.AUDIT_TSA_URL, settings.AUDIT_TSA_CA_FILE = authority.url, authority.ca_file
    _append(3)
    anchor = anchors.write_anchor()
    _rewrite_from(1, {"i": 0, "note": "rewritten"})
    path = anchor_dir / anchor.source
    path.chmod(0o644)
    path.write_text(path.read_text().replace(anchor.hash, anchors.chain_head().hash))
    assert verify_fails() == ("timestamp_invalid",)


def test_an_authority_that_does_not_answer_is_an_error(anchor_dir, settings):
    settings.AUDIT_TSA_URL = "http://127.0.0.1:9/"
    _append(1)
    with pytest.raises(anchors.AnchorError) as caught:
        anchors.write_anchor()
    assert caught.value.code == "tsa_unreachable"
    assert not list(anchor_dir.iterdir()), "no anchor without the timestamp that was asked for"

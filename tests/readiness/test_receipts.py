"""Gate receipts are evidence anyone can check: Ed25519 signatures, published keys, expiry, rotation."""

import base64
import json
from datetime import UTC, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from governance.kernel.signing import private_key_pem, public_key_pem
from readiness import gate
from tests.readiness.test_gate_api import approved_launch, ask, bearer

pytestmark = pytest.mark.django_db


def new_key() -> str:
    return private_key_pem(Ed25519PrivateKey.generate())


@pytest.fixture
def signing_key(settings):
    settings.GATE_SIGNING_KEY = new_key()
    settings.GATE_RETIRED_KEYS = ""
    return settings.GATE_SIGNING_KEY


def verdict(decision="allow"):
    return {"decision": decision, "model": "credit-line", "version": "5.0", "stage": "full", "launch": 7,
            "status": "APPROVED", "reasons": [], "content_hash": "ab" * 32, "evaluated_at": "2025-01-01T00:00:00Z"}


def b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_receipt_verifies_with_only_the_published_public_key(api_client, token_for, people, signing_key):
    """The README's snippet: the keys from /api/v1/keys/ (no account needed) and a few lines of cryptography."""
    launch = approved_launch(people)
    _, secret = token_for("gate:read")
    receipt = ask(bearer(api_client, secret), launch).json()["receipt"]
    api_client.credentials()
    jwks = api_client.get("/api/v1/keys/").json()

    header, body, signature = receipt.split(".")
    key = next(k for k in jwks["keys"] if k["kid"] == json.loads(b64(header))["kid"])
    Ed25519PublicKey.from_public_bytes(b64(key["x"])).verify(b64(signature), f"{header}.{body}".encode())
    payload = json.loads(b64(body))
    assert payload["decision"] == "allow" and key["status"] == "active"
    assert payload["issued_at"] < payload["valid_until"]


def test_an_altered_receipt_fails(signing_key):
    header, body, signature = gate.sign_receipt(verdict("deny")).split(".")
    payload = json.loads(b64(body))
    payload["decision"] = "allow"
    altered = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    check = gate.verify_receipt(f"{header}.{altered}.{signature}")
    assert (check.status, check.code) == ("invalid", "bad_signature")
    with pytest.raises(CommandError) as caught:
        call_command("verify_gate_receipt", f"{header}.{altered}.{signature}")
    assert (caught.value.code, caught.value.reasons) == ("receipt_invalid", ("bad_signature",))


def test_a_receipt_signed_with_another_key_fails(settings, signing_key):
    """The development key (in the repository) cannot forge a receipt a production Gatehouse accepts."""
    settings.GATE_SIGNING_KEY = ""
    forged = gate.sign_receipt(verdict())
    settings.GATE_SIGNING_KEY = signing_key
    check = gate.verify_receipt(forged)
    assert (check.status, check.code) == ("invalid", "unknown_key")


def test_an_expired_receipt_is_reported_expired(settings, signing_key, capsys):
    settings.GATE_RECEIPT_TTL_SECONDS = 600
    old = gate.sign_receipt(verdict(), now=timezone.now() - timedelta(minutes=11))
    check = gate.verify_receipt(old)
    assert check.status == "expired" and check.verdict["decision"] == "allow"
    with pytest.raises(CommandError) as caught:
        call_command("verify_gate_receipt", old)
    assert caught.value.code == "receipt_expired"
    fresh = gate.sign_receipt(verdict(), now=timezone.now() - timedelta(minutes=9))
    assert gate.verify_receipt(fresh).valid


def test_validity_is_short_by_default(settings, signing_key):
    payload = json.loads(b64(gate.sign_receipt(verdict()).split(".")[1]))
    issued, until = (timezone.datetime.fromisoformat(payload[k]) for k in ("issued_at", "valid_until"))
    assert until - issued == timedelta(seconds=settings.GATE_RECEIPT_TTL_SECONDS) <= timedelta(hours=1)


def test_a_receipt_signed_by_a_retired_key_still_verifies(settings, signing_key, api_client):
    before_rotation = gate.sign_receipt(verdict())
    old_public = public_key_pem(Ed25519PrivateKey.from_private_bytes(b"\0" * 32).public_key())  # noise key
    settings.GATE_SIGNING_KEY = new_key()
    from governance.kernel.signing import parse_private_key

    settings.GATE_RETIRED_KEYS = public_key_pem(parse_private_key(signing_key).public_key()) + old_public

    check = gate.verify_receipt(before_rotation)
    assert check.valid and check.key_status == "retired"
    after_rotation = gate.sign_receipt(verdict())
    assert gate.verify_receipt(after_rotation).key_status == "active"
    statuses = {k["kid"]: k["status"] for k in api_client.get("/api/v1/keys/").json()["keys"]}
    assert statuses[check.kid] == "retired" and sorted(statuses.values()) == ["active", "retired", "retired"]


def test_verify_command_uses_a_saved_copy_of_the_published_keys(settings, signing_key, tmp_path, capsys):
    receipt = gate.sign_receipt(verdict())
    call_command("print_signing_keys")
    keys = tmp_path / "keys.json"
    keys.write_text(capsys.readouterr().out)
    settings.GATE_SIGNING_KEY = new_key()  # this Gatehouse no longer knows the key; the saved copy does
    call_command("verify_gate_receipt", receipt, "--keys", str(keys))
    assert "Valid receipt: allow" in capsys.readouterr().err


def test_keys_are_public_and_never_private(api_client, signing_key):
    response = api_client.get("/api/v1/keys/")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "use", "alg", "status"} and key["crv"] == "Ed25519"


def claims(receipt: str) -> dict:
    return json.loads(b64(receipt.split(".")[1]))


def test_receipts_carry_the_registered_jwt_claims_and_the_artifact_digest(api_client, token_for, people, signing_key):
    """A library that checks only standard claims must see the expiry: exp, nbf, iat (RFC 7519 §4.1), a jti."""
    launch = approved_launch(people)
    _, secret = token_for("gate:read")
    body = ask(bearer(api_client, secret), launch).json()
    payload = claims(body["receipt"])
    assert payload["artifact_sha256"] == launch.version.artifact_sha256 == body["artifact_sha256"]
    assert payload["iat"] == payload["nbf"]
    assert payload["exp"] - payload["iat"] == timezone.datetime.fromisoformat(payload["valid_until"]).timestamp() \
        - timezone.datetime.fromisoformat(payload["issued_at"]).timestamp()
    other = claims(ask(api_client, launch).json()["receipt"])
    assert len(payload["jti"]) == 32 and other["jti"] != payload["jti"]


def test_expiry_is_read_from_the_exp_claim(settings, signing_key):
    settings.GATE_RECEIPT_TTL_SECONDS = 600
    receipt = gate.sign_receipt(verdict())
    payload = claims(receipt)
    at = timezone.datetime.fromtimestamp(payload["exp"], tz=UTC)
    assert gate.verify_receipt(receipt, now=at - timedelta(seconds=1)).valid
    assert gate.verify_receipt(receipt, now=at).code == "expired"
    early = timezone.datetime.fromtimestamp(payload["nbf"] - 1, tz=UTC)
    assert gate.verify_receipt(receipt, now=early).code == "not_yet_valid"


def test_a_receipt_without_exp_is_invalid(settings, signing_key):
    from governance.kernel import signing
    payload = {**verdict(), "reasons": [], "issued_at": timezone.now(), "valid_until": timezone.now() + timedelta(hours=1)}
    receipt = signing.keyring().sign(payload, typ=gate.RECEIPT_TYPE)
    assert gate.verify_receipt(receipt).code == "no_expiry"


@pytest.mark.parametrize("name, wrong", [("model", "other-model"), ("version", "5.1"), ("stage", "canary"),
                                         ("digest", "cd" * 32)])
def test_a_receipt_for_something_else_is_refused(settings, signing_key, name, wrong, capsys):
    receipt = gate.sign_receipt({**verdict(), "artifact_sha256": "ab" * 32})
    right = {"model": "credit-line", "version": "5.0", "stage": "full", "digest": "ab" * 32}
    assert gate.verify_receipt(receipt, expect=right).valid
    check = gate.verify_receipt(receipt, expect={**right, name: wrong})
    assert check.status == "invalid" and check.code == "not_as_expected" and name in check.reason
    call_command("verify_gate_receipt", receipt, expect=",".join(f"{k}={v}" for k, v in right.items()))
    with pytest.raises(CommandError) as caught:
        call_command("verify_gate_receipt", receipt, expect=f"{name}={wrong}")
    assert caught.value.code == "receipt_invalid"


def test_verify_command_refuses_an_unknown_expectation(signing_key):
    with pytest.raises(CommandError) as caught:
        call_command("verify_gate_receipt", gate.sign_receipt(verdict()), expect="colour=blue")
    assert caught.value.code == "bad_expect"


def test_the_api_refuses_a_receipt_for_another_artifact(api_client, signing_key):
    receipt = gate.sign_receipt({**verdict(), "artifact_sha256": "ab" * 32})
    right = {"model": "credit-line", "version": "5.0", "stage": "full", "digest": "ab" * 32}
    ok = api_client.post("/api/v1/receipts/verify/", {"receipt": receipt, "expect": right}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "valid"
    wrong = api_client.post("/api/v1/receipts/verify/", {"receipt": receipt, "expect": {**right, "digest": "cd" * 32}},
                            format="json")
    assert wrong.status_code == 200 and wrong.json()["code"] == "not_as_expected"
    bad = api_client.post("/api/v1/receipts/verify/", {"receipt": receipt, "expect": {"colour": "blue"}}, format="json")
    assert bad.status_code == 400

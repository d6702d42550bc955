"""Ed25519 signatures anyone can check with a published public key: JWS compact form, algorithm EdDSA.

The signing key and the retired keys come from settings (``GATE_SIGNING_KEY`` and ``GATE_RETIRED_KEYS``, each
also readable from a ``*_FILE``). Retired keys sign nothing but stay published, so what they signed stays
verifiable after a rotation. A key's id is its RFC 7638 thumbprint, so it never needs configuring. Without a
configured key a fixed development key signs; outside development mode Gatehouse refuses to start without a
real one (``governance/kernel/checks.py``).
"""

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from governance.kernel.canonical import canonical_json

ACTIVE, RETIRED, DEVELOPMENT = "active", "retired", "development"
_DEVELOPMENT_SEED = hashlib.sha256(b"gatehouse development signing key: never trusted").digest()
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.S)


class KeyConfigurationError(ValueError):
    """A configured key is not an Ed25519 key in a form Gatehouse reads."""


class SignatureError(ValueError):
    """A token that does not verify; the message says why, ``code`` says it for programs and tests:
    ``not_a_token``, ``wrong_algorithm``, ``unknown_key`` or ``bad_signature``."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint: the same key always has the same id, wherever it is published."""
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": b64url(_raw(public))}, separators=(",", ":"),
                         sort_keys=True)
    return b64url(hashlib.sha256(members.encode()).digest())


def _ders(text: str) -> list[bytes]:
    """PEM blocks, or base64 DER bodies separated by commas or whitespace."""
    blocks = [body for _, body in _PEM_BLOCK.findall(text)]
    parts = blocks or [p for p in re.split(r"[\s,]+", text) if p]
    try:
        return [base64.b64decode("".join(part.split())) for part in parts]
    except ValueError as error:
        raise KeyConfigurationError("a key is neither PEM nor base64 DER") from error


def _load(der: bytes) -> Ed25519PrivateKey | Ed25519PublicKey:
    for loader in (lambda d: serialization.load_der_private_key(d, password=None),
                   serialization.load_der_public_key):
        try:
            key = loader(der)
        except (ValueError, TypeError):
            continue
        if isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
            return key
        raise KeyConfigurationError("a configured key is not an Ed25519 key")
    raise KeyConfigurationError("a configured key is neither a private nor a public key in DER/PEM form")


def parse_private_key(text: str) -> Ed25519PrivateKey:
    keys = [_load(der) for der in _ders(text)]
    if len(keys) != 1 or not isinstance(keys[0], Ed25519PrivateKey):
        raise KeyConfigurationError("the signing key must be exactly one Ed25519 private key")
    return keys[0]


def parse_public_keys(text: str) -> list[Ed25519PublicKey]:
    """Public keys; a private key given here counts as its public half."""
    keys = [_load(der) for der in _ders(text)]
    return [k.public_key() if isinstance(k, Ed25519PrivateKey) else k for k in keys]


def private_key_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class PublishedKey:
    kid: str
    key: Ed25519PublicKey
    status: str

    def jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(_raw(self.key)), "kid": self.kid, "use": "sig",
                "alg": "EdDSA", "status": self.status}


@dataclass(frozen=True)
class KeyRing:
    signing_key: Ed25519PrivateKey
    signing_kid: str
    published: dict[str, PublishedKey]

    def sign(self, payload: dict[str, Any], *, typ: str) -> str:
        header = b64url(canonical_json({"alg": "EdDSA", "kid": self.signing_kid, "typ": typ}).encode())
        body = b64url(canonical_json(payload).encode())
        signature = self.signing_key.sign(f"{header}.{body}".encode())
        return f"{header}.{body}.{b64url(signature)}"

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.jwk() for key in self.published.values()]}


def verify_token(token: str, keys: dict[str, PublishedKey]) -> tuple[dict[str, Any], PublishedKey]:
    """The payload of a JWS signed by one of ``keys`` and the key that signed it; SignatureError otherwise."""
    try:
        header_b64, body_b64, signature_b64 = token.strip().split(".")
        header = json.loads(b64url_decode(header_b64))
        signature = b64url_decode(signature_b64)
    except ValueError as error:
        raise SignatureError("not a signed token (three base64url parts separated by dots)", code="not_a_token") from error
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise SignatureError("not signed with EdDSA", code="wrong_algorithm")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise SignatureError(f"signed with an unknown key {header.get('kid')!r}", code="unknown_key")
    try:
        key.key.verify(signature, f"{header_b64}.{body_b64}".encode())
    except InvalidSignature as error:
        raise SignatureError("the signature does not match the content: it was altered or forged", code="bad_signature") from error
    payload: dict[str, Any] = json.loads(b64url_decode(body_b64))
    return payload, key


def keys_from_jwks(document: dict[str, Any]) -> dict[str, PublishedKey]:
    """The keys of a JWKS document as served at /api/v1/keys/, for verifying without this server's settings."""
    keys = {}
    for jwk in document.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
            keys[key_id(public)] = PublishedKey(key_id(public), public, jwk.get("status", ACTIVE))
    return keys


@lru_cache(maxsize=4)
def _keyring(signing: str, retired: str) -> KeyRing:
    if signing.strip():
        private, status = parse_private_key(signing), ACTIVE
    else:
        private, status = Ed25519PrivateKey.from_private_bytes(_DEVELOPMENT_SEED), DEVELOPMENT
    kid = key_id(private.public_key())
    published = {kid: PublishedKey(kid, private.public_key(), status)}
    for public in parse_public_keys(retired) if retired.strip() else []:
        published.setdefault(key_id(public), PublishedKey(key_id(public), public, RETIRED))
    return KeyRing(private, kid, published)


def keyring() -> KeyRing:
    """The configured keys (parsed once per configuration)."""
    return _keyring(settings.GATE_SIGNING_KEY or "", settings.GATE_RETIRED_KEYS or "")

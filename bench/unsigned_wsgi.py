"""The Gatehouse WSGI app with receipts left unsigned: the baseline that prices the Ed25519 signature.

For bench/gate.py only. Everything else (the verdict, its canonical JSON and base64 encoding) is unchanged, so
the difference in throughput is the signature alone."""

from config.wsgi import application
from governance.kernel import signing
from governance.kernel.canonical import canonical_json


def _unsigned(self, payload: dict, *, typ: str) -> str:
    header = signing.b64url(canonical_json({"alg": "none", "kid": self.signing_kid, "typ": typ}).encode())
    return f"{header}.{signing.b64url(canonical_json(payload).encode())}."


signing.KeyRing.sign = _unsigned

__all__ = ["application"]

"""A throw-away receipt signing key for a benchmark's own server: production mode refuses to start without one,
and a key made for the run is never a key anyone could reuse."""


def throwaway_signing_key() -> str:
    """A fresh Ed25519 key for this run's receipts (PKCS#8 DER, base64): the server refuses to start without one."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    der = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    return base64.b64encode(der).decode()

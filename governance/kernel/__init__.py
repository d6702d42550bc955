"""Layer 1, the kernel: people, roles, principals, permissions, API tokens, the audit log, canonical
hashing, domain errors, idempotency and web helpers.

The bottom layer: may import only Django, libraries and itself.
"""

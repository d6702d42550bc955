"""Layer 2, the inventory: models, versions and features with provenance.

May import the kernel only; never the policies' services, readiness or anything above. Higher layers hear
of changes through ``signals.py``.
"""

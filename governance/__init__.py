"""The governance app: three layers (kernel, inventory, policies) and the pure statistics engine.

Nothing here may import readiness, postmortems, registry, reporting, dashboard, examples or config.
"""

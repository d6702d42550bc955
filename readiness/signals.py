"""Signals launch readiness sends so that layers above it can act without readiness importing them."""

from django.dispatch import Signal

# Sent inside the transaction that rolled a launch back, with ``launch``, ``actor``, ``now`` and ``incident``
# (the keyword arguments of the incident the rollback calls for: title, severity, times, timeline). The
# postmortems app opens that incident in the same transaction and returns it.
launch_rolled_back = Signal()

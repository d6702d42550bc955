"""Signals the tier policies send so that layers above them can react without the policies importing them."""

from django.dispatch import Signal

# Sent inside the transaction that approved a policy change, with ``change``, ``version`` (the new policy
# version), ``tier`` and ``actor``: model risk opens a revalidation need for each model of that tier.
policy_changed = Signal()

"""Layer 2, the tier policies: their two-person changes, defaults, validation and the rule expressions
(``expressions.py``, pure).

May import the kernel and the inventory; never readiness or anything above.
"""

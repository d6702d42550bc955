"""The reader's words for a verdict, in one table: what a checklist item's state and a guardrail's state are
called wherever they are printed (pages, reports, e-mails, gate details).

A check that could not decide is *inconclusive*, never *failing*: it holds a launch back for want of evidence,
not because the evidence is against it, and a committee reading "failing" would hear the second. Pure Python,
so every layer may use it.
"""

ITEM_STATES = {
    "PASS": "passing",
    "FAIL": "failing",
    "INCONCLUSIVE": "inconclusive",
    "PENDING": "awaiting attestation",
    "MISSING": "awaiting data",
}
GUARDRAIL_STATES = {
    "PASSING": "passing",
    "BREACHED": "breached",
    "INSUFFICIENT_DATA": "no observations yet",
}
# The states that are evidence against a launch, printed as a failure; the others only lack evidence.
ADVERSE = frozenset({"FAIL", "BREACHED"})


def item_state(code: object) -> str:
    """``INCONCLUSIVE`` -> "inconclusive"; an unknown code reads as its words."""
    text = str(code or "")
    return ITEM_STATES.get(text) or text.replace("_", " ").lower()


def guardrail_state(code: object) -> str:
    text = str(code or "")
    return GUARDRAIL_STATES.get(text) or text.replace("_", " ").lower()


def is_adverse(code: object) -> bool:
    return str(code or "") in ADVERSE


def not_passing(count: int) -> str:
    """The words for blocking items that hold a launch back whatever their state."""
    return f"{count} more blocking item{'' if count == 1 else 's'} not passing"

"""Words for codes: what a reader sees instead of ``DATA_SCIENCE``, ``TIER_1`` or ``null_rate_delta_max``.

Reports, pages and e-mails speak to people; the codes are what the API speaks. A code this module does not know
is still made readable (underscores and dots become spaces), never shown raw. Metric names also carry their unit,
so a figure is never printed without one.
"""

import re

from governance.kernel.roles import Role

# Status and tier codes of every app, with the wording a committee reads. Kept here (not imported from the apps)
# because the kernel sits below them; the apps' choices use the same words.
CODES = {
    "TIER_1": "Tier 1 (high risk)", "TIER_2": "Tier 2 (medium risk)", "TIER_3": "Tier 3 (low risk)",
    "IN_REVIEW": "In review", "ROLLING_OUT": "Rolling out", "ROLLED_BACK": "Rolled back",
    "INSUFFICIENT_DATA": "Insufficient data", "INCONCLUSIVE": "Inconclusive",
    "APPROVE_WITH_CONDITIONS": "Approve with conditions", "SEV1": "SEV 1", "SEV2": "SEV 2", "SEV3": "SEV 3",
    "SEV4": "SEV 4", "OK": "OK", "ACT": "Act", "WATCH": "Watch", "PASS": "Pass", "FAIL": "Fail",
    "MISSING": "No data", "ALERT": "Alert", "PAUSE": "Pause", "ROLLBACK": "Roll back",
}

# Metric name -> (label, unit). Units: "" (a plain number or ratio), "%" (a percentage), "pp" (percentage points),
# "ms" (milliseconds).
METRICS = {
    "approval_air": ("Approval-rate adverse-impact ratio", ""),
    "psi_max": ("Largest population stability index (PSI) across features", ""),
    "psi.max": ("Largest population stability index (PSI) across features", ""),
    "null_rate_delta_max": ("Largest change in a feature's null rate", ""),
    "p95_latency_ms": ("95th-percentile latency", "ms"),
    "latency_delta_ms": ("Latency change against the champion", "ms"),
    "ctr_delta_pct": ("Click-through-rate change against the champion", "%"),
    "add_to_cart_delta_pct": ("Add-to-cart change against the champion", "%"),
    "add_to_cart_lift_pct": ("Add-to-cart lift against the champion", "%"),
    "early_delinquency_ratio": ("Early-delinquency ratio against the champion", ""),
    "auc": ("Area under the ROC curve (AUC)", ""),
    "ks": ("Kolmogorov–Smirnov statistic", ""),
    "f1": ("F1 score", ""),
}

_PREFIXES = [  # (pattern, label template) for metric families keyed by a feature or group name
    (re.compile(r"^psi[._](?P<x>.+)$"), "PSI of {x}"),
    (re.compile(r"^null_rate[._](?P<x>.+)$"), "null rate of {x}"),
    (re.compile(r"^fairness\.air\.ci_low$"), "Adverse-impact ratio, lower 95 % bound"),
    (re.compile(r"^fairness\.air\.(?P<x>.+)$"), "Adverse-impact ratio ({x})"),
    (re.compile(r"^fairness\.(?P<x>.+)$"), "Fairness: {x}"),
]


def humanize(code: str) -> str:
    """``null_rate_delta_max`` -> ``Null rate delta max``: the fallback for a code without a label."""
    text = re.sub(r"[_.]+", " ", str(code or "")).strip()
    if not text:
        return ""
    return text[0].upper() + text[1:].lower() if text.isupper() else text[0].upper() + text[1:]


def role_label(code: str) -> str:
    try:
        return Role(code).label
    except ValueError:
        return humanize(code)


def label(code) -> str:
    """The reader's word for any role, tier or status code."""
    if code is None or code == "":
        return ""
    code = str(code)
    if code in Role.values:
        return Role(code).label
    if code in CODES:
        return CODES[code]
    return humanize(code)


def metric_label(name: str) -> str:
    if name in METRICS:
        return METRICS[name][0]
    for pattern, template in _PREFIXES:
        match = pattern.match(name)
        if match:
            return template.format(**{k: v.replace("_", " ") for k, v in match.groupdict().items()})
    return humanize(re.sub(r"_(ms|pct)$", "", name))


def metric_unit(name: str) -> str:
    if name in METRICS:
        return METRICS[name][1]
    if name.endswith("_ms"):
        return "ms"
    if name.endswith("_pct"):
        return "%"
    return ""


def with_unit(value, unit: str, *, digits: int = 3) -> str:
    """A number with its unit: ``140 ms``, ``-1.2 %``, ``0.812``. Uses a true minus sign."""
    if value is None:
        return "—"
    number = f"{value:,.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    number = number.replace("-", "−")
    return f"{number} {unit}" if unit else number


_CODE_IN_PROSE = re.compile(r"\b(?:[A-Z]+(?:_[A-Z0-9]+)+|[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:\.[a-z0-9_]+)?)\b")


def in_prose(text: str) -> str:
    """Text written by the software (a guardrail's detail, a blocker) with role, tier and metric codes replaced by
    their labels, so that a committee reads words: ``approval_air = 0.71`` -> ``Approval-rate adverse-impact
    ratio = 0.71``."""
    def word(match):
        code = match.group(0)
        if code in Role.values or code in CODES:
            return label(code)
        if code in METRICS or code.startswith(("psi_", "psi.", "null_rate_")) or code.endswith(("_pct", "_ms")):
            return metric_label(code)
        return code

    return _CODE_IN_PROSE.sub(word, str(text or ""))

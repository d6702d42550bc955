"""How values read to people: the one formatting layer for pages, e-mails and PDFs.

Stored values and the API speak codes (``TIER_2``, ``DATA_SCIENCE``, ``IN_REVIEW``, ``checklist.attested``,
``null_rate_delta_max``, minutes as integers); people read words ("Tier 2 (medium risk)", "Data Science",
"In review", "Checklist item attested", "Largest change in a feature's null rate", "30 days"). Every template,
the pages' and the PDFs' alike, reaches these functions through the filters in
``governance.templatetags.gatehouse``; e-mails and the report builders call them directly. Each kind of code has
one table here, so a page and a report cannot word the same thing two ways. One number format everywhere:
thousands separated by commas (9,209), a thin set of decimals, a true minus sign, percentages with a space
before the sign (5 %), intervals with an en dash, money with its currency code (−18,000 USD). A code no table
knows still reads as words, never raw.

Pure functions of plain values: no ORM, no request. Nothing above the kernel is imported.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.utils import timezone
from django.utils.dateformat import format as date_format

from governance.kernel.roles import Role

NBSP = "\u00a0"
MINUS = "\u2212"

TIERS = {
    "TIER_1": "Tier 1 (high risk)",
    "TIER_2": "Tier 2 (medium risk)",
    "TIER_3": "Tier 3 (low risk)",
}
TIERS_SHORT = {"TIER_1": "Tier 1", "TIER_2": "Tier 2", "TIER_3": "Tier 3"}

# Codes that are not a stored choice (verdicts and states computed by the statistics engine and the guardrails),
# or that two models word differently, with the words a reader sees. Every other code reads as the label its
# model's choices give it (``choice_words``), and failing that as its own words ("ROLLED_BACK" -> "Rolled back").
STATUSES = {
    "OK": "OK", "MISSING": "No data", "ROLLBACK": "Roll back", "ALERT": "Alert", "PENDING": "Pending",
    "FAILED": "Failed",
}

# Audit verbs as a sentence would say them; a verb not listed reads as its words ("launch.memo_updated" ->
# "Launch memo updated").
VERBS = {
    "launch.created": "Launch created",
    "launch.imported": "Launch imported",
    "launch.status_changed": "Status changed",
    "launch.memo_updated": "Decision memo edited",
    "launch.content_changed": "Signed content changed",
    "checklist.attested": "Checklist item attested",
    "checklist.waived": "Checklist item waived",
    "checklist.waiver_revoked": "Waiver revoked",
    "signoff.given": "Signed off",
    "signoff.staled": "Signature went stale",
    "evaluation.submitted": "Evaluation submitted",
    "rollout.plan_updated": "Rollout plan edited",
    "rollout.stage_entered": "Next stage entered",
    "rollout.stage_approved": "Leaving the stage approved",
    "rollout.paused": "Rollout paused",
    "guardrail.state_changed": "Guardrail state changed",
    "observations.recorded": "Observations recorded",
    "incident.opened": "Incident opened",
    "incident.updated": "Incident updated",
    "incident.transitioned": "Incident status changed",
    "incident.timeline_event_added": "Timeline event added",
    "incident.factor_added": "Contributing factor added",
    "incident.recurrence_marked": "Marked as a recurrence",
    "action_item.added": "Action item added",
    "action_item.updated": "Action item updated",
    "action_item.policy_change_proposed": "Policy change proposed from an action item",
    "postmortem.started": "Postmortem started",
    "postmortem.edited": "Postmortem edited",
    "postmortem.submitted": "Postmortem sent for review",
    "postmortem.reviewed": "Postmortem reviewed",
    "postmortem.published": "Postmortem published",
    "postmortem.amended": "Postmortem amended",
    "policy.created": "Policy created",
    "policy.change_proposed": "Policy change proposed",
    "policy.change_approved": "Policy change approved",
    "policy.change_rejected": "Policy change rejected",
    "model.created": "Model registered",
    "model.updated": "Model updated",
    "version.created": "Version registered",
    "feature.added": "Feature added",
    "feature.updated": "Feature updated",
    "report.requested": "Report requested",
    "report.started": "Report started",
    "report.generated": "Report generated",
    "report.failed": "Report failed",
    "report.requeued": "Report queued again",
    "report.file_missing": "Report file missing",
    "token.issued": "API token issued",
    "token.revoked": "API token revoked",
    "role.granted": "Role granted",
    "role.revoked": "Role revoked",
    "person.created": "Person added",
}

SYSTEM_ACTORS = {
    "gatehouse": "Gatehouse",
    "seed_examples": "Gatehouse (seeded examples)",
    "evaluate_rollouts": "Gatehouse (rollout check)",
}

COMPARATORS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}


def words(code: object) -> str:
    """A code as words: ``IN_REVIEW`` -> "In review", ``third_party`` -> "Third party"."""
    if code in (None, ""):
        return ""
    text = str(code).replace("_", " ").replace(".", " ").strip().lower()
    return text[:1].upper() + text[1:]


def role(code: object) -> str:
    """``DATA_SCIENCE`` -> "Data Science"; an unknown code reads as words."""
    if code in (None, ""):
        return ""
    try:
        return Role(str(code)).label
    except ValueError:
        return words(code)


def roles(codes: Iterable[object] | None, conjunction: str = "and") -> str:
    return join([role(c) for c in codes or ()], conjunction)


def tier(code: object, *, short: bool = False) -> str:
    """``TIER_2`` -> "Tier 2 — medium", or "Tier 2" when short."""
    if code in (None, ""):
        return ""
    return (TIERS_SHORT if short else TIERS).get(str(code), words(code))


@functools.cache
def choice_words() -> dict[str, str]:
    """Every stored code's label, read from the installed models' choices, for the codes that mean one thing
    (a code two fields word differently is left to ``STATUSES``). The kernel imports no app for this: the app
    registry lists the models at run time, and the table is built once."""
    found: dict[str, set[str]] = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for value, text in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str) and value:
                    found.setdefault(value, set()).add(str(text))
    return {value: texts.pop() for value, texts in found.items() if len(texts) == 1}


def status(code: object) -> str:
    """A stored code as the words its model's choices give it: ``IN_REVIEW`` -> "In review", ``WONT_DO`` ->
    "Won't do", ``SEV1`` -> "SEV 1 — critical"; a code no model stores reads as its words."""
    if code in (None, ""):
        return ""
    code = str(code)
    return STATUSES.get(code) or choice_words().get(code) or words(code)


def label(code: object) -> str:
    """The reader's words for any role, tier or status code, when the caller does not know which it is."""
    if code in (None, ""):
        return ""
    code = str(code)
    if code in Role.values:
        return Role(code).label
    if code in TIERS:
        return TIERS[code]
    return status(code)


def verb(code: object) -> str:
    """An audit verb as a person reads it: ``checklist.attested`` -> "Checklist item attested"."""
    if not code:
        return ""
    return VERBS.get(str(code)) or words(code)


def actor(label: object, names: Mapping[str, str] | None = None) -> str:
    """An audit actor label: a person's display name when ``names`` knows it, "Gatehouse (seeded examples)" for
    ``system:seed_examples``, "API token “ci”" for ``token:ci``."""
    if not label:
        return "Gatehouse"
    label = str(label)
    if label.startswith("system:"):
        name = label.split(":", 1)[1]
        return SYSTEM_ACTORS.get(name) or f"Gatehouse ({words(name).lower()})"
    if label.startswith("token:"):
        return f"API token “{label.split(':', 1)[1]}”"
    if names and label in names:
        return names[label]
    return label


def join(items: Iterable[Any], conjunction: str = "and") -> str:
    items = [str(i) for i in items if i not in (None, "")]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def plural(n: int, unit: str) -> str:
    """A count and its unit, singular for one: "1 row", "2 rows", "12,825 rows"."""
    return f"{n:,} {unit}" if n == 1 else f"{n:,} {unit}s"


def duration(value: timedelta | float | str | None, *, parts: int = 2) -> str:
    """A timedelta or a number of seconds in words: "30 days", "1 day 4 hours", "45 minutes", "12 seconds".
    At most ``parts`` units, largest first; a negative value gets a minus sign."""
    if value in (None, ""):
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    negative = seconds < 0
    seconds = abs(int(round(seconds)))
    units = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    out = []
    for unit, size in units:
        n, seconds = divmod(seconds, size)
        if n:
            out.append(plural(n, unit))
        if len(out) == parts:
            break
    if not out:
        out = ["0 minutes"]
    text = " ".join(out)
    return f"{MINUS}{text}" if negative else text


def minutes(value: float | str | None, *, parts: int = 2) -> str:
    """A duration stored in minutes: 43200 -> "30 days"."""
    if value in (None, ""):
        return "—"
    return duration(timedelta(minutes=float(value)), parts=parts)


def trigger(window_minutes: float | None, failure_limit: int | None, sustain_minutes: float | None = 0) -> str:
    """When a guardrail acts, in one wording everywhere: "acts on 2 unhealthy observations in a row within
    1 day, held over 30 minutes". It describes the rule, never what was observed."""
    limit = int(failure_limit or 1)
    text = (f"acts on {limit} unhealthy observations in a row" if limit > 1 else "acts on one unhealthy observation")
    text += f" within {minutes(window_minutes)}"
    if sustain_minutes:
        text += f", held over {minutes(sustain_minutes)}"
    return text


def number(value: float | Decimal | str | None, places: int | None = None) -> str:
    """One number format: 9,209 · 0.812 · −0.4. ``places`` fixes the decimals; without it, integers have none
    and other values keep at most three significant decimals."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    if isinstance(value, Decimal):
        value = float(value)
    if places is None:
        if float(value).is_integer() and abs(value) >= 1 or value == 0:
            text = f"{int(value):,}"
        else:
            text = _significant(float(value))
    else:
        text = f"{float(value):,.{int(places)}f}"
    return text.replace("-", MINUS)


def _significant(value: float) -> str:
    """Up to three decimals, more only for tiny values (3 significant figures); trailing zeros dropped."""
    magnitude = abs(value)
    if magnitude >= 1:
        decimals = 3 if magnitude < 100 else (1 if magnitude < 1000 else 0)
    elif magnitude == 0:
        decimals = 0
    else:
        decimals = max(3, -int(math.floor(math.log10(magnitude))) + 2)
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def percent(value: float | Decimal | str | None, places: int = 1, *, ratio: bool = True, signed: bool = False) -> str:
    """A share as a percentage: 0.123 -> "12.3 %" (``ratio=False`` when the value is already in percent).
    ``signed`` shows a plus sign on increases, for deltas."""
    if value in (None, ""):
        return "—"
    pct = float(value) * (100 if ratio else 1)
    text = f"{pct:,.{int(places)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if signed and pct > 0:
        text = "+" + text
    return f"{text}{NBSP}%".replace("-", MINUS)


def interval(low: float | str | None, high: float | str | None, places: int | None = None) -> str:
    """A confidence interval: "0.74 – 0.86"."""
    if low in (None, "") or high in (None, ""):
        return "—"
    return f"{number(low, places)} – {number(high, places)}"


def money(amount: float | Decimal | str | None, currency: str = "USD") -> str:
    """An amount of money with its ISO currency code, which no reader can take for another currency:
    "1,250,000 USD", "12.50 EUR", "−18,000 USD" (cents only when there are some). An amount nobody assessed
    says so."""
    if amount in (None, ""):
        return "not assessed"
    amount = float(amount)
    text = f"{abs(amount):,.2f}"
    if text.endswith(".00"):
        text = text[:-3]
    text = f"{text} {str(currency or 'USD').upper()}"
    return f"{MINUS}{text}" if amount < 0 else text


METRIC_WORDS = {"air": "AIR", "psi": "PSI", "auc": "AUC", "ks": "KS", "ctr": "CTR", "p95": "p95", "ms": "ms",
                "eod": "EOD"}


def metric(name: object) -> str:
    """A metric key as words: ``approval_air`` -> "approval AIR", ``psi.income`` -> "PSI income"."""
    if not name:
        return ""
    parts = re.split(r"[._]", str(name))
    return " ".join(METRIC_WORDS.get(p.lower(), p) for p in parts if p)


# Metric name -> (label, unit), for reports and tables where a metric is named in full. Units: "" (a plain number
# or ratio), "%" (a percentage), "pp" (percentage points), "ms" (milliseconds).
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

_METRIC_FAMILIES = [  # (pattern, label template) for metric families keyed by a feature or group name
    (re.compile(r"^psi[._](?P<x>.+)$"), "PSI of {x}"),
    (re.compile(r"^null_rate[._](?P<x>.+)$"), "null rate of {x}"),
    (re.compile(r"^fairness\.air\.ci_low$"), "Adverse-impact ratio, lower 95 % bound"),
    (re.compile(r"^fairness\.air\.(?P<x>.+)$"), "Adverse-impact ratio ({x})"),
    (re.compile(r"^fairness\.(?P<x>.+)$"), "Fairness: {x}"),
]


def metric_label(name: object) -> str:
    """A metric named in full: ``null_rate_delta_max`` -> "Largest change in a feature's null rate"."""
    if not name:
        return ""
    name = str(name)
    if name in METRICS:
        return METRICS[name][0]
    for pattern, template in _METRIC_FAMILIES:
        match = pattern.match(name)
        if match:
            return template.format(**{k: v.replace("_", " ") for k, v in match.groupdict().items()})
    return words(re.sub(r"_(ms|pct)$", "", name))


def metric_unit(name: object) -> str:
    name = str(name or "")
    if name in METRICS:
        return METRICS[name][1]
    if name.endswith("_ms"):
        return "ms"
    if name.endswith("_pct"):
        return "%"
    return ""


def quantity(value: float | Decimal | str | None, unit: str = "") -> str:
    """A number with its unit, in the one number format: "140 ms", "−1.2 %", "0.812"."""
    text = number(value)
    if not unit or text == "—":
        return text
    return f"{text}{NBSP}%" if unit == "%" else f"{text} {unit}"


def metric_value(value: float | Decimal | str | None, name: object) -> str:
    """A metric's value with the metric's unit: ``metric_value(200, "p95_latency_ms")`` -> "200 ms"."""
    return quantity(value, metric_unit(name))


_CODE_IN_PROSE = re.compile(r"\b(?:[A-Z]+(?:_[A-Z0-9]+)+|[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:\.[a-z0-9_]+)?)\b")


def in_prose(text: object) -> str:
    """Text written by the software (a guardrail's detail, a blocker) with role, tier and metric codes replaced by
    their words, so that a committee reads words: ``approval_air = 0.71`` -> "Approval-rate adverse-impact
    ratio = 0.71"."""
    def word(match: re.Match[str]) -> str:
        code = match.group(0)
        if code in Role.values or code in TIERS or code in STATUSES or code.isupper():
            return label(code)
        if code in METRICS or code.startswith(("psi_", "psi.", "null_rate_")) or code.endswith(("_pct", "_ms")):
            return metric_label(code)
        return code

    return _CODE_IN_PROSE.sub(word, str(text or ""))


def moment(value: datetime | None, pattern: str = "j M Y H:i") -> str:
    """A moment with the zone it is shown in ("12 Mar 2025 14:05 UTC"); "—" when there is none."""
    if not value:
        return "—"
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{date_format(value, pattern)} {date_format(value, 'T')}"


def comparator(symbol: object) -> str:
    return COMPARATORS.get(str(symbol), str(symbol))


def rule(metric_name: object, comparator_symbol: object, threshold: float | Decimal | str | None) -> str:
    """A guardrail or check as it reads: "approval AIR ≥ 0.8"."""
    return f"{metric(metric_name)} {comparator(comparator_symbol)} {number(threshold)}"


def setting(key: str, value: object) -> str:
    """A policy setting as a line: ``air_floor = 0.8`` -> "Adverse-impact ratio floor: 0.8"."""
    return f"{SETTINGS.get(key, words(key))}: {setting_value(key, value)}"


SETTINGS = {
    "air_floor": "Adverse-impact ratio floor",
    "psi_act": "PSI act level",
    "psi_watch": "PSI watch level",
    "min_group_count": "Smallest group assessed",
    "bootstrap_samples": "Bootstrap resamples",
    "confidence": "Confidence level",
    "power": "Power",
    "alpha": "Significance level",
    "min_shadow_minutes": "Minimum shadow",
    "eo_max_diff": "Largest equal-opportunity difference",
    "null_rate_tolerance": "Null-rate tolerance",
}


def setting_value(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and str(key).endswith("_minutes"):
        return minutes(value)
    if isinstance(value, int | float) and str(key) in ("confidence", "power"):
        return percent(value)
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, list | tuple):
        return join([role(v) if str(v) in Role.values else str(v) for v in value])
    return str(value)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"(])")


def sentences(text: object) -> list[str]:
    """A message as its sentences, so a refusal with several reasons reads as a short list, not a paragraph."""
    return [s.strip() for s in _SENTENCE_END.split(str(text or "")) if s.strip()]


def fit(text: object, limit: int) -> str:
    """As much of ``text``'s first paragraph as fits in ``limit`` characters, in whole sentences, never cut inside
    one and never ended with "…": a summary is written to fit. The first sentence is kept whole even when it is
    longer than ``limit`` (a summary that says less than its first sentence would say something else)."""
    paragraph = " ".join(str(text or "").strip().split("\n\n")[0].split())
    if len(paragraph) <= limit:
        return paragraph
    kept: list[str] = []
    for sentence in sentences(paragraph):
        if kept and len(" ".join([*kept, sentence])) > limit:
            break
        kept.append(sentence)
    return " ".join(kept)

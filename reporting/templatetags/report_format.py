"""Formatting for reports: times with their zone, labels instead of codes, numbers with units and currency."""

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as date_format

from governance.kernel import labels

register = template.Library()


@register.filter
def when(value, fmt="j M Y H:i"):
    """A moment with the zone it is shown in (``12 Mar 2025 14:05 UTC``); "—" when there is none."""
    if not value:
        return "—"
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{date_format(value, fmt)} {date_format(value, 'T')}"


@register.filter
def label(code):
    return labels.label(code)


@register.filter
def role_label(code):
    return labels.role_label(code)


@register.filter
def metric_label(name):
    return labels.metric_label(name)


@register.filter
def prose(text):
    """Software-written text with codes replaced by labels (governance.kernel.labels.in_prose)."""
    return labels.in_prose(text)


@register.filter
def metric_value(value, name):
    """A metric's value with its unit, e.g. ``{{ g.threshold|metric_value:g.metric }}`` -> ``200 ms``."""
    return labels.with_unit(value, labels.metric_unit(name))


@register.filter
def money(value, currency=None):
    """An amount with its currency and a true minus sign: ``−18,000 USD``."""
    if value is None or value == "":
        return "not assessed"
    currency = currency or getattr(settings, "REPORT_CURRENCY", "USD")
    return f"{float(value):,.0f} {currency}".replace("-", "−")


@register.filter
def count(value):
    if value is None:
        return "—"
    return f"{int(value):,}"

"""Template filters and tags for every page and every PDF: Markdown, durations, hashes, role, tier, status and
metric words, numbers, percentages, money and moments. Formatting only, through ``governance.kernel.formatting``
(the one formatting layer); no queries, and nothing above the kernel is imported.
"""

from django import template
from django.conf import settings
from django.utils.html import format_html_join

from governance.kernel import formatting as fmt
from governance.kernel import verdicts
from governance.kernel.markdown import render_markdown
from governance.kernel.web import PLACE_TAG

register = template.Library()


@register.filter
def markdown(text):
    return render_markdown(text)


@register.filter
def duration(value):
    """A timedelta (or seconds) in words: "30 days", "2 hours 5 minutes"."""
    return fmt.duration(value)


@register.filter
def short_hash(value, length=12):
    return (value or "")[: int(length)]


@register.filter
def get_item(mapping, key):
    if mapping is None:
        return None
    return mapping.get(key)


@register.simple_tag(takes_context=True)
def query_with(context, **params):
    """The current query string with some parameters replaced (for filter links and paging)."""
    query = context["request"].GET.copy()
    for key, value in params.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return "?" + query.urlencode() if query else "?"


@register.simple_tag(takes_context=True)
def query_with_param(context, name, value):
    """``query_with`` for a parameter whose name is itself a variable (a shared pager include)."""
    return query_with(context, **{name: value})


@register.filter
def duration_minutes(minutes):
    """A duration stored in minutes: 43200 -> "30 days"."""
    return fmt.minutes(minutes)


@register.filter
def verdict(code):
    """A checklist item's state in the reader's words (governance.kernel.verdicts)."""
    return verdicts.item_state(code)


@register.filter
def fit(text, limit):
    """Whole sentences of ``text`` that fit in ``limit`` characters, never ended with "…"."""
    return fmt.fit(text, int(limit))


@register.filter
def trigger(guardrail):
    """A guardrail's trigger rule (a row or a dict with window_minutes, failure_limit, sustain_minutes)."""
    def read(name):
        return guardrail.get(name) if isinstance(guardrail, dict) else getattr(guardrail, name, None)
    return fmt.trigger(read("window_minutes"), read("failure_limit"), read("sustain_minutes"))


# -- the formatting layer (governance.kernel.formatting) as filters -----------------------------------------

@register.filter
def role(code):
    return fmt.role(code)


@register.filter
def roles(codes):
    return fmt.roles(codes)


@register.filter
def roles_or(codes):
    return fmt.roles(codes, "or")


@register.filter
def tier(code):
    return fmt.tier(code)


@register.filter
def tier_short(code):
    return fmt.tier(code, short=True)


@register.filter
def status(code):
    return fmt.status(code)


@register.filter
def verb(code):
    return fmt.verb(code)


@register.filter
def actor(label, names=None):
    return fmt.actor(label, names)


@register.filter
def number(value, places=None):
    return fmt.number(value, None if places in (None, "") else int(places))


@register.filter
def percent(value, places=1):
    """A share (0.123) as "12.3 %"."""
    return fmt.percent(value, int(places))


@register.filter
def percent_points(value, places=1):
    """A value already in percent (5.0) as "5 %"."""
    return fmt.percent(value, int(places), ratio=False)


@register.filter
def signed_percent_points(value, places=1):
    return fmt.percent(value, int(places), ratio=False, signed=True)


@register.simple_tag
def interval(low, high, places=None):
    return fmt.interval(low, high, places)


@register.filter
def money(value, currency=None):
    """An amount with its currency code: "−18,000 USD" (settings.REPORT_CURRENCY unless one is given)."""
    return fmt.money(value, currency or getattr(settings, "REPORT_CURRENCY", "USD"))


@register.filter
def label(code):
    """Any role, tier or status code as words, when the template does not know which kind it is."""
    return fmt.label(code)


@register.filter
def metric_label(name):
    return fmt.metric_label(name)


@register.filter
def metric_value(value, name):
    """A metric's value with its unit: ``{{ g.threshold|metric_value:g.metric }}`` -> "200 ms"."""
    return fmt.metric_value(value, name)


@register.filter
def prose(text):
    """Software-written text with its codes replaced by words (formatting.in_prose)."""
    return fmt.in_prose(text)


@register.filter
def when(value, pattern="j M Y H:i"):
    """A moment with its zone: "12 Mar 2025 14:05 UTC"."""
    return fmt.moment(value, pattern)


@register.filter
def metric(name):
    return fmt.metric(name)


@register.filter
def comparator(symbol):
    return fmt.comparator(symbol)


@register.simple_tag
def rule(metric_name, comparator_symbol, threshold):
    """A guardrail or threshold as it reads, each token unbreakable: "approval AIR ≥ 0.8"."""
    parts = (fmt.metric(metric_name), fmt.comparator(comparator_symbol), fmt.number(threshold))
    return format_html_join(" ", '<span class="tok">{}</span>', ((p,) for p in parts))


@register.filter
def expression(text):
    """A rule as written (``fairness.air.ci_low >= 0.8``) with tokens that never break in the middle."""
    tokens = [fmt.comparator(t) if t in fmt.COMPARATORS else t for t in str(text or "").split()]
    return format_html_join(" ", '<span class="tok">{}</span>', ((t,) for t in tokens))


@register.filter
def setting(item):
    """A (key, value) pair from a policy's thresholds: "Adverse-impact ratio floor: 0.8"."""
    key, value = item
    return fmt.setting(key, value)


@register.inclusion_tag("_feedback.html", takes_context=True)
def feedback(context, place, key=None):
    """The messages a control caused, rendered beside it (see governance.kernel.web.say), one sentence a line.
    ``{% feedback "item" item.pk %}`` is the place ``item-<pk>``."""
    if key is not None:
        place = f"{place}-{key}"
    tag = f"{PLACE_TAG}{place}"
    shown = []
    for message in context.get("messages") or ():
        if tag in (message.extra_tags or "").split():
            shown.append({"level": message.level_tag, "sentences": fmt.sentences(message.message)})
    return {"place": place, "shown": shown}


@register.simple_tag(takes_context=True)
def unplaced_messages(context):
    """Messages no control claimed: base.html shows them above the content."""
    return [m for m in context.get("messages") or ()
            if not any(t.startswith(PLACE_TAG) for t in (m.extra_tags or "").split())]

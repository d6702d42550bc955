"""One formatting layer: a code, a figure or an amount reads the same on a page, in an e-mail and in a PDF.

The words live in ``governance.kernel.formatting`` (its tables, and the labels of the models' choices it reads);
templates reach them only through the ``gatehouse`` filters. These tests hold the rule for codes and templates
nobody has written yet: a new choice whose words differ from what the formatting layer would print, a template
that formats a figure its own way, or a second filter library, fails here.
"""

import re
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.template import Context, Template

from governance.kernel import formatting as fmt
from governance.kernel.roles import Role

TEMPLATES = Path(settings.BASE_DIR) / "templates"
PROJECT_APPS = ("governance", "readiness", "postmortems", "registry", "reporting", "dashboard")


def _choices():
    for model in apps.get_models():
        if model.__module__.split(".")[0] not in PROJECT_APPS:
            continue
        for field in model._meta.get_fields():
            for value, text in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str) and value:
                    yield f"{model.__name__}.{field.name}", value, str(text)


def test_every_stored_code_reads_as_its_models_words():
    """A status, tier, role or kind is shown as its model's label wherever it appears. The codes two fields word
    differently (``ROLLBACK`` is an action "Roll back" and a registry change "Rollback") are listed in
    ``formatting.STATUSES`` with one neutral wording, and are the only exceptions."""
    mismatched = [f"{where} {value!r}: model says {text!r}, formatting says {fmt.label(value)!r}"
                  for where, value, text in _choices()
                  if fmt.label(value) != text and value not in fmt.STATUSES]
    assert not mismatched, "\n".join(mismatched)


def test_no_code_reads_raw():
    for _, value, _ in _choices():
        shown = fmt.label(value)
        assert shown and not re.fullmatch(r"[A-Z0-9_]+", shown) or shown in ("OK",) or re.fullmatch(r"P\d", shown), \
            (value, shown)
    for role in Role:
        assert fmt.label(role.value) == fmt.role(role.value) == role.label


def test_tiers_read_the_same_in_the_policy_words_and_the_inventory():
    from governance.inventory.models import RiskTier

    for tier in RiskTier:
        assert fmt.tier(tier.value) == fmt.label(tier.value) == tier.label


def test_templates_load_one_filter_library_and_format_figures_through_it():
    """``floatformat``, ``widthratio`` and ``intcomma`` each print a figure their own way (0.800 against 0.8,
    a rounded 99 % for 99.37 %, a hyphen for a minus sign); the gatehouse filters print every figure in the one
    format."""
    loads, own_formats = [], []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for libraries in re.findall(r"{%\s*load\s+([^%]+?)\s*%}", text):
            extra = set(libraries.split()) - {"gatehouse", "static"}
            if extra:
                loads.append(f"{path.relative_to(TEMPLATES)} loads {sorted(extra)}")
        for hit in re.findall(r"\|floatformat\S*|{%\s*widthratio[^%]*%}|\|intcomma", text):
            own_formats.append(f"{path.relative_to(TEMPLATES)}: {hit}")
    assert not loads, "\n".join(loads)
    assert not own_formats, "\n".join(own_formats)


def test_a_page_filter_and_a_report_builder_print_the_same_figure():
    rendered = Template(
        "{% load gatehouse %}{{ n|number }}|{{ v|metric_value:'p95_latency_ms' }}|{{ m|money }}|{{ t|label }}|"
        "{{ s|label }}|{{ r|role }}"
    ).render(Context({"n": 9209, "v": 140.0, "m": -18000, "t": "TIER_1", "s": "SEV1", "r": "MODEL_RISK"}))
    assert rendered.split("|") == [
        fmt.number(9209), fmt.metric_value(140.0, "p95_latency_ms"), fmt.money(-18000, settings.REPORT_CURRENCY),
        fmt.tier("TIER_1"), fmt.status("SEV1"), fmt.role("MODEL_RISK"),
    ]
    assert rendered.split("|") == ["9,209", "140 ms", "−18,000 USD", "Tier 1 (high risk)", "SEV 1 — critical",
                                   "Model Risk Management"]


def test_codes_in_software_written_prose_become_words():
    assert fmt.in_prose("approval_air = 0.71 needs MODEL_RISK → IN_REVIEW") == \
        "Approval-rate adverse-impact ratio = 0.71 needs Model Risk Management → In review"

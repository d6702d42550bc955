"""Verdict words come from one module, and no summary is cut with "…".

A check that could not decide reads "inconclusive" everywhere, never "failing"; the words live in
governance/kernel/verdicts.py, and this test finds a verdict word written anywhere else in reader-facing code.
"""

import re
from pathlib import Path

from governance.kernel import formatting as fmt
from governance.kernel import verdicts
from readiness.models import ItemStatus

ROOT = Path(__file__).resolve().parents[2]
# A verdict adjective opening a string literal or an f-string: how "failing: <title>" was written before.
LITERAL = re.compile(r"""f?["'](failing|passing)\b""")
TEMPLATE = re.compile(r"\b(failing|passing):")


def sources():
    for folder in ("governance", "readiness", "postmortems", "registry", "reporting", "dashboard"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" not in path.parts and path.name != "verdicts.py":
                yield path


def test_every_item_state_has_its_word_and_inconclusive_is_never_failing():
    assert {verdicts.item_state(code) for code in ItemStatus.values} == set(verdicts.ITEM_STATES.values())
    assert verdicts.item_state("INCONCLUSIVE") == "inconclusive" and not verdicts.is_adverse("INCONCLUSIVE")


def test_no_verdict_word_is_written_outside_the_verdicts_module():
    found = [f"{p.relative_to(ROOT)}:{n}" for p in sources()
             for n, line in enumerate(p.read_text().splitlines(), 1) if LITERAL.search(line)]
    found += [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "templates").rglob("*.html")
              for n, line in enumerate(p.read_text().splitlines(), 1) if TEMPLATE.search(line)]
    assert not found, f"verdict words written outside governance/kernel/verdicts.py: {found}"


def test_a_summary_is_written_to_fit_in_whole_sentences():
    text = "The vendor changed a field. The feature drifted for sixteen days. Compliance noticed."
    assert fmt.fit(text, 70) == "The vendor changed a field. The feature drifted for sixteen days."
    assert fmt.fit(text, 10) == "The vendor changed a field."
    assert not fmt.fit(text, 30).endswith("…")


def test_no_report_template_truncates_with_an_ellipsis():
    for path in (ROOT / "templates" / "pdf").glob("*.html"):
        assert "truncatechars" not in path.read_text() and "truncatewords" not in path.read_text(), path.name

"""Only trusted historical callers set the effective time of an act: the seeded examples (and, one day, an
import). No view, form, serializer, task or service of the running application can reach it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = ("config", "governance", "readiness", "postmortems", "reporting", "dashboard")
TRUSTED = {ROOT / "governance" / "kernel" / "clock.py"}
SETS_THE_TIME = re.compile(r"\bclock\.effective\(|from governance\.kernel\.clock import[^\n]*\beffective\b")


def offenders() -> list[str]:
    return sorted(str(path.relative_to(ROOT)) for package in APPLICATION for path in (ROOT / package).rglob("*.py")
                  if path not in TRUSTED and SETS_THE_TIME.search(path.read_text(encoding="utf-8")))


def test_only_the_seeded_examples_set_the_effective_time():
    assert offenders() == []


def test_the_finder_finds_a_view_that_backdates():
    assert SETS_THE_TIME.search("with clock.effective(form.cleaned_data['when']):\n    sign_off(...)")
    assert SETS_THE_TIME.search("from governance.kernel.clock import now, effective\n")
    assert not SETS_THE_TIME.search("at = clock.now()\n")

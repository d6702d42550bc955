"""The model page's link to the examiner's file: the regimes declared, one query."""

from __future__ import annotations

from typing import Any


def model_file_section(sender: object, *, model: Any, user: Any, **kwargs: object) -> dict:
    from reporting.regimes import crosswalk
    from reporting.regimes.coverage import declared_regimes

    known = crosswalk.regimes()
    declared = [known[d.regime] for d in declared_regimes(model) if d.regime in known]
    return {"model_sections": [{"template": "reporting/_model_file.html", "model": model, "regimes": declared}]}

"""The registry talks to MLflow over plain HTTP: production code never imports the MLflow client. (That no lower
layer imports the registry is an import-linter contract in pyproject.toml.)"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_production_code_does_not_use_the_mlflow_client():
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "registry").rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+mlflow\b", path.read_text(), re.M)]
    assert offenders == []

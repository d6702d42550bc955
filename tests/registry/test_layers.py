"""The registry is a top-layer app: the layers below it react through signals and hooks, never by importing it."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("package", ["governance", "readiness", "postmortems"])
def test_lower_layers_never_import_the_registry(package):
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / package).rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+registry\b", path.read_text(), re.M)]
    assert offenders == []


def test_production_code_does_not_use_the_mlflow_client():
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "registry").rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+mlflow\b", path.read_text(), re.M)]
    assert offenders == []

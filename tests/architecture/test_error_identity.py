"""Errors are told apart by identity, never by wording: a message may be reworded or translated, a code may not.

Tests assert an error's ``code`` (and ``field`` for a refused input), so no ``pytest.raises(..., match=...)``.
The app packages raise every domain error with an explicit ``code=``, except a ``ValidationFailed`` that names
its ``field``: its identity is the field with the class's code ``invalid``. Management commands raise
``CommandFailed``, which requires a code, rather than a bare ``CommandError``. The errors of the pure layers
(``StatsInputError``, ``RuleSyntaxError``) and ``AnchorError`` carry a code too. The walk reads ``raise X(...)``
where ``X`` is imported from ``governance.kernel.errors`` or is one of those classes by name; an error built
elsewhere and raised by name, or re-raised, is not checked here.
"""

import ast
import re
from pathlib import Path

from governance.kernel import errors

ROOT = Path(__file__).resolve().parents[2]
APPS = ("governance", "readiness", "postmortems", "registry", "reporting")  # governance holds stats and policies
COMMAND_PACKAGES = (*APPS, "examples")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
DOMAIN_ERRORS = {name for name, value in vars(errors).items()
                 if isinstance(value, type) and issubclass(value, errors.DomainError)}
CODED_BY_NAME = {"StatsInputError", "RuleSyntaxError", "AnchorError"}


def _python_files(*packages: str):
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def match_keywords(source: str) -> list[int]:
    """Lines where ``pytest.raises`` (or a bare ``raises`` imported from pytest) is given ``match=``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name == "raises" and any(k.arg == "match" for k in node.keywords):
            lines.append(node.lineno)
    return lines


def _error_names(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """Local names bound to the error classes (``from governance.kernel.errors import X as Y``) and the local
    names of the module itself (``from governance.kernel import errors``)."""
    classes, modules = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "governance.kernel.errors":
            for alias in node.names:
                classes[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module == "governance.kernel":
            modules |= {alias.asname or alias.name for alias in node.names if alias.name == "errors"}
    return classes, modules


def unidentified_raises(source: str) -> list[tuple[int, str]]:
    """``raise X(...)`` of a domain error or ``CommandFailed`` without an identity, and bare ``CommandError``s."""
    tree = ast.parse(source)
    classes, modules = _error_names(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        func = node.exc.func
        if isinstance(func, ast.Name):
            name = classes.get(func.id) or (func.id if func.id in CODED_BY_NAME | {"CommandError"} else None)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in modules:
            name = func.attr
        else:
            name = None
        keywords = {k.arg: k.value for k in node.exc.keywords}
        if name == "CommandError":
            found.append((node.lineno, "CommandError without a code: raise CommandFailed(..., code=...)"))
        elif name in DOMAIN_ERRORS | CODED_BY_NAME or name == "CommandFailed":
            code = keywords.get("code")
            if code is None and not (name == "ValidationFailed" and "field" in keywords):
                found.append((node.lineno, f"{name} without code="))
            elif isinstance(code, ast.Constant) and not (isinstance(code.value, str) and CODE.match(code.value)):
                found.append((node.lineno, f"{name} code {code.value!r} is not snake_case"))
    return found


def test_no_test_matches_an_error_on_its_message():
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in _python_files("tests")
                 for line in match_keywords(path.read_text())]
    assert offenders == [], "assert caught.value.code (and .field) instead of match=: " + ", ".join(offenders)


def test_every_error_the_apps_raise_carries_its_identity():
    offenders = [f"{path.relative_to(ROOT)}:{line}: {why}" for path in _python_files(*COMMAND_PACKAGES)
                 for line, why in unidentified_raises(path.read_text())]
    assert offenders == [], "\n".join(offenders)


def test_the_checks_find_what_they_look_for():
    assert match_keywords("import pytest\nwith pytest.raises(ValueError, match='x'):\n    pass\n") == [2]
    assert match_keywords("with pytest.raises(ValueError) as caught:\n    pass\n") == []
    source = """
from django.core.management.base import CommandError
from governance.kernel import errors
from governance.kernel.errors import CommandFailed, Conflict, ValidationFailed as Invalid

raise Conflict("no code")
raise Conflict("coded", code="already_signed")
raise Invalid("a field is an identity", field="title")
raise errors.NotFound("no code either")
raise Conflict("not a code", code="Already Signed")
raise CommandError("bare")
raise CommandFailed("coded", code="receipt_invalid")
raise StatsInputError("file", "no code")
"""
    assert [line for line, _ in unidentified_raises(source)] == [6, 9, 10, 11, 13]

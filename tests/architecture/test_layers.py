"""The layers hold: no lower layer imports a higher one, no module imports itself through others, and the
contracts in pyproject.toml catch a new upward import."""

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "governance", "readiness", "postmortems", "registry", "reporting", "examples", "dashboard")
LINT = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]


def _cycles(graph) -> list[tuple[str, ...]]:
    """Every import a -> b of the project's modules for which b also reaches a: each is a cycle, named by its
    modules (the chain back from b to a)."""
    found = set()
    for importer in sorted(m for m in graph.modules if m.split(".")[0] in PACKAGES):
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported.split(".")[0] not in PACKAGES or imported == importer:
                continue
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                found.add(tuple(sorted(set(back))))
    return sorted(found)


def test_no_module_import_cycles():
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None,
                              exclude_type_checking_imports=True)  # as import-linter is configured
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("governance", "governance.a", "governance.b", "governance.c"):
        graph.add_module(name)
    graph.add_import(importer="governance.a", imported="governance.b")
    graph.add_import(importer="governance.b", imported="governance.a")
    graph.add_import(importer="governance.b", imported="governance.c")
    assert _cycles(graph) == [("governance.a", "governance.b")]


def _copy_project(target: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package,
                        ignore=shutil.ignore_patterns("__pycache__", "migrations"))


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(LINT + ["--config", "pyproject.toml", "--no-cache"], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_contracts_hold_and_an_upward_import_breaks_them(tmp_path):
    _copy_project(tmp_path)
    kept = _lint(tmp_path)
    assert kept.returncode == 0, kept.stdout + kept.stderr

    # The kernel reaching up into readiness, as a careless change might.
    errors = tmp_path / "governance" / "kernel" / "errors.py"
    errors.write_text(errors.read_text() + "\nimport readiness.models  # noqa\n")
    broken = _lint(tmp_path)
    assert broken.returncode != 0
    assert "governance.kernel.errors -> readiness.models" in broken.stdout

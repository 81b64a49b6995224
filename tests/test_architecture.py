"""Who may import whom: the import-linter contract in pyproject.toml, run as a test, and the one
kind of import circle it cannot see (docs/architecture.md explains the rules)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

import photoface.library

ROOT = Path(__file__).resolve().parents[1]


def contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def test_the_import_contracts_are_kept():
    # From the repository root, so `training` and this checkout's `photoface` are what is read;
    # no cache, so the check leaves nothing behind in the checkout.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
            "--no-logo",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Every contract written in pyproject.toml was read and checked, none skipped.
    names = [c["name"] for c in contracts()]
    assert len(names) >= 6
    assert f"Contracts: {len(names)} kept, 0 broken." in done.stdout, done.stdout


def test_the_architecture_doc_shows_every_layer_the_contract_checks():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "(docs/architecture.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    (layers,) = [c["layers"] for c in contracts() if c["type"] == "layers"]
    modules = [m.strip() for layer in layers for m in layer.split("|")]
    assert len(modules) >= 8
    for module in modules:
        name = module.removeprefix("photoface.")
        package = ROOT / "photoface" / name
        shown = f"{name}/" if package.is_dir() else f"{name}.py"
        assert shown in doc, f"{module} is a layer of the contract, not in docs/architecture.md"


def circles_through_a_package(graph: grimp.ImportGraph, root: str) -> list[tuple[str, str]]:
    """(package, module) pairs where the package's __init__ reaches one of its own modules and
    that module reaches the package back. import-linter's acyclic_siblings contract compares
    siblings only, so this circle (a half-built package at import time) is checked here."""
    found = []
    for package in sorted({root} | graph.find_descendants(root)):
        for module in sorted(graph.find_descendants(package)):
            if graph.chain_exists(package, module) and graph.chain_exists(module, package):
                found.append((package, module))
    return found


def test_circles_through_a_package_are_found():
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg", imported="pkg.a")
    graph.add_import(importer="pkg.a", imported="pkg.b")
    assert circles_through_a_package(graph, "pkg") == []
    graph.add_import(importer="pkg.b", imported="pkg")
    graph.add_import(importer="pkg.sub.c", imported="pkg.sub")
    assert circles_through_a_package(graph, "pkg") == [("pkg", "pkg.a"), ("pkg", "pkg.b")]


def test_no_module_imports_the_package_that_imports_it():
    # Every import counts, also those under TYPE_CHECKING and inside functions.
    graph = grimp.build_graph("photoface")
    assert graph.chain_exists("photoface.library", "photoface.library.edits")
    assert circles_through_a_package(graph, "photoface") == []


def test_each_library_module_imports_first_in_a_fresh_interpreter():
    """Imported first, a module in a circle can find its partner half-built (ImportError)."""
    names = sorted(
        m.name for m in pkgutil.iter_modules(photoface.library.__path__, "photoface.library.")
    )
    assert "photoface.library.edits" in names and "photoface.library.db" in names
    for name in names:
        done = subprocess.run(
            [sys.executable, "-c", f"import {name}"], capture_output=True, text=True, cwd=ROOT
        )
        assert done.returncode == 0, f"{name}: {done.stderr}"

"""No import circles in photoface: every import counts, also those under TYPE_CHECKING and inside
functions (a circle a type checker needs is still one module leaning on another that leans back)."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import photoface
import photoface.library

ROOT = Path(photoface.__file__).parent


def _modules() -> dict[str, Path]:
    """Every module of the photoface package, by dotted name."""
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The photoface modules that module `name` imports anywhere in its text."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                up = package[: len(package) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for a in node.names:
                if f"{base}.{a.name}" in known:  # from a package import a module
                    found.add(f"{base}.{a.name}")
                elif base in known:
                    found.add(base)
    found.discard(name)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            group.append(v)
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_circles_finds_a_circle_through_three_modules_and_none_in_a_chain():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_photoface_has_no_import_circle():
    known = _modules()
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    assert "photoface.library.db" in graph["photoface.library.edits"]
    assert circles(graph) == []


def test_each_library_module_imports_first_in_a_fresh_interpreter():
    """Imported first, a module in a circle can find its partner half-built (ImportError)."""
    names = sorted(
        m.name for m in pkgutil.iter_modules(photoface.library.__path__, "photoface.library.")
    )
    assert "photoface.library.edits" in names and "photoface.library.db" in names
    for name in names:
        done = subprocess.run(
            [sys.executable, "-c", f"import {name}"], capture_output=True, text=True
        )
        assert done.returncode == 0, f"{name}: {done.stderr}"

"""House rules that code can check: no Qt and no torch in the core, the store or the CLI; no
library in the core; no benchmark in the UI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path


def test_core_store_and_cli_load_no_qt_and_no_torch():
    code = (
        "import sys\n"
        "import photoface.core.imaging, photoface.core.detect, photoface.core.align\n"
        "import photoface.core.embed, photoface.core.cluster, photoface.core.pipeline\n"
        "import photoface.core.grouping, photoface.library, photoface.cli, photoface.settings\n"
        "import photoface.jobs\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'torch'))]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_bundled_resources_are_found():
    from photoface import paths

    assert (paths.bundled_models_dir() / "yunet_n_dynamic.onnx").is_file()
    assert (paths.bundled_models_dir() / "LICENSE-yunet").is_file()


PACKAGE = Path(__file__).resolve().parents[1] / "photoface"


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Every module each file under `folder` imports, at the top or inside a function."""
    out: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
        out[path.name] = names
    return out


def offending(folder: Path, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    prefixes = tuple(f + "." for f in forbidden)
    bad = {}
    for name, modules in imported_modules(folder).items():
        hits = sorted(m for m in modules if m in forbidden or m.startswith(prefixes))
        if hits:
            bad[name] = hits
    return bad


def test_core_takes_arrays_and_records_with_no_library_and_no_sql():
    library = ("sqlite3", "photoface.library")
    above = ("photoface.jobs", "photoface.ui", "photoface.cli")
    forbidden = (*library, *above, "subprocess")  # an installer that runs pip is no core step
    assert offending(PACKAGE / "core", forbidden) == {}
    code = (
        "import pkgutil, importlib, sys, photoface.core\n"
        "for m in pkgutil.iter_modules(photoface.core.__path__):\n"
        "    importlib.import_module('photoface.core.' + m.name)\n"
        "bad = [m for m in sys.modules if m == 'sqlite3' or m.startswith(('photoface.library',\n"
        "       'photoface.jobs', 'photoface.ui', 'PySide6'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_ui_imports_nothing_from_the_benchmarks():
    assert offending(PACKAGE / "ui", ("photoface.bench",)) == {}

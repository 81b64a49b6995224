"""House rules that only running the code can check: what importing a module loads, third-party
packages included (the import contract in pyproject.toml reads our own imports, not theirs)."""

from __future__ import annotations

import subprocess
import sys


def loaded_after(imports: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules named with one of `prefixes` that a fresh interpreter holds after `imports`."""
    code = (
        "import sys, pkgutil, importlib\n"
        f"{imports}\n"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_core_store_and_cli_load_no_qt_and_no_torch():
    imports = (
        "import photoface.core.imaging, photoface.core.detect, photoface.core.align\n"
        "import photoface.core.embed, photoface.core.cluster, photoface.core.pipeline\n"
        "import photoface.core.grouping, photoface.library, photoface.cli, photoface.settings\n"
        "import photoface.jobs"
    )
    assert loaded_after(imports, ("PySide6", "shiboken6", "torch")) == []


def test_every_core_module_loads_no_sql_library_or_qt():
    imports = (
        "import photoface.core\n"
        "for m in pkgutil.iter_modules(photoface.core.__path__):\n"
        "    importlib.import_module('photoface.core.' + m.name)"
    )
    forbidden = ("sqlite3", "photoface.library", "photoface.jobs", "photoface.ui", "PySide6")
    assert loaded_after(imports, forbidden) == []


def test_bundled_resources_are_found():
    from photoface import paths

    assert (paths.bundled_models_dir() / "yunet_n_dynamic.onnx").is_file()
    assert (paths.bundled_models_dir() / "LICENSE-yunet").is_file()

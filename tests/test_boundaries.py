"""House rules that code can check: no Qt and no torch in the core, the store or the CLI."""

from __future__ import annotations

import subprocess
import sys


def test_core_store_and_cli_load_no_qt_and_no_torch():
    code = (
        "import sys\n"
        "import photoface.core.imaging, photoface.core.detect, photoface.core.align\n"
        "import photoface.core.embed, photoface.core.cluster, photoface.core.pipeline\n"
        "import photoface.core.grouping, photoface.library, photoface.cli, photoface.settings\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'torch'))]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_bundled_resources_are_found():
    from photoface import paths

    assert (paths.bundled_models_dir() / "yunet_n_dynamic.onnx").is_file()
    assert (paths.bundled_models_dir() / "LICENSE-yunet").is_file()

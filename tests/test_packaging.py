"""Shipping: the wheel carries the resources, and the PyInstaller bundle runs a scan."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.photos import make_album

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_the_wheel_ships_models_and_scans_outside_the_checkout(tmp_path, tiny_model):
    pip = [sys.executable, "-m", "pip"]
    wheel_cmd = [*pip, "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheel"), str(ROOT)]
    subprocess.run(wheel_cmd, check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("photoface-*.whl")
    target = tmp_path / "site"
    install_cmd = [*pip, "install", "--no-deps", "-q", "--target", str(target), str(wheel)]
    subprocess.run(install_cmd, check=True, capture_output=True)
    assert (target / "photoface/resources/models/yunet_n_dynamic.onnx").is_file()
    make_album(tmp_path / "album", n_faces=2, broken=False)
    env = dict(
        os.environ,
        PYTHONPATH=str(target),
        PHOTOFACE_HOME=str(tmp_path / "home"),
        PHOTOFACE_MODEL=str(tiny_model),
    )
    code = (
        "import sys, photoface; from photoface.__main__ import main; "
        "assert str(photoface.__file__).startswith(sys.argv[1]); sys.exit(main(sys.argv[2:]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(target), "scan", str(tmp_path / "album"), "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "2 faces found" in out.stdout


def test_the_bundle_builds_and_scans(tmp_path, tiny_model):
    if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("pyinstaller is not installed (it is in the test extra)")
    pyinstaller = str(Path(sys.executable).parent / "pyinstaller")
    build_cmd = [pyinstaller, "--noconfirm", "--log-level", "ERROR"]
    build_cmd += ["--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "build")]
    build_cmd.append(str(ROOT / "packaging/photoface.spec"))
    subprocess.run(build_cmd, check=True, cwd=ROOT, capture_output=True)
    exe = tmp_path / "dist/photoface/photoface"
    assert exe.is_file()
    make_album(tmp_path / "album", n_faces=2, broken=True)
    env = dict(os.environ, PHOTOFACE_HOME=str(tmp_path / "home"), PHOTOFACE_MODEL=str(tiny_model))
    scan_cmd = [str(exe), "scan", str(tmp_path / "album"), "-q"]
    out = subprocess.run(scan_cmd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "2 faces found" in out.stdout and "3 errors" in out.stdout

    # XMP goes through python-exiv2's compiled library: the bundle must carry it.
    def run(*argv: str) -> str:
        out = subprocess.run([str(exe), *argv], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout

    person = re.search(r"to (\d+):", run("move", "1", "2", "new")).group(1)
    run("name", person, "Ada")
    run("xmp-export")
    assert list((tmp_path / "album").rglob("*.xmp"))

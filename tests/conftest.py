"""Shared fixtures: a fresh data dir per test, the tiny ONNX model, the shared datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photoface import paths
from tests.fakes import build_tiny_model

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"
# Where `photoface setup-blazeface` put the model, read before any test moves the data dir.
REAL_USER_MODELS = paths.user_models_dir()


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty data dir and no embedding model unless it asks for one."""
    d = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("PHOTOFACE_HOME", str(d))
    monkeypatch.delenv("PHOTOFACE_MODEL", raising=False)
    monkeypatch.delenv("PHOTOFACE_MODELS", raising=False)
    return d


@pytest.fixture(scope="module")
def detector():
    """The app's default detector (YuNet), built once a module."""
    from photoface.core import detect

    return detect.make_detector("yunet")


@pytest.fixture
def lib(tmp_path: Path):
    """A fresh, empty library (test modules with a filled one define their own `lib`)."""
    from photoface.library import Library

    with Library(tmp_path / "lib.sqlite3") as library:
        yield library


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model") / "photoface-tiny.onnx")


@pytest.fixture
def with_model(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PHOTOFACE_MODEL", str(tiny_model))
    return tiny_model


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not here")
    return SHARED_DATA


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


@pytest.fixture
def eileen_album(tmp_path, with_model, capsys) -> Path:
    """trip/face_0..2.jpg (one person, named Eileen) and sky.jpg (no face)."""
    from photoface.cli import main
    from tests.photos import make_album

    make_album(tmp_path / "album", n_faces=3, broken=False)
    assert main(["scan", str(tmp_path / "album"), "-q"]) == 0
    assert main(["name", "1", "Eileen"]) == 0
    capsys.readouterr()
    return tmp_path / "album"

"""Where things live: the user data dir (PHOTOFACE_HOME overrides) and the bundled resources."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "photoface"
LIBRARY_FILE = "library.sqlite3"


def data_dir() -> Path:
    """The folder holding the library, settings and downloaded models."""
    home = os.environ.get("PHOTOFACE_HOME")
    return Path(home).expanduser() if home else Path(platformdirs.user_data_dir(APP_NAME))


def default_library_path() -> Path:
    return data_dir() / LIBRARY_FILE


def user_models_dir() -> Path:
    """Models the user's machine fetched at setup time (BlazeFace); PHOTOFACE_MODELS overrides."""
    override = os.environ.get("PHOTOFACE_MODELS")
    return Path(override).expanduser() if override else data_dir() / "models"


def resources_dir() -> Path:
    """The bundled resources folder, installed, editable or frozen alike."""
    frozen = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle
    if frozen:
        return Path(frozen) / "photoface" / "resources"
    try:
        from importlib.resources import files

        root = Path(str(files("photoface.resources")))
        if (root / "models").is_dir():
            return root
    except (ModuleNotFoundError, TypeError):  # a plain source checkout that was never installed
        pass
    return Path(__file__).resolve().parent.parent / "resources"


def bundled_models_dir() -> Path:
    return resources_dir() / "models"

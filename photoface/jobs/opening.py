"""Open what every job needs: the library (by the same rules everywhere) and the model."""

from __future__ import annotations

import logging
from pathlib import Path

from photoface import paths
from photoface.core.embed import OnnxEmbedder, load_default_embedder
from photoface.errors import LibraryError, ModelMissingError
from photoface.fileio import describe_os_error
from photoface.library import Library
from photoface.settings import Settings

log = logging.getLogger(__name__)


def library_path(conf: Settings, explicit: str | None = None) -> Path:
    """The library to use: the one named on the command line, else the settings', else the
    default one in the data dir."""
    lib = explicit or conf.library
    return Path(lib).expanduser() if lib else paths.default_library_path()


def open_library(path: Path, *, create: bool) -> Library:
    """Open the library at `path`. Only a job that stores photos (a scan) creates one, and only
    the default library gets its folder made: a typo, or a library on a drive that is not
    plugged in, must not become a new empty library."""
    makes_folder = path == paths.default_library_path()
    if not path.exists():
        if not create and not makes_folder:
            raise LibraryError(
                f"no library at {path}: scan a folder into it first "
                f"(photoface --library {path} scan FOLDER)"
            )
        if not makes_folder and not path.parent.is_dir():
            raise LibraryError(
                f"the folder {path.parent} of the library does not exist (a drive that "
                "is not plugged in?); nothing was written"
            )
    try:
        return Library(path)
    except OSError as e:  # its folder cannot be made, the file cannot be read
        raise LibraryError(f"cannot use {path} as the library: {describe_os_error(e)}") from e


def optional_embedder(threads: int = 2) -> OnnxEmbedder | None:
    """The installed embedding model, or None when there is none: faces are then found and
    kept, and grouped once a model is installed. A model that is there but broken raises."""
    try:
        return load_default_embedder(threads)
    except ModelMissingError as e:  # not a fault: each front end says it in its own way
        log.info("%s", e)
        return None

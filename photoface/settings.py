"""User settings: a small JSON file in the data dir, read into a typed dataclass."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from photoface.core.cluster import ClusterParams
from photoface.core.detect import DEFAULT_DETECTOR, DETECTORS
from photoface.core.embed import ModelInfo
from photoface.core.imaging import DEFAULT_MAX_SIDE
from photoface.errors import PhotofaceError
from photoface.fileio import describe_os_error, read_regular, write_atomic

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
MAX_SETTINGS_BYTES = 1 << 20
MAX_THREADS = 256


class SettingsError(PhotofaceError):
    """The settings file cannot be used as it is, and guessing could open the wrong library."""


@dataclass
class Settings:
    detector: str = DEFAULT_DETECTOR
    cluster_threshold: float | None = None  # None: the model's own grouping distance
    min_faces: int = 3  # smaller groups stay "unsorted"
    # Faces below this quality (tiny, blurred, profile) join people but do not count towards
    # min_faces: 0.5 cut junk people 4x on the album benchmark with its F1 unchanged.
    seed_quality: float = 0.5
    max_side: int = DEFAULT_MAX_SIDE
    library: str | None = None  # None: library.sqlite3 in the data dir
    threads: int = 2
    # Scan worker processes (None: one per core; 1: the scan runs in the app's own process).
    workers: int | None = None
    # The window as the user left it.
    people_sort: str = "size"  # size | name | newest
    thumb_size: int = 112  # pixels, the thumbnail-size slider
    window_geometry: str | None = None  # Qt's saveGeometry(), hex
    page: str = "people"  # people | unsorted | person:ID

    def validate(self) -> None:
        """Raises ValueError naming the first setting that is out of range or of a wrong type."""
        for f in fields(self):
            reason = _CHECKS[f.name](getattr(self, f.name))
            if reason is not None:
                raise ValueError(f"{f.name} {reason}")

    def scan_workers(self) -> int:
        if self.workers is not None:
            return self.workers
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        return max(1, len(cores) if cores else os.cpu_count() or 1)

    def cluster_params(self, info: ModelInfo) -> ClusterParams:
        threshold = self.cluster_threshold if self.cluster_threshold else info.grouping_threshold
        return ClusterParams(threshold, self.min_faces, seed_quality=self.seed_quality)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_whole(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_detector(v: object) -> str | None:
    return None if isinstance(v, str) and v in DETECTORS else f"must be one of {DETECTORS}"


def _check_cluster_threshold(v: object) -> str | None:
    if v is None or (_is_number(v) and 0.0 < v < 4.0):
        return None
    return "must be null or a number between 0 and 4 (squared L2)"


def _check_min_faces(v: object) -> str | None:
    return None if _is_whole(v) and v >= 1 else "must be a whole number, at least 1"


def _check_seed_quality(v: object) -> str | None:
    return None if _is_number(v) and 0.0 <= v <= 1.0 else "must be a number between 0 and 1"


def _check_max_side(v: object) -> str | None:
    return None if _is_whole(v) and v >= 64 else "must be a whole number of pixels, at least 64"


def _check_threads(v: object) -> str | None:
    if _is_whole(v) and 1 <= v <= MAX_THREADS:
        return None
    return f"must be a whole number from 1 to {MAX_THREADS}"


def _check_workers(v: object) -> str | None:
    if v is None or (_is_whole(v) and 1 <= v <= MAX_THREADS):
        return None
    return f"must be null (one per core) or a whole number from 1 to {MAX_THREADS}"


def _check_library(v: object) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip() or "\x00" in v:
        return "must be null or the path of a library file"
    # A relative path would name a different library in every working folder.
    if not Path(v).expanduser().is_absolute():
        return f"must be an absolute path, not {v!r}"
    return None


PEOPLE_SORTS = ("size", "name", "newest")


def _check_people_sort(v: object) -> str | None:
    return None if isinstance(v, str) and v in PEOPLE_SORTS else f"must be one of {PEOPLE_SORTS}"


def _check_thumb_size(v: object) -> str | None:
    return None if _is_whole(v) and 32 <= v <= 512 else "must be a whole number from 32 to 512"


def _check_window_geometry(v: object) -> str | None:
    if v is None or (isinstance(v, str) and len(v) <= 4096 and _is_hex(v)):
        return None
    return "must be null or the window's saved geometry (hex)"


def _is_hex(v: str) -> bool:
    try:
        bytes.fromhex(v)
    except ValueError:
        return False
    return True


def _check_page(v: object) -> str | None:
    if isinstance(v, str) and (
        v in ("people", "unsorted")
        or (v.startswith("person:") and v[7:].isascii() and v[7:].isdigit())
    ):
        return None
    return "must be 'people', 'unsorted' or 'person:ID'"


_CHECKS: dict[str, Callable[[object], str | None]] = {
    "detector": _check_detector,
    "cluster_threshold": _check_cluster_threshold,
    "min_faces": _check_min_faces,
    "seed_quality": _check_seed_quality,
    "max_side": _check_max_side,
    "library": _check_library,
    "threads": _check_threads,
    "workers": _check_workers,
    "people_sort": _check_people_sort,
    "thumb_size": _check_thumb_size,
    "window_geometry": _check_window_geometry,
    "page": _check_page,
}


def read(data_dir: Path) -> tuple[Settings, list[str]]:
    """Settings from the data dir (the defaults when there is no file) and one line for each
    value that was ignored. A value that is out of range or of the wrong type falls back to its
    default alone; a file that cannot be read as a JSON object, or a `library` that is not
    usable, raises SettingsError: every command would otherwise work on another library."""
    path = data_dir / SETTINGS_FILE
    try:
        data = read_regular(path, MAX_SETTINGS_BYTES)
    except FileNotFoundError:
        return Settings(), []
    except OSError as e:
        raise SettingsError(f"cannot read the settings file {path}: {describe_os_error(e)}") from e
    except PhotofaceError as e:  # a folder, a FIFO, a huge file
        raise SettingsError(f"cannot read the settings file {path}: {e}") from e
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SettingsError(
            f"the settings file {path} is not valid JSON ({e}); fix or remove it "
            "(it may name your library, so photoface does not guess)"
        ) from e
    if not isinstance(raw, dict):
        raise SettingsError(f"the settings file {path} must hold a JSON object; fix or remove it")
    defaults = Settings()
    values: dict[str, object] = {}
    problems: list[str] = []
    for key, value in raw.items():
        check = _CHECKS.get(key)
        if check is None:
            problems.append(f"{path}: unknown setting {_short(key)} ignored")
            continue
        reason = check(value)
        if reason is None:
            values[key] = value
        elif key == "library":
            raise SettingsError(
                f"{path}: the setting 'library' {reason}; fix it (photoface does not open "
                "another library in its place)"
            )
        else:
            default = getattr(defaults, key)
            problems.append(
                f"{path}: {key} {reason}; using the default {default!r} instead of {_short(value)}"
            )
    return Settings(**values), problems  # type: ignore[arg-type]


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load(data_dir: Path) -> Settings:
    """Settings from the data dir, each ignored value logged as a warning (see `read`)."""
    s, problems = read(data_dir)
    for line in problems:
        log.warning("%s", line)
    return s


def save(data_dir: Path, settings: Settings) -> None:
    settings.validate()
    text = json.dumps(asdict(settings), indent=2)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(data_dir / SETTINGS_FILE, text.encode("utf-8"))
    except OSError as e:
        raise SettingsError(
            f"cannot write the settings file in {data_dir}: {describe_os_error(e)}"
        ) from e

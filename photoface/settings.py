"""User settings: a small JSON file in the data dir, read into a typed dataclass."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from photoface.core.cluster import ClusterParams
from photoface.core.detect import DEFAULT_DETECTOR, DETECTORS
from photoface.core.embed import ModelInfo
from photoface.core.imaging import DEFAULT_MAX_SIDE

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"


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

    def validate(self) -> None:
        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(DETECTORS)}")
        if self.cluster_threshold is not None and not 0.0 < self.cluster_threshold < 4.0:
            raise ValueError("cluster_threshold must be between 0 and 4 (squared L2)")
        if self.min_faces < 1:
            raise ValueError("min_faces must be at least 1")
        if not 0.0 <= self.seed_quality <= 1.0:
            raise ValueError("seed_quality must be between 0 and 1")
        if self.max_side < 64:
            raise ValueError("max_side must be at least 64 pixels")

    def cluster_params(self, info: ModelInfo) -> ClusterParams:
        threshold = self.cluster_threshold if self.cluster_threshold else info.grouping_threshold
        return ClusterParams(threshold, self.min_faces, seed_quality=self.seed_quality)


def load(data_dir: Path) -> Settings:
    """Settings from the data dir; a missing or damaged file gives the defaults (logged)."""
    path = data_dir / SETTINGS_FILE
    if not path.exists():
        return Settings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(Settings)}
        s = Settings(**{k: v for k, v in raw.items() if k in known})
        s.validate()
        return s
    except (OSError, ValueError, TypeError, AttributeError) as e:
        log.warning("ignoring unreadable settings file %s: %s", path, e)
        return Settings()


def save(data_dir: Path, settings: Settings) -> None:
    settings.validate()
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / (SETTINGS_FILE + ".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    tmp.replace(data_dir / SETTINGS_FILE)

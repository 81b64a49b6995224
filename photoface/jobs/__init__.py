"""What a user asks for, composed once for the CLI, the window and the benchmarks.

A long job is a generator: it yields typed progress, checks its cancel flag (a
threading.Event) between items, and *returns* its typed result (StopIteration.value);
`drain` runs one to the end and hands back that result.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

from photoface.jobs.find import (
    FaceFound,
    FaceMatch,
    FindResult,
    PersonMatch,
    find_people,
    photos_together,
)
from photoface.jobs.grouping import (
    GroupingResult,
    GroupingStarted,
    RegroupResult,
    recluster,
    regroup,
    update,
)
from photoface.jobs.opening import library_path, open_library, optional_embedder
from photoface.jobs.reembed import EmbedProgress, ReembedResult, reembed
from photoface.jobs.scan import (
    LiveGrouping,
    PeopleGrouped,
    ScanFolderProgress,
    ScanFolderResult,
    ScanProgress,
    ScanResult,
    scan,
    scan_folder,
)

R = TypeVar("R")

__all__ = [
    "EmbedProgress",
    "FaceFound",
    "FaceMatch",
    "FindResult",
    "GroupingResult",
    "GroupingStarted",
    "LiveGrouping",
    "PeopleGrouped",
    "PersonMatch",
    "ReembedResult",
    "RegroupResult",
    "ScanFolderProgress",
    "ScanFolderResult",
    "ScanProgress",
    "ScanResult",
    "drain",
    "find_people",
    "library_path",
    "open_library",
    "optional_embedder",
    "photos_together",
    "recluster",
    "reembed",
    "regroup",
    "scan",
    "scan_folder",
    "update",
]


def drain(job: Generator[Any, None, R], progress: Callable[[Any], object] | None = None) -> R:
    """Run a job to its end, handing each progress to `progress`; its result."""
    while True:
        try:
            step = next(job)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(step)

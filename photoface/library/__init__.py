"""The face library: `Library` (queries and the scan's writes), `library.edits` (the user's
undoable edits), and the records they take and give."""

from photoface.library.edits import Edits, NameConflictError
from photoface.library.library import Library
from photoface.library.records import (
    ClusterInput,
    Face,
    FaceRecord,
    Person,
    Photo,
    PhotoRecord,
    from_db,
    to_db,
)

__all__ = [
    "ClusterInput",
    "Edits",
    "Face",
    "FaceRecord",
    "Library",
    "NameConflictError",
    "Person",
    "Photo",
    "PhotoRecord",
    "from_db",
    "to_db",
]

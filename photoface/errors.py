"""Error types: per-item failures and task-fatal errors carrying a message a user can act on."""


class PhotofaceError(Exception):
    """A task cannot run; the message tells the user what to do about it."""


class ImageError(PhotofaceError):
    """One photo cannot be read; the scan records the reason and goes on."""


class ModelMissingError(PhotofaceError):
    """A model file the task needs is not installed."""


class LibraryError(PhotofaceError):
    """The library file cannot be used (locked, not a database, newer schema)."""


class NotFoundError(PhotofaceError):
    """An id given by the user names nothing in the library."""

"""The library file: opening and checking it, the connection, transactions, chunked IN lists."""

from __future__ import annotations

import logging
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from photoface.errors import LibraryError
from photoface.library import schema

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000

# Ids bound per statement in an `IN (?, ...)` list: under SQLite's host parameter limit
# (999 before 3.32), with room for a few other parameters in the same statement.
CHUNK = 500


def chunks(ids: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    """`ids` in lists of at most `size`, each small enough for one `in_clause`."""
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def in_clause(n: int) -> str:
    """`IN (?,?,...)` with `n` placeholders, for a list of `n` values (one of `chunks`)."""
    return f"IN ({','.join('?' * n)})"


CACHE_KIB = 64 * 1024  # the page cache of each connection


class Database:
    """An open library file: checked, migrated, in WAL mode. Not thread-safe."""

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path = Path(path)
        _check_file(self.path, create)
        try:
            self.conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
            tables = self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise LibraryError(f"{self.path} cannot be opened as a library: {e}") from e
        if tables and app_id != schema.APPLICATION_ID:
            self.conn.close()
            raise LibraryError(
                f"{self.path} is an SQLite database but not a photoface library; left untouched."
            )
        if version > schema.SCHEMA_VERSION:
            self.conn.close()
            raise LibraryError(
                f"{self.path} was written by a newer photoface (schema {version}, this version "
                f"reads up to {schema.SCHEMA_VERSION}); upgrade photoface. The file is untouched."
            )
        try:
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            # 64 MB of pages, not SQLite's 2 MB: a regroup's UPDATEs of a million faces walk
            # the faces' indexes out of order (writing them: 15.3 s -> 10.7 s).
            self.conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
            schema.migrate(self.conn)
        except sqlite3.OperationalError as e:
            raise library_error(self.path, e) from e

    def close(self) -> None:
        self.conn.close()

    def query(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        """The rows of one statement."""
        return self.conn.execute(sql, args).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE); a full, read-only or busy
        file is a LibraryError with a message for the user."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise library_error(self.path, e) from e
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as e:
            if self.conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error as rollback_error:
                    log.warning("rollback failed: %s", rollback_error)
            if isinstance(e, sqlite3.OperationalError) and is_environment(e):
                raise library_error(self.path, e) from e
            raise


def _check_file(path: Path, create: bool) -> None:
    """Refuse what must not be opened as a library: a folder, a FIFO, a file of other data."""
    if not path.exists():
        if not create:
            raise LibraryError(f"no library at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    if path.is_dir():
        raise LibraryError(f"{path} is a folder, not a library file")
    if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the open below
        raise LibraryError(f"{path} is not a regular file, so it cannot be a library")
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head and head != SQLITE_MAGIC:
        raise LibraryError(
            f"{path} is not a photoface library (not an SQLite database); "
            "it was left untouched. Choose another library location."
        )


_ENVIRONMENT_ERRORS = (
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
)


def is_environment(e: sqlite3.OperationalError) -> bool:
    """A write failed because of the disk or the file (full, read-only, locked), not a bug."""
    name = getattr(e, "sqlite_errorname", "") or ""
    return name.startswith(_ENVIRONMENT_ERRORS)


def library_error(path: Path, e: sqlite3.OperationalError) -> LibraryError:
    """The user's message for an environment error on the library file."""
    if "full" in str(e) or getattr(e, "sqlite_errorname", "") == "SQLITE_FULL":
        return LibraryError(
            f"the disk holding the library {path} is full: free some space and run it again "
            "(what was stored before is kept)."
        )
    if "locked" in str(e) or "busy" in str(e):
        return LibraryError(
            f"the library {path} is busy: another photoface is writing to it. "
            "Close the other instance or wait, then try again."
        )
    if "readonly" in str(e) or "read-only" in str(e):
        return LibraryError(f"the library {path} is read-only; check the file's permissions.")
    return LibraryError(f"the library {path} cannot be used: {e}")

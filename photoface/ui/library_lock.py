"""A lock file beside the library that says a window has it open, so a second one can warn.

The file is the app's own: made with O_EXCL and never through a link, it holds the owner's pid
and a token for the window. A lock whose pid is no longer running (a crash) is taken over.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAX_LOCK_BYTES = 200
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def lock_path(library: Path) -> Path:
    return library.with_name(library.name + ".lock")


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    except OSError:
        return False
    return True


@dataclass
class LibraryLock:
    """`held` says this window has the lock; `other_pid` names the live process that has it
    when this one does not (None: none known, e.g. the lock could not be read or made)."""

    path: Path
    token: str
    held: bool = False
    other_pid: int | None = None

    @classmethod
    def acquire(cls, library: Path) -> LibraryLock:
        lock = cls(lock_path(library), secrets.token_hex(8))
        for _attempt in range(2):  # once more after taking a stale lock away
            if lock._create():
                lock.held = True
                return lock
            owner = lock._read_owner()
            if owner is None:
                return lock  # not ours to judge (a link, garbage, unreadable): no warning
            pid, _token = owner
            if pid_alive(pid):
                lock.other_pid = pid
                return lock
            log.info("taking over the lock of process %d, which is no longer running", pid)
            try:
                os.unlink(lock.path)
            except FileNotFoundError:
                pass
            except OSError as e:
                log.warning("cannot remove the stale lock %s: %s", lock.path, e)
                return lock
        return lock

    def _create(self) -> bool:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
        try:
            fd = os.open(self.path, flags, 0o644)
        except FileExistsError:
            return False
        except OSError as e:  # a read-only folder: no lock, no warning
            log.warning("cannot make the lock file %s: %s", self.path, e)
            return False
        try:
            os.write(fd, f"{os.getpid()} {self.token}\n".encode())
        finally:
            os.close(fd)
        return True

    def _read_owner(self) -> tuple[int, str] | None:
        """(pid, token) of a regular lock file; None for a link, anything else or garbage."""
        try:
            fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        except OSError:  # gone meanwhile, a link (ELOOP), unreadable
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            text = os.read(fd, MAX_LOCK_BYTES).decode("ascii", "replace")
        finally:
            os.close(fd)
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit():
            return None
        return int(parts[0]), parts[1]

    def release(self) -> None:
        """Remove the lock if it is still this window's."""
        if not self.held:
            return
        self.held = False
        if self._read_owner() == (os.getpid(), self.token):
            try:
                os.unlink(self.path)
            except OSError as e:
                log.warning("cannot remove the lock file %s: %s", self.path, e)

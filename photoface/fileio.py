"""Safe file access: read only regular files (with a size cap), write only through an
exclusively created temporary file in the same folder, never through a link the app did not make.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import tempfile
from pathlib import Path

from photoface.errors import PhotofaceError

log = logging.getLogger(__name__)

# Larger than any photo or sidecar a library holds (a 100 MP TIFF is ~300 MB); a cap keeps a
# link to /dev/zero or a huge stray file from eating the memory.
MAX_READ_BYTES = 512 * 1024 * 1024


class UnsafeFileError(PhotofaceError):
    """A path is not a regular file, is a link where none may be, or is too large."""


def read_regular(path: Path | str, max_bytes: int = MAX_READ_BYTES) -> bytes:
    """The bytes of a regular file (a link to one is followed); FIFOs, devices, sockets and
    folders are refused without blocking, and so is a file larger than `max_bytes`."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except IsADirectoryError as e:
        raise UnsafeFileError("a folder, not a file") from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFileError(f"not a regular file ({_kind(st.st_mode)})")
        if st.st_size > max_bytes:
            raise UnsafeFileError(
                f"too large ({st.st_size / 2**20:.0f} MB; the limit is {max_bytes / 2**20:.0f} MB)"
            )
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:  # grew while being read
            raise UnsafeFileError(f"too large (over {max_bytes / 2**20:.0f} MB)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a plain file"


def check_writable_target(path: Path) -> os.stat_result | None:
    """The stat of the file that `write_atomic(path)` would replace (None: none yet); raises
    when the path is a link or not a regular file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFileError(f"{path} is a link; photoface does not write through links")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFileError(f"{path} is {_kind(st.st_mode)}, not a file photoface can replace")
    return st


def write_atomic(path: Path | str, data: bytes) -> None:
    """Replace `path` with `data`: a temporary file created exclusively (O_EXCL, a fresh random
    name) in the same folder, flushed, then renamed over it. An existing file keeps its
    permission bits. A link or a non-regular file at `path` is refused, not followed."""
    path = Path(path)
    old = check_writable_target(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if old is not None:
            os.chmod(tmp, stat.S_IMODE(old.st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def describe_os_error(e: OSError) -> str:
    """An OSError in plain words, for a one-line message."""
    if e.errno == errno.ENOSPC:
        return "the disk is full"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if e.errno == errno.EROFS:
        return "the file system is read-only"
    return e.strerror or str(e)

"""Files the monitor reads and writes.

Reading files named by the user (monitor.toml, the catalog, the CA bundle, the report folder):
as regular files only, with a size cap, so a device (/dev/zero), a FIFO or a huge file is a
clear error rather than a hang or an exhausted memory (:func:`check_path`,
:func:`read_regular_file`).

Writing (:func:`write_atomic`): a whole file through a temporary file in the same folder,
fsync'ed and renamed over the target (``os.replace``: a reader or a crash sees the old file or
the new one, never a mix). A symbolic link is written through: its target is replaced and the
link stays. A FIFO, a device, a socket or a directory at the path is refused: replacing one with
a regular file (as root, ``--out /dev/null`` once replaced ``/dev/null``) or writing into one (a
FIFO blocks forever) is never what was meant.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from monitor.errors import ConfigError

__all__ = ["MAX_CATALOG_BYTES", "MAX_CONFIG_BYTES", "MAX_FILE_BYTES", "check_path",
           "read_regular_file", "write_atomic"]

MAX_CONFIG_BYTES = 1_000_000
"""Bytes of monitor.toml read at most."""
MAX_CATALOG_BYTES = 500_000_000
"""Bytes of a catalog CSV read at most (100,000 rows are about 20 MB)."""
MAX_FILE_BYTES = {"catalog.path": MAX_CATALOG_BYTES, "http.ca_bundle": 10_000_000}


def check_path(path: str, kind: str, cap: int | None = None) -> str | None:
    """What is wrong with ``path`` as a ``kind`` ("file": a regular file, of at most ``cap``
    bytes when given; "dir": a directory that can be entered), or None. A path that does not
    exist yet is fine (the command that needs it says so); symbolic links are followed."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"{path}: {err.strerror or err}"
    if kind == "dir":
        if not stat.S_ISDIR(info.st_mode):
            return f"{path} is not a directory"
        return None if os.access(path, os.X_OK) else f"{path}: Permission denied"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file (a directory, device or pipe?)"
    if cap is not None and info.st_size > cap:
        return f"{path} is larger than {cap:,} bytes"
    return None


def read_regular_file(path: str | Path, cap: int) -> bytes:
    """The bytes of the regular file at ``path`` (links followed), at most ``cap`` of them.

    Raises ValueError naming what is wrong (not a regular file: a device such as /dev/zero, a
    FIFO, a directory; larger than ``cap``), OSError when it cannot be opened or read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file (a directory, device or pipe?)")
        chunks, left = [], cap + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    if left <= 0:
        raise ValueError(f"{path} is larger than {cap:,} bytes")
    return b"".join(chunks)


def write_atomic(path: str | Path, data: bytes, what: str = "file") -> Path:
    """Write ``data`` to ``path`` (see the module docstring); returns the path written (the
    link's target for a symbolic link). Missing parent folders are created.

    Raises ConfigError naming ``what`` and the path when the path is not a regular file (or
    nothing yet) or cannot be written.
    """
    target = Path(os.path.realpath(path))
    mode = _existing_mode(target, path, what)
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as err:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise ConfigError(f"cannot write the {what} to {str(path)!r}: "
                          f"{err.strerror or err}") from err
    return target


def _existing_mode(target: Path, given: str | Path, what: str) -> int | None:
    """The permission bits of the regular file at ``target`` (None when there is none)."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ConfigError(f"cannot write the {what} to {str(given)!r}: "
                          f"{err.strerror or err}") from err
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"cannot write the {what} to {str(given)!r}: it is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"cannot write the {what} to {str(given)!r}: not a regular file "
                          "(a device, FIFO or socket); give a file path or '-'")
    return stat.S_IMODE(info.st_mode)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current

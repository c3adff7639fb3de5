"""Files the monitor writes: atomically, and only where a regular file belongs.

:func:`write_atomic` writes a whole file through a temporary file in the same folder, fsync'ed
and renamed over the target (``os.replace``: a reader or a crash sees the old file or the new
one, never a mix). A symbolic link is written through: its target is replaced and the link
stays. A FIFO, a device, a socket or a directory at the path is refused: replacing one with a
regular file (as root, ``--out /dev/null`` once replaced ``/dev/null``) or writing into one
(a FIFO blocks forever) is never what was meant.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from monitor.errors import ConfigError

__all__ = ["write_atomic"]


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

"""Files named by the user (monitor.toml, the catalog, the CA bundle, the report folder): read
as regular files only, with a size cap, so a device (/dev/zero), a FIFO or a huge file is a
clear error rather than a hang or an exhausted memory (issue 16).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

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

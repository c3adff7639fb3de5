"""Write changed source files all or none, each one atomically.

Every new content is first written to a temporary file beside its target (same folder, so the
rename stays on one file system), flushed and fsync'ed, given the target's mode (and owner when
allowed), and read back; each target is checked to still hold the bytes the plan was made from.
Only then are the temporary files renamed over their targets, one ``os.replace`` each (atomic
on POSIX: a reader or a crash sees the old file or the new one, never a mix), and the folders
are fsync'ed. A failure before the renames writes nothing and removes the temporary files; a
rename that fails puts the files already replaced back to their old bytes. A process killed
between two renames leaves every file wholly old or wholly new (and a ``.NAME.*.monitor-fix``
temporary file beside each file not yet renamed). A symbolic link is written through: its
target is replaced, the link stays.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from monitor.fix.edit import FixError

__all__ = ["write_changes"]

_rename = os.replace  # one name for the rename, so a test can stop the process between two


class _Change(Protocol):
    file: str
    path: Path
    old: bytes
    new: bytes


@dataclass(frozen=True)
class _Staged:
    change: _Change
    target: Path
    temp: Path


def write_changes(changes: Sequence[_Change]) -> None:
    """Write each ``change.new`` to ``change.path``, all or none (see the module docstring).

    Raises FixError (nothing written) when a file changed since it was read, two changes
    name the same file, or a new content cannot be staged; OSError from a failed rename
    after the files already replaced were put back.
    """
    _check_distinct(changes)
    staged: list[_Staged] = []
    try:
        for change in changes:
            staged.append(_stage(change))
        for item in staged:
            _check(item)
    except BaseException:
        for item in staged:
            _discard(item.temp)
        raise
    _commit(staged)


def _check_distinct(changes: Sequence[_Change]) -> None:
    seen: dict[str, str] = {}
    for change in changes:
        real = os.path.realpath(change.path)
        if real in seen:
            raise FixError(f"{change.file}: the same file as {seen[real]}; nothing written")
        seen[real] = change.file


def _stage(change: _Change) -> _Staged:
    target = Path(os.path.realpath(change.path))
    try:
        info = os.stat(target)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".monitor-fix",
                                    dir=target.parent)
    except OSError as exc:
        raise FixError(f"{change.file}: cannot write: {exc.strerror or exc}; nothing written") \
            from None
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(change.new)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        with contextlib.suppress(PermissionError):
            os.chown(temp, info.st_uid, info.st_gid)
    except BaseException:
        _discard(temp)
        raise
    return _Staged(change, target, temp)


def _check(item: _Staged) -> None:
    if item.temp.read_bytes() != item.change.new:
        raise FixError(f"{item.change.file}: the new content did not read back; nothing written")
    if item.target.read_bytes() != item.change.old:
        raise FixError(f"{item.change.file}: changed since the fix was planned; nothing written")


def _commit(staged: list[_Staged]) -> None:
    done: list[_Staged] = []
    try:
        for item in staged:
            _rename(item.temp, item.target)
            done.append(item)
    except BaseException:
        for item in staged[len(done):]:
            _discard(item.temp)
        _restore(done)
        raise
    for folder in dict.fromkeys(item.target.parent for item in staged):
        _fsync_folder(folder)


def _restore(done: list[_Staged]) -> None:
    """Put the old bytes back into files already replaced (best effort, each atomically)."""
    for item in done:
        with contextlib.suppress(OSError, FixError):
            back = _stage(_Back(item.change.file, item.target, item.change.new,
                                item.change.old))
            _rename(back.temp, back.target)


@dataclass(frozen=True)
class _Back:
    file: str
    path: Path
    old: bytes
    new: bytes


def _discard(temp: Path) -> None:
    with contextlib.suppress(OSError):
        temp.unlink()


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""A unified diff of planned changes that ``git apply`` accepts in the sources' folder.

Format (GNU diffutils "Unified Format", as git writes it): per file a ``diff --git a/F b/F``
line, ``--- a/F`` and ``+++ b/F``, then hunks ``@@ -start,count +start,count @@`` with three
lines of context. Lines are split after each ``\\n`` only, as git splits them, so a ``\\r``
before it (CRLF files) is part of the line and goes out as is; a last line without a newline
is followed by ``\\ No newline at end of file``. Paths are relative to the sources' folder; a
path holding ``"``, ``\\`` or a control character is C-quoted, as git quotes it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Protocol

__all__ = ["unified_diff"]

_NO_NEWLINE = b"\\ No newline at end of file\n"
_C_ESCAPES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n"}


class _Change(Protocol):
    file: str
    old: bytes
    new: bytes


def unified_diff(changes: Iterable[_Change], context: int = 3) -> bytes:
    """The diff of every change whose bytes differ, in the given order (bytes, not text:
    the files' own encoding and line endings go through untouched)."""
    return b"".join(_file_diff(c.file, c.old, c.new, context) for c in changes if c.old != c.new)


def _file_diff(name: str, old: bytes, new: bytes, context: int) -> bytes:
    a_name, b_name = _quoted("a/" + name), _quoted("b/" + name)
    out = [f"diff --git {a_name} {b_name}\n--- {a_name}\n+++ {b_name}\n".encode()]
    before, after = _lines(old), _lines(new)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        out.append(_hunk_header(group))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [_line(b" ", line) for line in before[i1:i2]]
                continue
            out += [_line(b"-", line) for line in before[i1:i2]]
            out += [_line(b"+", line) for line in after[j1:j2]]
    return b"".join(out)


def _lines(data: bytes) -> list[bytes]:
    """Lines of ``data``, each with its ``\\n`` (the last one may lack it)."""
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    return lines + [parts[-1]] if parts[-1] else lines


def _line(mark: bytes, line: bytes) -> bytes:
    return mark + line if line.endswith(b"\n") else mark + line + b"\n" + _NO_NEWLINE


def _hunk_header(group: list[tuple[str, int, int, int, int]]) -> bytes:
    first, last = group[0], group[-1]
    old = _range(first[1], last[2])
    new = _range(first[3], last[4])
    return f"@@ -{old} +{new} @@\n".encode()


def _range(start: int, stop: int) -> str:
    """``start,count`` of lines [start, stop): 1-based, the count left out when 1; an empty
    range names the line before it."""
    count = stop - start
    if count == 1:
        return str(start + 1)
    return f"{start + 1 if count else start},{count}"


def _quoted(path: str) -> str:
    if not any(c in _C_ESCAPES or ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        return path
    body = "".join(_C_ESCAPES.get(c) or (f"\\{ord(c):03o}" if ord(c) < 0x20 or ord(c) == 0x7F
                                         else c) for c in path)
    return f'"{body}"'

"""A source file's bytes, decoded, with lines numbered as extraction numbers them.

Extraction (:mod:`monitor.catalog.extract`) reads a file as UTF-8 with an optional BOM, turns
``\\r\\n`` and a lone ``\\r`` into ``\\n`` and numbers the lines of the result from 1.
:class:`SourceText` keeps the original bytes beside that view so that a position in a line (a
character column) becomes an exact byte offset in the file, whatever the line endings, BOM or
final newline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["NotUTF8", "SourceText"]

_BOM = b"\xef\xbb\xbf"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class NotUTF8(ValueError):
    """Not UTF-8: ``line`` (1-based) and ``offset`` (byte) locate the first bad byte."""

    def __init__(self, line: int, offset: int) -> None:
        super().__init__(f"{line}: not UTF-8 (byte {offset})")
        self.line = line
        self.offset = offset


@dataclass(frozen=True)
class SourceText:
    """``data`` decoded: ``lines[i]`` is line ``i + 1`` without its line break.

    ``line_bytes[i]`` is the byte offset in ``data`` where line ``i + 1`` starts (after the
    BOM for the first line). Build with :meth:`decode`.
    """

    data: bytes
    lines: list[str]
    line_bytes: list[int]
    _bom: int = field(default=0, repr=False)

    @classmethod
    def decode(cls, data: bytes) -> SourceText:
        """Decode ``data`` (UTF-8, optional BOM). Raises :class:`NotUTF8`."""
        bom = len(_BOM) if data.startswith(_BOM) else 0
        try:
            text = data[bom:].decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = bom + exc.start
            raise NotUTF8(_count_breaks(data[:bad]) + 1, bad) from None
        lines: list[str] = []
        starts: list[int] = []
        offset, cursor = bom, 0
        for match in _LINE_BREAK.finditer(text):
            line = text[cursor:match.start()]
            lines.append(line)
            starts.append(offset)
            offset += len(line.encode("utf-8")) + len(match.group())
            cursor = match.end()
        lines.append(text[cursor:])
        starts.append(offset)
        return cls(data, lines, starts, bom)

    def offset(self, line: int, column: int) -> int:
        """Byte offset of character ``column`` of 0-based line index ``line``."""
        return self.line_bytes[line] + len(self.lines[line][:column].encode("utf-8"))

    def line_of(self, offset: int) -> int:
        """0-based index of the line holding byte ``offset``."""
        low, high = 0, len(self.line_bytes) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self.line_bytes[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return low

    def line_end(self, line: int) -> int:
        """Byte offset just after the text of 0-based line ``line`` (before its line break)."""
        return self.line_bytes[line] + len(self.lines[line].encode("utf-8"))

    def line_break(self, line: int) -> bytes:
        """The line break bytes after 0-based line ``line`` (``b""`` for the last line)."""
        end = self.line_end(line)
        following = self.line_bytes[line + 1] if line + 1 < len(self.lines) else len(self.data)
        return self.data[end:following]


def _count_breaks(data: bytes) -> int:
    """Number of line breaks (``\\r\\n``, ``\\r``, ``\\n``) in ``data``."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")

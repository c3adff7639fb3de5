"""Line numbers of the keys of a TOML document, which ``tomllib`` does not report.

:func:`key_lines` scans a document that ``tomllib`` has already accepted, following the TOML
1.0 grammar (https://toml.io/en/v1.0.0) as far as finding keys needs: comments, table headers
(``[a.b]``, ``[[a]]``), dotted, bare and quoted keys, and values that may hide what looks like a
key (strings of all four kinds, multi-line ones included, arrays over several lines, inline
tables, whose keys are found too). It never raises: on anything unexpected it returns what it
has found so far, and a caller without a line simply shows none.
"""

from __future__ import annotations

import contextlib
import json
import re

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}#\n]")


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """``{key path: line}`` (1-based) of every table header and key of ``text``; the first
    definition of a path wins, and a dotted key also records its prefixes."""
    scanner = _Scanner(text)
    with contextlib.suppress(IndexError, ValueError):
        scanner.document()
    return scanner.found


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1
        self.found: dict[tuple[str, ...], int] = {}

    # ------------------------------------------------------------ helpers

    def peek(self, size: int = 1) -> str:
        return self.text[self.pos:self.pos + size]

    def advance(self, size: int = 1) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + size)
        self.pos += size

    def expect(self, token: str) -> None:
        if self.peek(len(token)) != token:
            raise ValueError(f"expected {token!r} at line {self.line}")
        self.advance(len(token))

    def blanks(self, newlines: bool = False) -> None:
        """Skip spaces and tabs (and newlines and comments when ``newlines``)."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif newlines and char == "#":
                end = self.text.find("\n", self.pos)
                self.advance((end if end >= 0 else len(self.text)) - self.pos)
            else:
                return

    def record(self, path: tuple[str, ...], line: int) -> None:
        for size in range(1, len(path) + 1):
            self.found.setdefault(path[:size], line)

    # ------------------------------------------------------------ grammar

    def document(self) -> None:
        table: tuple[str, ...] = ()
        while True:
            self.blanks(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.peek() == "[":
                table = self.header()
            else:
                self.keyval(table)

    def header(self) -> tuple[str, ...]:
        double = self.peek(2) == "[["
        line = self.line
        self.advance(2 if double else 1)
        self.blanks()
        path = self.key()
        self.blanks()
        self.expect("]]" if double else "]")
        self.record(path, line)
        return path

    def keyval(self, prefix: tuple[str, ...]) -> None:
        line = self.line
        path = prefix + self.key()
        self.record(path, line)
        self.blanks()
        self.expect("=")
        self.blanks()
        self.value(path)

    def key(self) -> tuple[str, ...]:
        parts = [self.simple_key()]
        self.blanks()
        while self.peek() == ".":
            self.advance()
            self.blanks()
            parts.append(self.simple_key())
            self.blanks()
        return tuple(parts)

    def simple_key(self) -> str:
        char = self.peek()
        if char == '"':
            raw = self.basic_string()
            try:
                return str(json.loads(f'"{raw}"'))
            except ValueError:
                return raw
        if char == "'":
            return self.literal_string()
        match = _BARE.match(self.text, self.pos)
        if not match:
            raise ValueError(f"no key at line {self.line}")
        self.advance(match.end() - self.pos)
        return match.group()

    def basic_string(self) -> str:
        self.advance()
        start = self.pos
        while self.text[self.pos] != '"':
            self.advance(2 if self.text[self.pos] == "\\" else 1)
        raw = self.text[start:self.pos]
        self.advance()
        return raw

    def literal_string(self) -> str:
        self.advance()
        end = self.text.index("'", self.pos)
        raw = self.text[self.pos:end]
        self.advance(end + 1 - self.pos)
        return raw

    def multiline(self, quote: str) -> None:
        self.advance(3)
        while self.peek(3) != quote * 3:
            self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
        self.advance(3)
        for _ in range(2):  # up to two quotes right before the closing ones belong to the text
            if self.peek() == quote:
                self.advance()

    def value(self, path: tuple[str, ...]) -> None:
        char = self.peek()
        if self.peek(3) in ('"""', "'''"):
            self.multiline(char)
        elif char == '"':
            self.basic_string()
        elif char == "'":
            self.literal_string()
        elif char == "[":
            self.array(path)
        elif char == "{":
            self.inline_table(path)
        else:
            match = _SCALAR_END.search(self.text, self.pos)
            self.advance((match.start() if match else len(self.text)) - self.pos)

    def array(self, path: tuple[str, ...]) -> None:
        self.advance()
        while True:
            self.blanks(newlines=True)
            if self.peek() == "]":
                self.advance()
                return
            self.value(path)
            self.blanks(newlines=True)
            if self.peek() == ",":
                self.advance()

    def inline_table(self, path: tuple[str, ...]) -> None:
        self.advance()
        while True:
            self.blanks()
            if self.peek() == "}":
                self.advance()
                return
            self.keyval(path)
            self.blanks()
            if self.peek() == ",":
                self.advance()

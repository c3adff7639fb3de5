"""The catalog file: a CSV of links keyed by canonical URL (SPEC §5).

- :func:`load_catalog` / :func:`read_catalog_text` read a catalog; bad rows become
  :class:`CatalogProblem` values (with the physical line number) and are skipped; a file that is
  not a usable CSV at all raises :class:`CatalogError` (exit 3).
- :func:`write_catalog` and :func:`append_row` write one.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from monitor.catalog.kinds import guess_kind
from monitor.errors import EXIT_CONFIG, MonitorError
from monitor.files import MAX_CATALOG_BYTES, read_regular_file
from monitor.sites import canonical_url
from monitor.urls import InvalidURL
from monitor.vocabulary import KINDS

__all__ = [
    "KNOWN_COLUMNS", "CatalogError", "CatalogProblem", "CatalogRow", "append_row",
    "load_catalog", "read_catalog_text", "write_catalog",
]

KNOWN_COLUMNS = ("url", "title", "section", "chapter", "kind", "source", "added", "notes")
MAX_URL_LENGTH = 2048  # longer URLs are refused by many servers and do not fit the index
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.+\-Z]{0,20})?$")


@dataclass(frozen=True)
class CatalogRow:
    """One catalog entry; ``url`` is as written, ``line`` the 1-based physical CSV line."""

    url: str
    canonical_url: str
    title: str = ""
    section: str = ""
    chapter: str = ""
    kind: str = "other"
    source: str = ""
    added: str = ""
    notes: str = ""
    extra: tuple[tuple[str, str], ...] = ()
    line: int = 0


@dataclass(frozen=True)
class CatalogProblem:
    """A skipped or amended row: ``str()`` gives ``"catalog.csv:12: not http/https: ftp://x"``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class CatalogError(MonitorError):
    """The whole catalog file is unusable (unreadable, not UTF-8 CSV, no ``url`` column, empty).

    The message names the file and, where known, the line. The CLI exits with code 3.
    """

    exit_code = EXIT_CONFIG


# ---------------------------------------------------------------- reading


def load_catalog(path: str | Path) -> tuple[list[CatalogRow], list[CatalogProblem]]:
    """Read the catalog CSV at ``path`` (UTF-8, a BOM is tolerated).

    Returns (rows in file order, problems). Raises CatalogError only (see the class), never
    anything else, whatever the bytes of the file.
    """
    try:
        data = read_regular_file(path, MAX_CATALOG_BYTES)
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # a device, FIFO or directory, or past the size cap
        raise CatalogError(str(exc)) from None
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise CatalogError(f"{path}:{line}: NUL byte")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CatalogError(f"{path}:{line}: not UTF-8 (byte {exc.start})") from None
    return read_catalog_text(text, str(path))


def read_catalog_text(
    text: str, path: str = "<string>"
) -> tuple[list[CatalogRow], list[CatalogProblem]]:
    """Parse catalog CSV ``text``; ``path`` only labels problems and errors.

    Row rules: blank lines are ignored; a row with more non-empty fields than the header, an
    empty or invalid URL (:func:`monitor.sites.canonical_url`), or a canonical URL already seen
    (``"duplicate of line N"``) is a problem and skipped; missing trailing fields are empty; an
    unknown ``kind`` is replaced by :func:`guess_kind` and reported; an empty one is guessed.
    Raises CatalogError for a NUL byte, a CSV syntax error, no header, or no ``url`` column.
    """
    if "\x00" in text:
        raise CatalogError(f"{path}: NUL character")
    records = _records(text.removeprefix("\ufeff"), path)
    header_line, header = next(records, (0, []))
    if not header:
        raise CatalogError(f"{path}: empty file, no header")
    names = _header_names(header, path, header_line)
    rows: list[CatalogRow] = []
    problems: list[CatalogProblem] = []
    first_seen: dict[str, int] = {}
    for line, fields in records:
        row = _row(names, fields, line, path, problems)
        if row is None:
            continue
        if row.canonical_url in first_seen:
            problems.append(
                CatalogProblem(path, line, f"duplicate of line {first_seen[row.canonical_url]}")
            )
            continue
        first_seen[row.canonical_url] = line
        rows.append(row)
    return rows, problems


def _records(text: str, path: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (first physical line, fields) of each non-blank CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            hint = " (a quote opened here is never closed)" if "end of data" in str(exc) else ""
            raise CatalogError(f"{path}:{start}: not CSV: {exc}{hint}") from None
        if fields and any(f.strip() for f in fields):
            yield start, fields
        start = reader.line_num + 1


def _header_names(header: list[str], path: str, line: int) -> list[str]:
    names = [n.strip().lower() if n.strip().lower() in KNOWN_COLUMNS else n for n in header]
    seen: set[str] = set()
    for name in names:
        if name in seen and name:
            raise CatalogError(f"{path}:{line}: duplicate column {name!r} in header")
        seen.add(name)
    if "url" not in seen:
        raise CatalogError(f"{path}:{line}: no 'url' column in header {header!r}")
    return names


def _row(
    names: list[str], fields: list[str], line: int, path: str, problems: list[CatalogProblem]
) -> CatalogRow | None:
    """Build one row, or record a problem and return None."""
    if len(fields) > len(names) and any(f.strip() for f in fields[len(names):]):
        message = f"{len(fields)} fields, header has {len(names)}"
        problems.append(CatalogProblem(path, line, message))
        return None
    values = dict(zip(names, fields + [""] * (len(names) - len(fields)), strict=False))
    url = values["url"]
    if not url.strip():
        problems.append(CatalogProblem(path, line, "empty url"))
        return None
    if len(url.strip()) > MAX_URL_LENGTH:
        problems.append(CatalogProblem(path, line, f"url longer than {MAX_URL_LENGTH} characters"))
        return None
    if "\n" in url.strip() or "\r" in url.strip():
        problems.append(CatalogProblem(path, line, "the url field spans lines (an unterminated "
                                       f"quote?): {url.strip()[:80]!r}"))
        return None
    try:
        canonical = canonical_url(url)
    except InvalidURL as exc:
        problems.append(CatalogProblem(path, line, str(exc)))
        return None
    known = {k: values.get(k, "") for k in KNOWN_COLUMNS if k != "url"}
    if known["added"] and not _ISO_DATE.match(known["added"].strip()):
        problems.append(CatalogProblem(path, line, f"added is not an ISO date "
                                       f"(YYYY-MM-DD): {known['added'][:40]!r}; ignored"))
        known["added"] = ""
    known["kind"] = _checked_kind(known["kind"], canonical, known["title"], line, path, problems)
    extra = tuple((n, values.get(n, "")) for n in names if n not in KNOWN_COLUMNS)
    return CatalogRow(url=url, canonical_url=canonical, extra=extra, line=line, **known)


def _checked_kind(
    kind: str, url: str, title: str, line: int, path: str, problems: list[CatalogProblem]
) -> str:
    normal = kind.strip().lower()
    if normal in KINDS:
        return normal
    guessed = guess_kind(url, title)
    if normal:
        problems.append(CatalogProblem(path, line, f"unknown kind {kind!r}, using {guessed!r}"))
    return guessed


# ---------------------------------------------------------------- writing


def write_catalog(rows: Iterable[CatalogRow], path_or_stream: str | Path | IO[str]) -> None:
    """Write ``rows`` as CSV: the known columns, then extra columns in first-seen order.

    Lines end with ``"\\n"``; the same rows always give the same bytes. ``path_or_stream`` is a
    path (written as UTF-8, no BOM) or a text stream. Raises OSError if the path is unwritable.
    """
    rows = list(rows)
    extras = list(dict.fromkeys(name for row in rows for name, _ in row.extra))
    if isinstance(path_or_stream, str | os.PathLike):
        with open(path_or_stream, "w", encoding="utf-8", newline="") as stream:
            _write_rows(rows, extras, stream)
    else:
        _write_rows(rows, extras, path_or_stream)


def _write_rows(rows: list[CatalogRow], extras: list[str], stream: IO[str]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([*KNOWN_COLUMNS, *extras])
    for row in rows:
        extra = dict(row.extra)
        writer.writerow(
            [getattr(row, name) for name in KNOWN_COLUMNS] + [extra.get(n, "") for n in extras]
        )


def append_row(path: str | Path, row_fields: dict[str, str]) -> None:
    """Append one row to the existing catalog at ``path``, leaving every other byte untouched.

    Fields go in the file's header order (missing ones empty); a newline is written first if
    the file does not end with one; the file's own line ending (``\\r\\n`` or ``\\n``) is used.
    Raises CatalogError if the file is unreadable or has no header with a ``url`` column, if
    ``row_fields`` has no url or names a column the header lacks.
    """
    try:
        data = Path(path).read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read: {exc}") from None
    header = next((f for _, f in _records(text, str(path))), [])
    names = _header_names(header, str(path), 1) if header else []
    if not names:
        raise CatalogError(f"{path}: no header")
    unknown = [k for k in row_fields if k not in names]
    if unknown or not row_fields.get("url", "").strip():
        raise CatalogError(f"{path}: cannot append {row_fields!r}: unknown columns {unknown}")
    newline = "\r\n" if re.match(r"[^\n]*\r\n", text) else "\n"
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerow([row_fields.get(n, "") for n in names])
    prefix = newline if data and not data.endswith((b"\n", b"\r")) else ""
    with open(path, "ab") as stream:
        stream.write((prefix + out.getvalue()).encode("utf-8"))

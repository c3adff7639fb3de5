"""The catalog of a run: the catalog CSV, or the catalog sources (SPEC §5, §12).

With ``catalog.sources`` set (Markdown/HTML files or globs, relative to the configuration
file's folder), the sources *are* the catalog: :func:`catalog_rows` extracts them
(:func:`monitor.catalog.extract.extract_sources`) at every ``run`` and ``check``, so a link
added to the Markdown today is checked tonight and a link removed retires. ``catalog.path``
is then a derived snapshot of the extraction, written only when its bytes change; for each row
that still exists it keeps what a person added to it: ``added``, ``notes`` and any extra
column. A row new to an existing snapshot gets ``added`` = today. A source file skipped by
extraction (not UTF-8) keeps its rows of the previous snapshot, so one bad byte does not retire
a chapter's links.

Without ``catalog.sources``, the catalog is ``catalog.path`` as it is (:func:`load_catalog`).
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from monitor.catalog.csvfile import CatalogProblem, CatalogRow, load_catalog, write_catalog
from monitor.catalog.extract import extract_sources
from monitor.config import Settings
from monitor.errors import ConfigError

__all__ = ["Sources", "catalog_rows", "merge_snapshot", "source_paths", "sources_of"]


@dataclass(frozen=True)
class Sources:
    """The catalog sources of a configuration: ``paths`` (absolute, in the order given, each
    glob's matches sorted) and ``root``: the folder every catalog ``source`` (``file:line``) is
    relative to (the first root file's folder, as extraction makes it)."""

    paths: tuple[Path, ...]
    root: Path

    def names(self) -> list[str]:
        """Each path relative to :attr:`root`, POSIX style (``_includes/section1.md``)."""
        return [Path(os.path.relpath(p, self.root)).as_posix() for p in self.paths]


def source_paths(patterns: Sequence[str], folder: str | Path) -> list[Path]:
    """Every file named by ``patterns`` (paths or globs; ``**`` spans folders), relative to
    ``folder`` unless absolute, in the order given, each glob's matches sorted, once each.

    Raises ConfigError naming the pattern when it matches no file.
    """
    found: dict[Path, None] = {}
    for pattern in patterns:
        full = os.path.join(os.path.abspath(folder), os.path.expanduser(pattern))
        matches = sorted(m for m in glob.glob(full, recursive=True) if os.path.isfile(m))
        if not matches:
            raise ConfigError(f"catalog.sources: no file matches {pattern!r} "
                              f"(relative to {os.path.abspath(folder)})")
        found.update((Path(os.path.normpath(m)), None) for m in matches)
    return list(found)


def sources_of(settings: Settings) -> Sources | None:
    """The configured catalog sources, or None when ``catalog.sources`` is empty.

    Raises ConfigError when a pattern matches no file.
    """
    patterns = settings["catalog.sources"]
    if not patterns:
        return None
    paths = source_paths(patterns, settings.folder)
    return Sources(tuple(paths), extract_sources(paths).base)


def catalog_rows(settings: Settings, today: date | None = None
                 ) -> tuple[list[CatalogRow], list[CatalogProblem]]:
    """The catalog of a run: ``(rows, problems)`` from ``catalog.sources`` (the snapshot at
    ``catalog.path`` written when it changed) or, without sources, from ``catalog.path``.

    Raises CatalogError for an unusable catalog file (or a snapshot that cannot be read as CSV:
    what a person added to it would be lost), ConfigError for a source pattern matching
    nothing or a snapshot that cannot be written.
    """
    patterns = settings["catalog.sources"]
    if not patterns:
        return load_catalog(settings["catalog.path"])
    found = extract_sources(source_paths(patterns, settings.folder))
    snapshot = Path(settings["catalog.path"])
    previous = load_catalog(snapshot)[0] if snapshot.is_file() else None
    rows = merge_snapshot(found.rows, previous, found.skipped, today or date.today())
    _write_if_changed(rows, snapshot)
    return rows, found.problems


def merge_snapshot(extracted: Sequence[CatalogRow], previous: Sequence[CatalogRow] | None,
                   skipped: Sequence[str] = (), today: date | None = None) -> list[CatalogRow]:
    """The snapshot's rows: each extracted row with the ``added``, ``notes`` and extra columns
    of the ``previous`` snapshot's row of the same canonical URL (``added`` = ``today`` for a
    row new to an existing snapshot), then the previous rows whose source file was
    ``skipped``, as they were."""
    before = {row.canonical_url: row for row in previous or ()}
    day = (today or date.today()).isoformat()
    rows: list[CatalogRow] = []
    for row in extracted:
        old = before.get(row.canonical_url)
        if old is not None:
            rows.append(replace(row, added=old.added or row.added, notes=old.notes,
                                extra=old.extra, line=0))
        else:
            rows.append(replace(row, added=row.added or (day if previous is not None else "")))
    seen = {row.canonical_url for row in rows}
    kept = set(skipped)
    rows += [replace(row, line=0) for row in previous or ()
             if row.source.rpartition(":")[0] in kept and row.canonical_url not in seen]
    return rows


def _write_if_changed(rows: list[CatalogRow], path: Path) -> bool:
    """Write ``rows`` to ``path`` (atomically: a temporary file, then a rename) when its bytes
    differ; returns whether it was written. Raises ConfigError when it cannot be written."""
    text = io.StringIO()
    write_catalog(rows, text)
    data = text.getvalue().encode("utf-8")
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return False
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"cannot write the catalog snapshot {path}: {err.strerror}") from err
    return True

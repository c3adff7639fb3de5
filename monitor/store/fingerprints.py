"""Queries of the ``fingerprints`` table (SPEC §7).

Rows are written during a run (with the result batches) but count only once their run is
``complete``: a crashed or aborted run's rows are never a baseline nor history, and
:func:`purge_unfinished` deletes them (and a degraded run's). The baseline is promoted inside
the transaction that applies the run (:mod:`monitor.store.freshness`) or by ``monitor ack``.
A row is written only when the content differs from the resource's latest row, and
:func:`prune` keeps the baseline plus the latest ``KEEP`` rows per resource.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from monitor.classify.fingerprint import Fingerprint as Print
from monitor.store.db import Database
from monitor.store.models import Fingerprint, Run
from monitor.vocabulary import Latest

KEEP = 6  # recent rows kept per resource besides the baseline (the flip-flop window)
CHUNK = 900  # ids per IN (...) list


class LatestMap(Mapping[int, Latest]):
    """:class:`Latest` by resource id, stored compactly for catalogs of 100,000 resources.

    Per resource: its id and the fingerprint's id in two ``array("q")`` (ids ascending, looked
    up by bisection), both SHA-256 hashes as 32 raw bytes in one ``bytearray``, one byte for the
    extractor version (an index into the few distinct versions) and whether there is a text
    hash: about 90 bytes instead of about 450 for a dict of :class:`Latest` with hex strings.
    A :class:`Latest` is built on each lookup. Rows whose hashes are not lower-case 64-digit
    hex, or that come out of resource order, are kept as they are in a small dict.
    """

    def __init__(self, rows: Iterable[tuple[int, int, str, str | None, str]]) -> None:
        self._ids, self._fids = array("q"), array("q")
        self._hashes, self._flags = bytearray(), bytearray()
        self._versions: list[str] = []
        self._other: dict[int, Latest] = {}
        for rid, fid, raw, text, version in rows:
            raw_bytes = _digest(raw)
            text_bytes = bytes(32) if text is None else _digest(text)
            if (raw_bytes is None or text_bytes is None or (self._ids and rid <= self._ids[-1])
                    or (version not in self._versions and len(self._versions) >= 128)):
                self._other[rid] = Latest(fid, raw, text, version)
                continue
            if version not in self._versions:
                self._versions.append(version)
            self._ids.append(rid)
            self._fids.append(fid)
            self._hashes += raw_bytes
            self._hashes += text_bytes
            self._flags.append(self._versions.index(version) << 1 | (text is not None))

    def _find(self, resource_id: int) -> int:
        i = bisect_left(self._ids, resource_id)
        return i if i < len(self._ids) and self._ids[i] == resource_id else -1

    def __getitem__(self, resource_id: int) -> Latest:
        i = self._find(resource_id)
        if i < 0:
            return self._other[resource_id]
        at, flags = i * 64, self._flags[i]
        text = self._hashes[at + 32:at + 64].hex() if flags & 1 else None
        return Latest(self._fids[i], self._hashes[at:at + 32].hex(), text,
                      self._versions[flags >> 1])

    def get(self, resource_id: int, default: Any = None) -> Any:  # type: ignore[override]
        """The :class:`Latest` of ``resource_id``, or ``default``."""
        try:
            return self[resource_id]
        except KeyError:
            return default

    def __contains__(self, resource_id: object) -> bool:
        return (isinstance(resource_id, int) and self._find(resource_id) >= 0) or (
            resource_id in self._other)

    def __iter__(self) -> Iterator[int]:
        yield from self._ids
        yield from self._other

    def __len__(self) -> int:
        return len(self._ids) + len(self._other)


def _digest(hex_hash: str) -> bytes | None:
    """The 32 bytes of a lower-case 64-digit hex SHA-256, or None for anything else."""
    if len(hex_hash) != 64:
        return None
    try:
        raw = bytes.fromhex(hex_hash)
    except ValueError:
        return None
    return raw if raw.hex() == hex_hash else None


def counted(run_id: int | None = None) -> ColumnElement[bool]:
    """Rows of complete runs (or of ``run_id``, the run being applied), or whose run is gone."""
    done = select(Run.id).where(Run.status == "complete")
    conditions = [Fingerprint.run_id.is_(None), Fingerprint.run_id.in_(done)]
    if run_id is not None:
        conditions.append(Fingerprint.run_id == run_id)
    return or_(*conditions)


def latest_map(db: Database, resource_ids: Iterable[int] | None = None) -> LatestMap:
    """The newest counted fingerprint of every resource that has one (a read-only mapping),
    or only of those among ``resource_ids`` (a host batch; read ``CHUNK`` ids at a time)."""
    if resource_ids is None:
        return LatestMap(_latest_rows(db, None))
    ids = sorted(resource_ids)
    return LatestMap(row for start in range(0, len(ids), CHUNK)
                     for row in _latest_rows(db, ids[start:start + CHUNK]))


def _latest_rows(db: Database, ids: list[int] | None
                 ) -> Iterator[tuple[int, int, str, str | None, str]]:
    newest = select(func.max(Fingerprint.id)).where(counted())
    if ids is not None:
        newest = newest.where(Fingerprint.resource_id.in_(ids))
    stmt = (select(Fingerprint.resource_id, Fingerprint.id, Fingerprint.raw_hash,
                   Fingerprint.text_hash, Fingerprint.extractor_version)
            .where(Fingerprint.id.in_(newest.group_by(Fingerprint.resource_id)
                                      .scalar_subquery()))
            .order_by(Fingerprint.resource_id))
    with db.session() as s:
        yield from (tuple(row) for row in s.execute(stmt).yield_per(2000))  # type: ignore[misc]


def insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert fingerprint rows (dicts of :class:`Fingerprint` columns)."""
    if rows:
        session.execute(insert(Fingerprint), rows)


def history(session: Session, resource_ids: Iterable[int], run_id: int
            ) -> dict[int, list[Fingerprint]]:
    """Counted rows (plus ``run_id``'s) per resource, oldest first."""
    ids = list(resource_ids)
    out: dict[int, list[Fingerprint]] = {}
    for start in range(0, len(ids), CHUNK):
        stmt = (select(Fingerprint)
                .where(Fingerprint.resource_id.in_(ids[start:start + CHUNK]), counted(run_id))
                .order_by(Fingerprint.id))
        for row in session.scalars(stmt):
            out.setdefault(row.resource_id, []).append(row)
    return out


def to_print(row: Fingerprint) -> Print:
    """The :class:`monitor.classify.fingerprint.Fingerprint` stored in ``row``."""
    return Print(row.raw_hash, row.text_hash, list(row.signature or []), row.text_excerpt or "",
                 row.page_title, row.content_type, row.extractor_version)


def row_values(print_: Print, resource_id: int, run_id: int, at: Any) -> dict[str, Any]:
    """The ``fingerprints`` row of one fingerprint (not a baseline until the run is applied)."""
    return {"resource_id": resource_id, "run_id": run_id, "at": at,
            "extractor_version": print_.extractor_version, "raw_hash": print_.raw_hash,
            "text_hash": print_.text_hash, "signature": print_.signature,
            "text_excerpt": print_.excerpt, "page_title": print_.title,
            "content_type": print_.content_type, "is_baseline": False}


def set_baseline(session: Session, resource_id: int, fingerprint_id: int) -> None:
    """Make row ``fingerprint_id`` the only baseline of ``resource_id``."""
    session.execute(update(Fingerprint)
                    .where(Fingerprint.resource_id == resource_id,
                           Fingerprint.id != fingerprint_id, Fingerprint.is_baseline.is_(True))
                    .values(is_baseline=False).execution_options(synchronize_session=False))
    session.execute(update(Fingerprint).where(Fingerprint.id == fingerprint_id)
                    .values(is_baseline=True).execution_options(synchronize_session=False))


def mark_baselines(session: Session, promote: list[int], demote: list[int]) -> None:
    """Set ``is_baseline`` on rows ``promote`` and clear it on rows ``demote``, in bulk.

    Loaded objects are not refreshed: callers set the attribute themselves.
    """
    for ids, value in ((demote, False), (promote, True)):
        for start in range(0, len(ids), CHUNK):
            session.execute(update(Fingerprint)
                            .where(Fingerprint.id.in_(ids[start:start + CHUNK]))
                            .values(is_baseline=value)
                            .execution_options(synchronize_session=False))


def promote_first(session: Session, run_id: int, resource_ids: list[int]) -> None:
    """Make run ``run_id``'s rows of ``resource_ids`` (resources fingerprinted for the first
    time) their baselines, in bulk."""
    for start in range(0, len(resource_ids), CHUNK):
        session.execute(update(Fingerprint)
                        .where(Fingerprint.run_id == run_id,
                               Fingerprint.resource_id.in_(resource_ids[start:start + CHUNK]))
                        .values(is_baseline=True)
                        .execution_options(synchronize_session=False))


def prunable(rows: list[Fingerprint], keep: int = KEEP) -> list[int]:
    """Ids of ``rows`` (one resource, oldest first) beyond the baseline and the last ``keep``."""
    recent = {r.id for r in rows[-keep:]}
    return [r.id for r in rows if not r.is_baseline and r.id not in recent]


def delete_ids(session: Session, ids: list[int]) -> None:
    """Delete fingerprint rows by id."""
    for start in range(0, len(ids), CHUNK):
        session.execute(delete(Fingerprint).where(Fingerprint.id.in_(ids[start:start + CHUNK]))
                        .execution_options(synchronize_session=False))


def purge_unfinished(session: Session) -> None:
    """Delete the rows of aborted and degraded runs: they never count."""
    bad = select(Run.id).where(Run.status.in_(("aborted", "degraded")))
    session.execute(delete(Fingerprint).where(Fingerprint.run_id.in_(bad))
                    .execution_options(synchronize_session=False))


def newest_counted(session: Session, resource_id: int) -> Fingerprint | None:
    """The newest counted row of one resource (what ``ack`` makes the baseline)."""
    stmt = (select(Fingerprint).where(Fingerprint.resource_id == resource_id, counted())
            .order_by(Fingerprint.id.desc()).limit(1))
    return session.scalar(stmt)

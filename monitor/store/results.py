"""A run's stored results read back: what a distributed run's coordinator knows of its checks.

The workers of a distributed run (issue 17, SPEC §14) write their results with
:func:`monitor.store.queries.insert_checks`, as a local run does; the coordinator never holds
the checks in memory. :class:`StoredChecks` rebuilds them from the run's ``check_results``
rows as the same slim :class:`~monitor.vocabulary.Check` values the crawl's
:class:`~monitor.pipeline.crawl.ResultSink` keeps (:meth:`Check.slim`), streamed in chunks of
``CHUNK`` rows, so the health stage's memory stays bounded whatever the catalog's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from monitor.store.db import Database
from monitor.store.models import CheckResult
from monitor.vocabulary import Check, Outcome

CHUNK = 2000  # result rows read per query
IDS_CHUNK = 900  # ids per IN (...) list


def already_checked(db: Database, run_id: int, resource_ids: Iterable[int]) -> set[int]:
    """The ids among ``resource_ids`` that have a result in run ``run_id`` (a retried host
    batch skips them)."""
    ids, found = list(resource_ids), set()
    with db.session() as s:
        for start in range(0, len(ids), IDS_CHUNK):
            found.update(s.scalars(select(CheckResult.resource_id).where(
                CheckResult.run_id == run_id,
                CheckResult.resource_id.in_(ids[start:start + IDS_CHUNK]))))
    return found


def checked_count(db: Database, run_id: int) -> int:
    """How many resources have a result in run ``run_id`` (the coordinator's progress; an
    index-only count on the unique (run_id, resource_id) index)."""
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(CheckResult)
                        .where(CheckResult.run_id == run_id)) or 0


def bytes_received(db: Database, run_id: int) -> int:
    """Body bytes received over the wire for run ``run_id``'s results (the run summary)."""
    with db.session() as s:
        return int(s.scalar(select(func.coalesce(func.sum(CheckResult.bytes_received), 0))
                            .where(CheckResult.run_id == run_id)) or 0)


_COLUMNS = (CheckResult.id, CheckResult.resource_id, CheckResult.url, CheckResult.outcome,
            CheckResult.error, CheckResult.http_status, CheckResult.outcome_url,
            CheckResult.detail, CheckResult.checked_at, CheckResult.etag,
            CheckResult.last_modified, CheckResult.probe, CheckResult.content,
            CheckResult.anchor, CheckResult.page_title)


@dataclass(frozen=True)
class StoredChecks:
    """Run ``run_id``'s results as slim :class:`Check` values, in the order they were written.

    Iterable any number of times (each pass reads the rows again, ``CHUNK`` at a time, by
    keyset on the row id); ``failing_only`` reads only the failing ones (the Wayback stage).
    Equal objects are shared as in the crawl's sink: one string per host, one
    :class:`Outcome` per distinct outcome within a chunk.
    """

    db: Database
    run_id: int
    failing_only: bool = False

    def __iter__(self) -> Iterator[Check]:
        last = 0
        hosts: dict[str, str] = {}
        while True:
            stmt = (select(*_COLUMNS).where(CheckResult.run_id == self.run_id,
                                            CheckResult.id > last)
                    .order_by(CheckResult.id).limit(CHUNK))
            if self.failing_only:
                stmt = stmt.where(CheckResult.outcome == "failing")
            with self.db.session() as s:
                rows = s.execute(stmt).all()
            if not rows:
                return
            outcomes: dict[Outcome, Outcome] = {}
            for row in rows:
                yield _check(row, hosts, outcomes)
            last = rows[-1][0]

    def failing(self) -> StoredChecks:
        """The same run's failing results only."""
        return StoredChecks(self.db, self.run_id, failing_only=True)


def _check(row: Any, hosts: dict[str, str], outcomes: dict[Outcome, Outcome]) -> Check:
    """One stored result as the slim Check the crawl's sink kept for it (see
    :meth:`Check.slim` and :func:`monitor.store.queries.result_row`, its inverse)."""
    (_, rid, url, outcome, error, status, outcome_url, detail, at, etag, modified, probe,
     content, anchor, title) = row
    out = Outcome(outcome, error, status, outcome_url, detail)
    out = outcomes.setdefault(out, out)
    host = (urlsplit(url).hostname or "").lower()
    info = dict(probe or {})
    site = info.pop("site", None)
    stored = outcome == "ok" and status != 304  # Check.slim keeps validators only then
    return Check(rid, url, hosts.setdefault(host, host), out, at,
                 etag if stored else None, modified if stored else None,
                 site, info if site is not None else None, content, anchor=anchor, title=title)

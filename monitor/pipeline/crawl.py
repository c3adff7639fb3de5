"""The crawl: every target checked once (fetch or probe -> classify -> fingerprint), each
result handed to the store as it arrives.

:func:`check_one` checks one resource: its site's probe (:mod:`monitor.sites`) where one
applies, else a generic fetch, :func:`~monitor.classify.classify` and, for an ``ok`` page, what
it says about the content (:mod:`monitor.classify.content`). It returns one
:class:`~monitor.vocabulary.Check`. :func:`crawl` runs ``concurrency`` workers over the targets
(interleaved by host) and gives each check to a :class:`ResultSink`, which writes them in
batches from a writer thread, so a killed run keeps what it checked. :func:`check_resources`
is the crawl of one host batch of a distributed run, as a worker runs it (issue 17).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from urllib.parse import urlsplit

from monitor import sites
from monitor.classify import anchors, classify
from monitor.classify import content as observe
from monitor.config import Settings
from monitor.fetch import Fetcher
from monitor.pipeline.pool import FingerprintBatches, fingerprint_pool
from monitor.sites import ProbeContext, site_for
from monitor.sites.base import ArxivLookup
from monitor.store import fingerprints, lock, queries, results
from monitor.store.db import Database
from monitor.store.models import utcnow
from monitor.vocabulary import Check, FetchResult, Latest, Outcome, Target

FLUSH_EVERY = 200  # results per database batch
FLUSH_SECONDS = 2.0
POOL_MIN_TARGETS = 200  # smaller catalogs fingerprint in the event loop (no pool start-up)
MAX_PENDING_WRITES = 4  # result batches queued for the writer thread at most
OUTCOMES_SHARED = 4096  # distinct Outcome objects a ResultSink shares between its results


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _response(res: FetchResult | None) -> dict[str, object]:
    """The response facts a check keeps (for its result row)."""
    if res is None:
        return {}
    return {"chain": tuple(res.chain), "elapsed_ms": int(res.elapsed * 1000),
            "attempts": res.attempts, "bytes_received": res.bytes_received,
            "content_type": res.headers.get("content-type")}


async def check_one(ctx: ProbeContext, target: Target, latest: Latest | None = None,
                    pool: FingerprintBatches | None = None) -> Check:
    """Check one resource: its site's probe, or a generic fetch + classify + fingerprint, and
    the anchor its URL's ``#fragment`` names (:mod:`monitor.classify.anchors`; the body is
    looked at here and not kept).

    With a ``pool``, the fingerprint (pure CPU) runs there; the body is sent to a worker.
    """
    site = site_for(target.url)
    probed = await site.probe(ctx, target) if site is not None and site.probe else None
    at, host = utcnow(), _host(target.url)
    if probed is not None:
        assert site is not None
        out = probed.outcome
        unchecked = anchors.UNKNOWN if anchors.anchor_of(target.url) else None
        return Check(target.resource_id, target.url, host, out, at, site=site.name,
                     probe=probed.info, final_url=out.final_url if probed.fetch else None,
                     anchor=unchecked, **_response(probed.fetch))  # type: ignore[arg-type]
    assert ctx.fetcher is not None
    res = await ctx.fetcher.fetch(target.url, etag=target.etag,
                                  last_modified=target.last_modified)
    out = classify(res)
    anchor = anchors.check_fetch(target.url, res, out)
    if anchor is not None and anchor.note and out.detail is None:  # say why it was not checked
        out = dataclasses.replace(out, detail=anchor.note)
    seen: observe.Observed = observe.NOTHING
    if (site is None or site.fingerprint) and pool is None:
        seen = observe.observe(res, out, latest)
    elif site is None or site.fingerprint:
        seen, needed = observe.precheck(res, out, latest)
        if needed:
            print_ = await pool.fingerprint(res.body, res.headers.get("content-type"),
                                            res.final_url)
            seen = observe.conclude(print_, latest)
    return Check(target.resource_id, target.url, host, out, at, res.headers.get("etag"),
                 res.headers.get("last-modified"), content=seen[0], fingerprint=seen[1],
                 final_url=res.final_url if res.final_url != res.url else None,
                 anchor=anchor.verdict if anchor else None,
                 title=seen[1].title if seen[1] is not None else
                 observe.title_of(res) if out.outcome == "moved" else None,
                 **_response(res))  # type: ignore[arg-type]


def interleave_hosts(targets: list[Target]) -> list[Target]:
    """Order targets round-robin over hosts so that workers spread over hosts from the start."""
    by_host: dict[str, list[Target]] = {}
    for t in targets:
        by_host.setdefault(_host(t.url), []).append(t)
    queues = [iter(v) for v in by_host.values()]
    out: list[Target] = []
    while queues:
        alive = []
        for q in queues:
            item = next(q, None)
            if item is not None:
                out.append(item)
                alive.append(q)
        queues = alive
    return out


class ResultSink:
    """Buffers checks and writes them (result rows and new fingerprints) in batches, every
    ``FLUSH_EVERY`` checks or ``FLUSH_SECONDS``; keeps a slim copy of each check
    (:meth:`~monitor.vocabulary.Check.slim`) for the health stage in :attr:`checked`.

    The copies share what repeats: one string per host, one :class:`Outcome` object per
    distinct outcome (up to ``OUTCOMES_SHARED`` of them: ``ok``/304 is most of a catalog).

    With a ``writer`` (a one-thread executor) the batches are written there, so the event loop
    goes on fetching during the database's round trips (on PostgreSQL the loop had spent a
    fifth of a 10,000-URL run waiting for inserts); at most ``MAX_PENDING_WRITES`` batches wait
    in memory, and a failed write raises from the next ``add`` or ``flush``.
    """

    def __init__(self, db: Database, run_id: int, writer: Executor | None = None, *,
                 heartbeat: bool = True) -> None:
        self.db, self.run_id, self.heartbeat = db, run_id, heartbeat
        self.written = 0  # result rows written (a retried batch skips those already there)
        self.buffer: list[Check] = []
        self.last = time.monotonic()
        self.checked: list[Check] = []
        self.bytes_received = 0
        self._hosts: dict[str, str] = {}  # one string per host
        self._outcomes: dict[Outcome, Outcome] = {}
        self._writer = writer
        self._pending: deque[Future[None]] = deque()

    def add(self, check: Check) -> None:
        """Take one check (written with the next batch)."""
        self.buffer.append(check)
        self.bytes_received += check.bytes_received
        out = self._outcomes.get(check.outcome)
        if out is None:
            out = check.outcome
            if len(self._outcomes) < OUTCOMES_SHARED:
                self._outcomes[out] = out
        self.checked.append(check.slim(out, self._hosts.setdefault(check.host, check.host)))
        if len(self.buffer) >= FLUSH_EVERY or time.monotonic() - self.last > FLUSH_SECONDS:
            self._send()

    def flush(self) -> None:
        """Write what is buffered and wait for every write in flight (raises the first
        failed write's error, after waiting for the others)."""
        self._send()
        error: BaseException | None = None
        while self._pending:
            try:
                self._pending.popleft().result()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                error = error or exc
        if error is not None:
            raise error

    def _send(self) -> None:
        batch, self.buffer, self.last = self.buffer, [], time.monotonic()
        if self._writer is None:
            self._write(batch)
            return
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()  # a failed write raises here
        if len(self._pending) >= MAX_PENDING_WRITES:  # the database is behind: wait for it
            self._pending.popleft().result()
        self._pending.append(self._writer.submit(self._write, batch))

    def _write(self, batch: list[Check]) -> None:
        """One batch: the results and new fingerprints; the run lock's heartbeat (unless this
        is a worker of a distributed run: its coordinator holds the lock)."""
        if batch:
            self.written += queries.insert_checks(self.db, self.run_id, batch)
        if self.heartbeat:
            lock.heartbeat(self.db)


async def crawl(targets: list[Target], fetcher: Fetcher, ctx: ProbeContext, sink: ResultSink,
                progress: Callable[[int], None] | None = None,
                latest: Mapping[int, Latest] | None = None) -> None:
    """Check every target with ``2 x concurrency`` workers on ``fetcher``; results go to
    ``sink`` (flushed before this returns).

    A catalog of at least ``POOL_MIN_TARGETS`` fingerprints in a process pool (one worker per
    core, shut down before this returns, also on SIGTERM or an error).
    """
    count = len(targets)
    order: Iterator[Target] = iter(interleave_hosts(targets))
    latest = latest or {}
    pool = fingerprint_pool() if count >= POOL_MIN_TARGETS else None
    batches = FingerprintBatches(pool) if pool is not None else None
    try:
        async def worker() -> None:
            for target in order:
                sink.add(await check_one(ctx, target, latest.get(target.resource_id), batches))
                if progress:
                    progress(1)

        workers = max(1, min(count, fetcher.options.concurrency * 2))
        await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    sink.flush()



def probe_context(settings: Settings) -> ProbeContext:
    """A fresh :class:`ProbeContext` for one crawl (a run, or one host batch of a distributed
    run): the generic classifier and the arXiv API client of the arXiv site's batch query; its
    ``fetcher`` is set once the crawl's fetcher is open."""
    return ProbeContext(None, settings, classify, functools.partial(_arxiv_client, settings))


def _arxiv_client(settings: Settings, size: int) -> ArxivLookup:
    """The arXiv API client of the arXiv site's batch query (imports the ``arxiv`` package
    only for catalogs that have papers)."""
    from monitor.fetch.arxiv_api import make_client

    return make_client(settings, page_size=size)


async def check_resources(db: Database, ctx: ProbeContext, run_id: int,
                          resource_ids: Sequence[int], writer: Executor | None = None) -> int:
    """Check the active resources among ``resource_ids`` for run ``run_id`` as a local run
    checks them (a host batch of a distributed run, on a worker): the sites' batch step
    (:func:`monitor.sites.prepare`, e.g. one arXiv ``id_list`` query) on these targets, then
    fetch or probe, classify and fingerprint through ``ctx.fetcher`` (its limits), each result
    written once per (run, resource) with its new fingerprint.

    Resources that already have a result in the run (an earlier try of the batch, by a worker
    that died) are skipped; so are inactive ones. Database reads and the sites' batch step
    (blocking HTTP) run in threads, so the event loop keeps serving the worker's other
    batches and its heartbeat. Returns how many results it wrote. Notes of the sites
    ("GitHub API rate limit reached") are left in ``ctx.notes``.
    """
    done = await asyncio.to_thread(results.already_checked, db, run_id, resource_ids)
    todo = [rid for rid in resource_ids if rid not in done]
    targets = await asyncio.to_thread(queries.active_targets, db, todo)
    latest = await asyncio.to_thread(fingerprints.latest_map, db, todo)
    await asyncio.to_thread(sites.prepare, targets, ctx.settings, ctx)
    sink = ResultSink(db, run_id, writer, heartbeat=False)
    assert ctx.fetcher is not None
    await crawl(targets, ctx.fetcher, ctx, sink, latest=latest)  # type: ignore[arg-type]
    return sink.written

"""The pipeline: the one place that knows the order of the stages.

catalog -> [site prepare] -> fetch or probe -> classify -> fingerprint -> store
        -> [wayback] -> health + site events + freshness -> report

``check`` syncs the catalog, takes the run lock, runs the sites' ``prepare`` (the one batched
arXiv API query), then checks every active resource: a site probe (:mod:`monitor.sites`) where
one applies, else a generic fetch + classify, and a content fingerprint of ``ok`` pages
(:mod:`monitor.freshness`). Results and new fingerprints are written in batches as they arrive,
so a killed run keeps what it checked. Then it decides whether the run was degraded, asks the
Wayback Machine for resources that become failing, and applies, in one transaction, the state
transitions, the probes' ``updated`` events and the change detection.

A crash before that transaction leaves every state as it was; the next start marks the run
``aborted``. Fingerprints written mid-run count only once their run is ``complete``
(:mod:`monitor.store.fingerprints`), so they never become a baseline or history otherwise.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor import freshness, sites
from monitor.catalog import CatalogProblem, load_catalog
from monitor.classify import Outcome, classify
from monitor.config import Settings
from monitor.fetch import Fetcher, FetchOptions, FetchResult
from monitor.health import EventDraft, Health, HealthPolicy, is_degraded, transition
from monitor.sites import wayback
from monitor.store import fingerprints, lock, queries
from monitor.store.db import Database
from monitor.store.models import ResourceState, utcnow
from monitor.workers import FingerprintBatches, fingerprint_pool

Events = list[tuple[int, datetime, str, dict[str, Any]]]

FLUSH_EVERY = 200  # results per database batch
FLUSH_SECONDS = 2.0
POOL_MIN_TARGETS = 200  # smaller catalogs fingerprint in the event loop (no pool start-up)
HEALTH_CHUNK = 2000  # states loaded, updated and expunged per step of apply_health
MAX_PENDING_WRITES = 4  # result batches queued for the writer thread at most
OUTCOMES_SHARED = 4096  # distinct Outcome objects a ResultSink shares between its results


@dataclass(frozen=True, slots=True)
class Checked:
    """One resource checked: its outcome plus what the store and health stages need."""

    target: queries.Target
    outcome: Outcome
    at: datetime
    etag: str | None = None
    last_modified: str | None = None
    row: dict[str, Any] = field(default_factory=dict)  # check_results columns
    site: str | None = None  # the probe's site, when a probe decided
    probe: dict[str, Any] = field(default_factory=dict)  # the probe's info
    observed: freshness.Observed | None = None  # content seen (row dropped once written)

    @property
    def host(self) -> str:
        return (urlsplit(self.target.url).hostname or "").lower()


@dataclass(frozen=True, slots=True)
class Result:
    """The slim copy of a :class:`Checked` that the health stage needs (no row, no target;
    ``etag``/``last_modified`` only when :func:`apply_health` stores them)."""

    resource_id: int
    url: str
    host: str
    outcome: Outcome
    at: datetime
    etag: str | None
    last_modified: str | None
    site: str | None
    probe: dict[str, Any] | None  # the probe's info, when a probe decided
    observed: freshness.Observed | None  # kind only ("new", "first" or "same")


_OBSERVED = {kind: freshness.Observed(kind) for kind in ("new", "first", "same")}


@dataclass
class CheckSummary:
    """What one ``check`` did, for the one-line summary and the exit code."""

    run_id: int
    status: str
    checked: int
    counts: dict[str, int]
    problems: list[CatalogProblem]
    events: int
    seconds: float
    hosts: int = 0
    unreachable: int = 0
    bytes_received: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        states = " ".join(f"{k} {self.counts.get(k, 0)}"
                          for k in ("ok", "moved", "failing", "dead", "blocked", "unknown"))
        text = (f"run {self.run_id} {self.status}: checked {self.checked} in "
                f"{self.seconds:.1f} s; {states}; {self.events} events")
        if self.problems:
            text += f"; {len(self.problems)} catalog problems (listed above)"
        if self.status == "degraded":
            text += (f"\nthe network looked down: {self.unreachable} of {self.hosts} hosts "
                     "unreachable; no resource was marked failing or dead")
        return "\n".join([text, *(f"note: {n}" for n in self.notes)])


def fetch_options(settings: Settings) -> FetchOptions:
    """The ``[http]`` settings as fetcher options."""
    return FetchOptions(
        concurrency=settings["http.concurrency"], per_host=settings["http.per_host"],
        timeout=settings["http.timeout"], connect_timeout=settings["http.connect_timeout"],
        max_redirects=settings["http.max_redirects"], retries=settings["http.retries"],
        backoff_base=settings["http.backoff_base"],
        retry_after_cap=settings["http.retry_after_cap"],
        max_body_bytes=settings["http.max_body_bytes"], user_agent=settings["http.user_agent"],
        connect_to=tuple(settings["http.connect_to"]), ca_bundle=settings["http.ca_bundle"],
    )


def health_policy(settings: Settings) -> HealthPolicy:
    """The ``[health]`` settings as a policy."""
    return HealthPolicy(dead_after_runs=settings["health.dead_after_runs"],
                        dead_after_hours=settings["health.dead_after_hours"],
                        degraded_threshold=settings["health.degraded_threshold"])


def result_row(run_id: int, target: queries.Target, res: FetchResult | None, out: Outcome,
               at: datetime, probe: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``check_results`` row of one check (``res``: the response behind it, if any)."""
    row: dict[str, Any] = {
        "run_id": run_id, "resource_id": target.resource_id, "checked_at": at, "url": target.url,
        "final_url": None, "http_status": out.http_status, "outcome": out.outcome,
        "error": out.error, "detail": out.detail, "redirect_chain": [], "elapsed_ms": 0,
        "attempts": 1, "bytes_received": 0, "content_type": None, "etag": None,
        "last_modified": None, "probe": probe or {},
    }
    if res is None:
        return row
    return row | {
        "final_url": out.final_url if probe else (res.final_url if res.final_url != res.url
                                                  else None),
        "redirect_chain": [{"url": h.url, "status": h.status, "location": h.location}
                           for h in res.chain],
        "elapsed_ms": int(res.elapsed * 1000), "attempts": res.attempts,
        "bytes_received": res.bytes_received, "content_type": res.headers.get("content-type"),
        "etag": None if probe else res.headers.get("etag"),
        "last_modified": None if probe else res.headers.get("last-modified"),
    }


async def check_one(ctx: sites.ProbeContext, run_id: int, target: queries.Target,
                    latest: fingerprints.Latest | None = None,
                    pool: FingerprintBatches | None = None) -> Checked:
    """Check one resource: its site's probe, or a generic fetch + classify + fingerprint.

    With a ``pool``, the fingerprint (pure CPU) runs there; the body is sent to a worker.
    """
    site = sites.site_for(target.url)
    probed = await site.probe(ctx, target) if site is not None else None
    at = utcnow()
    if probed is not None:
        assert site is not None
        row = result_row(run_id, target, probed.fetch, probed.outcome, at,
                         {"site": site.name, **probed.info})
        return Checked(target, probed.outcome, at, row=row, site=site.name, probe=probed.info)
    assert ctx.fetcher is not None
    res = await ctx.fetcher.fetch(target.url, etag=target.etag,
                                  last_modified=target.last_modified)
    out = classify(res)
    seen = None
    if (site is None or site.fingerprint) and pool is None:
        seen = freshness.observe(res, out, latest, target.resource_id, run_id, at)
    elif site is None or site.fingerprint:
        seen, needed = freshness.precheck(res, out, latest)
        if needed:
            print_ = await pool.fingerprint(res.body, res.headers.get("content-type"),
                                            res.final_url)
            seen = freshness.conclude(print_, latest, target.resource_id, run_id, at)
    return Checked(target, out, at, res.headers.get("etag"), res.headers.get("last-modified"),
                   result_row(run_id, target, res, out, at), observed=seen)


def interleave_hosts(targets: list[queries.Target]) -> list[queries.Target]:
    """Order targets round-robin over hosts so that workers spread over hosts from the start."""
    by_host: dict[str, list[queries.Target]] = {}
    for t in targets:
        by_host.setdefault((urlsplit(t.url).hostname or "").lower(), []).append(t)
    queues = [iter(v) for v in by_host.values()]
    out: list[queries.Target] = []
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
    """Buffers check results (and new fingerprints) and writes them in batches (every
    FLUSH_EVERY rows or FLUSH_SECONDS); keeps a slim copy of each result for the health stage.

    The copies share what repeats: one string per host, one :class:`Outcome` object per
    distinct outcome (up to ``OUTCOMES_SHARED`` of them: ``ok``/304 is most of a catalog), and
    the validators only where the health stage stores them (an ``ok`` that is not a 304).

    With a ``writer`` (a one-thread executor) the batches are written there, so the event loop
    goes on fetching during the database's round trips (on PostgreSQL the loop had spent a
    fifth of a 10,000-URL run waiting for inserts); at most ``MAX_PENDING_WRITES`` batches wait
    in memory, and a failed write raises from the next ``add`` or ``flush``.
    """

    def __init__(self, db: Database, writer: Executor | None = None) -> None:
        self.db, self.buffer, self.last = db, [], time.monotonic()
        self.prints: list[dict[str, Any]] = []
        self.checked: list[Result] = []
        self.bytes_received = 0
        self._hosts: dict[str, str] = {}  # one string per host
        self._outcomes: dict[Outcome, Outcome] = {}
        self._writer = writer
        self._pending: deque[Future[None]] = deque()

    def add(self, item: Checked) -> None:
        self.buffer.append(item.row)
        self.bytes_received += item.row.get("bytes_received", 0)
        seen = item.observed
        if seen is not None:
            if seen.row is not None:
                self.prints.append(seen.row)
            seen = _OBSERVED.get(seen.kind, seen)
        host = item.host
        host = self._hosts.setdefault(host, host)
        out = self._outcomes.get(item.outcome)
        if out is None:
            out = item.outcome
            if len(self._outcomes) < OUTCOMES_SHARED:
                self._outcomes[out] = out
        stored = out.outcome == "ok" and out.http_status != 304  # see _apply_one
        self.checked.append(Result(item.target.resource_id, item.target.url, host, out,
                                   item.at, item.etag if stored else None,
                                   item.last_modified if stored else None, item.site,
                                   item.probe if item.site is not None else None, seen))
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
        rows, prints = self.buffer, self.prints
        self.buffer, self.prints, self.last = [], [], time.monotonic()
        if self._writer is None:
            self._write(rows, prints)
            return
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()  # a failed write raises here
        if len(self._pending) >= MAX_PENDING_WRITES:  # the database is behind: wait for it
            self._pending.popleft().result()
        self._pending.append(self._writer.submit(self._write, rows, prints))

    def _write(self, rows: list[dict[str, Any]], prints: list[dict[str, Any]]) -> None:
        """One batch: the results, then the new fingerprints; the run lock's heartbeat."""
        queries.insert_results(self.db, rows)
        if prints:
            with self.db.session() as s:
                fingerprints.insert_rows(s, prints)
        lock.heartbeat(self.db)


async def crawl(targets: list[queries.Target], options: FetchOptions, run_id: int,
                sink: ResultSink, progress: Callable[[int], None] | None = None,
                ctx: sites.ProbeContext | None = None,
                latest: Mapping[int, fingerprints.Latest] | None = None) -> None:
    """Check every target with ``options.concurrency`` workers; results go to ``sink``.

    A catalog of at least ``POOL_MIN_TARGETS`` fingerprints in a process pool (one worker per
    core, shut down before this returns, also on SIGTERM or an error).
    """
    count = len(targets)
    order: Iterator[queries.Target] = iter(interleave_hosts(targets))
    latest = latest or {}
    pool = fingerprint_pool() if count >= POOL_MIN_TARGETS else None
    batches = FingerprintBatches(pool) if pool is not None else None
    try:
        async with Fetcher(options) as fetcher:
            probe_ctx = ctx or sites.ProbeContext(None, Settings())
            probe_ctx.fetcher = fetcher

            async def worker() -> None:
                for target in order:
                    sink.add(await check_one(probe_ctx, run_id, target,
                                             latest.get(target.resource_id), batches))
                    if progress:
                        progress(1)

            workers = max(1, min(count, options.concurrency * 2))
            await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    sink.flush()


def find_replacements(db: Database, checked: list[Result], options: FetchOptions,
                      degraded: bool) -> dict[int, wayback.Snapshot]:
    """Ask the Wayback Machine once per resource that becomes failing (none when degraded)."""
    failing = [] if degraded else [(c.resource_id, c.url) for c in checked
                                   if c.outcome.outcome == "failing"]
    return asyncio.run(wayback.suggest_for(db, failing, options))


def apply_health(db: Database, run_id: int, checked: list[Result], policy: HealthPolicy,
                 note: str = "", threshold: float = 0.9,
                 snapshots: dict[int, wayback.Snapshot] | None = None
                 ) -> tuple[str, int, int, int]:
    """Decide degraded or complete, apply transitions, probe events, Wayback suggestions and
    change detection, store events and close the run. One transaction, worked through in
    chunks of ``HEALTH_CHUNK`` resources (states loaded, updated, flushed and expunged), so the
    session never holds every state at once.

    Returns ``(status, events, hosts, unreachable_hosts)``.
    """
    degraded, hosts, unreachable = is_degraded(((c.host, c.outcome) for c in checked), policy)
    status = "degraded" if degraded else "complete"
    events: Events = []
    with db.session() as s:
        for start in range(0, len(checked), HEALTH_CHUNK):
            chunk = checked[start:start + HEALTH_CHUNK]
            states = queries.load_states(s, (c.resource_id for c in chunk))
            for c in chunk:
                st = states.get(c.resource_id)
                if st is None:
                    continue
                st.last_checked_at = c.at
                if degraded:
                    continue
                drafts = _apply_one(st, c, policy) + _apply_probe(st, c)
                wayback.apply(st, c.outcome.outcome, c.at, (snapshots or {}).get(st.resource_id))
                events.extend((c.resource_id, c.at, d.kind, d.detail) for d in drafts)
            if not degraded:
                events.extend(_freshness(s, run_id, chunk, states, threshold))
            s.flush()
            for st in states.values():
                s.expunge(st)
        queries.add_events(s, run_id, events)
        queries.finish_run(s, run_id, status, len(checked), note, hosts, unreachable)
        fingerprints.purge_unfinished(s)
    return status, len(events), hosts, unreachable


def _apply_one(st: Any, c: Result, policy: HealthPolicy) -> list[EventDraft]:
    prev = Health(st.state, st.consecutive_failures, st.failing_since, st.last_ok_at, st.final_url)
    new, drafts = transition(prev, c.outcome, c.at, policy)
    if new.state != st.state:
        st.state_since = c.at
    st.state, st.consecutive_failures = new.state, new.consecutive_failures
    st.failing_since, st.last_ok_at, st.final_url = new.failing_since, new.last_ok_at, new.final_url
    st.http_status, st.error, st.detail = c.outcome.http_status, c.outcome.error, c.outcome.detail
    if c.outcome.outcome == "ok" and c.outcome.http_status != 304:
        st.etag, st.last_modified = c.etag, c.last_modified
    return drafts


def _apply_probe(st: ResourceState, c: Result) -> list[EventDraft]:
    """Store the probe's info under its site in ``st.probe``; the site's ``updated`` events."""
    if c.site is None:
        return []
    probe = c.probe or {}
    old = dict(st.probe or {})
    drafts = sites.site_events(c.site, old.get(c.site) or {}, probe)
    st.probe = old | {c.site: probe}
    return drafts


def _freshness(s: Any, run_id: int, checked: list[Result], states: dict[int, ResourceState],
               threshold: float) -> Events:
    observed = {c.resource_id: (c.observed, c.at) for c in checked
                if c.observed is not None}
    return [(rid, at, d.kind, d.detail)
            for rid, at, d in freshness.apply(s, run_id, observed, states, threshold)]


def _progress_bar(total: int) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    if not sys.stderr.isatty() or total == 0:
        return None, lambda: None
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task("checking", total=total)
    bar.start()
    return (lambda n: bar.advance(task, n)), bar.stop


def check(db: Database, settings: Settings, catalog_path: str | Path,
          on_problem: Callable[[CatalogProblem], None] | None = None,
          command: str = "check") -> CheckSummary:
    """Sync the catalog and check every active resource once (SPEC §3 ``check``).

    Raises CatalogError (exit 3) for an unreadable catalog, RunLocked (exit 75) when another run
    holds the lock, DatabaseError when the database goes away.
    """
    started = time.monotonic()
    rows, problems = load_catalog(catalog_path)
    for problem in problems:
        (on_problem or _print_problem)(problem)
    lock.acquire(db)
    try:
        queries.abort_stale_runs(db)
        queries.sync_catalog(db, rows)
        del rows  # not needed past the sync: free them for the crawl (~500 bytes per row)
        run_id = queries.start_run(db, command, os.getpid())
        targets = queries.active_targets(db)
        writer = ThreadPoolExecutor(1, thread_name_prefix="monitor-writer")
        sink, ctx = ResultSink(db, writer), sites.ProbeContext(None, settings)
        options = fetch_options(settings)
        advance, stop = _progress_bar(len(targets))
        try:
            sites.prepare(targets, settings, ctx)
            asyncio.run(crawl(targets, options, run_id, sink, advance, ctx,
                              fingerprints.latest_map(db)))
            del targets  # the results keep what the health stage needs
            degraded = is_degraded(((c.host, c.outcome) for c in sink.checked),
                                   health_policy(settings))[0]
            snapshots = find_replacements(db, sink.checked, options, degraded)
            stop()
            status, events, hosts, unreachable = apply_health(
                db, run_id, sink.checked, health_policy(settings), "; ".join(ctx.notes),
                settings["health.change_threshold"], snapshots)
        except BaseException:  # its transaction rolled back: states are as before the run
            stop()
            _abort(db, sink, run_id)
            raise
        finally:
            writer.shutdown(wait=True)
    finally:
        lock.release(db)
    with db.session() as s:
        counts = queries.state_counts(s)
    return CheckSummary(run_id, status, len(sink.checked), counts, problems, events,
                        time.monotonic() - started, hosts, unreachable, sink.bytes_received,
                        ctx.notes)


def _abort(db: Database, sink: ResultSink, run_id: int) -> None:
    """Interrupted (SIGTERM, Ctrl-C, crash): keep the results so far, mark the run aborted.

    States are not touched, so the database stays as it was before the run.
    """
    try:
        sink.flush()
    finally:
        queries.mark_aborted(db, run_id, "interrupted")


def _print_problem(problem: CatalogProblem) -> None:
    print(f"warning: {problem}", file=sys.stderr)

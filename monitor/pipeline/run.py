"""The orchestrator: one run, from the catalog to the report (SPEC §3 ``run`` and ``check``).

:func:`run_once` is the one place that knows the order of the stages::

    catalog -> [site prepare] -> fetch or probe -> classify -> fingerprint -> store
            -> [wayback] -> health + site events + freshness -> [arXiv watch] -> report

Each stage is called once per run, in one event loop; the ``[health]`` policy is read once and
"degraded" decided once. Results and new fingerprints are written in batches as they arrive
(:class:`~monitor.pipeline.crawl.ResultSink`), so a killed run keeps what it checked; states
change only in the one transaction at the end (:func:`monitor.store.apply.apply_run`). A crash
or SIGTERM before it leaves every state as it was and marks the run ``aborted``; the next start
marks a run left ``running`` by a SIGKILL aborted too. Fingerprints written mid-run count only
once their run is ``complete`` (:mod:`monitor.store.fingerprints`).

A distributed run (``--distributed``, SPEC §14) changes only the check stage: ``[site prepare]
-> ... -> store`` runs on ``monitor worker`` processes, host batch by host batch, while this
process waits (:mod:`monitor.pipeline.fleet`); the health stage then reads the run's checks
back from the store (:class:`monitor.store.results.StoredChecks`). Its coordinator killed, the
run stays ``running`` and the next ``--distributed`` start waits for it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType

from monitor import sites
from monitor.catalog import CatalogProblem
from monitor.catalog.sources import catalog_rows
from monitor.config import Settings
from monitor.errors import ConfigError, MonitorError
from monitor.fetch import Fetcher, FetchOptions
from monitor.health import HealthPolicy, is_degraded
from monitor.pipeline.crawl import ResultSink, crawl, probe_context
from monitor.pipeline.outputs import write_reports
from monitor.report import ReportData
from monitor.sites import wayback
from monitor.store import fingerprints, lock, queries, results, states
from monitor.store.apply import RunVerdict, apply_run
from monitor.store.db import Database, libpq_conninfo
from monitor.vocabulary import COUNT_ORDER, Check, Target

Log = Callable[[str], None]


@dataclass
class CheckSummary:
    """What one run's check did, for the one-line summary and the exit code."""

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
        states = " ".join(f"{k} {self.counts.get(k, 0)}" for k in COUNT_ORDER)
        text = (f"run {self.run_id} {self.status}: checked {self.checked} in "
                f"{self.seconds:.1f} s; {states}; {self.events} events")
        if self.problems:
            text += f"; {len(self.problems)} catalog problems (listed above)"
        if self.status == "degraded":
            text += (f"\nthe network looked down: {self.unreachable} of {self.hosts} hosts "
                     "unreachable; no resource was marked failing or dead")
        return "\n".join([text, *(f"note: {n}" for n in self.notes)])


def run_once(db: Database, settings: Settings, *, command: str = "run", watch: bool = True,
             report: bool = True, log: Log = print,
             on_problem: Callable[[CatalogProblem], None] | None = None,
             distributed: bool = False) -> CheckSummary:
    """One run: sync the catalog and check every active resource (``check``), then, for the
    nightly job (``run``), watch arXiv and write the reports. ``log`` gets one line per stage.
    The catalog is ``catalog.path``, or with ``catalog.sources`` the sources extracted again
    (:func:`monitor.catalog.sources.catalog_rows`).

    ``distributed``: the check stage is done by ``monitor worker`` processes (SPEC §14): the
    targets go to the queue as host batches and this process waits for them
    (:mod:`monitor.pipeline.fleet`), or waits again for a distributed run whose coordinator
    died; every other stage is the same.

    Raises CatalogError (exit 3) for an unreadable catalog, ConfigError (exit 3) for a source
    pattern that matches nothing or a distributed run without PostgreSQL or procrastinate,
    RunLocked (exit 75) when another run holds the lock, DatabaseError when the database goes
    away.
    """
    started = time.monotonic()
    policy = HealthPolicy.from_settings(settings)
    fleet = _fleet(db) if distributed else None
    rows, problems = catalog_rows(settings)                                     # catalog
    for problem in problems:
        (on_problem or _print_problem)(problem)
    with _locked(db):
        resumed = fleet.resumable_run(db) if fleet else None
        queries.abort_stale_runs(db, keep=resumed)
        queries.sync_catalog(db, rows)
        del rows  # not needed past the sync: free them for the crawl (~500 bytes per row)
        run_id = resumed or queries.start_run(db, command, os.getpid())
        if resumed:
            log(f"run {run_id}: resuming the distributed run left running")
        with _interrupted_marks_aborted(db, run_id, fleet) as sink:
            checks: Iterable[Check] = sink.checked
            if fleet is None:
                verdict, snapshots, notes = asyncio.run(                        # fetch, classify
                    _check(db, settings, policy, queries.active_targets(db), sink))
            else:                                                               # ... on workers
                verdict, snapshots, notes = asyncio.run(
                    _check_on_workers(db, settings, policy, run_id, log))
                checks = results.StoredChecks(db, run_id)
            events = apply_run(db, run_id, checks, verdict, policy, snapshots)  # health
    with db.session() as s:
        counts = queries.state_counts(s)
    checked, received = len(sink.checked), sink.bytes_received
    if fleet is not None:
        checked, received = (results.checked_count(db, run_id),
                             results.bytes_received(db, run_id))
    summary = CheckSummary(run_id, verdict.status, checked, counts, problems, events,
                           time.monotonic() - started, verdict.hosts, verdict.unreachable,
                           received, notes)
    log(summary.line())
    if watch:
        log(_watch(db, settings, run_id))                                       # arXiv watch
    if report:
        data, lines = write_reports(db, settings, policy)                       # report
        for line in lines:
            log(line)
        _notify(db, settings, policy, data, log)                                # notify
    return summary


async def _check(db: Database, settings: Settings, policy: HealthPolicy, targets: list[Target],
                 sink: ResultSink) -> tuple[RunVerdict, dict[int, wayback.Snapshot], list[str]]:
    """Prepare the sites, crawl, decide degraded, ask the Wayback Machine about new failures:
    the run's one event loop. Returns the verdict, the snapshots found and the run's notes."""
    ctx = probe_context(settings)
    advance, stop = _progress_bar(len(targets))
    try:
        sites.prepare(targets, settings, ctx)
        async with Fetcher(FetchOptions.from_settings(settings)) as fetcher:
            ctx.fetcher = fetcher
            await crawl(targets, fetcher, ctx, sink, advance, fingerprints.latest_map(db))
            del targets  # the checks keep what the health stage needs
            degraded, hosts, unreachable = is_degraded(
                ((c.host, c.outcome) for c in sink.checked), policy)
            snapshots = {} if degraded else await _replacements(db, fetcher, sink.checked)
    finally:
        stop()
    return RunVerdict(degraded, hosts, unreachable, "; ".join(ctx.notes)), snapshots, ctx.notes


async def _check_on_workers(db: Database, settings: Settings, policy: HealthPolicy,
                            run_id: int, log: Log
                            ) -> tuple[RunVerdict, dict[int, wayback.Snapshot], list[str]]:
    """The check stage of a distributed run: the workers check the run's host batches
    (:func:`monitor.pipeline.fleet.check_on_workers`); then, as :func:`_check` does, decide
    degraded and ask the Wayback Machine about new failures, over the results the workers
    stored. The notes: the sites' notes the workers added to the run, and the resources left
    unchecked (their states stay as they were)."""
    from monitor.pipeline import fleet

    done = await fleet.check_on_workers(db, run_id, settings["distributed.batch_size"], log,
                                        _progress_bar)
    notes = queries.run_note_lines(db, run_id) + [n for n in [done.note()] if n]
    stored = results.StoredChecks(db, run_id)
    degraded, hosts, unreachable = is_degraded(((c.host, c.outcome) for c in stored), policy)
    snapshots: dict[int, wayback.Snapshot] = {}
    if not degraded:
        async with Fetcher(FetchOptions.from_settings(settings)) as fetcher:
            snapshots = await _replacements(db, fetcher, stored.failing())
    return RunVerdict(degraded, hosts, unreachable, "; ".join(notes)), snapshots, notes


def _fleet(db: Database) -> ModuleType:
    """The coordinator's side of distributed runs, or ConfigError (exit 3) saying why there
    can be none: a database other than PostgreSQL, or procrastinate not installed."""
    libpq_conninfo(db.url)  # ConfigError for SQLite
    try:
        from monitor.pipeline import fleet
    except ImportError as err:
        raise ConfigError(f"--distributed needs the task queue: pip install "
                          f"'monitor[distributed]' ({err})") from err
    return fleet


async def _replacements(db: Database, fetcher: Fetcher,
                        checked: Iterable[Check]) -> dict[int, wayback.Snapshot]:
    """Ask the Wayback Machine once per resource that becomes failing."""
    needed = states.needing_snapshot(
        db, [(c.resource_id, c.url) for c in checked if c.outcome.outcome == "failing"])
    found = await wayback.suggest(fetcher, sorted({url for _, url in needed}))
    return {rid: found[url] for rid, url in needed}


@contextlib.contextmanager
def _locked(db: Database) -> Iterator[None]:
    lock.acquire(db)
    try:
        yield
    finally:
        lock.release(db)


@contextlib.contextmanager
def _interrupted_marks_aborted(db: Database, run_id: int,
                               fleet: ModuleType | None = None) -> Iterator[ResultSink]:
    """A result sink with its writer thread; on any exception (SIGTERM, Ctrl-C, crash) the
    results so far are kept and the run is marked ``aborted``; states are not touched, so the
    database stays as it was before the run. A distributed run's batches not yet started are
    cancelled first (``fleet``: :mod:`monitor.pipeline.fleet`)."""
    writer = ThreadPoolExecutor(1, thread_name_prefix="monitor-writer")
    sink = ResultSink(db, run_id, writer)
    try:
        yield sink
    except BaseException:  # its transaction rolled back: states are as before the run
        try:
            sink.flush()
            if fleet is not None:
                with contextlib.suppress(Exception):  # the database may be what failed
                    fleet.cancel(db, run_id)
        finally:
            queries.mark_aborted(db, run_id, "interrupted")
        raise
    finally:
        writer.shutdown(wait=True)


def _notify(db: Database, settings: Settings, policy: HealthPolicy, data: ReportData,
            log: Log) -> None:
    """Tell the maintainer when the run calls for it (:mod:`monitor.notify`); a failed channel is
    noted on the run, and the reports are written again so that their header says so."""
    from monitor.notify.of_run import notify_run

    delivery = notify_run(db, settings, data)
    if delivery.decision is not None:
        log(delivery.line())
    if delivery.note():
        write_reports(db, settings, policy)


def _watch(db: Database, settings: Settings, run_id: int) -> str:
    """The arXiv watch; a failure is noted on the run (the report says so) and never fails it.
    The run note also says how the papers were ranked (semantic or lexical, SPEC §8)."""
    from monitor.watch.watcher import watch

    try:
        result = watch(db, settings, run_id=run_id)
    except MonitorError as err:
        line, complete, ranking = f"arxiv watch skipped: {err}", False, ""
    else:
        line, complete, ranking = result.line(), not result.failures, result.ranking
    if ranking:
        queries.add_run_note(db, run_id, ranking)
    if not complete:  # the report says so, not only the log
        queries.add_run_note(db, run_id, line.replace(f"; {ranking}", "") if ranking else line)
    return line


def _progress_bar(total: int) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    if not sys.stderr.isatty() or total == 0:
        return None, lambda: None
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task("checking", total=total)
    bar.start()
    return (lambda n: bar.advance(task, n)), bar.stop


def _print_problem(problem: CatalogProblem) -> None:
    print(f"warning: {problem}", file=sys.stderr)

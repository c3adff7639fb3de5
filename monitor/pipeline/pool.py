"""The process pool for CPU work of a crawl (content fingerprints), so both cores parse HTML
while the event loop keeps fetching. Workers die with their parent and leave signals to it.

Bodies go to the pool in batches (:class:`FingerprintBatches`): one task per page cost the event
loop a pickle, a future and a wake-up write of the executor per page, and on a busy machine that
write blocked the loop (1.4 s of 31 s at 10,000 pages before batching).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import multiprocessing
import os
import signal
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from monitor.classify.fingerprint import Fingerprint, fingerprint

BATCH_JOBS = 16  # bodies per pool task
BATCH_DELAY = 0.02  # seconds a partial batch waits for more bodies

Job = tuple[bytes, str | None, str]  # fingerprint()'s arguments: body, content type, URL


def fingerprint_pool() -> ProcessPoolExecutor | None:
    """A "spawn" process pool for fingerprints, one worker per core; None on one core."""
    cores = os.cpu_count() or 1
    if cores < 2:
        return None
    return ProcessPoolExecutor(max_workers=cores, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_pool_worker_init, initargs=(os.getpid(),))


def _pool_worker_init(parent: int) -> None:
    """In a pool worker: die with the parent (Linux ``PR_SET_PDEATHSIG``), leave SIGINT and
    SIGTERM to the parent (it shuts the pool down in order)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def fingerprint_batch(jobs: list[Job]) -> list[Fingerprint | None]:
    """In a pool worker: :func:`monitor.classify.fingerprint.fingerprint` of every job, in order
    (it never raises: a job cannot fail its batch)."""
    return [fingerprint(*job) for job in jobs]


class FingerprintBatches:
    """Fingerprints computed in ``pool``, sent ``BATCH_JOBS`` bodies at a time (a partial batch
    leaves after ``BATCH_DELAY`` seconds). Use from one event loop's thread only (one object
    per crawl).

    When the pool breaks (a worker killed, e.g. out of memory), the jobs it held and every
    later one are fingerprinted in this process instead, in the loop's default thread pool so
    that fetches go on meanwhile; a check never fails for it.
    """

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool
        self._jobs: list[tuple[Job, asyncio.Future[Fingerprint | None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._broken = False

    async def fingerprint(self, body: bytes, content_type: str | None,
                          url: str) -> Fingerprint | None:
        """The fingerprint of one body (see :func:`monitor.classify.fingerprint.fingerprint`)."""
        loop = asyncio.get_running_loop()
        if self._broken:
            return await loop.run_in_executor(None, fingerprint, body, content_type, url)
        future: asyncio.Future[Fingerprint | None] = loop.create_future()
        self._jobs.append(((body, content_type, url), future))
        if len(self._jobs) >= BATCH_JOBS:
            self._send()
        elif self._timer is None:
            self._timer = loop.call_later(BATCH_DELAY, self._send)
        return await future

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._jobs = self._jobs, []
        if not batch:
            return
        try:
            task = self.pool.submit(fingerprint_batch, [job for job, _ in batch])
        except (BrokenProcessPool, RuntimeError):  # broken, or shut down
            self._broken = True
            self._deliver_here(batch)
            return
        asyncio.wrap_future(task).add_done_callback(
            lambda done: self._deliver(batch, done))

    def _deliver(self, batch: list[tuple[Job, asyncio.Future[Fingerprint | None]]],
                 done: asyncio.Future[list[Fingerprint | None]] | Future[list[Fingerprint | None]],
                 ) -> None:
        if done.cancelled():
            for _, future in batch:
                future.cancel()
            return
        error = done.exception()
        if error is not None:  # the pool broke (or could not pickle): do this batch here
            self._broken = self._broken or isinstance(error, BrokenProcessPool)
            self._deliver_here(batch)
            return
        for (_, future), result in zip(batch, done.result(), strict=True):
            if not future.done():  # else its check was cancelled
                future.set_result(result)

    @staticmethod
    def _deliver_here(batch: list[tuple[Job, asyncio.Future[Fingerprint | None]]]) -> None:
        """Fingerprint ``batch`` in this process's default thread pool (the pool broke)."""
        for job, future in batch:
            if future.done():
                continue
            here = future.get_loop().run_in_executor(None, fingerprint, *job)
            here.add_done_callback(functools.partial(_copy_result, future))


def _copy_result(future: asyncio.Future[Fingerprint | None],
                 done: asyncio.Future[Fingerprint | None]) -> None:
    """Give ``future`` the outcome of ``done`` unless it was cancelled meanwhile."""
    if future.done():
        return
    if done.cancelled():
        future.cancel()
    elif done.exception() is not None:
        future.set_exception(done.exception())  # type: ignore[arg-type]
    else:
        future.set_result(done.result())

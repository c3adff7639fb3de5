"""The fingerprint process pool and its batches (monitor.workers)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from monitor.classify.fingerprint import fingerprint
from monitor.pipeline.pool import BATCH_JOBS, FingerprintBatches, fingerprint_pool
from tests.pages import article, noisy

URL = "https://docs.test/page"


@pytest.fixture
def pool() -> Iterator[ProcessPoolExecutor]:
    """A real fingerprint pool, shut down after the test."""
    made = fingerprint_pool()
    assert made is not None, "the test machine has one core"
    yield made
    made.shutdown(wait=True)


def _jobs(count: int) -> list[tuple[bytes, str | None, str]]:
    return [(noisy(i), "text/html", f"{URL}/{i}") for i in range(count)]


def test_batches_give_each_body_its_own_fingerprint_in_a_real_pool(
        pool: ProcessPoolExecutor) -> None:
    jobs = _jobs(BATCH_JOBS * 2 + 5)  # two full batches and a partial one (sent by the timer)
    jobs.append((b"%PDF-1.7 binary", "application/pdf", URL))
    jobs.append((b"<html><body></body></html>", "text/html", URL))  # no main text: None

    async def run() -> list:
        batches = FingerprintBatches(pool)
        return await asyncio.gather(*(batches.fingerprint(*job) for job in jobs))

    got = asyncio.run(run())
    assert got == [fingerprint(*job) for job in jobs]
    assert got[-1] is None and got[-2] is not None and got[-2].is_binary


def test_a_broken_pool_falls_back_to_this_process(pool: ProcessPoolExecutor) -> None:
    jobs = _jobs(BATCH_JOBS + 3)

    async def run() -> list:
        batches = FingerprintBatches(pool)
        await batches.fingerprint(article(["warm up the workers"]), "text/html", URL)
        for pid in list(pool._processes):  # a worker killed, as by the OOM killer
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not pool._broken and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return await asyncio.gather(*(batches.fingerprint(*job) for job in jobs))

    got = asyncio.run(run())
    assert got == [fingerprint(*job) for job in jobs]


def test_a_cancelled_check_does_not_break_its_batch(pool: ProcessPoolExecutor) -> None:
    jobs = _jobs(3)

    async def run() -> list:
        batches = FingerprintBatches(pool)
        tasks = [asyncio.ensure_future(batches.fingerprint(*job)) for job in jobs]
        await asyncio.sleep(0)
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    got = asyncio.run(run())
    assert got[0] == fingerprint(*jobs[0]) and got[2] == fingerprint(*jobs[2])
    assert isinstance(got[1], asyncio.CancelledError)


def test_a_job_the_pool_cannot_take_is_done_here(pool: ProcessPoolExecutor) -> None:
    body = noisy(2)

    async def run() -> list:
        batches = FingerprintBatches(pool)
        # a URL object that cannot be pickled: the batch fails on its way to the worker
        odd = await batches.fingerprint(body, "text/html", lambda: URL)  # type: ignore[arg-type]
        plain = await batches.fingerprint(body, "text/html", URL)
        return [odd, plain]

    got = asyncio.run(run())
    assert got == [fingerprint(body, "text/html", URL)] * 2

"""The process pool for CPU work of a crawl (content fingerprints), so both cores parse HTML
while the event loop keeps fetching. Workers die with their parent and leave signals to it."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor


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

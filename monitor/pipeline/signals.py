"""Process signals: SIGTERM as a clean exit for one-shot commands, a stop wait for services.

One-shot commands (``monitor check``, ``monitor run``) call :func:`exit_on_sigterm` once at
start: SIGTERM then raises ``SystemExit(143)`` in the main thread, like Ctrl-C raises
``KeyboardInterrupt``. The exception unwinds through the pipeline, which flushes the results
checked so far, marks the run ``aborted`` and releases the run lock (``monitor.pipeline.check``
handles any ``BaseException`` that way). Later SIGTERMs are ignored so that this cleanup cannot
itself be interrupted; SIGKILL stays the hard stop (the next run then marks the run aborted).

Long-running services (``monitor schedule``, ``monitor serve``) await :func:`wait_for_stop`
instead and shut down in order.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from types import FrameType

EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, the shell's code for "killed by SIGTERM"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_IGN)
    sys.stderr.write("monitor: terminated (SIGTERM); stopping, an unfinished run is marked "
                     "aborted\n")
    raise SystemExit(EXIT_TERMINATED)


def exit_on_sigterm() -> None:
    """Make the first SIGTERM raise ``SystemExit(143)`` in the main thread; ignore later ones.

    Does nothing outside the main thread (signal handlers can only be set there).
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_exit)


async def wait_for_stop(signals: tuple[int, ...] = STOP_SIGNALS) -> int:
    """Wait in the running event loop until one of ``signals`` arrives; return its number.

    The handlers are removed before returning, so a second Ctrl-C during the shutdown that
    follows acts as usual (``KeyboardInterrupt``).
    """
    loop = asyncio.get_running_loop()
    received: asyncio.Future[int] = loop.create_future()
    for sig in signals:
        loop.add_signal_handler(sig, lambda s=sig: received.done() or received.set_result(s))
    try:
        return await received
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)

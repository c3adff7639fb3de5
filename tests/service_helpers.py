"""Helpers for the service tests: command registration, subprocesses, polling with a deadline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from monitor.cli import main

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# ``python -m monitor`` with ``schedule`` and ``serve`` registered even before monitor.cli does
# it (the same as register_commands() in-process); nothing else differs from the real CLI.
LAUNCHER = [sys.executable, "-c", "from tests.service_helpers import cli_main; cli_main()"]


def register_commands() -> None:
    """Add ``schedule`` and ``serve`` to the CLI group when monitor.cli does not yet."""
    from monitor.cli.service import schedule, serve

    for command in (schedule, serve):
        if command.name not in main.commands:
            main.add_command(command)


def cli_main() -> None:
    """The CLI entry point with the service commands registered."""
    register_commands()
    main()


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a monitor subprocess: this checkout importable, unbuffered output."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=path, PYTHONUNBUFFERED="1", **extra)
    for name in ("MONITOR_DB", "MONITOR_CONFIG", "MONITOR_TOKEN"):
        if name not in extra:
            env.pop(name, None)
    return env


def spawn(argv: list[str], out_dir: Path, name: str) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout and stderr in files ``out_dir/name.out|.err``."""
    out = (out_dir / f"{name}.out").open("wb")
    err = (out_dir / f"{name}.err").open("wb")
    return subprocess.Popen(argv, stdout=out, stderr=err, env=child_env(), cwd=out_dir)


def output(out_dir: Path, name: str) -> tuple[str, str]:
    """What a process started with :func:`spawn` wrote: ``(stdout, stderr)``."""
    return ((out_dir / f"{name}.out").read_text(errors="replace"),
            (out_dir / f"{name}.err").read_text(errors="replace"))


def wait_for(probe: Callable[[], T], timeout: float = 20.0, interval: float = 0.05,
             what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def stop(proc: subprocess.Popen[Any], timeout: float = 20.0) -> int:
    """SIGTERM ``proc`` and wait for it (SIGKILL if it does not end in ``timeout``)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode

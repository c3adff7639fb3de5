"""Distributed runs on this machine (issue 17): ``monitor check --distributed`` over the
simulated web of ``bench/webgen.py`` (10,000 URLs over 500 hosts by default) with 1, 2 and 4
``monitor worker`` processes, and a local ``monitor check`` on the same PostgreSQL server as
the baseline.

    python bench/distributed.py [--size 10000] [--workers 0,1,2,4] [--json PATH]

``0`` workers is the local run. Each measure gets a fresh PostgreSQL database
(``bench_dist_N`` on the server of ``BENCH_PG_URL``, default the local
server; dropped after) and the same web (its counters reset). Settings as
``bench/crawl.py``: ``http.concurrency`` 100, ``http.per_host`` 4, every worker 25 host batches
at once (100 / 4), ``distributed.batch_size`` 150. The workers are started, migrated and
ready (their "up to N host batches" log line) before the coordinator starts: the fleet is in
place, as it would be at night.

Columns: workers; wall seconds of the coordinator (catalog sync, enqueue, the wait, the health
stage: the whole ``check``); URLs per second; CPU seconds of the coordinator and of all the
workers (``wait4``: each process and its reaped children); results stored; requests the web
answered; the most requests one host answered at once (never more than ``per_host``); the
run's status. Progress goes to standard error, the Markdown table to standard output.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from crawl import (  # noqa: E402
    Web,
    _kill_group,
    machine,
    monitor_argv,
    postgres_answers,
    postgres_database,
    run_child,
    run_totals,
)
from webgen import Plan  # noqa: E402

CONCURRENCY, PER_HOST, BATCH = 100, 4, 150
URLS_PER_HOST = 20
READY = "host batches at once"  # the worker's start-up log line
LIMIT = 1800.0  # seconds a coordinator or local run may take


@dataclass
class Measure:
    """One line of the table."""

    workers: int
    wall: float
    cpu_coordinator: float
    cpu_workers: float
    results: int
    requests: int
    peak_per_host: int
    status: str

    def cells(self, size: int) -> list[str]:
        return [str(self.workers) if self.workers else "local", f"{self.wall:.1f}",
                f"{size / self.wall:.0f}", f"{self.cpu_coordinator:.1f}",
                f"{self.cpu_workers:.1f}", f"{self.results:,}", f"{self.requests:,}",
                str(self.peak_per_host), self.status]


def write_inputs(plan: Plan, port: int, folder: Path) -> tuple[Path, Path]:
    """The catalog CSV and the monitor.toml every process of a measure shares."""
    catalog, config = folder / "catalog.csv", folder / "monitor.toml"
    catalog.write_text("url,title,section\n" + "".join(
        f"{plan.url(i, port)},Page {i},Section {i % 12}\n" for i in range(plan.size)),
        encoding="utf-8")
    config.write_text(
        f"[http]\nconcurrency = {CONCURRENCY}\nper_host = {PER_HOST}\ntimeout = 30.0\n"
        f"retries = 2\n\n[distributed]\nbatch_size = {BATCH}\n\n[report]\ndir = \"{folder}\"\n",
        encoding="utf-8")
    return catalog, config


def start_workers(db_url: str, config: Path, count: int, folder: Path
                  ) -> list[subprocess.Popen[bytes]]:
    """``count`` workers, each ready (its start-up line logged) within two minutes."""
    procs = []
    for n in range(count):
        err = (folder / f"worker{n}.err").open("wb")
        procs.append(subprocess.Popen(
            monitor_argv(db_url, config, "worker", "--concurrency",
                         str(CONCURRENCY // PER_HOST)),
            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True))
    deadline = time.monotonic() + 120
    while not all(READY in (folder / f"worker{n}.err").read_text(errors="replace")
                  for n in range(count)):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            stop_workers(procs)
            raise RuntimeError(f"workers not ready; see {folder}/worker*.err")
        time.sleep(0.2)
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> float:
    """SIGTERM every worker, wait for each; their CPU seconds in all."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    cpu = 0.0
    for proc in procs:
        try:
            _, _, usage = os.wait4(proc.pid, 0)
            cpu += usage.ru_utime + usage.ru_stime
        except ChildProcessError:  # already reaped by poll()
            pass
        _kill_group(proc.pid)
    return cpu


def measure(web: Web, workers: int, folder: Path) -> Measure:
    """One run of the web with ``workers`` workers (0: a local run) on a fresh database."""
    with postgres_database(f"bench_dist_{workers}") as db_url:
        catalog, config = write_inputs(web.plan, web.port, folder)
        upgrade = run_child(monitor_argv(db_url, config, "db", "upgrade"), 300)
        if upgrade.code:
            raise RuntimeError(f"db upgrade failed: {upgrade.out}")
        procs = start_workers(db_url, config, workers, folder) if workers else []
        web.reset()
        try:
            args = ["check", "--catalog", str(catalog)]
            args += ["--distributed"] if workers else ["--concurrency", str(CONCURRENCY),
                                                       "--per-host", str(PER_HOST)]
            child = run_child(monitor_argv(db_url, config, *args), LIMIT)
        finally:
            cpu_workers = stop_workers(procs)
        if child.code:
            raise RuntimeError(f"check failed ({child.code}): {child.out[-2000:]}")
        stats, totals = web.stats(), run_totals(db_url)
    return Measure(workers, child.wall, child.cpu, cpu_workers, totals["results"],
                   stats.get("requests", 0), stats.get("peak_per_host", 0),
                   totals["run_status"])


def table(size: int, hosts: int, rows: list[Measure]) -> str:
    head = ["workers", "wall s", "URLs/s", "coordinator CPU s", "workers CPU s", "results",
            "requests", "peak per host", "run"]
    lines = [f"{size:,} URLs over {hosts} hosts; per_host {PER_HOST}, concurrency "
             f"{CONCURRENCY}; {machine()}", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells(size)) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--workers", default="0,1,2,4",
                        help="comma-separated worker counts; 0 is the local run")
    parser.add_argument("--json", help="also write the rows as JSON to this file")
    args = parser.parse_args(argv)
    why = postgres_answers()
    if why:
        print(why, file=sys.stderr)
        return 2
    counts = [int(n) for n in args.workers.split(",")]
    plan = Plan(args.size, max(1, args.size // URLS_PER_HOST))
    web = Web(plan)
    rows = []
    try:
        for n in counts:
            print(f"{n or 'local'} ...", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
                rows.append(measure(web, n, Path(tmp)))
            print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    finally:
        web.close()
    print(table(plan.size, plan.hosts, rows))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

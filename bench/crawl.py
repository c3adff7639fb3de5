"""Crawl benchmark (issue 7): `monitor check` against a simulated web on loopback, with peers.

For each size (1,000 and 10,000 URLs; 100,000 with ``--full``) over ``size / 20`` hosts, this
script starts the simulated web of ``bench/webgen.py`` (one process, every host its own
127.1.x.y address), then measures, each as a child process:

- ``monitor check`` with a fresh SQLite database, then a second run over the unchanged web
  (conditional requests: ``If-None-Match`` / ``If-Modified-Since`` -> 304), then
  ``monitor report`` (HTML) on that database;
- the same two runs with a fresh PostgreSQL database (``CREATE DATABASE bench_...`` on the
  server of ``BENCH_PG_URL``; skipped with a note when no server answers);
- lychee, linkinator 6 and LinkChecker from the index page that links every URL (installed by
  the script into bench/.venv-peers and bench/node_modules; ``--no-peers`` skips them).

Columns: wall seconds; URLs per second; the ideal time for the limits (the largest of
sum(latency) / concurrency, the busiest host's sum(latency) / per-host, and the slowest single
URL's requests one after another; the first two shown); wall / ideal; CPU seconds of the child
and its reaped children (``wait4``) and the child's own peak RSS (``VmHWM``); bytes of bodies
the web sent (its own counters) and the requests it answered. Concurrency 100 and per-host 4 for the
monitor and lychee (``--host-concurrency 4 --host-request-interval 0ms``); linkinator and
LinkChecker get concurrency 100 (they have no per-host limit of that kind).

Usage: ``python bench/crawl.py [--quick | --full] [--sizes 1000,10000] [--no-peers]
[--no-postgres] [--json PATH]``. The table goes to standard output, progress to standard
error; databases and catalogs live in a temporary folder removed at the end (``--json`` is the
only file kept). Every child has a time limit, and is killed with its process group when this
script stops early (Ctrl-C); the web is stopped at the end. Exit status 1 when a monitor run
failed, 2 for bad options.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import peers  # noqa: E402
from webgen import Ideal, Plan, ideal  # noqa: E402

CONCURRENCY, PER_HOST = 100, 4
URLS_PER_HOST = 20
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@dataclass
class Child:
    """What one child process did."""

    wall: float
    cpu: float
    rss_mb: float
    code: int
    out: str
    workers_rss_mb: float = 0.0


@dataclass
class Row:
    """One line of the table."""

    size: int
    hosts: int
    tool: str
    db: str
    run: str
    wall: float
    cpu: float
    rss_mb: float
    mb_down: float
    requests: int
    ideal: float = 0.0
    ideal_global: float = 0.0
    ideal_host: float = 0.0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.size / self.wall if self.wall else 0.0

    @property
    def ratio(self) -> float:
        return self.wall / self.ideal if self.ideal else 0.0


# ---------------------------------------------------------------- children


def run_child(argv: list[str], timeout: float, cwd: Path | None = None) -> Child:
    """Run ``argv`` to the end (killed after ``timeout`` s); wall, CPU, peak RSS and output.

    CPU seconds come from ``wait4`` (the child and its reaped children: pool workers
    included). Peak RSS is the child's own ``VmHWM`` (``/proc/PID/status``), read every 50 ms:
    ``wait4``'s ``ru_maxrss`` would also count the memory of this script that the child had
    between ``fork`` and ``exec``. ``workers_rss_mb`` is the largest ``VmHWM`` of its
    descendants (the fingerprint pool's workers; multiprocessing's resource tracker).
    """
    with tempfile.TemporaryFile("w+") as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                start_new_session=True)
        killer = threading.Timer(timeout, _kill_group, (proc.pid,))
        killer.start()
        peak = workers = 0.0
        reaped = False
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    reaped = True
                    break
                peak = max(peak, _vm_hwm_mb(proc.pid))
                workers = max([workers, *map(_vm_hwm_mb, _descendants(proc.pid))])
                time.sleep(0.05)
        finally:
            killer.cancel()
            if not reaped:  # stopped early (Ctrl-C): the child runs in its own session
                _kill_group(proc.pid)
                proc.wait()
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    cpu = usage.ru_utime + usage.ru_stime
    return Child(wall, cpu, peak or usage.ru_maxrss / 1024, proc.returncode, text, workers)


def _vm_hwm_mb(pid: int) -> float:
    """Peak resident set of ``pid`` in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux ``/proc/PID/task/*/children``)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            found += kids
            todo += kids
    return found


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class Web:
    """The simulated web as a child process; counters over HTTP on 127.0.0.1."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "webgen.py"), "--size", str(plan.size),
             "--hosts", str(plan.hosts), "--seed", str(plan.seed)],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulated web did not start")
        self.port = int(json.loads(line)["port"])

    def _get(self, path: str) -> dict[str, int]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as resp:
            return dict(json.load(resp))

    def reset(self) -> None:
        self._get("/__reset")

    def stats(self) -> dict[str, int]:
        return self._get("/__stats")

    @property
    def index_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- databases


@contextlib.contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database ``name`` on PG_URL's server, dropped afterwards."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_answers() -> str | None:
    """None when the PostgreSQL server at PG_URL answers, else why not."""
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return f"PostgreSQL skipped: {str(exc).splitlines()[0]}"
    return None


def run_totals(db_url: str) -> dict[str, Any]:
    """Results and bytes_received of the latest run, per the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as conn:
        run_id, status = conn.execute(text("SELECT id, status FROM runs ORDER BY id DESC")).first()
        count, received = conn.execute(text(
            "SELECT count(*), coalesce(sum(bytes_received), 0) FROM check_results "
            "WHERE run_id = :r"), {"r": run_id}).first()
    engine.dispose()
    return {"run_status": status, "results": int(count), "bytes_received": int(received)}


# ---------------------------------------------------------------- the monitor


def write_inputs(plan: Plan, port: int, folder: Path) -> tuple[Path, Path]:
    """The catalog CSV and monitor.toml for ``plan``."""
    catalog, config = folder / "catalog.csv", folder / "monitor.toml"
    with catalog.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["url", "title", "section"])
        for i in range(plan.size):
            writer.writerow([plan.url(i, port), f"Page {i}", f"Section {i % 12}"])
    config.write_text(f'[http]\ntimeout = 30.0\nretries = 2\n\n[report]\ndir = "{folder}"\n',
                      encoding="utf-8")
    return catalog, config


def monitor_argv(db_url: str, config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", "--db", db_url, "--config", str(config), *args]


def bench_monitor(web: Web, folder: Path, db_name: str, db_url: str,
                  limit: float) -> list[Row]:
    """First and second ``monitor check`` on ``db_url`` (and the report on SQLite)."""
    catalog, config = write_inputs(web.plan, web.port, folder)
    check = monitor_argv(db_url, config, "check", "--catalog", str(catalog),
                         "--concurrency", str(CONCURRENCY), "--per-host", str(PER_HOST))
    rows = []
    for run in ("first", "second"):
        web.reset()
        child = run_child(check, limit)
        rows.append(_row(web, "monitor", db_name, run, child, run_totals(db_url)))
    if db_name == "SQLite":
        rows[1].extra["second_bytes_share"] = rows[1].mb_down / max(rows[0].mb_down, 1e-9)
        report = run_child(monitor_argv(db_url, config, "report", "--out",
                                        str(folder / "report.html")), limit)
        rows.append(Row(web.plan.size, web.plan.hosts, "monitor report", db_name, "html",
                        report.wall, report.cpu, report.rss_mb, 0.0, 0,
                        note=_failed(report) or "render time"))
    return rows


def _failed(child: Child) -> str:
    if child.code == 0:
        return ""
    return f"exit {child.code}: {child.out.strip().splitlines()[-1:] or ''}"


def _row(web: Web, tool: str, db: str, run: str, child: Child,
         totals: dict[str, Any] | None = None, ok_exits: tuple[int, ...] = (0,)) -> Row:
    """One table row; ``ok_exits``: the exit statuses that mean the tool ran to its end."""
    stats = web.stats()
    best = _ideal(web.plan)
    note = _failed(child) if child.code not in ok_exits else ""
    if child.workers_rss_mb and not note:
        note = f"children peak {child.workers_rss_mb:.0f} MB"  # pool workers, resource tracker
    row = Row(web.plan.size, web.plan.hosts, tool, db, run, child.wall, child.cpu, child.rss_mb,
              stats.get("body_bytes", 0) / 1e6, stats.get("requests", 0), best.seconds,
              best.global_bound, best.host_bound, note,
              {"stats": stats, **(totals or {}), "summary": _summary(child.out)})
    return row


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("run ")]
    return lines[-1] if lines else ""


_IDEALS: dict[tuple[int, int], Ideal] = {}


def _ideal(plan: Plan) -> Ideal:
    key = (plan.size, plan.hosts)
    if key not in _IDEALS:
        _IDEALS[key] = ideal(plan, CONCURRENCY, PER_HOST)
    return _IDEALS[key]


# ---------------------------------------------------------------- one size


def bench_size(size: int, args: argparse.Namespace, found: list[peers.Peer],
               notes: list[str]) -> list[Row]:
    """Every measurement of one size."""
    plan = Plan(size, max(1, size // URLS_PER_HOST))
    limit = max(120.0, 20 * _ideal(plan).seconds)
    rows: list[Row] = []
    web = Web(plan)
    try:
        with tempfile.TemporaryDirectory(prefix=f"bench-{size}-") as tmp:
            folder = Path(tmp)
            rows += bench_monitor(web, folder, "SQLite", f"sqlite:///{folder / 'bench.db'}",
                                  limit)
            if not args.no_postgres:
                why = postgres_answers()
                if why:
                    notes.append(why)
                else:
                    with postgres_database(f"bench_{size}_{os.getpid()}") as url:
                        rows += bench_monitor(web, folder, "PostgreSQL", url, limit)
        for peer in found:
            web.reset()
            child = run_child(peer.command(web.index_url, CONCURRENCY, PER_HOST),
                              args.peer_timeout)
            rows.append(_row(web, f"{peer.name} {peer.version}", "-", "first", child,
                             ok_exits=peer.ok_exits))
    finally:
        web.close()
    return rows


# ---------------------------------------------------------------- table


HEADER = ("size", "hosts", "tool", "db", "run", "wall s", "URLs/s", "ideal s (glob/host)",
          "ratio", "CPU s", "RSS MB", "MB down", "requests", "note")


def _cells(r: Row) -> tuple[str, ...]:
    ideal_text = f"{r.ideal:.1f} ({r.ideal_global:.1f}/{r.ideal_host:.1f})" if r.ideal else "-"
    note = r.note
    if "second_bytes_share" in r.extra:
        note = (note + "; " if note else "") + f"{r.extra['second_bytes_share']:.1%} of 1st bytes"
    return (f"{r.size:,}", f"{r.hosts:,}", r.tool, r.db, r.run, f"{r.wall:.1f}",
            f"{r.rate:.0f}" if r.requests else "-", ideal_text,
            f"{r.ratio:.2f}" if r.ideal else "-", f"{r.cpu:.1f}", f"{r.rss_mb:.0f}",
            f"{r.mb_down:.1f}" if r.requests else "-", f"{r.requests:,}" if r.requests else "-",
            note)


def table(rows: list[Row]) -> str:
    """A Markdown table of ``rows``."""
    lines = [HEADER, tuple("---" for _ in HEADER), *(_cells(r) for r in rows)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def machine() -> str:
    """One line about this machine."""
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}), Python "
            f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M %Z')}, load {load}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Crawl benchmark: monitor vs peers on a simulated web (see bench/README.md)."
                    " PostgreSQL: $BENCH_PG_URL (now " + PG_URL + ").")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="1,000 and 10,000 URLs (default)")
    mode.add_argument("--full", action="store_true", help="also 100,000 URLs")
    parser.add_argument("--sizes", type=_sizes,
                        help="comma-separated URL counts, each at least 20 and written without "
                             "thousands separators, e.g. 1000,10000 (overrides --quick/--full)")
    parser.add_argument("--no-peers", action="store_true",
                        help="skip lychee, linkinator, LinkChecker")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--peer-timeout", type=float, default=600.0,
                        help="seconds per peer run (default 600)")
    parser.add_argument("--json", help="also write the rows as JSON to this file")
    return parser.parse_args(argv)


def _sizes(text: str) -> list[int]:
    """``--sizes``: positive URL counts of at least one host's worth (``URLS_PER_HOST``)."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give whole numbers separated by commas, e.g. 1000,10000") from None
    small = [n for n in sizes if n < URLS_PER_HOST]
    if small:
        raise argparse.ArgumentTypeError(
            f"{small[0]}: each size must be at least {URLS_PER_HOST} URLs (one host's worth;"
            f" write 1000, not 1,000)")
    return sizes


def sizes_of(args: argparse.Namespace) -> list[int]:
    if args.sizes:
        return list(args.sizes)
    return [1000, 10_000, 100_000] if args.full else [1000, 10_000]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    found, notes = ([], []) if args.no_peers else peers.available()
    print(f"# crawl benchmark on {machine()}", flush=True)
    rows: list[Row] = []
    for size in sizes_of(args):
        print(f"- {size:,} URLs ...", file=sys.stderr, flush=True)
        rows += bench_size(size, args, found, notes)
    print(table(rows))
    print(f"# load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for note in dict.fromkeys(notes):  # once each, in order
        print(f"note: {note}")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0 if all(not r.note.startswith("exit") for r in rows) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the children were killed and the temporary folder removed
        print("interrupted", file=sys.stderr)
        sys.exit(130)

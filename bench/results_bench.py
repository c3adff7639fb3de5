"""What idempotent result writes cost: 10,000 check_results rows, in batches of 200 (as the
pipeline writes them), on SQLite and PostgreSQL.

    python bench/results_bench.py [--pg URL (default $BENCH_PG_URL)] [--rows 10000]
        [--repeat 3]

Per backend, each on a fresh run of one store: plain INSERT without the unique index (before
migration 0004), plain INSERT with the unique (run_id, resource_id) index,
``queries.insert_checks`` (INSERT ... ON CONFLICT DO NOTHING RETURNING, what every run writes
since 0004) first time, and again (a retried batch: every row conflicts). Median of
``--repeat`` runs. PostgreSQL runs in a schema of its own, dropped after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.catalog import CatalogRow  # noqa: E402
from monitor.store import queries  # noqa: E402
from monitor.store.db import Database, libpq_conninfo, open_database  # noqa: E402
from monitor.store.models import CheckResult  # noqa: E402
from monitor.vocabulary import Check, Outcome  # noqa: E402

BATCH = 200
UNIQUE_INDEX = "ux_check_results_run_resource"


def insert_results(db: Database, rows: list[dict[str, Any]]) -> None:
    """Plain INSERT of result rows (how runs wrote before migration 0004)."""
    with db.session() as s:
        s.execute(insert(CheckResult), rows)


def write_once(db: Database, rows: list[dict[str, Any]]) -> None:
    """The same rows as Checks through ``queries.insert_checks`` (ON CONFLICT DO NOTHING)."""
    checks = [Check(r["resource_id"], r["url"], "h", Outcome("ok", None, 200), r["checked_at"],
                    elapsed_ms=r["elapsed_ms"], content_type=r["content_type"]) for r in rows]
    queries.insert_checks(db, rows[0]["run_id"], checks)


def rows_for(run_id: int, ids: list[int]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [{"run_id": run_id, "resource_id": rid, "checked_at": now, "url": f"https://h/{rid}",
             "outcome": "ok", "http_status": 200, "redirect_chain": [], "probe": {},
             "elapsed_ms": 120, "content_type": "text/html"} for rid in ids]


def timed(db: Database, ids: list[int], write: Callable[[Database, list[dict]], Any],
          run_id: int | None = None) -> tuple[float, int]:
    run_id = run_id or queries.start_run(db, "check")
    rows = rows_for(run_id, ids)
    start = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        write(db, rows[i:i + BATCH])
    return time.perf_counter() - start, run_id


def measure(db: Database, count: int, repeat: int) -> dict[str, float]:
    urls = [f"https://h{i % 50}.example/{i}" for i in range(count)]
    queries.sync_catalog(db, [CatalogRow(url=u, canonical_url=u) for u in urls])
    ids = [t.resource_id for t in queries.active_targets(db)]
    out: dict[str, list[float]] = {}
    for _ in range(repeat):
        with db.session() as s:
            s.execute(text(f"DROP INDEX IF EXISTS {UNIQUE_INDEX}"))
        out.setdefault("plain INSERT, no unique index (before 0004)", []).append(
            timed(db, ids, insert_results)[0])
        with db.session() as s:
            s.execute(text(f"CREATE UNIQUE INDEX IF NOT EXISTS {UNIQUE_INDEX} "
                           "ON check_results (run_id, resource_id)"))
        out.setdefault("plain INSERT, unique index", []).append(
            timed(db, ids, insert_results)[0])
        took, run_id = timed(db, ids, write_once)
        out.setdefault("insert_checks (ON CONFLICT DO NOTHING), first time", []).append(took)
        out.setdefault("insert_checks again (a retried batch: all conflict)", []).append(
            timed(db, ids, write_once, run_id)[0])
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", ""),
                        help="PostgreSQL URL (a database of yours: a schema is made in it)")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/monitor.db")
        results["SQLite"] = measure(db, args.rows, args.repeat)
        db.dispose()
    schema = f"rb_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq_conninfo(args.pg), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        db = open_database(f"{args.pg}?options=-csearch_path%3D{schema}")
        results["PostgreSQL"] = measure(db, args.rows, args.repeat)
        db.dispose()
    finally:
        with psycopg.connect(libpq_conninfo(args.pg), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(f"| {args.rows:,} rows in batches of {BATCH} | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for key in next(iter(results.values())):
        print(f"| {key} | " + " | ".join(f"{r[key]:.2f} s" for r in results.values()) + " |")


if __name__ == "__main__":
    main()

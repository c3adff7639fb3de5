"""What idempotent result writes cost: 10,000 check_results rows, in batches of 200 (as the
pipeline writes them), on SQLite and PostgreSQL.

    python bench/results_bench.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/h_dist]
        [--rows 10000] [--repeat 3]

Per backend, each on a fresh run of one store: plain INSERT without the unique index (today),
plain INSERT with the unique (run_id, resource_id) index, ``write_once`` (INSERT ... ON
CONFLICT DO NOTHING RETURNING) first time, and ``write_once`` again (a retried run: every row
conflicts). Median of ``--repeat`` runs. PostgreSQL runs in a schema of its own, dropped after.
"""

from __future__ import annotations

import argparse
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
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.catalog import CatalogRow  # noqa: E402
from monitor.distributed.queue import conninfo  # noqa: E402
from monitor.distributed.results import UNIQUE_INDEX, ensure_unique_index, write_once  # noqa: E402
from monitor.store import queries  # noqa: E402
from monitor.store.db import Database, open_database  # noqa: E402

BATCH = 200


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
        out.setdefault("plain INSERT, no unique index (today)", []).append(
            timed(db, ids, queries.insert_results)[0])
        ensure_unique_index(db)
        out.setdefault("plain INSERT, unique index", []).append(
            timed(db, ids, queries.insert_results)[0])
        took, run_id = timed(db, ids, write_once)
        out.setdefault("write_once, first time", []).append(took)
        out.setdefault("write_once again (all conflict)", []).append(
            timed(db, ids, write_once, run_id)[0])
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/h_dist")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/monitor.db")
        results["SQLite"] = measure(db, args.rows, args.repeat)
        db.dispose()
    schema = f"rb_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo(args.pg), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        db = open_database(f"{args.pg}?options=-csearch_path%3D{schema}")
        results["PostgreSQL"] = measure(db, args.rows, args.repeat)
        db.dispose()
    finally:
        with psycopg.connect(conninfo(args.pg), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(f"| {args.rows:,} rows in batches of {BATCH} | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for key in next(iter(results.values())):
        print(f"| {key} | " + " | ".join(f"{r[key]:.2f} s" for r in results.values()) + " |")


if __name__ == "__main__":
    main()

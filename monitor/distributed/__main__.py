"""``python -m monitor.distributed worker``: the prototype of ``monitor worker``.

    python -m monitor.distributed worker --db postgresql+psycopg://... [--config PATH]
        [--concurrency N] [--graceful SECONDS] [--connect-to H1:P1:H2:P2]... [--ca-bundle PATH]
    python -m monitor.distributed install --db URL   # create or upgrade the queue schema

The worker checks batches with the local pipeline (:mod:`monitor.distributed.checker`) until
SIGTERM/SIGINT (see :mod:`monitor.distributed.worker` for what a signal does).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from monitor.config import database_url, load_settings
from monitor.distributed.checker import pipeline_checker
from monitor.distributed.queue import QUEUE_SCHEMA, install_schema, make_app
from monitor.distributed.results import ensure_unique_index
from monitor.distributed.worker import WorkerOptions, run_worker
from monitor.store.db import open_database


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m monitor.distributed")
    parser.add_argument("command", choices=("worker", "install"))
    parser.add_argument("--db", help="SQLAlchemy URL of the PostgreSQL database")
    parser.add_argument("--config", help="monitor.toml")
    parser.add_argument("--concurrency", type=int, default=16, help="host batches at once")
    parser.add_argument("--graceful", type=float, default=30.0,
                        help="seconds a running batch may finish after SIGTERM")
    parser.add_argument("--queue-schema", default=QUEUE_SCHEMA, help="PostgreSQL schema")
    parser.add_argument("--heartbeat", type=float, default=5.0, help="seconds between beats")
    parser.add_argument("--stalled", type=float, default=20.0,
                        help="seconds without a beat before a worker's batches go back")
    parser.add_argument("--connect-to", action="append", default=[])
    parser.add_argument("--ca-bundle")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    settings = load_settings(args.config)
    url = database_url(args.db, settings)
    if args.connect_to:
        settings.set("http.connect_to", args.connect_to)
    if args.ca_bundle:
        settings.set("http.ca_bundle", args.ca_bundle)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    schema = args.queue_schema
    print(f"queue schema {schema}: {asyncio.run(install_schema(url, schema))}", file=sys.stderr)
    db = open_database(url)
    ensure_unique_index(db)
    if args.command == "worker":
        options = WorkerOptions(concurrency=args.concurrency, graceful_seconds=args.graceful,
                                heartbeat_seconds=args.heartbeat, stalled_seconds=args.stalled,
                                sweep_seconds=min(5.0, args.stalled / 4),
                                poll_seconds=min(1.0, args.stalled / 10))
        asyncio.run(run_worker(url, pipeline_checker(db, settings), options,
                               app_factory=lambda u: make_app(u, schema)))
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The worker's batch checker over the local pipeline: fetch, probe, classify, fingerprint,
and write idempotently (what ``pipeline.check`` does per resource, for one host batch).

This is the seam the lead wires after the restructure: the pipeline should expose
``check_resources(db, settings, run_id, resource_ids) -> written`` and a sink whose write is
:func:`monitor.distributed.results.write_once`; until then this module builds it from
``pipeline.crawl`` and a :class:`~monitor.pipeline.ResultSink` whose ``_write`` is replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from monitor import pipeline, sites
from monitor.config import Settings
from monitor.distributed.jobs import BatchChecker, HostBatch
from monitor.distributed.results import already_checked, write_once
from monitor.store import fingerprints, queries
from monitor.store.db import Database
from monitor.store.models import Fingerprint, Resource, ResourceState

CHUNK = 900


class OnceSink(pipeline.ResultSink):
    """A ResultSink that writes each result once per (run, resource), with its fingerprint,
    in one transaction (and no run-lock heartbeat: the coordinator holds the run lock)."""

    def __init__(self, db: Database, writer: Executor | None = None) -> None:
        super().__init__(db, writer)
        self.written = 0

    def _write(self, rows: list[dict[str, Any]], prints: list[dict[str, Any]]) -> None:
        self.written += len(write_once(self.db, rows, prints))


def targets_for(db: Database, resource_ids: Sequence[int]) -> list[queries.Target]:
    """The active resources among ``resource_ids`` as check targets, in catalog order."""
    out: list[queries.Target] = []
    with db.session() as s:
        for start in range(0, len(resource_ids), CHUNK):
            stmt = (select(Resource.id, Resource.url, Resource.canonical_url, Resource.kind,
                           ResourceState.etag, ResourceState.last_modified, ResourceState.state)
                    .join(ResourceState, ResourceState.resource_id == Resource.id)
                    .where(Resource.active.is_(True),
                           Resource.id.in_(resource_ids[start:start + CHUNK])))
            out.extend(queries.Target(*row) for row in s.execute(stmt))
    return out


def latest_for(db: Database, resource_ids: Sequence[int]) -> fingerprints.LatestMap:
    """The newest counted fingerprint of each of ``resource_ids`` that has one."""
    rows: list[tuple[int, int, str, str | None, str]] = []
    with db.session() as s:
        for start in range(0, len(resource_ids), CHUNK):
            ids = sorted(resource_ids[start:start + CHUNK])
            newest = (select(func.max(Fingerprint.id))
                      .where(fingerprints.counted(), Fingerprint.resource_id.in_(ids))
                      .group_by(Fingerprint.resource_id).scalar_subquery())
            rows.extend(s.execute(
                select(Fingerprint.resource_id, Fingerprint.id, Fingerprint.raw_hash,
                       Fingerprint.text_hash, Fingerprint.extractor_version)
                .where(Fingerprint.id.in_(newest))).all())
    return fingerprints.LatestMap(sorted(rows))


def pipeline_checker(db: Database, settings: Settings) -> BatchChecker:
    """A :data:`BatchChecker` that checks a batch as a local run checks each resource."""
    options = pipeline.fetch_options(settings)
    writer = ThreadPoolExecutor(1, thread_name_prefix="monitor-batch-writer")

    async def check(batch: HostBatch) -> int:
        ids = list(batch.resource_ids)
        if batch.attempt:  # a retry: skip what an earlier try wrote
            done = await asyncio.to_thread(already_checked, db, batch.run_id, ids)
            ids = [i for i in ids if i not in done]
        targets = await asyncio.to_thread(targets_for, db, ids)
        ctx = sites.ProbeContext(None, settings)
        await asyncio.to_thread(sites.prepare, targets, settings, ctx)
        latest = await asyncio.to_thread(latest_for, db, ids)
        sink = OnceSink(db, writer)
        await pipeline.crawl(targets, options, batch.run_id, sink, ctx=ctx, latest=latest)
        return sink.written

    return check

"""The states as they were after an earlier run, for ``monitor report --run ID``.

States are not stored per run; they are replayed: every stored result of the complete runs up to
that run goes through the same state machine (:func:`monitor.health.transition`) that produced
them, with the configured ``[health]`` policy. Degraded and aborted runs changed no state, so they
are skipped, as they were then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.health import Health, HealthPolicy, transition
from monitor.report.model import status_items, utc_iso
from monitor.store import queries
from monitor.store.db import Database
from monitor.vocabulary import Outcome


def replay(db: Database, run_id: int, policy: HealthPolicy) -> list[dict[str, Any]]:
    """Status objects (SPEC §10) of the active resources as they stood after run ``run_id``.

    Results are streamed as plain rows; only each resource's health and last result are kept.
    """
    health: dict[int, Health] = {}
    last: dict[int, tuple[int | None, str | None, str | None, datetime]] = {}
    fresh = Health()
    for rid, outcome, error, http_status, final_url, detail, at in queries.results_upto(
            db, run_id):
        out = Outcome(outcome, error, http_status, final_url, detail)
        health[rid], _ = transition(health.get(rid, fresh), out, at, policy)
        last[rid] = (http_status, error, detail, at)
    rows = []
    for rid, row in status_items(db):
        h, r = health.get(rid, fresh), last.get(rid)
        row.update({
            "state": h.state, "final_url": h.final_url,
            "consecutive_failures": h.consecutive_failures,
            "failing_since": utc_iso(h.failing_since), "last_ok_at": utc_iso(h.last_ok_at),
            "http_status": r[0] if r else None, "error": r[1] if r else None,
            "detail": r[2] if r else None, "last_checked_at": utc_iso(r[3]) if r else None,
            "changed_at": None, "similarity": None, "suggested_url": None,
            "anchor_missing": None,
        })
        rows.append(row)
    return rows

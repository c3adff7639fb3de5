"""The states as they were after an earlier run, for ``monitor report --run ID``.

States are not stored per run; they are replayed: every stored result of the complete runs up to
that run goes through the same state machine (:func:`monitor.health.transition`) that produced
them, with the current ``[health]`` policy. Degraded and aborted runs changed no state, so they
are skipped, as they were then.
"""

from __future__ import annotations

from typing import Any

from monitor.classify import Outcome
from monitor.health import Health, HealthPolicy, transition
from monitor.report.model import iso, status_object
from monitor.store import queries
from monitor.store.db import Database


def replay(db: Database, run_id: int, policy: HealthPolicy) -> list[dict[str, Any]]:
    """Status objects (SPEC §10) of the active resources as they stood after run ``run_id``."""
    health: dict[int, Health] = {}
    last: dict[int, Any] = {}
    for rid, r in queries.results_upto(db, run_id):
        out = Outcome(r.outcome, r.error, r.http_status, r.final_url, r.detail)
        health[rid], _ = transition(health.get(rid, Health()), out, r.checked_at, policy)
        last[rid] = r
    rows = []
    for res, st in queries.status_rows(db):
        h, r = health.get(res.id, Health()), last.get(res.id)
        row = status_object(res, st) | {
            "state": h.state, "final_url": h.final_url,
            "consecutive_failures": h.consecutive_failures,
            "failing_since": iso(h.failing_since), "last_ok_at": iso(h.last_ok_at),
            "http_status": r.http_status if r else None, "error": r.error if r else None,
            "detail": r.detail if r else None, "last_checked_at": iso(r.checked_at) if r else None,
            "changed_at": None, "similarity": None, "suggested_url": None,
        }
        rows.append(row)
    return rows

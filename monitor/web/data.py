"""Read models of the web pages that the report does not already provide.

Plain dicts for the templates, shaped from the store's reads (:mod:`monitor.store.reads`);
every function takes a :class:`~monitor.store.db.Database`.
"""

from __future__ import annotations

from typing import Any

from monitor.report.model import iso, result_object, run_object, status_items
from monitor.store import notifications as store_notifications
from monitor.store import queries, reads
from monitor.store.db import Database
from monitor.store.models import Fingerprint


def runs_page(db: Database, limit: int = 500) -> list[dict[str, Any]]:
    """Runs, newest first, as SPEC §10 run objects plus ``command`` and ``note``."""
    return [run_object(r) | {"command": r.command, "note": r.note}
            for r in queries.list_runs(db, limit)]


def notifications(db: Database) -> list[dict[str, Any]]:
    """The last notification of each channel (SPEC §13): channel (scheme and host only), when,
    run, whether it got through, what was done and why it failed."""
    return [{"channel": n.channel, "at": iso(n.at), "run_id": n.run_id, "ok": n.ok,
             "detail": n.detail, "error": n.error, "url": n.url}
            for n in store_notifications.latest_per_channel(db)]


def resources_page(db: Database, state: str | None = None) -> list[dict[str, Any]]:
    """Active resources with their states (status objects plus ``id``), in catalog order."""
    return [obj | {"id": rid} for rid, obj in status_items(db, state)]


def _fingerprint_changes(prints: list[Fingerprint]) -> list[dict[str, Any]]:
    """The fingerprints where the content hash differs from the one before (the first too)."""
    changes, previous = [], None
    for fp in prints:
        key = fp.text_hash or fp.raw_hash
        if key != previous:
            changes.append({"at": iso(fp.at), "run_id": fp.run_id, "title": fp.page_title,
                            "excerpt": (fp.text_excerpt or "")[:400], "baseline": fp.is_baseline,
                            "content_type": fp.content_type, "first": previous is None})
        previous = key
    return changes


def resource_page(db: Database, resource_id: int, limit: int = 60) -> dict[str, Any] | None:
    """One resource: status, per-run results (newest first), events, fingerprint changes.

    None when there is no such resource.
    """
    found = reads.resource_history(db, resource_id, limit)
    if found is None:
        return None
    active, results, events, prints = found
    status = next((obj for _, obj in status_items(db, resource_id=resource_id,
                                                  active_only=False)), None)
    rows = [result_object(c, run_status) for c, run_status in results]
    return {
        "id": resource_id, "active": active, "status": status,
        "results": rows, "last": rows[0] if rows else None,
        "events": [{"run_id": e.run_id, "at": iso(e.at), "kind": e.kind, "detail": e.detail}
                   for e in events],
        "changes": list(reversed(_fingerprint_changes(prints))),
    }


def sections(db: Database) -> list[str]:
    """Every section name of the catalog and of stored suggestions, sorted."""
    return reads.section_names(db)

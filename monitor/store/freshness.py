"""Change detection inside a run's transaction (SPEC §7): the stored fingerprints and states
brought up to date with this run's observations, by the pure rules of
:mod:`monitor.health.changes` (baselines promoted, ``similarity``/``changed_at`` set, old rows
pruned, ``changed`` events returned).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.health.changes import Version, decide
from monitor.store import fingerprints
from monitor.store.models import ResourceState
from monitor.vocabulary import EventDraft


def apply(session: Session, run_id: int, observed: dict[int, tuple[str, datetime]],
          states: dict[int, ResourceState], threshold: float) -> list[tuple[int, datetime,
                                                                             EventDraft]]:
    """Apply this run's observations to the states (inside the run's transaction).

    Promotes baselines, sets ``similarity``/``changed_at``, prunes old rows; returns the
    ``changed`` events as ``(resource_id, at, event)``.
    """
    todo = [rid for rid, (seen, _) in observed.items()
            if rid in states and _needs_history(seen, states[rid], threshold)]
    for rid, (seen, _) in observed.items():
        st = states.get(rid)
        if st is not None and seen == "same" and st.similarity is None:
            st.similarity = 1.0  # the baseline seen again
    first = [rid for rid, (seen, _) in observed.items() if rid in states and seen == "first"]
    for rid in first:  # nothing to compare with: the new row is the baseline (decide's rule 1)
        states[rid].similarity = None
    fingerprints.promote_first(session, run_id, first)
    events = []
    rows = fingerprints.history(session, todo, run_id)
    promote, demote, doomed = [], [], []
    for rid in todo:
        mine = rows.get(rid)
        if not mine:
            continue
        seen, at = observed[rid]
        event, rebased = _apply_one(states[rid], mine, seen, at, threshold)
        if event is not None:
            events.append((rid, at, event))
        if rebased:
            promote.append(mine[-1].id)
            demote += [r.id for r in mine[:-1] if r.is_baseline]
            for r in mine:
                r.is_baseline = r is mine[-1]
        doomed += fingerprints.prunable(mine)
    for mine in rows.values():  # read only: their changes are written in bulk below
        for r in mine:
            session.expunge(r)
    fingerprints.mark_baselines(session, promote, demote)
    fingerprints.delete_ids(session, doomed)
    return events


def _needs_history(seen: str, st: ResourceState, threshold: float) -> bool:
    if seen == "new":
        return True
    pending = st.similarity is not None and st.similarity < threshold
    return pending and st.changed_at is None


def _apply_one(st: ResourceState, rows: list[Any], seen: str, at: datetime,
               threshold: float) -> tuple[EventDraft | None, bool]:
    """Decide one resource: ``(changed event or None, the newest row becomes the baseline)``."""
    versions = [Version(r.id, fingerprints.to_print(r), r.at) for r in rows]
    base = next((v for v, r in zip(versions, rows, strict=True) if r.is_baseline), None)
    decision = decide(base, versions[:-1], versions[-1], seen == "same", threshold,
                      st.changed_at is not None)
    st.similarity = decision.similarity
    if decision.event is not None:
        st.changed_at = at
    elif decision.similarity is not None and decision.similarity >= threshold:
        st.changed_at = None
    return decision.event, decision.rebaseline

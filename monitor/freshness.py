"""Change detection (SPEC §7): is the content still what the maintainer reviewed?

Each non-degraded run compares a resource's new fingerprint with its **baseline**: the first
fingerprint, until ``monitor ack`` makes the latest one the baseline. ``similarity`` (status
JSON) is the latest comparison with the baseline (null before a second fingerprint).

What is observed (:func:`observe`): only an ``ok`` 2xx response with a real extraction (not an
error page, a bot wall, a soft 404 or an empty page: those are fetch results, not content).
A 304, or a body whose raw hash or normalised text equals the latest fingerprint's, is the
*same* content again (no new row). Probe results (YouTube, arXiv, GitHub API) are not content.

When a change counts (:func:`decide`), with ``t = health.change_threshold``:

1. a baseline of another ``EXTRACTOR_VERSION`` is replaced by the new fingerprint silently
   (an extractor upgrade never reports the catalog as changed);
2. similarity >= t: not changed (noise: timestamps, counters, tokens, ads, reordered lists are
   removed or neutralised by :mod:`monitor.fingerprint`); a resource flagged changed that is
   back to its baseline is unflagged (``changed_at`` null again);
3. already flagged changed: no second event until ``ack`` (or a return to the baseline);
4. **A/B flip-flop**: the new version is similar (>= t) to a recent version that was itself
   below t *and was followed by a return to the baseline*: it is a known alternate, not a
   change;
5. **confirmation**: a change is reported when the changed content is seen on two consecutive
   observations (the new version is similar to the previous one, which was already below t);
   a one-night variant is therefore never reported, a real rewrite is reported the second run
   it is seen, once, as event ``changed`` with ``{"similarity", "removed", "added"}``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor import fingerprint as extractor
from monitor.classify import Outcome
from monitor.fetch import FetchResult
from monitor.fingerprint import Fingerprint, similarity, text_diff
from monitor.health import EventDraft
from monitor.store import fingerprints as store
from monitor.store.models import ResourceState


@dataclass(frozen=True)
class Observed:
    """Content seen in one check: ``kind`` "new" (with the row to insert), "first" (the same
    for a resource with no earlier fingerprint: its row becomes the baseline) or "same"."""

    kind: str
    row: dict[str, Any] | None = None


def observe(res: FetchResult | None, out: Outcome, latest: store.Latest | None,
            resource_id: int, run_id: int, at: datetime) -> Observed | None:
    """What one generic check says about the content; None when it says nothing."""
    decided, needed = precheck(res, out, latest)
    if not needed:
        return decided
    assert res is not None
    print_ = extractor.fingerprint(res.body, res.headers.get("content-type"), res.final_url)
    return conclude(print_, latest, resource_id, run_id, at)


def precheck(res: FetchResult | None, out: Outcome, latest: store.Latest | None
             ) -> tuple[Observed | None, bool]:
    """The cheap half of :func:`observe`: ``(observed, False)`` when it is decided without a
    fingerprint, ``(None, True)`` when the body must be fingerprinted (then :func:`conclude`)."""
    if res is None or out.outcome != "ok" or res.status is None:
        return None, False
    if res.status == 304:
        return (Observed("same") if latest is not None else None), False
    if not 200 <= res.status < 300 or not res.body:
        return None, False
    current = latest is not None and latest.extractor_version == extractor.EXTRACTOR_VERSION
    if current and latest.raw_hash == hashlib.sha256(res.body).hexdigest():
        return Observed("same"), False
    return None, True


def conclude(print_: Fingerprint | None, latest: store.Latest | None, resource_id: int,
             run_id: int, at: datetime) -> Observed | None:
    """The second half of :func:`observe`, given the body's fingerprint (computed anywhere)."""
    if print_ is None:
        return None
    current = latest is not None and latest.extractor_version == extractor.EXTRACTOR_VERSION
    if current and print_.text_hash is not None and print_.text_hash == latest.text_hash:
        return Observed("same")
    return Observed("new" if latest is not None else "first",
                    store.row_values(print_, resource_id, run_id, at))


@dataclass(frozen=True)
class Version:
    """A stored fingerprint: row id, the fingerprint, when it was taken."""

    id: int
    print: Fingerprint
    at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """The verdict on one new observation."""

    similarity: float | None
    event: EventDraft | None = None
    rebaseline: bool = False


def decide(baseline: Version | None, before: list[Version], new: Version, repeat: bool,
           threshold: float, already_changed: bool) -> Decision:
    """Apply the rules of the module docstring. Pure.

    ``before``: versions older than ``new`` (oldest first); ``repeat``: ``new`` is the content
    of the previous observation seen again (same row).
    """
    if baseline is None or baseline.print.extractor_version != new.print.extractor_version:
        return Decision(None, rebaseline=True)
    if new.id == baseline.id:
        return Decision(1.0)
    score = similarity(new.print, baseline.print)
    if score >= threshold or already_changed:
        return Decision(score)
    window = [v for v in before if v.id > baseline.id
              and v.print.extractor_version == new.print.extractor_version]
    if is_variant(new, window, baseline, threshold):
        return Decision(score)
    previous = window[-1] if window else None
    confirmed = repeat or (previous is not None
                           and similarity(previous.print, new.print) >= threshold
                           and similarity(previous.print, baseline.print) < threshold)
    if not confirmed:
        return Decision(score)
    return Decision(score, EventDraft("changed", change_detail(baseline, new, score)))


def is_variant(new: Version, window: list[Version], baseline: Version, threshold: float) -> bool:
    """True when ``new`` matches a recent below-threshold version after which the page came
    back to its baseline (an A/B flip-flop)."""
    def near(a: Version, b: Version) -> bool:
        return similarity(a.print, b.print) >= threshold

    for i, old in enumerate(window):
        if near(old, new) and not near(old, baseline) and any(
                near(later, baseline) for later in window[i + 1:]):
            return True
    return False


def change_detail(baseline: Version, new: Version, score: float) -> dict[str, Any]:
    """The ``changed`` event detail: similarity and short excerpts of removed/added text."""
    removed, added = text_diff(baseline.print.excerpt, new.print.excerpt)
    detail: dict[str, Any] = {"similarity": score, "removed": removed, "added": added,
                              "baseline_at": baseline.at.isoformat() if baseline.at else None,
                              "title": new.print.title}
    if new.print.is_binary:
        detail["note"] = "the file's bytes changed"
    return detail


def apply(session: Session, run_id: int, observed: dict[int, tuple[Observed, datetime]],
          states: dict[int, ResourceState], threshold: float) -> list[tuple[int, datetime,
                                                                             EventDraft]]:
    """Apply this run's observations to the states (inside the run's transaction).

    Promotes baselines, sets ``similarity``/``changed_at``, prunes old rows; returns the
    ``changed`` events as ``(resource_id, at, event)``.
    """
    todo = [rid for rid, (obs, _) in observed.items()
            if rid in states and _needs_history(obs, states[rid], threshold)]
    for rid, (obs, _) in observed.items():
        st = states.get(rid)
        if st is not None and obs.kind == "same" and st.similarity is None:
            st.similarity = 1.0  # the baseline seen again
    first = [rid for rid, (obs, _) in observed.items() if rid in states and obs.kind == "first"]
    for rid in first:  # nothing to compare with: the new row is the baseline (decide's rule 1)
        states[rid].similarity = None
    store.promote_first(session, run_id, first)
    events = []
    rows = store.history(session, todo, run_id)
    promote, demote, doomed = [], [], []
    for rid in todo:
        mine = rows.get(rid)
        if not mine:
            continue
        obs, at = observed[rid]
        event, rebased = _apply_one(states[rid], mine, obs, at, threshold)
        if event is not None:
            events.append((rid, at, event))
        if rebased:
            promote.append(mine[-1].id)
            demote += [r.id for r in mine[:-1] if r.is_baseline]
            for r in mine:
                r.is_baseline = r is mine[-1]
        doomed += store.prunable(mine)
    for mine in rows.values():  # read only: their changes are written in bulk below
        for r in mine:
            session.expunge(r)
    store.mark_baselines(session, promote, demote)
    store.delete_ids(session, doomed)
    return events


def _needs_history(obs: Observed, st: ResourceState, threshold: float) -> bool:
    if obs.kind == "new":
        return True
    pending = st.similarity is not None and st.similarity < threshold
    return pending and st.changed_at is None


def _apply_one(st: ResourceState, rows: list[Any], obs: Observed, at: datetime,
               threshold: float) -> tuple[EventDraft | None, bool]:
    """Decide one resource: ``(changed event or None, the newest row becomes the baseline)``."""
    versions = [Version(r.id, store.to_print(r), r.at) for r in rows]
    base = next((v for v, r in zip(versions, rows, strict=True) if r.is_baseline), None)
    decision = decide(base, versions[:-1], versions[-1], obs.kind == "same", threshold,
                      st.changed_at is not None)
    st.similarity = decision.similarity
    if decision.event is not None:
        st.changed_at = at
    elif decision.similarity is not None and decision.similarity >= threshold:
        st.changed_at = None
    return decision.event, decision.rebaseline

"""Change detection (SPEC §7): is the content still what the maintainer reviewed? Pure.

Each non-degraded run compares a resource's new fingerprint with its **baseline**: the first
fingerprint, until ``monitor ack`` makes the latest one the baseline. ``similarity`` (status
JSON) is the latest comparison with the baseline (null before a second fingerprint). What counts
as a new observation is :mod:`monitor.classify.content`; the run's transaction that applies these
decisions to the stored fingerprints is :mod:`monitor.store.freshness`.

When a change counts (:func:`decide`), with ``t = health.change_threshold``:

1. a baseline of another ``EXTRACTOR_VERSION`` is replaced by the new fingerprint silently
   (an extractor upgrade never reports the catalog as changed);
2. similarity >= t: not changed (noise: timestamps, counters, tokens, ads, reordered lists are
   removed or neutralised by :mod:`monitor.classify.fingerprint`); a resource flagged changed
   that is back to its baseline is unflagged (``changed_at`` null again);
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

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.classify.fingerprint import Fingerprint, similarity, text_diff
from monitor.vocabulary import EventDraft


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

"""When a missing anchor becomes an ``anchor_missing`` event (SPEC §6). Pure.

The stored ``anchor_missing`` of a resource is the fragment of its catalog URL that the page
no longer has (None while it has it, or while that cannot be told). The event fires **once**,
in the run whose check first finds the anchor gone; not again each night it stays gone; again
when it came back (``found`` clears it) and then went missing again, or when the catalog URL
now names another fragment that is missing too. A check that cannot tell (``unknown``: a page
that is mostly script, a 304, a failure, a probe) changes nothing; a URL without an anchor
(after ``monitor fix`` dropped the fragment) clears it. The resource's state never changes.
"""

from __future__ import annotations

from monitor.classify.anchors import FOUND, MISSING, anchor_of
from monitor.vocabulary import EventDraft, EventKind

__all__ = ["anchor_transition"]


def anchor_transition(stored: str | None, url: str, verdict: str | None
                      ) -> tuple[str | None, EventDraft | None]:
    """``(the new stored value, the event to record or None)`` for a check of catalog URL
    ``url`` whose anchor check said ``verdict`` (``found``, ``missing``, ``unknown`` or None),
    given the ``stored`` value (the fragment found missing before, or None)."""
    fragment = anchor_of(url)
    if fragment is None or verdict == FOUND:
        return None, None
    if verdict == MISSING:
        event = None if stored == fragment else EventDraft(EventKind.ANCHOR_MISSING.value,
                                                            {"fragment": fragment})
        return fragment, event
    return (stored if stored == fragment else None), None

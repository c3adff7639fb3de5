"""When to notify (SPEC §13): a pure decision from the digest and the ``[notify]`` settings.

Two questions, answered separately:

- **the channels** (apprise) hear about *news*: with ``when = "action"`` a run is worth a
  message when it has a ``went_dead``, ``moved``, ``changed``, ``updated`` or ``anchor_missing``
  event, or at least ``min_suggestions`` new suggestions scoring at least ``min_score``
  (``min_suggestions = 0``: suggestions alone never send). A quiet night sends nothing.
  ``"always"`` sends every finished run, ``"never"`` nothing. A degraded run sends one short
  "the network looked down" message, only when the previous run was not degraded as well
  (with ``"always"``: every degraded night). An aborted run sends nothing: its findings are
  partial and a later run will tell.
- **the GitHub issue** follows *what is outstanding*: it is open (created, or its body updated)
  while the run has news or resources are still ``dead`` or ``moved``, and closed when all is
  clear. A degraded or aborted run leaves it as it is (its findings say nothing about the
  links); ``"never"`` leaves it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from monitor.notify.digest import Digest

When = Literal["action", "always", "never"]
WHEN_VALUES: tuple[str, ...] = ("action", "always", "never")
OUTSTANDING_STATES = ("dead", "moved")
ACTION_ORDER = ("went_dead", "moved", "anchor_missing", "changed", "updated")  # most urgent first


@dataclass(frozen=True)
class Decision:
    """What to do for one run.

    - ``message``: what the channels get: ``"report"`` (the run's message), ``"degraded"`` (the
      short network-down message) or ``"none"``;
    - ``issue``: what happens to the rolling GitHub issue: ``"open"`` (create or update),
      ``"close"`` (close with a comment if one is open) or ``"leave"``;
    - ``reason``: why, in words, for the log ("2 went dead, 3 new suggestions").
    """

    message: Literal["report", "degraded", "none"]
    issue: Literal["open", "close", "leave"]
    reason: str

    @property
    def send(self) -> bool:
        """True when the channels get a message."""
        return self.message != "none"


def news(digest: Digest, min_suggestions: int = 1, min_score: float = 0.0) -> list[str]:
    """What in the run needs the maintainer, in words; empty on a quiet night."""
    found = [f"{n} {kind.replace('_', ' ')}" for kind in ACTION_ORDER
             if (n := len(digest.events_of(kind)))]
    good = [s for s in digest.suggestions if s.score >= min_score]
    if min_suggestions > 0 and len(good) >= min_suggestions:
        found.append(f"{len(good)} new suggestion{'s' if len(good) != 1 else ''}")
    return found


def outstanding(digest: Digest) -> list[str]:
    """Resources still needing action after the run (dead, moved), in words."""
    return [f"{digest.count(s)} {s}" for s in OUTSTANDING_STATES if digest.count(s)]


def decide(digest: Digest, when: str = "action", min_suggestions: int = 1,
           min_score: float = 0.0) -> Decision:
    """The :class:`Decision` for ``digest`` (rules in the module docstring).

    Raises ValueError for a ``when`` outside :data:`WHEN_VALUES` (a configuration error).
    """
    if when not in WHEN_VALUES:
        raise ValueError(f"notify.when: {when!r} is not one of {', '.join(WHEN_VALUES)}")
    status = digest.run.status
    if when == "never":
        return Decision("none", "leave", "notify.when is never")
    if status == "aborted":
        return Decision("none", "leave", "the run was aborted")
    if status == "degraded":
        return _degraded(digest, when)
    found = news(digest, min_suggestions, min_score)
    issue = "open" if found or outstanding(digest) else "close"
    if found:
        return Decision("report", issue, ", ".join(found))
    if when == "always":
        return Decision("report", issue, "notify.when is always")
    return Decision("none", issue, "a quiet night: " + (", ".join(outstanding(digest))
                                                        + " still open" if issue == "open"
                                                        else "all clear"))


def _degraded(digest: Digest, when: str) -> Decision:
    if digest.previous_status == "degraded" and when != "always":
        return Decision("none", "leave", "still degraded: the network-down message was sent "
                                         "when it started")
    return Decision("degraded", "leave", "the network looked down")

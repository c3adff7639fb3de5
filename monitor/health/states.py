"""Health: the state machine across runs (SPEC §6). Pure functions, no I/O.

States: ``unknown ok moved failing dead blocked``. A failure moves a resource to ``failing``; it
becomes ``dead`` after ``dead_after_runs`` consecutive failing non-degraded runs spanning at least
``dead_after_hours``. An ``ok``, ``moved`` or ``blocked`` result ends the streak (the site
answered). Degraded runs change no state: their results are stored, nothing else.

Events: ``went_failing went_dead recovered moved blocked`` (``changed`` and ``updated`` come from
the freshness stage).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.config import Settings, default
from monitor.vocabulary import NETWORK_ERRORS, EventDraft, Outcome


@dataclass(frozen=True)
class HealthPolicy:
    """Thresholds of the ``[health]`` settings (SPEC §4; defaults from the settings table).

    ``dead_after_runs``: consecutive failing non-degraded runs before dead; ``dead_after_hours``:
    hours the failing streak must span; ``degraded_threshold``: share (0-1) of hosts failing
    with dns/connect/timeout that marks a run degraded; ``change_threshold``: text similarity
    (0-1) below which a page has changed.
    """

    dead_after_runs: int = default("health.dead_after_runs")
    dead_after_hours: float = default("health.dead_after_hours")
    degraded_threshold: float = default("health.degraded_threshold")
    change_threshold: float = default("health.change_threshold")

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthPolicy:
        """The configured policy (what every run, report and web page must use)."""
        return cls(settings["health.dead_after_runs"], settings["health.dead_after_hours"],
                   settings["health.degraded_threshold"], settings["health.change_threshold"])


@dataclass(frozen=True)
class Health:
    """The part of a resource's current state that transitions depend on."""

    state: str = "unknown"
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    last_ok_at: datetime | None = None
    final_url: str | None = None


Transition = tuple[Health, list[EventDraft]]


def _failure(prev: Health, out: Outcome, at: datetime, policy: HealthPolicy) -> Transition:
    since = prev.failing_since or at
    count = prev.consecutive_failures + 1
    confirmed = count >= policy.dead_after_runs and at - since >= timedelta(
        hours=policy.dead_after_hours
    )
    state = "dead" if confirmed or prev.state == "dead" else "failing"
    detail = {"error": out.error, "http_status": out.http_status, "detail": out.detail,
              "failures": count}
    events = []
    if state == "dead" and prev.state != "dead":
        events.append(EventDraft("went_dead", {**detail, "failing_since": since.isoformat()}))
    elif state == "failing" and prev.state != "failing":
        events.append(EventDraft("went_failing", detail))
    new = replace(prev, state=state, consecutive_failures=count, failing_since=since,
                  final_url=out.final_url)
    return new, events


def transition(prev: Health, out: Outcome, at: datetime, policy: HealthPolicy) -> Transition:
    """Apply one non-degraded result ``out`` checked at ``at`` to ``prev``.

    Returns the new health and the events it caused (possibly none).
    """
    if out.outcome == "failing":
        return _failure(prev, out, at, policy)
    events: list[EventDraft] = []
    if prev.state in ("failing", "dead") and out.outcome in ("ok", "moved"):
        events.append(EventDraft("recovered", {"from": prev.state, "http_status": out.http_status}))
    if out.outcome == "moved" and (prev.state != "moved" or prev.final_url != out.final_url):
        events.append(EventDraft("moved", {"to": out.final_url, "http_status": out.http_status}))
    if out.outcome == "blocked" and prev.state != "blocked":
        events.append(EventDraft("blocked", {"http_status": out.http_status, "detail": out.detail}))
    last_ok = at if out.outcome in ("ok", "moved") else prev.last_ok_at
    new = Health(state=out.outcome, consecutive_failures=0, failing_since=None,
                 last_ok_at=last_ok, final_url=out.final_url)
    return new, events


def is_degraded(results: Iterable[tuple[str, Outcome]],
                policy: HealthPolicy) -> tuple[bool, int, int]:
    """Decide whether a run is degraded from ``(host, outcome)`` pairs.

    A host is unreachable when every one of its results failed with ``dns``/``connect``/
    ``timeout``. The run is degraded when at least 3 hosts were checked and the unreachable share
    is at least ``degraded_threshold``. Returns ``(degraded, hosts, unreachable_hosts)``.
    """
    reachable: dict[str, bool] = {}
    for host, out in results:
        down = out.outcome == "failing" and out.error in NETWORK_ERRORS
        reachable[host] = reachable.get(host, False) or not down
    hosts = len(reachable)
    unreachable = sum(1 for ok in reachable.values() if not ok)
    degraded = hosts >= 3 and unreachable >= policy.degraded_threshold * hosts
    return degraded, hosts, unreachable

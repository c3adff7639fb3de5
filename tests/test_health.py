"""The state machine across runs: pure transitions, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.health import Health, HealthPolicy, is_degraded, transition
from monitor.vocabulary import Outcome

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
POLICY = HealthPolicy(dead_after_runs=3, dead_after_hours=48.0)
NOT_FOUND = Outcome("failing", "http_4xx", 404)
OK = Outcome("ok", None, 200)


def nights(outcomes: list[Outcome], start: Health | None = None,
           step: timedelta = timedelta(hours=24)) -> tuple[Health, list[list[str]]]:
    state, kinds = start or Health(), []
    for i, out in enumerate(outcomes):
        state, events = transition(state, out, T0 + i * step, POLICY)
        kinds.append([e.kind for e in events])
    return state, kinds


def test_404_three_nights_in_a_row_becomes_dead() -> None:
    state, kinds = nights([NOT_FOUND] * 3)
    assert state.state == "dead"
    assert kinds == [["went_failing"], [], ["went_dead"]]
    assert state.failing_since == T0 and state.consecutive_failures == 3


def test_three_failures_within_hours_are_not_dead_yet() -> None:
    state, _ = nights([NOT_FOUND] * 3, step=timedelta(hours=1))
    assert state.state == "failing"


def test_failing_then_ok_recovers_and_resets_the_streak() -> None:
    state, kinds = nights([Outcome("failing", "http_5xx", 503), OK])
    assert state.state == "ok" and state.consecutive_failures == 0
    assert state.failing_since is None and kinds[1] == ["recovered"]


def test_503_that_recovers_never_dies() -> None:
    five = Outcome("failing", "http_5xx", 503)
    state, kinds = nights([five, five, OK, five, five, OK, five])
    assert state.state == "failing"
    assert "went_dead" not in sum(kinds, [])


def test_blocked_ends_the_streak_and_is_never_dead() -> None:
    blocked = Outcome("blocked", "blocked", 403)
    state, kinds = nights([NOT_FOUND, NOT_FOUND, blocked, NOT_FOUND, NOT_FOUND])
    assert state.state == "failing" and state.consecutive_failures == 2
    assert kinds[2] == ["blocked"]
    state, _ = nights([blocked] * 6)
    assert state.state == "blocked"


def test_dead_recovers() -> None:
    state, _ = nights([NOT_FOUND] * 3)
    state, events = transition(state, OK, T0 + timedelta(days=5), POLICY)
    assert state.state == "ok" and [e.kind for e in events] == ["recovered"]
    assert events[0].detail["from"] == "dead"


def test_moved_emits_moved_once_per_target() -> None:
    moved = Outcome("moved", None, 200, "https://b.test/new")
    state, kinds = nights([moved, moved])
    assert state.state == "moved" and kinds == [["moved"], []]
    state, events = transition(state, Outcome("moved", None, 200, "https://c.test/"), T0, POLICY)
    assert [e.kind for e in events] == ["moved"]


def test_degraded_needs_three_hosts_and_the_threshold() -> None:
    down = Outcome("failing", "dns", None)
    assert is_degraded([("a", down), ("b", down)], POLICY) == (False, 2, 2)
    assert is_degraded([("a", down), ("b", down), ("c", down)], POLICY) == (True, 3, 3)
    mixed = [("a", down), ("b", down), ("c", down), ("d", down), ("e", OK)]
    assert is_degraded(mixed, POLICY) == (True, 5, 4)
    mixed.append(("f", NOT_FOUND))
    assert is_degraded(mixed, POLICY)[0] is False


def test_a_host_with_one_answer_is_reachable() -> None:
    down = Outcome("failing", "timeout", None)
    results = [("a", down), ("a", OK), ("b", down), ("c", down)]
    assert is_degraded(results, POLICY) == (False, 3, 2)

"""The report's fast paths give exactly what the straightforward code gave: status objects read
as plain rows, the replay of an earlier run, the section table and the indented JSON."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from monitor.catalog import CatalogRow
from monitor.health import Health, HealthPolicy, transition
from monitor.report import build, dumps_indented, render_json
from monitor.report.history import replay
from monitor.report.model import STATE_ORDER, ReportData, iso, status_objects
from monitor.store import queries
from monitor.store.db import Database
from monitor.store.models import Resource, ResourceState
from monitor.vocabulary import Outcome
from tests.report_data import HOSTILE, realistic, resource

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def status_object(res: Resource, st: ResourceState) -> dict[str, Any]:
    """The straightforward ``status --json`` object of one ORM pair (the reference)."""
    return {
        "url": res.url, "canonical_url": res.canonical_url, "title": res.title,
        "section": res.section, "kind": res.kind, "state": st.state,
        "http_status": st.http_status, "error": st.error, "final_url": st.final_url,
        "consecutive_failures": st.consecutive_failures, "failing_since": iso(st.failing_since),
        "last_ok_at": iso(st.last_ok_at), "last_checked_at": iso(st.last_checked_at),
        "changed_at": iso(st.changed_at), "similarity": st.similarity,
        "suggested_url": st.suggested_url, "detail": st.detail, "chapter": res.chapter,
        "source": res.source, "page_title": st.page_title, "anchor_missing": st.anchor_missing,
    }


def status_rows(db: Database) -> list[tuple[Resource, ResourceState]]:
    """Active resources with their states as ORM pairs, in catalog order (the reference)."""
    with db.session() as s:
        return list(s.query(Resource, ResourceState)
                    .join(ResourceState, ResourceState.resource_id == Resource.id)
                    .filter(Resource.active.is_(True)).order_by(Resource.position, Resource.id))


def _catalog(db: Database) -> None:
    rows = [
        CatalogRow("https://a.test/x", "https://a.test/x", "A", "Section I", "Ch 1", "blog",
                   "s.md:1"),
        CatalogRow("https://YouTu.be/dA-NhCtrrVE", "https://www.youtube.com/watch?v=dA-NhCtrrVE",
                   HOSTILE, "", "", "video"),
        CatalogRow("https://b.test/ü?q=1", "https://b.test/%C3%BC?q=1", "Über 注意力",
                   "Section II", kind="docs", source="s.md:3"),
        CatalogRow("https://c.test/gone", "https://c.test/gone", "C", "Section I"),
        CatalogRow("https://d.test/", "https://d.test/", "D", "Section II"),
    ]
    queries.sync_catalog(db, rows)
    queries.sync_catalog(db, [r for r in rows if "c.test" not in r.url])  # c: inactive


def test_status_objects_equal_the_orm_status_objects(db: Database) -> None:
    _catalog(db)
    with db.session() as s:
        ids = sorted(st.resource_id for st in s.query(ResourceState))
        s.execute(update(ResourceState).where(ResourceState.resource_id == ids[0]).values(
            state="failing", http_status=404, error="http_4xx", detail=HOSTILE,
            page_title=HOSTILE, anchor_missing="gone",
            consecutive_failures=2, failing_since=T0, last_ok_at=T0 - timedelta(days=1),
            last_checked_at=T0 + timedelta(days=1, microseconds=1500),
            suggested_url="https://web.archive.org/web/2024/https://a.test/x"))
        s.execute(update(ResourceState).where(ResourceState.resource_id == ids[1]).values(
            state="moved", http_status=301, final_url="https://new.test/", similarity=0.25,
            last_ok_at=T0 + timedelta(seconds=7), last_checked_at=T0 + timedelta(seconds=7),
            changed_at=T0 + timedelta(hours=3, microseconds=1)))
        s.execute(update(ResourceState).where(ResourceState.resource_id == ids[2]).values(
            state="ok", http_status=200, similarity=1.0, last_ok_at=T0, last_checked_at=T0))
    expected = [status_object(r, st) for r, st in status_rows(db)]
    got = status_objects(db)
    assert len(got) == 4 and got == expected
    assert json.dumps(got) == json.dumps(expected)  # same key order too
    assert got[0]["last_checked_at"] == "2026-11-29T03:00:00.001500+00:00"
    assert got[2]["last_ok_at"] == got[2]["last_checked_at"] == "2026-11-28T03:00:00+00:00"


def test_replay_matches_the_state_machine_on_aware_times(db: Database) -> None:
    _catalog(db)
    policy = HealthPolicy(dead_after_runs=2, dead_after_hours=0)
    targets = {t.url: t for t in queries.active_targets(db)}
    plan = {"https://a.test/x": ["ok", "failing", "failing"],
            "https://d.test/": ["failing", "ok", "blocked"]}
    expected: dict[str, Health] = {}
    runs = []
    for k in range(3):
        run_id = queries.start_run(db, "check")
        runs.append(run_id)
        rows = []
        for url, outcomes in plan.items():
            at = T0 + timedelta(days=k, microseconds=250 * k)
            kind = outcomes[k]
            out = Outcome(kind, None if kind == "ok" else "http_4xx", 200 if kind == "ok" else 404)
            expected[url] = transition(expected.get(url, Health()), out, at, policy)[0]
            rows.append({"run_id": run_id, "resource_id": targets[url].resource_id,
                         "checked_at": at, "url": url, "http_status": out.http_status,
                         "outcome": kind, "error": out.error, "detail": f"run {k}"})
        queries.insert_results(db, rows)
        with db.session() as s:
            queries.finish_run(s, run_id, "complete", len(rows), "")
    got = {r["url"]: r for r in replay(db, runs[-1], policy)}
    assert set(got) == set(targets)
    for url, h in expected.items():
        r = got[url]
        assert (r["state"], r["consecutive_failures"]) == (h.state, h.consecutive_failures)
        assert r["failing_since"] == (h.failing_since.isoformat() if h.failing_since else None)
        assert r["last_ok_at"] == (h.last_ok_at.isoformat() if h.last_ok_at else None)
        assert r["last_checked_at"] == (T0 + timedelta(days=2, microseconds=500)).isoformat()
        assert r["detail"] == "run 2"
    assert got["https://a.test/x"]["state"] == "dead"
    assert got["https://d.test/"]["state"] == "blocked"
    unchecked = got["https://YouTu.be/dA-NhCtrrVE"]
    assert unchecked["state"] == "unknown" and unchecked["last_checked_at"] is None


def test_build_reads_the_same_report_as_the_objects(db: Database) -> None:
    _catalog(db)
    run_id = queries.start_run(db, "check")
    with db.session() as s:
        queries.finish_run(s, run_id, "complete", 0, "")
        rid = min(st.resource_id for st in s.query(ResourceState))
        queries.add_events(s, run_id, [(rid, T0, "changed", {"similarity": 0.5, "x": [1, {}]})])
    data = build(db)
    assert data.resources == [status_object(r, st) for r, st in status_rows(db)]
    assert data.events == [{"run_id": e.run_id, "at": e.at.isoformat(), "url": r.url,
                            "kind": e.kind, "detail": e.detail}
                           for e, r in queries.run_events(db, run_id)]


def _sections_reference(data: ReportData) -> list[tuple[str, dict[str, int]]]:
    table: dict[str, Counter[str]] = {}
    for r in data.resources:
        table.setdefault(r["section"] or "(none)", Counter())[r["state"]] += 1
    rows = [(name, {s: c.get(s, 0) for s in STATE_ORDER} | {"total": sum(c.values())})
            for name, c in table.items()]
    rows.sort(key=lambda row: tuple(-row[1][s] for s in STATE_ORDER[:4]))
    return rows


def test_sections_and_counts_as_before() -> None:
    rng = random.Random(3)
    data = realistic(n=400)
    for r in data.resources:
        r["section"] = rng.choice(["B", "A", "", None, "C", "(none)"])
        r["state"] = rng.choice(STATE_ORDER + ("ok",) * 6)
    assert data.sections() == _sections_reference(data)
    assert [name for name, _ in data.sections()] == [n for n, _ in _sections_reference(data)]
    c = Counter(r["state"] for r in data.resources)
    assert data.counts() == {s: c.get(s, 0)
                             for s in ("ok", "moved", "failing", "dead", "blocked", "unknown")}


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rng.choice(["", 'a\u00e9"\\\n\t<>&', "{\"", "},\n", "\u2028\ud800", HOSTILE])
    if kind == 1:
        return rng.randrange(-5, 10**20)
    if kind == 2:
        return rng.choice([0.1, -0.0, 1e300, 1e-7, float("inf"), float("nan")])
    if kind in (3, 4):
        return rng.choice([True, False, None])
    if kind == 5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 6:
        return {(rng.choice([1, None, 2.5, True]) if rng.random() < 0.1 else f"k{i}\u00e9"):
                _random_value(rng, depth + 1) for i in range(rng.randrange(4))}
    return tuple(_random_value(rng, depth + 1) for _ in range(rng.randrange(3)))


def test_dumps_indented_is_json_dumps_with_indent() -> None:
    rng = random.Random(11)
    values = [{}, [], [{}], {"a": {}}, {"a": []}, [[]], "s", 3, None, {"a": (1, {"b": 2})},
              [resource(i, "ok") for i in range(3)]]
    values += [_random_value(rng) for _ in range(3000)]
    for value in values:
        assert dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False), value
    data = realistic(n=120, suggestions=5)
    data.resources[0]["title"] = HOSTILE + " Über 注意力"
    assert render_json(data) == json.dumps(data.as_json(), indent=2, ensure_ascii=False) + "\n"

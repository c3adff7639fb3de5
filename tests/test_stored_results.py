"""A run's results as stored and read back (issue 17): results written once per (run,
resource); the stored rows rebuilt as the very ``Check`` values the crawl's sink keeps, so a
distributed run's health stage decides as a local run's; a resource without a result is not
checked (its state untouched); migration 0004 up and down. SQLite, and PostgreSQL when
``MONITOR_TEST_DATABASE_URL`` is set (the ``db``/``db_url`` fixtures)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from monitor.catalog import CatalogRow
from monitor.config import Settings, load_settings
from monitor.fetch import Fetcher, FetchOptions
from monitor.health import HealthPolicy
from monitor.pipeline.crawl import ResultSink, check_resources, crawl, probe_context
from monitor.sites import canonical_url, prepare
from monitor.store import fingerprints, queries, results
from monitor.store.apply import RunVerdict, apply_run
from monitor.store.db import Database, alembic_config, make_engine
from monitor.vocabulary import Check
from tests.cli_helpers import write_config
from tests.simweb import SimWeb, redirect, set_cookie_then_redirect_to_self, static
from tests.sitefakes import FakeArxivIds

PAGE = b"<html><head><title>%s</title></head><body><p>%s words here</p></body></html>"


def build(web: SimWeb) -> list[str]:
    """Pages (one with an ETag answering 304), a 404, a 301 -> 302 chain, a cookie redirect to
    itself, a 500, two arXiv papers (one unknown to the API), a PDF."""
    web.route("a.example", "/", body=PAGE % (b"A", b"a"))
    web.route("a.example", "/etag", static(body=PAGE % (b"E", b"e"), headers={"ETag": '"v1"'}))
    web.route("a.example", "/gone", status=404, body=b"gone")
    web.route("b.example", "/old", redirect("/mid", 301))
    web.route("b.example", "/mid", redirect("/new", 302))
    web.route("b.example", "/new", body=PAGE % (b"New", b"new"))
    web.route("b.example", "/cookie", set_cookie_then_redirect_to_self(body=PAGE % (b"C", b"c")))
    web.route("c.example", "/err", status=500, body=b"oops")
    web.route("c.example", "/doc.pdf", body=b"%PDF-1.4 bytes", content_type="application/pdf")
    guide = b'<title>The Guide</title><h2 id="setup">Setup</h2><p>' + b"text " * 40 + b"</p>"
    web.route("d.example", "/guide", body=guide)
    web.route("d.example", "/other", body=guide.replace(b"The Guide", b"Other"))
    return ["https://a.example/", "https://a.example/etag", "https://a.example/gone",
            "https://d.example/guide#setup", "https://d.example/other#gone",
            "https://b.example/old", "https://b.example/cookie", "https://c.example/err",
            "https://c.example/doc.pdf", "https://arxiv.org/abs/2104.12255",
            "https://arxiv.org/abs/0000.00000"]


@pytest.fixture
def settings(simweb: SimWeb, tmp_path: Path) -> Settings:
    fake = FakeArxivIds({"2104.12255": (3, "Zero", None)})
    simweb.route("127.0.0.1", "/api/query", fake)
    return load_settings(str(write_config(
        tmp_path / "monitor.toml", simweb, http={"retries": 0},
        arxiv={"api_url": f"http://127.0.0.1:{simweb.http_port}/api/query",
               "delay_seconds": 0.0})))


def sync(db: Database, urls: list[str]) -> None:
    queries.sync_catalog(db, [CatalogRow(u, canonical_url(u)) for u in urls])


async def crawl_run(db: Database, settings: Settings, run_id: int) -> list[Check]:
    """A local run's check stage (prepare, crawl); returns the sink's slim checks."""
    ctx = probe_context(settings)
    targets = queries.active_targets(db)
    prepare(targets, settings, ctx)
    async with Fetcher(FetchOptions.from_settings(settings)) as fetcher:
        ctx.fetcher = fetcher
        sink = ResultSink(db, run_id)
        await crawl(targets, fetcher, ctx, sink, latest=fingerprints.latest_map(db))
    return sink.checked


def by_resource(checks: object) -> list[Check]:
    return sorted(checks, key=lambda c: c.resource_id)  # type: ignore[attr-defined]


def apply(db: Database, run_id: int, checks: object) -> None:
    apply_run(db, run_id, checks, RunVerdict(False, 3, 0), HealthPolicy(), {})  # type: ignore


def test_stored_results_read_back_as_the_crawls_checks(db: Database, simweb: SimWeb,
                                                       settings: Settings) -> None:
    sync(db, build(simweb))
    for _ in range(2):  # the second run: 304s, the same content again, versions known
        run_id = queries.start_run(db, "check")
        checked = asyncio.run(crawl_run(db, settings, run_id))
        stored = results.StoredChecks(db, run_id)
        assert by_resource(stored) == by_resource(checked)
        assert {c.resource_id for c in stored.failing()} == {
            c.resource_id for c in checked if c.outcome.outcome == "failing"}
        apply(db, run_id, stored)
    outcomes = {c.url: (c.outcome.outcome, c.content) for c in checked}
    assert outcomes["https://a.example/etag"] == ("ok", "same")  # a 304
    assert outcomes["https://b.example/old"][0] == "moved"
    moved = next(c for c in checked if c.url == "https://b.example/old")
    assert moved.outcome.final_url == "https://b.example/mid"  # not the chain's last URL
    assert {c.site for c in checked if "arxiv" in c.url} == {"arxiv"}
    assert results.checked_count(db, run_id) == len(checked) == 11
    anchors = {c.url: c.anchor for c in checked if c.anchor}
    assert anchors == {"https://d.example/guide#setup": "found",
                       "https://d.example/other#gone": "missing"}
    assert {c.title for c in checked if "d.example" in c.url} <= {"The Guide", "Other", None}
    assert results.bytes_received(db, run_id) > 0  # the slim checks no longer carry it


def test_a_resource_without_a_result_is_not_checked_in_that_run(db: Database, simweb: SimWeb,
                                                                settings: Settings) -> None:
    sync(db, build(simweb))
    first = queries.start_run(db, "check")
    apply(db, first, asyncio.run(crawl_run(db, settings, first)))
    with db.session() as s:
        before = {st.resource_id: (st.state, st.consecutive_failures, st.last_checked_at)
                  for st in queries.load_states(s, [t.resource_id for t in
                                                    queries.active_targets(db)]).values()}
    second = queries.start_run(db, "check")
    checked = asyncio.run(crawl_run(db, settings, second))
    left_out = {c.resource_id for c in checked if c.outcome.outcome == "failing"}
    with db.session() as s:  # as if their batch had failed for good on the workers
        s.execute(text("DELETE FROM check_results WHERE run_id = :r AND resource_id IN "
                       f"({','.join(map(str, left_out))})"), {"r": second})
    apply(db, second, results.StoredChecks(db, second))
    with db.session() as s:
        after = {st.resource_id: (st.state, st.consecutive_failures, st.last_checked_at)
                 for st in queries.load_states(s, before).values()}
    assert left_out and all(after[rid] == before[rid] for rid in left_out)
    assert all(after[rid][2] != before[rid][2] for rid in set(before) - left_out)
    assert {after[rid][0] for rid in left_out} == {"failing"}  # not a second failure


def test_check_resources_writes_a_batch_once_and_skips_what_an_earlier_try_wrote(
        db: Database, simweb: SimWeb, settings: Settings) -> None:
    sync(db, build(simweb))
    run_id = queries.start_run(db, "check")
    ids = [t.resource_id for t in queries.active_targets(db)]

    async def batch(resource_ids: list[int]) -> int:
        ctx = probe_context(settings)
        async with Fetcher(FetchOptions.from_settings(settings)) as fetcher:
            ctx.fetcher = fetcher
            return await check_resources(db, ctx, run_id, resource_ids)

    assert asyncio.run(batch(ids[:4])) == 4  # a first try that died after four
    hits = len(simweb.hits)
    assert asyncio.run(batch(ids)) == len(ids) - 4  # the retry: the rest only
    assert asyncio.run(batch(ids)) == 0 and len(simweb.hits) > hits
    assert results.checked_count(db, run_id) == len(ids)
    assert results.already_checked(db, run_id, ids + [10_000]) == set(ids)


def test_notes_are_added_once(db: Database) -> None:
    run_id = queries.start_run(db, "check")
    for note in ("GitHub API rate limit reached", "arXiv API down", "GitHub API rate limit "
                 "reached"):
        queries.add_run_note(db, run_id, note)
    assert queries.run_note_lines(db, run_id) == ["GitHub API rate limit reached",
                                                  "arXiv API down"]


def _migrate(db_url: str, revision: str, down: bool = False) -> None:
    engine = make_engine(db_url)
    config = alembic_config(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def _insert_result(connection: object, run_id: int = 1) -> None:
    connection.execute(text(  # type: ignore[attr-defined]
        "INSERT INTO check_results (run_id, resource_id, checked_at, url, outcome, "
        "redirect_chain, elapsed_ms, attempts, bytes_received, probe) VALUES "
        "(:r, 1, '2026-12-01 03:00:00', 'https://a.example/', 'ok', '[]', 1, 1, 0, '{}')"),
        {"r": run_id})


def test_migration_0004_dedupes_adds_the_unique_index_and_goes_back(db_url: str) -> None:
    _migrate(db_url, "0002")
    engine = make_engine(db_url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO runs (id, command, started_at, status, checked, ok, moved, "
                       "failing, dead, blocked, unknown, hosts, hosts_unreachable, note) "
                       "VALUES (1, 'check', '2026-12-01 03:00:00', 'complete', 0, 0, 0, 0, 0, "
                       "0, 0, 0, 0, '')"))
        c.execute(text("INSERT INTO resources (id, canonical_url, url, title, section, chapter, "
                       "kind, source, added, notes, extra, position, active, first_seen_at, "
                       "updated_at) VALUES (1, 'https://a.example/', 'https://a.example/', "
                       "'', '', '', 'site', '', '', '', '{}', 0, true, '2026-12-01 03:00:00', "
                       "'2026-12-01 03:00:00')"))
        _insert_result(c)
        _insert_result(c)  # a duplicate, possible before 0004
    _migrate(db_url, "head")
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM check_results")).scalar() == 1
        assert c.execute(text("SELECT content, outcome_url FROM check_results")).one() == (
            None, None)
    with pytest.raises(IntegrityError), engine.begin() as c:
        _insert_result(c)
    _migrate(db_url, "0002", down=True)
    with engine.begin() as c:
        _insert_result(c)
        assert c.execute(text("SELECT count(*) FROM check_results")).scalar() == 2
    engine.dispose()
    _migrate(db_url, "head")

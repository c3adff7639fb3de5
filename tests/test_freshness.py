"""Change detection end to end through the simulated web, and the pure decision rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select

from monitor.classify import fingerprint as extractor
from monitor.classify.fingerprint import fingerprint
from monitor.cli import main
from monitor.cli.ack import ack
from monitor.health.changes import Version, decide
from monitor.store import queries
from monitor.store.db import open_database
from monitor.store.models import Fingerprint, Run, utcnow
from tests.cli_helpers import monitor, status_json, write_catalog, write_config
from tests.pages import ARTICLE, REWRITE, article, noisy
from tests.simweb import SimWeb

if "ack" not in main.commands:
    main.add_command(ack)

URL = "https://blog.test/post"


class Nightly:
    """A handler that serves ``pages(n)`` on night ``n`` (set ``night`` before each run)."""

    def __init__(self, pages: Callable[[int], bytes], content_type: str = "text/html") -> None:
        self.pages, self.content_type, self.night = pages, content_type, 0

    async def __call__(self, request: web.Request) -> web.Response:
        return web.Response(body=self.pages(self.night), content_type=self.content_type)


def setup(web_: SimWeb, tmp_path: Path, pages: Callable[[int], bytes], url: str = URL,
          content_type: str = "text/html") -> tuple[Nightly, Path]:
    handler = Nightly(pages, content_type)
    host, _, path = url.removeprefix("https://").partition("/")
    web_.route(host, "/" + path, handler)
    catalog = write_catalog(tmp_path / "catalog.csv", [url])
    config = write_config(tmp_path / "monitor.toml", web_, catalog={"path": str(catalog)},
                          health={"change_threshold": 0.9})
    return handler, config


def nights(db_url: str, config: Path, handler: Nightly, count: int, start: int = 0
           ) -> list[dict]:
    rows = []
    for n in range(start, start + count):
        handler.night = n
        result = monitor(db_url, config, "check")
        assert result.exit_code == 0, result.output
        rows.append(status_json(db_url, config)[URL])
    return rows


def changed_events(db_url: str) -> list[dict]:
    database = open_database(db_url)
    try:
        return [e.detail for e, _ in queries.run_events(database) if e.kind == "changed"]
    finally:
        database.dispose()


def fingerprint_rows(db_url: str) -> int:
    database = open_database(db_url)
    try:
        with database.session() as s:
            return s.scalar(select(func.count()).select_from(Fingerprint)) or 0
    finally:
        database.dispose()


def test_noisy_page_is_never_changed_over_five_runs(simweb, tmp_path, db_url) -> None:
    handler, config = setup(simweb, tmp_path, noisy)
    rows = nights(db_url, config, handler, 5)
    assert changed_events(db_url) == []
    assert [r["similarity"] for r in rows] == [None, 1.0, 1.0, 1.0, 1.0]
    assert {r["changed_at"] for r in rows} == {None}
    assert fingerprint_rows(db_url) == 1  # same normalised text: no new row


def test_rewritten_article_gives_exactly_one_changed_event(simweb, tmp_path, db_url) -> None:
    handler, config = setup(simweb, tmp_path,
                            lambda n: article(ARTICLE if n == 0 else REWRITE, n))
    rows = nights(db_url, config, handler, 5)
    events = changed_events(db_url)
    assert len(events) == 1
    detail = events[0]
    assert detail["similarity"] < 0.9
    assert "Scaling laws describe" in detail["removed"]
    assert "Retrieval augmented generation" in detail["added"]
    assert rows[1]["changed_at"] is None and rows[1]["similarity"] < 0.9  # not yet confirmed
    assert rows[2]["changed_at"] is not None
    assert rows[4]["changed_at"] == rows[2]["changed_at"]
    assert rows[4]["similarity"] == detail["similarity"]


def test_ab_flip_flop_is_not_changed(simweb, tmp_path, db_url) -> None:
    variants = "ABABBABAB"
    handler, config = setup(simweb, tmp_path, lambda n: article(
        ARTICLE if variants[n] == "A" else REWRITE, n))
    nights(db_url, config, handler, len(variants))
    assert changed_events(db_url) == []


def test_304_keeps_the_previous_fingerprint(simweb, tmp_path, db_url) -> None:
    async def etagged(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(body=noisy(0), content_type="text/html", headers={"ETag": '"v1"'})

    simweb.route("blog.test", "/post", etagged)
    catalog = write_catalog(tmp_path / "c.csv", [URL])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)})
    for _ in range(3):
        assert monitor(db_url, config, "check").exit_code == 0
    row = status_json(db_url, config)[URL]
    assert (row["http_status"], row["similarity"], row["changed_at"]) == (304, 1.0, None)
    assert fingerprint_rows(db_url) == 1
    assert [h.headers.get("If-None-Match") for h in simweb.hits_for("blog.test")] == \
        [None, '"v1"', '"v1"']


def test_changed_pdf_is_changed_by_its_bytes(simweb, tmp_path, db_url) -> None:
    url = "https://papers.test/paper.pdf"
    handler, config = setup(simweb, tmp_path, lambda n: b"%PDF-1.7 v1" if n == 0 else b"%PDF v2",
                            url, "application/pdf")
    for n in range(3):
        handler.night = n
        monitor(db_url, config, "check")
    events = changed_events(db_url)
    assert len(events) == 1 and events[0]["similarity"] == 0.0
    assert events[0]["note"] == "the file's bytes changed"
    assert status_json(db_url, config)[url]["similarity"] == 0.0


def test_error_pages_bot_walls_and_empty_pages_are_not_content(simweb, tmp_path, db_url) -> None:
    bodies = {1: (503, b"<title>Just a moment...</title>"), 2: (404, b"<title>Not Found</title>"),
              3: (200, b"<html><body><script>app()</script></body></html>"),
              4: (200, b"<title>Page not found \xc2\xb7 GitHub \xc2\xb7 GitHub</title>")}

    async def flaky(request: web.Request) -> web.Response:
        status, body = bodies.get(handler.night, (200, noisy(handler.night)))
        return web.Response(status=status, body=body, content_type="text/html")

    handler, config = setup(simweb, tmp_path, noisy)
    simweb.route("blog.test", "/post", flaky)
    rows = nights(db_url, config, handler, 6)
    assert [r["state"] for r in rows] == ["ok", "blocked", "failing", "ok", "failing", "ok"]
    assert changed_events(db_url) == [] and fingerprint_rows(db_url) == 1
    assert rows[-1]["similarity"] == 1.0


def test_ack_makes_the_current_content_the_baseline(simweb, tmp_path, db_url) -> None:
    third = [p.replace("model", "system") for p in REWRITE[:3]] + ARTICLE[3:]
    pages = {0: ARTICLE, 1: REWRITE, 2: REWRITE, 3: REWRITE, 4: third, 5: third}
    handler, config = setup(simweb, tmp_path, lambda n: article(pages[n], n))
    nights(db_url, config, handler, 3)
    assert len(changed_events(db_url)) == 1
    result = monitor(db_url, config, "ack", URL)
    assert result.exit_code == 0 and "acknowledged 1" in result.stdout
    row = status_json(db_url, config)[URL]
    assert (row["changed_at"], row["similarity"]) == (None, 1.0)
    rows = nights(db_url, config, handler, 3, start=3)
    assert rows[0]["similarity"] == 1.0  # compared with the acknowledged rewrite
    assert len(changed_events(db_url)) == 2  # the third version, against the new baseline
    assert changed_events(db_url)[1]["similarity"] < 0.9
    assert "Retrieval augmented generation" in changed_events(db_url)[1]["removed"]
    result = monitor(db_url, config, "ack", "--all-changed")
    assert "acknowledged 1" in result.stdout
    assert status_json(db_url, config)[URL]["changed_at"] is None


def test_ack_rejects_unknown_urls_and_bad_usage(simweb, tmp_path, db_url) -> None:
    handler, config = setup(simweb, tmp_path, noisy)
    nights(db_url, config, handler, 1)
    result = monitor(db_url, config, "ack", "https://nowhere.test/")
    assert result.exit_code == 1 and "not in the catalog" in result.stderr
    usage = monitor(db_url, config, "ack")
    assert usage.exit_code != 0 and "give URLs or --all-changed" in usage.output
    assert "acknowledged 1" in monitor(db_url, config, "ack", URL + "?utm_source=x").stdout


def test_extractor_upgrade_rebaselines_silently(simweb, tmp_path, db_url, monkeypatch) -> None:
    handler, config = setup(simweb, tmp_path, noisy)
    nights(db_url, config, handler, 2)
    monkeypatch.setattr(extractor, "EXTRACTOR_VERSION", "test-upgrade")
    real = extractor.normalise_all
    monkeypatch.setattr(extractor, "normalise_all",
                        lambda blocks: [key[::-1] for key in real(blocks)])
    rows = nights(db_url, config, handler, 3, start=2)
    assert changed_events(db_url) == []
    assert [r["similarity"] for r in rows] == [None, 1.0, 1.0]


def test_rows_of_an_aborted_run_never_count(simweb, tmp_path, db_url, db) -> None:
    handler, config = setup(simweb, tmp_path, noisy)
    nights(db_url, config, handler, 1)
    other = fingerprint(article(REWRITE), "text/html", URL)
    assert other is not None
    with db.session() as s:
        run = Run(command="check", started_at=utcnow(), status="aborted", note="")
        s.add(run)
        s.flush()
        s.add(Fingerprint(resource_id=1, run_id=run.id, at=utcnow(), raw_hash=other.raw_hash,
                          extractor_version=other.extractor_version, text_hash=other.text_hash,
                          signature=other.signature, text_excerpt=other.excerpt))
    rows = nights(db_url, config, handler, 2, start=1)
    assert [r["similarity"] for r in rows] == [1.0, 1.0]
    assert fingerprint_rows(db_url) == 1


# ---------------------------------------------------------------- pure rules


def _v(ident: int, text: list[str]) -> Version:
    print_ = fingerprint(article(text), "text/html", URL)
    assert print_ is not None
    return Version(ident, print_)


A, B = ARTICLE, REWRITE


@pytest.mark.parametrize(("history", "new", "repeat", "event"), [
    ([A], B, False, False),            # first sight of a change: wait for confirmation
    ([A, B], B, True, True),           # seen again (304 / same bytes): confirmed
    ([A, B], B, False, True),          # seen again with other noise: confirmed
    ([A, B, A], B, False, False),      # B came and went back to A: a flip-flop variant
    ([A, B, A, B], B, True, False),    # still the same variant
])
def test_decide(history: list[list[str]], new: list[str], repeat: bool, event: bool) -> None:
    versions = [_v(i, text) for i, text in enumerate(history)]
    if repeat:
        latest, before = versions[-1], versions[:-1]
    else:
        latest, before = _v(len(versions), new), versions
    decision = decide(versions[0], before, latest, repeat, 0.9, already_changed=False)
    assert (decision.event is not None) == event
    assert decision.similarity is not None and decision.similarity < 0.9


def test_decide_rebaselines_across_versions_and_reports_once() -> None:
    base, new = _v(0, A), _v(1, B)
    old = Version(0, extractor.Fingerprint(base.print.raw_hash, base.print.text_hash,
                                           base.print.signature, extractor_version="old"))
    assert decide(old, [], new, False, 0.9, False).rebaseline
    assert decide(base, [base], new, True, 0.9, already_changed=True).event is None

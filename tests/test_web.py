"""The web UI and JSON API with aiohttp's test client: pages, triage, CSRF, token, headers."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import pty
import re
import select as io_select
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from bs4 import BeautifulSoup
from sqlalchemy import select

from monitor.config import Settings, load_settings
from monitor.errors import ConfigError
from monitor.pipeline.run import run_once
from monitor.store.db import Database
from monitor.store.models import Fingerprint, Resource, Suggestion, utcnow
from monitor.web import create_app
from monitor.web.app import server_options, show_login_url
from monitor.web.keys import GUARD
from monitor.web.security import CSRF_COOKIE, SECURITY_HEADERS, SESSION_COOKIE, Guard
from tests.cli_helpers import monitor, write_catalog, write_config
from tests.dbutil import db, db_url  # noqa: F401
from tests.service_helpers import LAUNCHER, child_env, register_commands, stop, wait_for
from tests.simweb import SimWeb, redirect

STATUS_KEYS = {"url", "canonical_url", "title", "section", "kind", "state", "http_status", "error",
               "final_url", "consecutive_failures", "failing_since", "last_ok_at",
               "last_checked_at", "changed_at", "similarity", "suggested_url", "page_title"}
RUN_KEYS = {"id", "started_at", "finished_at", "status", "checked", "ok", "moved", "failing",
            "dead", "blocked", "note"}  # SPEC §10, and the note of issue 13
SUGGESTION_KEYS = {"id", "arxiv_id", "version", "title", "authors", "published", "categories",
                   "score", "section", "chapter", "matched_terms", "status", "url"}
TOKEN = "s3cret-Token-value"
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


@dataclass
class Site:
    settings: Settings
    catalog: Path
    suggestions: list[int]
    moved_id: int
    page_id: int


def seed_suggestions(database: Database) -> list[int]:
    """Three new suggestions; the second has markup in its title."""
    rows = [("2401.00001", "Low-rank adapters, again", "Section A", 0.9),
            ("2401.00002", "<script>alert(1)</script> Attention <b>is</b> all", "Section B", 0.7),
            ("2401.00003", "Yet another benchmark", "Section A", 0.5)]
    with database.session() as s:
        items = [Suggestion(arxiv_id=a, version=1, title=t, authors=["A. Author", "B. Author"],
                            abstract="We study things.", published=utcnow(),
                            categories=["cs.CL"], score=score, section=sec,
                            matched_terms=["lora"], status="new")
                 for a, t, sec, score in rows]
        s.add_all(items)
        s.flush()
        return [i.id for i in items]


def _resource_id(database: Database, url: str) -> int:
    with database.session() as s:
        return s.scalar(select(Resource.id).where(Resource.url == url))


def _fingerprints(database: Database, resource_id: int) -> None:
    with database.session() as s:
        for i, (text_hash, excerpt) in enumerate([("a" * 64, "First text"),
                                                  ("a" * 64, "First text"),
                                                  ("b" * 64, "Rewritten text")]):
            s.add(Fingerprint(resource_id=resource_id, run_id=None, at=utcnow(),
                              extractor_version="1", raw_hash=f"{i}" * 64, text_hash=text_hash,
                              signature=[], text_excerpt=excerpt, page_title="The page",
                              content_type="text/html", is_baseline=i == 0))


@pytest.fixture
def site(simweb: SimWeb, tmp_path: Path, db: Database) -> Site:  # noqa: F811
    """One real check over a small simulated web, three suggestions, some fingerprints."""
    simweb.route("ok.test", "/page", body=b"<title>Fine</title><p>fine</p>")
    simweb.route("old.test", "/paper", redirect("https://new.test/paper", 301))
    simweb.route("new.test", "/paper", body=b"<title>Paper</title><p>paper</p>")
    simweb.route("gone.test", "/x", status=404, body=b"<title>Not Found</title>")
    catalog = write_catalog(tmp_path / "catalog.csv", [
        "https://ok.test/page", "https://old.test/paper", ("https://gone.test/x", "Section B")])
    settings = load_settings(str(write_config(tmp_path / "monitor.toml", simweb,
                                              catalog={"path": str(catalog)})))
    run_once(db, settings, command="check", watch=False, report=False, log=lambda line: None,
             on_problem=lambda p: None)
    page_id = _resource_id(db, "https://ok.test/page")
    _fingerprints(db, page_id)
    return Site(settings, catalog, seed_suggestions(db),
                _resource_id(db, "https://old.test/paper"), page_id)


@pytest.fixture
async def anonymous(site: Site, db: Database) -> AsyncIterator[TestClient]:  # noqa: F811
    """A client of a server without a configured token (a generated one), not signed in."""
    async with TestClient(TestServer(create_app(db, site.settings, Guard()))) as c:
        yield c


@pytest.fixture
async def client(anonymous: TestClient) -> TestClient:
    """The same client signed in through the login URL that ``monitor serve`` prints."""
    guard = anonymous.app[GUARD]
    assert guard.generated
    response = await anonymous.get("/login", params={"token": guard.token},
                                   allow_redirects=False)
    assert response.status == 303 and response.cookies[SESSION_COOKIE].value
    return anonymous


@pytest.fixture
async def token_client(site: Site, db: Database) -> AsyncIterator[TestClient]:  # noqa: F811
    async with TestClient(TestServer(create_app(db, site.settings, Guard(token=TOKEN)))) as c:
        yield c


async def csrf_token(client: TestClient) -> str:
    html = await (await client.get("/suggestions")).text()
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


def statuses(database: Database) -> dict[str, tuple[str, str, str]]:
    with database.session() as s:
        return {x.arxiv_id: (x.status, x.section, x.reason) for x in s.scalars(select(Suggestion))}


def assert_headers(response: ClientResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name)
    assert response.headers["Content-Security-Policy"] == CSP


# ---------------------------------------------------------------- pages


async def test_pages_render(client: TestClient, site: Site) -> None:
    index = await client.get("/")
    text = await index.text()
    assert index.status == 200 and "Link health" in text and 'href="/suggestions"' in text
    runs = await (await client.get("/runs")).text()
    assert 'href="/runs/1"' in runs and "complete" in runs
    assert (await client.get("/runs/1")).status == 200
    resources = await (await client.get("/resources?state=moved")).text()
    assert f'href="/resources/{site.moved_id}"' in resources and "ok.test" not in resources
    for path in ("/runs/999", "/runs/abc", "/resources/999", "/nowhere"):
        response = await client.get(path)
        assert response.status == 404, path
        assert_headers(response)


async def test_resource_page_has_history_redirect_chain_and_changes(client: TestClient,
                                                                    site: Site) -> None:
    moved = await (await client.get(f"/resources/{site.moved_id}")).text()
    assert "moved" in moved and "https://new.test/paper" in moved
    chain = re.search(r'<ol class="chain" id="chain">(.*?)</ol>', moved, re.S)
    assert chain and "301" in chain.group(1) and "https://old.test/paper" in chain.group(1)
    assert 'href="/runs/1"' in moved
    page = await (await client.get(f"/resources/{site.page_id}")).text()
    changes = re.search(r'id="changes">(.*?)</ol>', page, re.S)
    assert changes and "Rewritten text" in changes.group(1) and "baseline" in changes.group(1)
    assert changes.group(1).count("First text") == 1  # an unchanged fingerprint is no change
    assert changes.group(1).index("Rewritten text") < changes.group(1).index("First text")


async def test_triage_page_prefills_the_section_and_escapes_titles(client: TestClient,
                                                                   site: Site) -> None:
    html = await (await client.get("/suggestions")).text()
    first = site.suggestions[0]
    assert re.search(rf'name="section" value="Section A"[^>]*id="section-{first}"', html)
    assert f'id="accept-{first}"' in html and f'id="reject-{first}"' in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<datalist id="sections">' in html and '<option value="Section B">' in html


# ---------------------------------------------------------------- triage by form, CSRF


async def test_form_post_without_or_with_a_wrong_csrf_token_is_refused(
        client: TestClient, site: Site, db: Database) -> None:  # noqa: F811
    before = site.catalog.read_bytes()
    target = f"/suggestions/{site.suggestions[0]}/accept"
    await csrf_token(client)  # the browser has its CSRF cookie
    for form in ({"section": "X"}, {"section": "X", "csrf_token": "0" * 64}):
        response = await client.post(target, data=form, allow_redirects=False)
        assert response.status == 403 and "CSRF" in await response.text()
        assert_headers(response)
    token = await csrf_token(client)
    client.session.cookie_jar.clear(lambda m: m.key == CSRF_COOKIE)  # token without its cookie
    response = await client.post(target, data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 403
    assert site.catalog.read_bytes() == before
    assert statuses(db)["2401.00001"][0] == "new"


async def test_cross_site_form_post_is_refused(client: TestClient, site: Site) -> None:
    token = await csrf_token(client)
    target = f"/suggestions/{site.suggestions[0]}/accept"
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site", "Origin": "null"}):
        response = await client.post(target, data={"csrf_token": token}, headers=headers,
                                     allow_redirects=False)
        assert response.status == 403, headers
    # what a browser sends for this site's own form under Referrer-Policy: no-referrer
    own = await client.post(target, data={"csrf_token": token}, allow_redirects=False,
                            headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert own.status == 303


async def test_accept_form_writes_the_catalog_with_the_edited_section(
        client: TestClient, site: Site, db: Database) -> None:  # noqa: F811
    token = await csrf_token(client)
    first = site.suggestions[0]
    response = await client.post(f"/suggestions/{first}/accept",
                                 data={"csrf_token": token, "section": " Section C "},
                                 allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == f"/suggestions?done={first}"
    page = await (await client.get(response.headers["Location"])).text()
    assert "Accepted <strong>Low-rank adapters, again</strong>" in page
    assert f'id="decided-{first}"' in page and f'id="suggestion-{first}"' not in page
    last = site.catalog.read_text().splitlines()[-1]
    assert last == "https://arxiv.org/abs/2401.00001,\"Low-rank adapters, again\",Section C"
    assert statuses(db)["2401.00001"] == ("accepted", "Section C", "")
    again = await client.post(f"/suggestions/{first}/accept", data={"csrf_token": token})
    assert again.status == 409 and "already accepted" in await again.text()


async def test_reject_form_records_the_reason(client: TestClient, site: Site,
                                              db: Database) -> None:  # noqa: F811
    before = site.catalog.read_bytes()
    token = await csrf_token(client)
    response = await client.post(f"/suggestions/{site.suggestions[2]}/reject",
                                 data={"csrf_token": token, "reason": "off topic"})
    assert response.status == 200 and "Rejected" in await response.text()
    assert statuses(db)["2401.00003"] == ("rejected", "Section A", "off topic")
    assert site.catalog.read_bytes() == before


# ---------------------------------------------------------------- JSON API


async def test_api_read_shapes(client: TestClient) -> None:
    status = await (await client.get("/api/status")).json()
    assert len(status) == 3 and all(set(r) >= STATUS_KEYS for r in status)
    assert {r["state"] for r in status} == {"ok", "moved", "failing"}
    assert [r["url"] for r in await (await client.get("/api/status?state=moved")).json()] == [
        "https://old.test/paper"]
    assert (await client.get("/api/status?state=bogus")).status == 400
    runs = await (await client.get("/api/runs")).json()
    assert len(runs) == 1 and set(runs[0]) == RUN_KEYS and runs[0]["status"] == "complete"
    suggestions = await (await client.get("/api/suggestions")).json()
    assert [s["arxiv_id"] for s in suggestions] == ["2401.00001", "2401.00002", "2401.00003"]
    assert all(set(s) >= SUGGESTION_KEYS for s in suggestions)
    assert (await client.get("/api/suggestions?status=nope")).status == 400
    report = await (await client.get("/api/report")).json()
    assert set(report) == {"run", "resources", "events", "suggestions"}
    assert (await client.get("/api/report?run=42")).status == 404


async def test_api_accept_and_reject(client: TestClient, site: Site,
                                     db: Database) -> None:  # noqa: F811
    first, second, _ = site.suggestions
    accepted = await client.post(f"/api/suggestions/{first}/accept", json={"section": "Sec Z"})
    body = await accepted.json()
    assert accepted.status == 200 and set(body) >= SUGGESTION_KEYS
    assert (body["status"], body["section"]) == ("accepted", "Sec Z")
    assert site.catalog.read_text().splitlines()[-1].endswith(",Sec Z")
    again = await client.post(f"/api/suggestions/{first}/accept", json={})
    assert again.status == 409 and "already accepted" in (await again.json())["error"]
    rejected = await client.post("/api/suggestions/2401.00003v2/reject", json={"reason": "dup"})
    assert rejected.status == 200 and (await rejected.json())["status"] == "rejected"
    assert statuses(db)["2401.00003"] == ("rejected", "Section A", "dup")
    assert (await client.post("/api/suggestions/9999/reject", json={})).status == 404
    bad = await client.post(f"/api/suggestions/{second}/accept", data=b"[1]",
                            headers={"Content-Type": "application/json"})
    assert bad.status == 400
    assert (await client.post(f"/api/suggestions/{second}/accept",
                              json={"section": 3})).status == 400


async def test_api_post_without_a_json_content_type_is_refused(client: TestClient, site: Site,
                                                               db: Database) -> None:  # noqa: F811
    second = site.suggestions[1]
    plain = await client.post(f"/api/suggestions/{second}/accept", data=b"{}",
                              headers={"Content-Type": "text/plain"})
    assert plain.status == 415
    empty = await client.post(f"/api/suggestions/{second}/reject")
    assert empty.status == 415
    foreign = await client.post(f"/api/suggestions/{second}/reject", json={},
                                headers={"Origin": "http://evil.example"})
    assert foreign.status == 403
    assert statuses(db)["2401.00002"][0] == "new"


async def test_only_loopback_host_names_are_served_without_a_token(client: TestClient) -> None:
    for host in ("evil.example", "evil.example:8080", "192.168.1.5"):
        response = await client.get("/api/status", headers={"Host": host})
        assert response.status == 421, host
        assert_headers(response)
    for host in ("localhost:8080", "127.0.0.1", "[::1]:8080"):
        assert (await client.get("/api/status", headers={"Host": host})).status == 200, host


# ---------------------------------------------------------------- token


@pytest.mark.parametrize(("host", "token", "ok"), [
    ("127.0.0.1", "", True), ("::1", "", True), ("localhost", "", True), ("127.0.0.2", "", True),
    ("0.0.0.0", "", False), ("::", "", False), ("192.168.1.5", "", False),
    ("example.org", "", False), ("0.0.0.0", TOKEN, True),
])
def test_a_non_loopback_bind_needs_a_token(host: str, token: str, ok: bool) -> None:
    if ok:
        guard = Guard.for_bind(host, token)
        assert guard.token == token if token else guard.generated and len(guard.token) >= 40
    else:
        with pytest.raises(ConfigError, match="MONITOR_TOKEN"):
            Guard.for_bind(host, token)


def test_serve_refuses_to_start_on_a_public_address_without_a_token(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    register_commands()
    monkeypatch.delenv("MONITOR_TOKEN", raising=False)
    result = monitor(db_url, None, "serve", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 3 and "MONITOR_TOKEN" in result.stderr
    config = write_config(tmp_path / "m.toml", serve={"host": "192.168.1.5"})
    assert monitor(db_url, config, "serve").exit_code == 3


async def test_with_a_token_every_request_needs_it(token_client: TestClient, site: Site,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = []
    for path in ("/", "/runs", "/suggestions", "/api/status", "/api/suggestions"):
        response = await token_client.get(path)
        bodies.append(await response.text())
        assert response.status == 401, path
        assert_headers(response)
    assert (await token_client.get("/api/runs")).headers["WWW-Authenticate"].startswith("Bearer")
    assert 'name="token"' in bodies[0]
    wrong = await token_client.get("/api/runs", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert (await token_client.get("/api/runs", headers=bearer)).status == 200
    accepted = await token_client.post(f"/api/suggestions/{site.suggestions[0]}/accept",
                                       headers=bearer)
    assert accepted.status == 200
    denied = await token_client.post(f"/api/suggestions/{site.suggestions[1]}/reject", json={})
    assert denied.status == 401
    assert all(TOKEN not in body for body in bodies)
    assert TOKEN not in caplog.text


async def test_login_sets_a_session_cookie_that_is_not_the_token(
        token_client: TestClient, site: Site, db: Database,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bad = await token_client.post("/login", data={"token": "guess", "next": "/runs"})
    assert bad.status == 401 and "Wrong token" in await bad.text()
    response = await token_client.post("/login", data={"token": TOKEN, "next": "//evil.example"},
                                       allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie.value and TOKEN not in cookie.value
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    pages = [await (await token_client.get(p)).text() for p in ("/runs", "/suggestions")]
    assert all(TOKEN not in p for p in pages) and "Runs" in pages[0]
    token = await csrf_token(token_client)
    done = await token_client.post(f"/suggestions/{site.suggestions[2]}/reject",
                                   data={"csrf_token": token, "reason": "meh"})
    assert done.status == 200 and statuses(db)["2401.00003"][0] == "rejected"
    api = await token_client.post(f"/api/suggestions/{site.suggestions[1]}/reject", json={})
    assert api.status == 401  # the API needs the bearer header, not the cookie
    assert TOKEN not in caplog.text


async def test_security_headers_on_every_response(client: TestClient, site: Site) -> None:
    token = await csrf_token(client)
    responses = [
        await client.get("/"), await client.get("/runs"), await client.get("/runs/1"),
        await client.get(f"/resources/{site.page_id}"), await client.get("/suggestions"),
        await client.get("/api/status"), await client.get("/missing"),
        await client.post("/suggestions/1/accept", data={}),
        await client.post(f"/suggestions/{site.suggestions[0]}/reject",
                          data={"csrf_token": token}, allow_redirects=False),
        await client.put("/api/status"), await client.get("/login", allow_redirects=False),
    ]
    for response in responses:
        assert_headers(response)
    assert [r.status for r in responses[-4:]] == [403, 303, 405, 303]
    assert "<script" not in await responses[0].text()


def test_web_and_cli_replay_an_earlier_run_with_the_configured_health_policy(
        simweb: SimWeb, tmp_path: Path, db: Database, db_url: str) -> None:  # noqa: F811
    """An earlier run is replayed with the ``[health]`` of the configuration, by the CLI and the
    web UI alike (the web UI once used the defaults, so the two disagreed about what was dead)."""
    simweb.route("gone.test", "/x", status=404, body=b"<title>Not Found</title>")
    simweb.route("ok.test", "/", body=b"<title>Fine</title><p>fine</p>")
    catalog = write_catalog(tmp_path / "catalog.csv", ["https://gone.test/x", "https://ok.test/"])
    config = write_config(tmp_path / "monitor.toml", simweb, catalog={"path": str(catalog)},
                          health={"dead_after_runs": 2, "dead_after_hours": 0.0})
    for _ in range(3):
        assert monitor(db_url, config, "check").exit_code == 0
    cli = monitor(db_url, config, "report", "--format", "json", "--run", "2", "--out", "-")
    cli_states = {r["url"]: r["state"] for r in json.loads(cli.stdout)["resources"]}
    assert cli_states["https://gone.test/x"] == "dead"  # 2 failures: dead under this policy

    async def web() -> tuple[dict[str, Any], str]:
        app = create_app(db, load_settings(str(config)), Guard())
        async with TestClient(TestServer(app)) as c:
            return (await (await c.get("/api/report?run=2")).json(),
                    await (await c.get("/runs/2")).text())

    api, page = asyncio.run(web())
    assert {r["url"]: r["state"] for r in api["resources"]} == cli_states
    assert 'class="dead"' in page or "newly dead" in page


async def test_runs_page_shows_the_last_notification_per_channel(client: TestClient,
                                                                 db: Database) -> None:  # noqa: F811
    from monitor.store import notifications

    empty = await (await client.get("/runs")).text()
    assert "No notification sent yet" in empty
    notifications.record(db, 1, [
        {"channel": "json://hooks.example.org", "ok": False, "detail": "failed",
         "error": "HTTP 500", "url": "", "attempts": 2},
        {"channel": "github:owner/handbook", "ok": True, "detail": "updated issue #7",
         "error": "", "url": "https://github.com/owner/handbook/issues/7", "attempts": 1}])
    notifications.record(db, 1, [{"channel": "json://hooks.example.org", "ok": True,
                                  "detail": "sent", "error": "", "url": "", "attempts": 1}])
    page = BeautifulSoup(await (await client.get("/runs")).text(), "html.parser")
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in page.select("#channels tbody tr")]
    assert [(r[0], r[3]) for r in rows] == [
        ("github:owner/handbook",
         "updated issue #7 https://github.com/owner/handbook/issues/7"),
        ("json://hooks.example.org", "sent")]


def _as_a_browser_reads(location: str) -> str:
    """The Location value after a browser's URL parser: tab and newline removed, leading and
    trailing C0 controls and spaces stripped, backslashes read as slashes (WHATWG URL)."""
    cleaned = "".join(c for c in location if c not in "\t\n\r").strip("".join(map(chr, range(33))))
    return cleaned.replace("\\", "/")


@pytest.mark.parametrize("target", [
    "/\t/evil.example/phish", "/\n/evil.example/phish", "\t//evil.example", "/\r\n/evil.example",
    " //evil.example", "/\\evil.example", "\\/evil.example", "https://evil.example/",
    "//evil.example", "/\t\\evil.example", "javascript:alert(1)", "/\x00/evil.example",
])
async def test_login_never_redirects_off_site(token_client: TestClient, target: str) -> None:
    form = await token_client.get("/login", params={"next": target})
    field = re.search(r'name="next" value="([^"]*)"', await form.text())
    assert field and not _as_a_browser_reads(field.group(1)).startswith("//"), target
    for response in (
            await token_client.post("/login", data={"token": TOKEN, "next": target},
                                    allow_redirects=False),
            await token_client.get("/login", params={"token": TOKEN, "next": target},
                                   allow_redirects=False),
            await token_client.get("/login", params={"next": target}, allow_redirects=False)):
        assert response.status == 303
        seen = _as_a_browser_reads(response.headers["Location"])
        assert seen.startswith("/") and not seen.startswith("//"), (target, seen)


async def test_login_keeps_a_local_next(token_client: TestClient) -> None:
    response = await token_client.post("/login", data={"token": TOKEN,
                                                       "next": "/resources?state=dead"},
                                       allow_redirects=False)
    assert response.headers["Location"] == "/resources?state=dead"


# ---------------------------------------------------------------- hostile requests (issue 16)


async def started(app: web.Application, **options: Any) -> TestServer:
    """A TestServer already started with these AppRunner options (as ``monitor serve`` uses)."""
    server = TestServer(app)
    await server.start_server(**options)
    return server


async def _raw_exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` as is on a new connection; the whole response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 20)
    writer.close()
    return data


async def test_non_ascii_tokens_and_cookies_are_refused_not_errors(
        client: TestClient, token_client: TestClient, site: Site) -> None:
    target = f"/suggestions/{site.suggestions[0]}/accept"
    await csrf_token(client)
    form = await client.post(target, data={"csrf_token": "é" * 64}, allow_redirects=False)
    assert form.status == 403 and form.content_type == "text/html"
    raw_body = await client.post(target, data=b"csrf_token=\xff\xfe",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= raw_body.status < 500 and raw_body.content_type == "text/html"
    session = await token_client.get("/runs", headers={"Cookie": f"{SESSION_COOKIE}=é"})
    assert session.status == 401 and session.content_type == "text/html"
    api = await token_client.get("/api/runs", headers={"Cookie": f"{SESSION_COOKIE}=é"})
    assert api.status == 401 and api.content_type == "application/json"
    login = await token_client.post("/login", data={"token": "é"})
    assert login.status == 401 and login.content_type == "text/html"
    bearer = await token_client.get("/api/runs", headers={"Authorization": "Bearer é"})
    assert bearer.status == 401
    for port, cookie in ((client.port, b"monitor_csrf=\xff\xfe"),
                         (token_client.port, b"monitor_session=\xff\xfe")):
        answer = await _raw_exchange(port, b"GET /suggestions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                           b"Cookie: " + cookie + b"\r\nConnection: close\r\n\r\n")
        assert answer.split(b" ", 2)[1] in (b"200", b"401"), answer[:200]


async def test_deeply_nested_json_is_a_400(client: TestClient, site: Site) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = await client.post(f"/api/suggestions/{site.suggestions[0]}/accept", data=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400 and "JSON" in (await response.json())["error"]


async def test_accept_into_an_unwritable_catalog_is_a_4xx_page(
        client: TestClient, site: Site, db: Database,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: object, fields: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("monitor.watch.triage.append_row", refuse)
    token = await csrf_token(client)
    first, second = site.suggestions[:2]
    page = await client.post(f"/suggestions/{first}/accept", data={"csrf_token": token})
    assert 400 <= page.status < 500 and page.content_type == "text/html"
    assert "Permission denied" in await page.text()
    api = await client.post(f"/api/suggestions/{second}/accept", json={})
    assert 400 <= api.status < 500 and "Permission denied" in (await api.json())["error"]
    assert statuses(db)["2401.00001"][0] == "new"


async def test_an_unexpected_error_keeps_the_page_format(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("monitor.store.queries.list_runs", boom)
    page, api = await client.get("/runs"), await client.get("/api/runs")
    assert page.status == 500 and page.content_type == "text/html"
    assert api.status == 500 and api.content_type == "application/json"
    assert_headers(page)


async def test_the_access_log_escapes_request_paths(site: Site, db: Database,  # noqa: F811
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="monitor.web.access")
    app = create_app(db, site.settings, Guard())
    async with TestClient(await started(app, **server_options())) as c:
        await c.get("/x%0a127.0.0.1 GET /forged 200 1 ms%1b[31mred%e2%80%a8")
    lines = [r.getMessage() for r in caplog.records if r.name == "monitor.web.access"]
    assert len(lines) == 1 and "/x%0A127.0.0.1" in lines[0] and "%1B[31mred" in lines[0]
    assert not any(c in lines[0] for c in "\n\r\x1b\u2028"), lines


async def test_a_slow_loris_neither_blocks_others_nor_stays(site: Site,
                                                            db: Database) -> None:  # noqa: F811
    app = create_app(db, site.settings, Guard())
    async with TestClient(await started(app, **server_options(header_timeout=0.5))) as c:
        loris = []
        for _ in range(100):  # request heads that never end
            reader, writer = await asyncio.open_connection("127.0.0.1", c.port)
            writer.write(b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            loris.append((reader, writer))
        begun = time.monotonic()
        assert (await c.get("/api/runs")).status == 200
        assert time.monotonic() - begun < 5
        for reader, writer in loris:  # each is closed by the server after the header timeout
            assert await asyncio.wait_for(reader.read(), 20) == b""
            writer.close()


# ---------------------------------------------------------------- generated token (issue 16)


async def test_without_a_configured_token_every_change_needs_the_generated_one(
        anonymous: TestClient, site: Site, db: Database) -> None:  # noqa: F811
    guard = anonymous.app[GUARD]
    before = site.catalog.read_bytes()
    for path in ("/", "/runs", "/resources", "/api/status", "/api/suggestions"):
        assert (await anonymous.get(path)).status == 200, path  # reads stay open on loopback
    page = await (await anonymous.get("/suggestions")).text()
    assert 'id="sign-in"' in page and guard.token not in page
    first, second, third = site.suggestions
    form = await anonymous.post(f"/suggestions/{first}/accept",
                                data={"csrf_token": await csrf_token(anonymous)},
                                allow_redirects=False)
    assert form.status == 401 and 'name="token"' in await form.text()
    assert 'name="next" value="/suggestions"' in await form.text()
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        api = await anonymous.post(f"/api/suggestions/{first}/accept", json={}, headers=headers)
        assert api.status == 401 and api.content_type == "application/json"
    assert site.catalog.read_bytes() == before and statuses(db)["2401.00001"][0] == "new"
    bearer = await anonymous.post(f"/api/suggestions/{third}/reject", json={"reason": "x"},
                                  headers={"Authorization": f"Bearer {guard.token}"})
    assert bearer.status == 200
    assert (await anonymous.get("/login", params={"token": "wrong"})).status == 401
    login = await anonymous.get("/login", params={"token": guard.token, "next": "/suggestions"},
                                allow_redirects=False)
    assert login.status == 303 and login.headers["Location"] == "/suggestions"
    assert guard.token not in login.cookies[SESSION_COOKIE].value
    assert 'id="sign-in"' not in await (await anonymous.get("/suggestions")).text()
    done = await anonymous.post(f"/suggestions/{first}/accept",
                                data={"csrf_token": await csrf_token(anonymous)},
                                allow_redirects=False)
    assert done.status == 303 and statuses(db)["2401.00001"][0] == "accepted"
    plain = await anonymous.post(f"/api/suggestions/{second}/reject", data=b"{}",
                                 headers={"Content-Type": "text/plain"})
    assert plain.status == 415  # with the cookie only, the JSON content type is still required
    assert (await anonymous.post(f"/api/suggestions/{second}/reject", json={})).status == 200


def test_the_login_url_goes_to_the_terminal_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    guard = Guard()

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, piped = Terminal(), io.StringIO()
    show_login_url(guard, "127.0.0.1", 8080, terminal)
    show_login_url(guard, "::1", 8080, piped)
    assert f"http://127.0.0.1:8080/login?token={guard.token}" in terminal.getvalue()
    assert guard.token not in piped.getvalue() and "MONITOR_TOKEN" in piped.getvalue()
    assert guard.token not in caplog.text


def test_serve_prints_a_login_url_that_signs_in(tmp_path: Path) -> None:
    from monitor.store.db import open_database

    url = f"sqlite:///{tmp_path / 'serve.db'}"
    database = open_database(url)
    ids = seed_suggestions(database)
    database.dispose()
    terminal, stderr = pty.openpty()
    proc = subprocess.Popen([*LAUNCHER, "--db", url, "serve", "--port", "0"], cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                            env=child_env())
    os.close(stderr)
    seen = bytearray()

    def login_url() -> re.Match[str] | None:
        if io_select.select([terminal], [], [], 0.1)[0]:
            with contextlib.suppress(OSError):
                seen.extend(os.read(terminal, 4096))
        return re.search(r"http://127\.0\.0\.1:\d+/login\?token=[\w-]+", seen.decode())

    try:
        found = wait_for(login_url, what="the login URL on the terminal").group(0)
        base = found.split("/login")[0]
        anonymous = urllib.request.Request(f"{base}/api/suggestions/{ids[0]}/accept",
                                           data=b"{}", method="POST",
                                           headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(anonymous, timeout=10)
        assert refused.value.code == 401
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        assert browser.open(found, timeout=10).status == 200  # 303 to / with the cookie
        signed_in = urllib.request.Request(f"{base}/api/suggestions/{ids[1]}/reject",
                                           data=b"{}", method="POST",
                                           headers={"Content-Type": "application/json"})
        assert json.loads(browser.open(signed_in, timeout=10).read())["status"] == "rejected"
    finally:
        stop(proc)
        os.close(terminal)
    assert seen.decode().count("/login?token=") == 1

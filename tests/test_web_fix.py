"""The web UI's fixes of the catalog sources (issue 12): the Fixes page, the patch download, the
per-item Apply (CSRF-, origin- and token-protected like the other actions), the JSON API, and
accepting a paper into the sources."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor.config import Settings, load_settings
from monitor.pipeline.run import run_once
from monitor.store.db import Database
from monitor.store.models import Suggestion, utcnow
from monitor.web import create_app
from monitor.web.keys import GUARD
from monitor.web.security import SESSION_COOKIE, Guard
from tests.cli_helpers import write_config
from tests.dbutil import db, db_url  # noqa: F401
from tests.fixcases import git, git_repo
from tests.simweb import SimWeb, redirect
from tests.sitefakes import FakeWayback

TOKEN = "an-Other-s3cret-token"
INDEX = """# Reading list

## Papers

- [Old paper](https://old.test/paper)
- [Fine page](https://ok.test/page)

## Posts

A [post](https://gone.test/x) that died, and the [paper again](https://old.test/paper).
"""
ARCHIVED = "http://web.archive.org/web/20240101000000/https://gone.test/x"


@dataclass
class Sources:
    settings: Settings
    index: Path


@pytest.fixture
def sources(simweb: SimWeb, tmp_path: Path, db: Database) -> Sources:  # noqa: F811
    """A one-file reading list as the catalog sources, checked once: one link moved (twice in
    the file), one dead with an archived copy, one fine."""
    simweb.route("ok.test", "/page", body=b"<title>Fine</title><p>fine</p>")
    simweb.route("old.test", "/paper", redirect("https://new.test/paper", 301))
    simweb.route("new.test", "/paper", body=b"<title>Paper</title><p>paper</p>")
    simweb.route("gone.test", "/x", status=404, body=b"<title>Not Found</title>")
    simweb.route("archive.org", "/wayback/available",
                 FakeWayback({"https://gone.test/x": "20240101000000"}))
    folder = tmp_path / "list"
    folder.mkdir()
    index = folder / "index.md"
    index.write_text(INDEX, encoding="utf-8")
    git_repo(folder)
    config = write_config(tmp_path / "monitor.toml", simweb,
                          catalog={"path": str(tmp_path / "catalog.csv"),
                                   "sources": ["list/*.md"]},
                          health={"dead_after_runs": 1, "dead_after_hours": 0.0})
    settings = load_settings(str(config))
    run_once(db, settings, command="check", watch=False, report=False, log=lambda line: None,
             on_problem=lambda p: None)
    return Sources(settings, index)


@pytest.fixture
async def client(sources: Sources, db: Database) -> AsyncIterator[TestClient]:  # noqa: F811
    """A client of a server without a configured token, signed in through the login URL that
    ``monitor serve`` prints (every state change needs the generated token or its cookie)."""
    async with TestClient(TestServer(create_app(db, sources.settings, Guard()))) as c:
        guard = c.app[GUARD]
        response = await c.get("/login", params={"token": guard.token}, allow_redirects=False)
        assert response.status == 303 and response.cookies[SESSION_COOKIE].value
        yield c


@pytest.fixture
async def token_client(sources: Sources,
                       db: Database) -> AsyncIterator[TestClient]:  # noqa: F811
    async with TestClient(TestServer(create_app(db, sources.settings, Guard(token=TOKEN)))) as c:
        yield c


async def _fix_page(client: TestClient) -> tuple[str, str]:
    """The Fixes page and its CSRF token (the browser keeps its cookie)."""
    html = await (await client.get("/fix")).text()
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    return html, match.group(1) if match else ""


async def test_the_fixes_page_lists_each_edit_with_an_apply_button(client: TestClient) -> None:
    html, token = await _fix_page(client)
    assert token and 'href="/fix.patch"' in html and 'href="/fix"' in html
    edits = re.findall(r'<li class="edit" data-reason="(\w+)">', html)
    assert sorted(edits) == ["dead", "moved"]
    assert html.count('action="/fix/apply"') == 2
    assert "<code class=\"source\">index.md:5</code>" in html
    assert "https://new.test/paper" in html and ARCHIVED in html


async def test_the_patch_downloads_and_git_accepts_it(client: TestClient,
                                                      sources: Sources) -> None:
    response = await client.get("/fix.patch")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/x-diff")
    assert "attachment" in response.headers["Content-Disposition"]
    patch = await response.read()
    assert patch.count(b"+- [Old paper](https://new.test/paper)") == 1
    checked = git(sources.index.parent, "apply", "--check", "-", stdin=patch)
    assert checked.returncode == 0, checked.stderr.decode()


async def test_apply_one_edit_changes_only_its_urls(client: TestClient,
                                                    sources: Sources) -> None:
    _, token = await _fix_page(client)
    response = await client.post("/fix/apply", allow_redirects=False, data={
        "csrf_token": token, "source": "index.md:5", "old_url": "https://old.test/paper"})
    assert response.status == 303 and response.headers["Location"] == "/fix?applied=2"
    assert sources.index.read_text() == INDEX.replace("https://old.test/paper",
                                                      "https://new.test/paper")
    html, _ = await _fix_page(client)
    assert re.findall(r'<li class="edit" data-reason="(\w+)">', html) == ["dead"]
    again = await client.post("/fix/apply", data={
        "csrf_token": token, "source": "index.md:5", "old_url": "https://old.test/paper"})
    assert again.status == 409 and "no such edit proposed any more" in await again.text()


async def test_apply_is_protected_like_every_action(client: TestClient,
                                                    sources: Sources) -> None:
    form = {"source": "index.md:5", "old_url": "https://old.test/paper"}
    _, token = await _fix_page(client)
    for data, headers in (
            (form, {}),  # no CSRF token
            (form | {"csrf_token": "0" * 64}, {}),  # a wrong one
            (form | {"csrf_token": token}, {"Sec-Fetch-Site": "cross-site"}),
            (form | {"csrf_token": token}, {"Origin": "https://evil.example"})):
        response = await client.post("/fix/apply", data=data, headers=headers,
                                     allow_redirects=False)
        assert response.status == 403, (data, headers)
    assert sources.index.read_text() == INDEX


async def test_with_a_token_every_fix_route_needs_it(token_client: TestClient,
                                                     sources: Sources) -> None:
    for path in ("/fix", "/fix.patch", "/api/fix"):
        assert (await token_client.get(path)).status == 401, path
    body = {"source": "index.md:10", "old_url": "https://gone.test/x"}
    refused = await token_client.post("/api/fix/apply", json=body)
    assert refused.status == 401 and sources.index.read_text() == INDEX
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    listed = await (await token_client.get("/api/fix", headers=bearer)).json()
    assert {(e["line"], e["reason"]) for e in listed} == {(5, "moved"), (10, "moved"),
                                                          (10, "dead")}
    done = await token_client.post("/api/fix/apply", json=body, headers=bearer)
    assert done.status == 200, await done.text()
    assert await done.json() == [{"file": "index.md", "line": 10,
                                  "old_url": "https://gone.test/x", "new_url": ARCHIVED,
                                  "reason": "dead"}]
    assert sources.index.read_text() == INDEX.replace("https://gone.test/x", ARCHIVED)


async def test_a_stale_line_is_refused_and_nothing_written(client: TestClient,
                                                           sources: Sources) -> None:
    _, token = await _fix_page(client)  # the page as the maintainer loaded it
    edited = INDEX.replace("## Papers\n", "## Papers\n\nA new line.\n")
    sources.index.write_text(edited)
    html = await (await client.get("/fix")).text()
    assert "index.md:5: no longer holds https://old.test/paper" in html
    response = await client.post("/fix/apply", data={
        "csrf_token": token, "source": "index.md:5", "old_url": "https://old.test/paper"})
    assert response.status == 409 and "index.md:5: no longer holds" in await response.text()
    assert (await client.get("/fix.patch")).status == 409
    assert sources.index.read_text() == edited


async def test_without_sources_the_page_says_what_to_configure(
        simweb: SimWeb, tmp_path: Path, db: Database) -> None:  # noqa: F811
    settings = load_settings(str(write_config(tmp_path / "m.toml", simweb)))
    async with TestClient(TestServer(create_app(db, settings, Guard()))) as c:
        html = await (await c.get("/fix")).text()
        assert "set catalog.sources in monitor.toml" in html
        assert (await c.get("/fix.patch")).status == 404
        assert (await c.get("/api/fix")).status == 404


async def test_accept_inserts_the_paper_into_the_sources(client: TestClient, sources: Sources,
                                                         db: Database) -> None:  # noqa: F811
    with db.session() as s:
        paper = Suggestion(arxiv_id="2401.00009", version=1, title="A *new* paper",
                           authors=["A. Author"], abstract="x", published=utcnow(),
                           categories=["cs.CL"], score=0.9, section="Reading list",
                           chapter="Papers", matched_terms=[], status="new")
        s.add(paper)
        s.flush()
        ident = paper.id
    _, token = await _fix_page(client)
    response = await client.post(f"/suggestions/{ident}/accept", allow_redirects=False,
                                 data={"csrf_token": token, "section": "Reading list"})
    assert response.status == 303, await response.text()
    assert sources.index.read_text() == INDEX.replace(
        "- [Fine page](https://ok.test/page)\n",
        "- [Fine page](https://ok.test/page)\n"
        "- [A \\*new\\* paper](https://arxiv.org/abs/2401.00009)\n")
    listed = await (await client.get("/api/suggestions?status=accepted")).json()
    assert listed[0]["chapter"] == "Papers"

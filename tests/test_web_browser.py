"""End to end in headless Chromium: open the triage page, accept one paper, reject another.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``) and the ``playwright`` Python package;
Playwright's own browser download is not used. Skipped when either is missing.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiohttp import web
from sqlalchemy import select

from monitor.config import Settings
from monitor.store.db import Database
from monitor.store.models import Suggestion
from monitor.web import create_app
from monitor.web.keys import GUARD
from monitor.web.security import Guard
from tests.cli_helpers import write_catalog
from tests.dbutil import db, db_url  # noqa: F401
from tests.test_web import seed_suggestions

CHROMIUM = os.environ.get("MONITOR_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright Python package is not installed "
                                  "(pip install playwright; no `playwright install` needed)")
pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")


class ServerThread:
    """The web app on a free loopback port, in a thread with its own event loop."""

    def __init__(self, app: web.Application) -> None:
        self.app, self.loop = app, asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner = web.AppRunner(app, access_log=None)
        self.url = ""

    def __enter__(self) -> ServerThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def server(tmp_path: Path, db: Database) -> Iterator[tuple[ServerThread, Path]]:  # noqa: F811
    catalog = write_catalog(tmp_path / "catalog.csv", ["https://example.org/a"])
    settings = Settings()
    settings.set("catalog.path", str(catalog))
    seed_suggestions(db)
    with ServerThread(create_app(db, settings, Guard())) as running:
        yield running, catalog


def login_url(running: ServerThread, next_path: str) -> str:
    """The URL ``monitor serve`` prints for its generated token, going on to ``next_path``."""
    query = urlencode({"token": running.app[GUARD].token, "next": next_path})
    return f"{running.url}/login?{query}"


def test_triage_in_a_browser(server: tuple[ServerThread, Path], db: Database) -> None:  # noqa: F811
    running, catalog = server
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(login_url(running, "/suggestions"))
            page.wait_for_url("**/suggestions")
            assert page.input_value("#section-1") == "Section A"
            page.fill("#section-1", "Section IV: Finetuning")
            page.click("#accept-1")
            page.wait_for_url("**/suggestions?done=1")
            assert "Accepted" in page.inner_text("#done")
            page.fill("#reason-3", "benchmarks are out of scope")
            page.click("#reject-3")
            page.wait_for_url("**/suggestions?done=3")
            assert "Rejected" in page.inner_text("#done")
            decided = page.inner_text("#decided")
            queue = page.inner_text("#queue")
        finally:
            browser.close()
    assert "accepted" in decided and "Section IV: Finetuning" in decided
    assert "rejected" in decided and "benchmarks are out of scope" in decided
    assert "Low-rank adapters" not in queue and "Yet another benchmark" not in queue
    assert "Attention" in queue
    assert catalog.read_text().splitlines()[-1].startswith("https://arxiv.org/abs/2401.00001,")
    with db.session() as s:
        found = {x.id: (x.status, x.section, x.reason) for x in s.scalars(select(Suggestion))}
    assert found[1] == ("accepted", "Section IV: Finetuning", "")
    assert found[3] == ("rejected", "Section A", "benchmarks are out of scope")
    assert found[2][0] == "new"

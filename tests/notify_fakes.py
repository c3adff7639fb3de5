"""Loopback servers for the notification tests: a real SMTP server (aiosmtpd), a webhook
receiver and a fake of the GitHub REST API issues endpoints (aiohttp). Each runs on its own
event loop in a background thread, on a port the system picks, and reports that port."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.smtp import SMTP, AuthResult, Envelope

BODY_LIMIT = 65_536


def wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll ``predicate`` until it holds or the deadline passes (then fail)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.01)


class LoopThread:
    """An asyncio loop in a daemon thread; servers started on it report their port."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._cleanup: list[Callable[[], Any]] = []

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def serve_app(self, app: web.Application) -> int:
        async def start() -> tuple[web.AppRunner, int]:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        runner, port = self.run(start())
        self._cleanup.append(runner.cleanup)
        return port

    def serve_smtp(self, factory: Callable[[], SMTP]) -> int:
        async def start() -> asyncio.AbstractServer:
            return await self.loop.create_server(factory, "127.0.0.1", 0)

        server = self.run(start())

        async def stop() -> None:
            server.close()

        self._cleanup.append(stop)
        return server.sockets[0].getsockname()[1]

    def close(self) -> None:
        for cleanup in reversed(self._cleanup):
            self.run(cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


# SMTP ------------------------------------------------------------------------------------------

class SmtpSink:
    """A real SMTP server (AUTH over plain text allowed, loopback only) that keeps messages."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()
        self.messages: list[Envelope] = []
        self.port = 0

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"

    def authenticate(self, server: SMTP, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        ok = (data.login, data.password) == (self.user, self.password)
        return AuthResult(success=ok, handled=False)  # the server answers 535 itself

    def factory(self) -> SMTP:
        return SMTP(self, hostname="smtp.test", authenticator=self.authenticate,
                    auth_require_tls=False)

    def texts(self) -> list[str]:
        return [m.content.decode() if isinstance(m.content, bytes) else str(m.content)
                for m in self.messages]


# webhook ---------------------------------------------------------------------------------------

@dataclass
class Hook:
    """A webhook receiver: answers 500 to the first ``fail_first`` requests, then ``status``;
    keeps every request it got."""

    status: int = 200
    fail_first: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, "headers": dict(request.headers),
                              "json": await request.json()})
        failing = len(self.requests) <= self.fail_first
        return web.json_response({}, status=500 if failing else self.status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


# GitHub ----------------------------------------------------------------------------------------

@dataclass
class FakeGitHub:
    """The issues endpoints of the GitHub REST API, in memory.

    Checks ``Authorization: Bearer <token>`` (401 otherwise), pages the issue list
    ``page_size`` at a time with a ``Link`` header, rejects bodies over 65,536 characters (422)
    and answers the queued ``forced`` responses first: ``(status, headers)``. With
    ``drop_labels`` it drops the labels of a new issue, as GitHub does for a token that cannot
    push.
    """

    token: str
    page_size: int = 2
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[int, list[str]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    forced: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    drop_labels: bool = False
    port: int = 0

    def add(self, title: str, labels: list[str], state: str = "open", pr: bool = False) -> dict:
        number = len(self.issues) + 1
        issue = {"number": number, "title": title, "body": "", "state": state,
                 "labels": [{"name": n} for n in labels],
                 "html_url": f"https://github.test/o/r/issues/{number}"}
        if pr:
            issue["pull_request"] = {"url": "x"}
        self.issues.append(issue)
        return issue

    def open_with(self, label: str) -> list[dict[str, Any]]:
        return [i for i in self.issues if i["state"] == "open" and "pull_request" not in i
                and any(lb["name"] == label for lb in i["labels"])]

    @web.middleware
    async def gate(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        self.log.append({"method": request.method, "path": request.path_qs,
                         "host": request.host, "auth": request.headers.get("Authorization")})
        if self.forced:
            status, headers = self.forced.pop(0)
            return web.json_response({"message": "forced"}, status=status, headers=headers)
        if request.path.startswith("/redirect/"):
            where = request.path.split("/")[2]
            rest = request.path_qs.split("/", 3)[3]
            raise web.HTTPTemporaryRedirect(f"http://{where}:{self.port}/{rest}")
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"message": "Bad credentials"}, status=401)
        return await handler(request)

    async def list_issues(self, request: web.Request) -> web.Response:
        q = request.query
        assert q.get("state") == "open"
        found = [i for i in self.issues if i["state"] == "open"
                 and q["labels"] in {lb["name"] for lb in i["labels"]}]
        size = min(int(q.get("per_page", 30)), self.page_size)
        page = int(q.get("page", 1))
        headers = {}
        if page * size < len(found):
            nxt = request.url.update_query({"page": str(page + 1)})
            headers["Link"] = f'<{nxt}>; rel="next", <{nxt}>; rel="last"'
        return web.json_response(found[(page - 1) * size: page * size], headers=headers)

    async def create(self, request: web.Request) -> web.Response:
        data = await request.json()
        if len(data.get("body", "")) > BODY_LIMIT:
            return web.json_response({"message": "Validation Failed"}, status=422)
        issue = self.add(data["title"], [] if self.drop_labels else data.get("labels", []))
        issue["body"] = data["body"]
        return web.json_response(issue, status=201)

    async def edit(self, request: web.Request) -> web.Response:
        data = await request.json()
        if len(data.get("body", "")) > BODY_LIMIT:
            return web.json_response({"message": "Validation Failed"}, status=422)
        issue = self.issues[int(request.match_info["n"]) - 1]
        issue.update({k: data[k] for k in ("title", "body", "state") if k in data})
        return web.json_response(issue)

    async def comment(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.comments.setdefault(int(request.match_info["n"]), []).append(data["body"])
        return web.json_response({"id": 1, "body": data["body"]}, status=201)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.gate])
        base = "/repos/{owner}/{repo}/issues"
        app.router.add_get(base, self.list_issues)
        app.router.add_post(base, self.create)
        app.router.add_patch(base + "/{n:\\d+}", self.edit)
        app.router.add_post(base + "/{n:\\d+}/comments", self.comment)
        return app

    def writes(self) -> list[str]:
        """``METHOD path`` of every write request, in order."""
        return [f"{e['method']} {re.sub(r'[?].*', '', e['path'])}" for e in self.log
                if e["method"] != "GET"]


# digests ---------------------------------------------------------------------------------------

def night(run_id: int, *, status: str = "complete", previous_status: str | None = "complete",
          events: tuple[tuple[str, str], ...] = (), dead: int = 0, moved: int = 0,
          papers: int = 0, report: str = "") -> Any:
    """A Digest for run ``run_id``: ``events`` as ``(kind, url)``, ``dead``/``moved`` counts
    after the run, ``papers`` new suggestions."""
    from datetime import UTC, datetime, timedelta

    from monitor.notify import Digest, DigestEvent, DigestSuggestion, RunInfo

    started = datetime(2025, 1, 1, 3, tzinfo=UTC) + timedelta(days=run_id)
    counts = {"ok": 100 - dead - moved, "dead": dead, "moved": moved, "failing": 0,
              "blocked": 1, "unknown": 0}
    return Digest(
        run=RunInfo(run_id, status, started), counts=counts,
        previous_counts={"ok": 100, "dead": 0, "moved": 0, "failing": 0, "blocked": 1},
        events=[DigestEvent(kind, url, title=f"Title of {url}", section="Transformers",
                            source="index.md:12",
                            fix="https://web.archive.org/web/2024/" + url
                            if kind == "went_dead" else "monitor fix") for kind, url in events],
        suggestions=[DigestSuggestion(f"2501.0000{i}", f"Paper {i}", 0.9 - i / 10, "Agents",
                                      f"https://arxiv.org/abs/2501.0000{i}")
                     for i in range(papers)],
        previous_status=previous_status, base_url="https://reports.example.org/",
        report_markdown=report)

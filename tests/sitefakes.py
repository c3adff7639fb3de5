"""Fake YouTube, arXiv ``id_list``, GitHub API and Wayback answers for the simulated web.

Every body is a real recorded response from ``../shared/fixtures/`` (see SOURCES.md there) or
has its shape: the oEmbed 200 bodies (oscarotero/Embed recordings), the arXiv entry of
``id_2104.12255v1`` and the empty and error feeds (arxiv.py recordings), GitHub's 301 and
``/repositories/112116543`` bodies (PyGithub replay), the Wayback availability answers (curl
transcript). Error answers without a stored body (oEmbed 400/401/403/404) use the text the
issues in ``youtube/ERROR_BEHAVIOUR_EVIDENCE.md`` report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
OEMBED_DIR = FIXTURES / "youtube" / "oembed_embed_php_recorded"
OEMBED_VIDEO = (OEMBED_DIR / "www.youtube.com.oembed.4e2dd395e94cc4f7fd39a8081b0cdc17.body.json"
                ).read_bytes()
OEMBED_PLAYLIST = (OEMBED_DIR / "www.youtube.com.oembed.44a61a3c2dd08c4b95475fbaf4d23362.body.json"
                   ).read_bytes()
ARXIV_BODIES = FIXTURES / "arxiv" / "arxiv_py_recorded" / "extracted_bodies"
GITHUB_301 = (FIXTURES / "github" / "repos_protoncoin_protoncoin_301_body.json").read_bytes()
GITHUB_REPO = json.loads((FIXTURES / "github" / "repositories_112116543_200_body.json").read_text())
WAYBACK_FOUND = json.loads((FIXTURES / "wayback" / "available_with_snapshot_github_repo.json")
                           .read_text())
WAYBACK_EMPTY = json.loads((FIXTURES / "wayback" / "available_empty_youtube_video.json")
                           .read_text())


# ---------------------------------------------------------------- YouTube


def watch_page(status: str, reason: str | None = None, extra: str = "") -> bytes:
    """A watch page whose ``ytInitialPlayerResponse`` has this ``playabilityStatus``."""
    fields = f'"status":"{status}"' + (f',"reason":"{reason}"' if reason else "") + extra
    return ("<!DOCTYPE html><html><head><title>Noisy kittens waiting for dinner! - YouTube"
            "</title></head><body><script>var ytInitialPlayerResponse = {\"responseContext\":{},"
            f"\"playabilityStatus\":{{{fields}}}}};</script></body></html>").encode()


CONSENT_PAGE = (b"<!DOCTYPE html><html><head><title>Before you continue to YouTube</title></head>"
                b"<body><form action=\"https://consent.youtube.com/save\">Accept all</form>"
                b"</body></html>")


@dataclass
class FakeYouTube:
    """``/oembed`` answers by video id, ``/watch`` pages by id, thumbnails by id."""

    oembed: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    watch: dict[str, bytes | None] = field(default_factory=dict)  # None: consent redirect

    async def oembed_handler(self, request: web.Request) -> web.Response:
        page = request.query.get("url", "")
        query = parse_qs(urlsplit(page).query)
        key = (query.get("v") or query.get("list") or [""])[0]
        status, body = self.oembed.get(key, (404, b"Not Found"))
        kind = "application/json" if body.startswith(b"{") else "text/html"
        return web.Response(status=status, body=body, content_type=kind)

    async def watch_handler(self, request: web.Request) -> web.Response:
        page = self.watch.get(request.query.get("v", ""), watch_page("OK"))
        if page is None:
            target = f"https://consent.youtube.com/m?{urlencode({'continue': str(request.url)})}"
            raise web.HTTPFound(target)
        return web.Response(body=page, content_type="text/html")


# ---------------------------------------------------------------- arXiv id_list


FEED_HEAD = (ARXIV_BODIES / "id_2104.12255v1_s0_m100_6ae69987ffe1.atom.xml").read_text()
ENTRY_TEMPLATE = FEED_HEAD[FEED_HEAD.index("  <entry>"):FEED_HEAD.index("</feed>")]
HEAD = FEED_HEAD[:FEED_HEAD.index("  <entry>")]
ERROR_FEED = (ARXIV_BODIES / "id_abc_s0_m100_b79c8dcf6bc3.atom.xml").read_text()


def arxiv_entry(arxiv_id: str, version: int, title: str, comment: str | None = None) -> str:
    """The recorded 2104.12255v1 entry with another id, version, title and an optional
    ``<arxiv:comment>`` (as the API places it, before the primary category)."""
    entry = ENTRY_TEMPLATE.replace("2104.12255v1", f"{arxiv_id}v{version}")
    entry = entry.replace("<title>0</title>", f"<title>{escape(title)}</title>")
    if comment:
        entry = entry.replace("    <arxiv:primary_category",
                              f"    <arxiv:comment>{escape(comment)}</arxiv:comment>\n"
                              "    <arxiv:primary_category")
    return entry


@dataclass
class FakeArxivIds:
    """The API's ``id_list`` queries over ``papers`` (id -> (version, title, comment))."""

    papers: dict[str, tuple[int, str, str | None]] = field(default_factory=dict)
    malformed: set[str] = field(default_factory=set)
    down: bool = False
    queries: list[list[str]] = field(default_factory=list)

    async def __call__(self, request: web.Request) -> web.Response:
        ids = [i for i in request.query.get("id_list", "").split(",") if i]
        self.queries.append(ids)
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        bad = next((i for i in ids if i in self.malformed), None)
        if bad is not None:
            body = ERROR_FEED.replace("abc", bad)
            return web.Response(status=400, text=body, content_type="application/atom+xml")
        found = [arxiv_entry(i, *self.papers[i]) for i in ids if i in self.papers]
        head = HEAD.replace("<opensearch:totalResults>1<",
                            f"<opensearch:totalResults>{len(found)}<")
        return web.Response(text=head + "".join(found) + "</feed>\n",
                            content_type="application/atom+xml")


# ---------------------------------------------------------------- GitHub and Wayback


def github_repo_json(full_name: str, archived: bool = False) -> bytes:
    """The recorded repository JSON, renamed to ``full_name`` and possibly archived."""
    data = dict(GITHUB_REPO, full_name=full_name, name=full_name.split("/")[1],
                html_url=f"https://github.com/{full_name}", archived=archived)
    return json.dumps(data).encode()


RATE_LIMITED = (b'{"message":"API rate limit exceeded for 127.0.0.1. (But here\'s the good news: '
                b'Authenticated requests get a higher rate limit.)","documentation_url":'
                b'"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}')


@dataclass
class FakeWayback:
    """``/wayback/available``: a snapshot for URLs in ``archived`` (timestamp), else empty."""

    archived: dict[str, str] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def __call__(self, request: web.Request) -> web.Response:
        url = request.query.get("url", "")
        self.asked.append(url)
        data: dict[str, Any]
        if url in self.archived:
            stamp = self.archived[url]
            closest = dict(WAYBACK_FOUND["archived_snapshots"]["closest"],
                           url=f"http://web.archive.org/web/{stamp}/{url}", timestamp=stamp)
            data = {"url": url, "archived_snapshots": {"closest": closest}}
        else:
            data = dict(WAYBACK_EMPTY, url=url)
        return web.json_response(data)

"""A night of the real handbook on the simulated web (issue 12 tests): every link of a copy of
``../shared/handbook`` answers, except the ones a test makes move, die (with or without a
Wayback Machine copy) or lose their anchor.

Plain pages get a ``<title>`` of their own (so reports can lead with it); YouTube videos answer
through a fake oEmbed, arXiv papers through a fake API, GitHub repositories through a fake REST
API, as the site probes ask them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from monitor.catalog.extract import extract_sources
from monitor.sites.arxiv import arxiv_id
from monitor.sites.github import github_repo
from tests.cli_helpers import write_config
from tests.fixcases import git_repo, handbook_copy
from tests.simweb import Handler, SimWeb, redirect, static
from tests.sitefakes import OEMBED_VIDEO, FakeArxivIds, FakeWayback, github_repo_json

SOURCES = ["../handbook/index.md", "../handbook/_includes/*.md"]  # relative to the config


def page(title: str, anchor: str | None = None, text: str = "") -> bytes:
    """A plain page with its own ``<title>`` and, when given, an element with id ``anchor``."""
    heading = f'<h2 id="{anchor}">Part</h2>' if anchor else "<h2>Part</h2>"
    body = text or f"The page {title} explains a topic at some length for its readers."
    return (f"<!doctype html><html><head><title>{title}</title></head><body><main>"
            f"<h1>{title}</h1><p>{body}</p>{heading}<p>More of {title}.</p></main></body>"
            "</html>").encode()


@dataclass
class Night:
    """What a test changes in the web: ``moved`` (URL -> final URL), ``dead`` (URL -> Wayback
    timestamp, or None for no copy) and ``anchors_gone`` (URLs whose #fragment the page lost);
    ``titles``: each plain page's ``<title>`` by URL."""

    moved: Mapping[str, str] = field(default_factory=dict)
    dead: Mapping[str, str | None] = field(default_factory=dict)
    anchors_gone: Iterable[str] = ()
    titles: dict[str, str] = field(default_factory=dict)


def _insecure_moves(to: str, body: bytes) -> Handler:
    """``http://`` answers 301 to ``to`` (its ``https://`` twin), which answers ``body``."""
    moves = redirect(to, 301)

    async def handler(request: web.Request) -> web.StreamResponse:
        if not request.secure:
            return await moves(request)
        return web.Response(body=body, content_type="text/html")
    return handler


async def _oembed(request: web.Request) -> web.Response:
    return web.Response(body=OEMBED_VIDEO, content_type="application/json")


def serve(web_: SimWeb, urls: Iterable[str], night: Night) -> FakeArxivIds:
    """Route every URL of the catalog (and the APIs the probes ask); returns the arXiv fake."""
    papers = FakeArxivIds()
    gone = set(night.anchors_gone)
    for url in urls:
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path or "/"
        paper = arxiv_id(url)
        repo = github_repo(url)
        if paper:
            papers.papers[paper[0]] = (1, f"Paper {paper[0]}", None)
        if repo:
            web_.route("api.github.com", f"/repos/{repo[0]}/{repo[1]}",
                       body=github_repo_json(f"{repo[0]}/{repo[1]}"),
                       content_type="application/json")
        if url in night.moved:
            final = urlsplit(night.moved[url])
            moved_page = page(night.titles.get(url, f"Moved {path}"))
            same = (final.hostname, final.path or "/") == (host, path)
            web_.route(host, path, _insecure_moves(night.moved[url], moved_page) if same
                       else redirect(night.moved[url], 301))
            if not same:
                web_.route(final.hostname or "", final.path or "/", body=moved_page)
        elif url in night.dead:
            web_.route(host, path, status=404, body=page("Not Found", text="Not here."))
        else:
            fragment = parts.fragment if url not in gone else None
            title = night.titles.setdefault(url, f"Page {host}{path}")
            web_.route(host, path, static(body=page(title, fragment or None)))
    web_.route("www.youtube.com", "/oembed", _oembed)
    web_.route("127.0.0.1", "/api/query", papers)
    stamps = {url: stamp for url, stamp in night.dead.items() if stamp}
    web_.route("archive.org", "/wayback/available", FakeWayback(dict(stamps)))
    return papers


def handbook_night(web_: SimWeb, tmp_path: Path, night: Night) -> tuple[Path, Path]:
    """A git copy of the handbook in ``tmp_path/handbook``, served on ``web_`` as ``night``
    says, and a config (``tmp_path/conf/monitor.toml``) whose ``catalog.sources`` name it
    (relative to the config's folder). Returns ``(handbook folder, config path)``."""
    root = handbook_copy(tmp_path)
    git_repo(root)
    rows = extract_sources([root / "index.md"]).rows
    serve(web_, [row.url for row in rows], night)
    conf = tmp_path / "conf"
    conf.mkdir()
    config = write_config(
        conf / "monitor.toml", web_,
        catalog={"path": str(tmp_path / "catalog.csv"), "sources": SOURCES},
        health={"dead_after_runs": 1, "dead_after_hours": 0.0},
        arxiv={"api_url": f"http://127.0.0.1:{web_.http_port}/api/query",
               "delay_seconds": 0.0},
        http={"timeout": 5.0})
    return root, config

"""arXiv abstracts and PDFs through the arXiv API: one batched ``id_list`` query per run.

Before the crawl, :func:`prepare` asks the API (``arxiv.api_url``, with the ``arxiv`` package's
client keeping ``arxiv.delay_seconds`` between requests) for every cataloged paper at once:
``id_list`` with up to ``ID_BATCH`` versionless identifiers a request, so the handbook's papers
take one request. Per paper (https://info.arxiv.org/help/api/user-manual.html):

- an entry -> ok; its ``vN`` is the latest version; a higher version than the one stored at the
  previous run gives an ``updated`` event ``{"what": "version", "old": 1, "new": 2}``;
- withdrawn (the comment or abstract says "withdrawn", the form arXiv uses for withdrawal
  notices) -> still ok, detail says so, and an ``updated`` event ``{"what": "withdrawn"}``;
- an identifier the API does not know: HTTP 200 with no entry for it -> failing (``soft_404``);
- a malformed identifier: the API answers the whole batch with HTTP 400 and an error feed
  (``incorrect id format for X``): X fails (``http_4xx``) and the batch is asked again without it;
- the API unreachable or failing after retries: the papers are checked by a plain fetch of the
  abstract page instead, and the run says so.

No arXiv page is fingerprinted: versions are the freshness signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import arxiv
import requests

from monitor.classify import Outcome
from monitor.config import Settings
from monitor.health import EventDraft
from monitor.sites.base import ProbeContext, ProbeResult, Site, register
from monitor.store.queries import Target
from monitor.urls import arxiv_id

ID_BATCH = 100
_MALFORMED = re.compile(r"incorrect id format for (?P<id>\S+)", re.I)
_WITHDRAWN = re.compile(
    r"^\s*withdrawn\b|\b(?:paper|article|submission|manuscript|version) (?:has been|is|was) "
    r"withdrawn\b|\bwithdrawn by the authors?\b", re.I)


@dataclass(frozen=True)
class Paper:
    """What the API says about one paper: latest version, title, withdrawal, last update."""

    version: int
    title: str
    withdrawn: bool
    updated: str


@dataclass
class Batch:
    """The answers of the batched query, by versionless id."""

    papers: dict[str, Paper] = field(default_factory=dict)
    malformed: dict[str, str] = field(default_factory=dict)
    unavailable: set[str] = field(default_factory=set)
    requests: int = 0


def prepare(targets: list[Target], settings: Settings, ctx: ProbeContext) -> Batch:
    """Query the API for every arXiv id of ``targets`` (see the module docstring)."""
    from monitor.watch.fetch import WatchClient

    ids = sorted({found[0] for t in targets if (found := arxiv_id(t.url))})
    batch = Batch()
    for start in range(0, len(ids), ID_BATCH):
        chunk = ids[start:start + ID_BATCH]
        client = WatchClient(settings["arxiv.api_url"], page_size=len(chunk),
                             delay_seconds=settings["arxiv.delay_seconds"],
                             retries=settings["http.retries"], timeout=settings["http.timeout"])
        _query(client, chunk, batch, ctx)
        batch.requests += client.requests_made
    return batch


def _query(client: Any, ids: list[str], batch: Batch, ctx: ProbeContext) -> None:
    """Ask for ``ids``; drop malformed ids named by an error feed and ask again."""
    from monitor.watch.fetch import ArxivQueryError, describe_error
    from monitor.watch.identity import parse_arxiv_id

    while ids:
        search = arxiv.Search(id_list=ids, max_results=len(ids))
        try:
            for result in client.results(search):
                parsed = parse_arxiv_id(result.entry_id)
                if parsed:
                    batch.papers[parsed[0]] = _paper(result, parsed[1] or 1)
            return
        except ArxivQueryError as err:
            match = _MALFORMED.search(str(err))
            bad = match.group("id") if match else None
            if bad not in ids:
                ids, batch.unavailable = [], batch.unavailable | set(ids)
                ctx.note_once(f"arXiv API error ({err}): papers checked by plain fetch")
                return
            batch.malformed[bad] = f"arXiv API: {match.group(0)}" if match else str(err)
            ids = [i for i in ids if i != bad]
        except (arxiv.ArxivError, requests.RequestException) as err:
            batch.unavailable |= set(ids)
            ctx.note_once(f"arXiv API unavailable ({describe_error(err)}): "
                          "papers checked by plain fetch")
            return


def _paper(result: arxiv.Result, version: int) -> Paper:
    text = f"{result.comment or ''}\n{result.summary or ''}"
    withdrawn = any(_WITHDRAWN.search(part) for part in text.split("\n") if part)
    return Paper(version, " ".join((result.title or "").split()), withdrawn,
                 result.updated.isoformat() if result.updated else "")


async def probe(ctx: ProbeContext, target: Target) -> ProbeResult | None:
    """The outcome of one abstract/PDF URL from the prepared batch; None -> plain fetch."""
    found = arxiv_id(target.url)
    batch: Batch | None = ctx.data.get("arxiv")
    if found is None or batch is None or found[0] in batch.unavailable:
        return None
    ident, cataloged = found
    info: dict[str, Any] = {"id": ident, "cataloged_version": cataloged}
    if ident in batch.malformed:
        return ProbeResult(Outcome("failing", "http_4xx", 400, None, batch.malformed[ident]),
                           info | {"error": "malformed"})
    paper = batch.papers.get(ident)
    if paper is None:
        return ProbeResult(Outcome("failing", "soft_404", 200, None,
                                   f"arXiv API does not know {ident} (no entry)"),
                           info | {"error": "unknown"})
    info |= {"version": paper.version, "title": paper.title, "withdrawn": paper.withdrawn,
             "updated": paper.updated}
    detail = f"v{paper.version}" + (", withdrawn by the authors" if paper.withdrawn else "")
    return ProbeResult(Outcome("ok", None, 200, None, detail), info)


def events(old: dict[str, Any], new: dict[str, Any]) -> list[EventDraft]:
    """``updated`` on a new version (not on the first observation) and on a new withdrawal."""
    out = []
    before, after = old.get("version"), new.get("version")
    if isinstance(before, int) and isinstance(after, int) and after > before:
        out.append(EventDraft("updated", {"what": "version", "old": before, "new": after}))
    if new.get("withdrawn") and not old.get("withdrawn"):
        out.append(EventDraft("updated", {"what": "withdrawn", "version": after}))
    return out


SITE = register(Site("arxiv", ("arxiv.org",), probe, prepare=prepare, events=events))

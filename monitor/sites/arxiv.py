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

Identifiers (https://info.arxiv.org/help/arxiv_identifier.html): new style, since April 2007,
``YYMM.NNNN`` (to 2014) or ``YYMM.NNNNN`` (from 2015), e.g. ``2401.12345``; old style,
``archive[.SUBJECT]/YYMMNNN``, e.g. ``hep-th/9901001`` or ``math.GT/0309136``; either may carry a
version suffix ``vN``. The versionless identifier is the key of a paper (SPEC §8).

Canonical URLs (SPEC §5): ``arxiv.org``/``www.arxiv.org``/``export.arxiv.org`` ``/abs/ID``,
``/pdf/ID`` and ``/pdf/ID.pdf`` all become ``https://arxiv.org/abs/ID`` (version kept when
written; query dropped). Other ``arxiv.org`` and ``www.arxiv.org`` pages move to
``https://arxiv.org``. Kind: a paper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from monitor.errors import ArxivQueryError, ArxivUnavailable
from monitor.sites.base import ProbeContext, ProbeResult, Site, body_marker
from monitor.urls import InvalidURL, Parts, parse
from monitor.vocabulary import EventDraft, Outcome, Target

HOSTS = frozenset({"arxiv.org", "www.arxiv.org", "export.arxiv.org"})
_ID = r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Za-z]{2})?/\d{7})(?:v(?P<ver>\d+))?"
_PATH_RE = re.compile(rf"/(?:abs|pdf)/{_ID}(?:\.pdf)?/?\Z")
_ID_RE = re.compile(rf"{_ID}\Z")
ID_BATCH = 100
_MALFORMED = re.compile(r"incorrect id format for (?P<id>\S+)", re.I)
_WITHDRAWN = re.compile(
    r"^\s*withdrawn\b|\b(?:paper|article|submission|manuscript|version) (?:has been|is|was) "
    r"withdrawn\b|\bwithdrawn by the authors?\b", re.I)


MARKERS = (
    body_marker("arxiv_identifier_not_recognized", "soft_404", "not recognized",
                r"article identifier '[^']*' not recognized", "arxiv.org"),
)


def canonical(parts: Parts) -> Parts:
    """The arXiv rule of :func:`monitor.sites.canonical_url` (module docstring)."""
    if parts.host not in HOSTS:
        return parts
    match = _PATH_RE.match(parts.path)
    if match:
        version = f"v{match['ver']}" if match["ver"] else ""
        return Parts("https", "arxiv.org", "arxiv.org", f"/abs/{match['id']}{version}", ())
    if parts.host == "export.arxiv.org":
        return parts
    return Parts("https", "arxiv.org", "arxiv.org", parts.path, parts.query)


def arxiv_id(url: str) -> tuple[str, int | None] | None:
    """``(versionless id, version or None)`` for an arXiv abs/pdf URL, else None.

    Examples: ``("2401.12345", 2)`` for ``arxiv.org/pdf/2401.12345v2.pdf``,
    ``("hep-th/9901001", None)`` for ``arxiv.org/abs/hep-th/9901001``. Never raises.
    """
    try:
        parts = parse(url)
    except InvalidURL:
        return None
    match = _PATH_RE.match(parts.path) if parts.host in HOSTS else None
    if not match:
        return None
    return match["id"], int(match["ver"]) if match["ver"] else None


def parse_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """Split an arXiv reference into ``(versionless id, version or None)``.

    Accepts an API ``entry_id`` (``http://arxiv.org/abs/2401.12345v2``), any abs/pdf URL, or a
    bare identifier with an optional ``arXiv:`` prefix (``2401.12345v2``, ``hep-th/9901001``).
    Returns None for anything else (never raises).

    >>> parse_arxiv_id("http://arxiv.org/abs/hep-th/9901001v1")
    ('hep-th/9901001', 1)
    """
    text = text.strip()
    if "://" in text:
        return arxiv_id(text)
    text = re.sub(r"^arxiv:", "", text, flags=re.I)
    match = _ID_RE.match(text)
    if not match:
        return None
    return match["id"], int(match["ver"]) if match["ver"] else None


def versionless(text: str) -> str | None:
    """The versionless identifier of ``text`` (see :func:`parse_arxiv_id`), or None."""
    parsed = parse_arxiv_id(text)
    return parsed[0] if parsed else None


def abs_url(ident: str) -> str:
    """The canonical abstract page of a versionless id: ``https://arxiv.org/abs/<id>``."""
    return f"https://arxiv.org/abs/{ident}"


def url_kind(url: str) -> str | None:
    """``paper`` for an arXiv abs/pdf URL, else None."""
    return "paper" if arxiv_id(url) else None


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


def prepare(targets: list[Target], settings: Any, ctx: ProbeContext) -> Batch:
    """Query the API for every arXiv id of ``targets`` (see the module docstring), through
    ``ctx.arxiv_client``; without one, every paper is checked by a plain fetch."""
    ids = sorted({found[0] for t in targets if (found := arxiv_id(t.url))})
    batch = Batch()
    if ctx.arxiv_client is None:
        batch.unavailable |= set(ids)
        return batch
    for start in range(0, len(ids), ID_BATCH):
        chunk = ids[start:start + ID_BATCH]
        client = ctx.arxiv_client(len(chunk))
        _query(client, chunk, batch, ctx)
        batch.requests += client.requests_made
    return batch


def _query(client: Any, ids: list[str], batch: Batch, ctx: ProbeContext) -> None:
    """Ask for ``ids``; drop malformed ids named by an error feed and ask again."""
    while ids:
        try:
            for result in client.by_ids(ids):
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
        except ArxivUnavailable as err:
            batch.unavailable |= set(ids)
            ctx.note_once(f"arXiv API unavailable ({err}): papers checked by plain fetch")
            return


def _paper(result: Any, version: int) -> Paper:
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


SITE = Site("arxiv", ("arxiv.org",), probe, prepare=prepare, events=events, canonical=canonical,
            kind=url_kind, markers=MARKERS)

"""What a site supplies to the registry (:mod:`monitor.sites`): the :class:`Site` record and the
values its functions take and return.

A site module (``monitor/sites/<name>.py``) defines ``SITE = Site(...)`` with any of:

- ``hosts``: the host names it owns (a host matches itself and its subdomains);
- ``canonical``: its canonical-URL rule, ``Parts -> Parts`` (applied after the generic rules
  of :mod:`monitor.urls`; a rule returns parts of other hosts unchanged);
- ``kind``: ``(canonical url) -> kind or None``, the catalog ``kind`` of its URLs;
- ``markers``: :class:`Marker` rows that make a 2xx page a ``soft_404`` or ``blocked``;
- ``probe``: ``async probe(ctx, target) -> ProbeResult | None``, replacing the generic fetch +
  classify where a plain fetch cannot tell the truth (SPEC §7); None lets the generic fetch
  handle that URL;
- ``prepare``: ``prepare(targets, settings, ctx) -> data``, run once before the crawl (the
  arXiv batch query; ``data`` is then ``ctx.data[site.name]``);
- ``events``: ``events(old_info, new_info) -> [EventDraft]``, the ``updated`` events between
  the probe info stored at the last run and this run's.

A site module imports neither the fetch nor the store stage: the probe gets its network access
from the :class:`ProbeContext` the pipeline gives it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from monitor.urls import Parts
from monitor.vocabulary import EventDraft, FetchResult, Outcome, Target

if TYPE_CHECKING:
    from monitor.config import Settings


@dataclass(frozen=True)
class Marker:
    """A pattern that marks a page as ``soft_404`` or ``blocked``.

    ``where``: ``"title"`` (the page ``<title>``) or ``"body"`` (the first 256 KB of the decoded
    body); matched case-insensitively. ``hosts``: host suffixes it applies to (empty: any host).
    ``needle``: for body markers, a lower-case literal every match contains, looked for with a
    plain substring search before the regex runs. Evidence for each marker is in
    ``../shared/fixtures/soft404/MARKERS_EVIDENCE.md`` and ``youtube/ERROR_BEHAVIOUR_EVIDENCE.md``.
    """

    name: str
    verdict: str  # "soft_404" or "blocked"
    where: str  # "title" or "body"
    pattern: re.Pattern[str]
    hosts: tuple[str, ...] = ()
    needle: bytes = b""

    def applies_to(self, host: str) -> bool:
        return not self.hosts or any(host == h or host.endswith("." + h) for h in self.hosts)


SNIFF_BYTES = 256 * 1024
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.I | re.S)


def page_title(body: bytes) -> str | None:
    """The text of the first ``<title>`` in the first 256 KB of ``body``, or None."""
    match = _TITLE.search(body[:SNIFF_BYTES])
    if not match:
        return None
    return " ".join(match.group(1).decode("utf-8", "replace").split())


def find_marker(markers: Iterable[Marker], url: str, body: bytes,
                verdict: str | None = None) -> Marker | None:
    """The first of ``markers`` (optionally of one verdict) that matches the page of ``url``."""
    host = (urlsplit(url).hostname or "").lower()
    title: str | None = None
    lowered = body[:SNIFF_BYTES].lower()
    text: str | None = None
    for marker in markers:
        if (verdict and marker.verdict != verdict) or not marker.applies_to(host):
            continue
        if marker.where == "title":
            if title is None:
                title = page_title(body) or ""
            if marker.pattern.search(title):
                return marker
            continue
        if marker.needle not in lowered:
            continue
        if text is None:
            text = body[:SNIFF_BYTES].decode("utf-8", "replace")
        if marker.pattern.search(text):
            return marker
    return None


def title_marker(name: str, verdict: str, regex: str, *hosts: str) -> Marker:
    """A marker on the page title."""
    return Marker(name, verdict, "title", re.compile(regex, re.I), hosts)


def body_marker(name: str, verdict: str, needle: str, regex: str, *hosts: str) -> Marker:
    """A marker on the body, found first by the literal ``needle`` (lower case)."""
    return Marker(name, verdict, "body", re.compile(regex, re.I), hosts, needle.encode())


class Fetching(Protocol):
    """What a probe may ask of the fetch stage (:class:`monitor.fetch.Fetcher` is one)."""

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              headers: dict[str, str] | None = None) -> Awaitable[FetchResult]: ...


class ArxivLookup(Protocol):
    """A client of the arXiv API for one batch of identifiers
    (:class:`monitor.fetch.arxiv_api.ArxivClient` is one).

    ``by_ids`` yields the API's entries (objects with ``entry_id``, ``title``, ``summary``,
    ``comment``, ``updated``) and raises :class:`monitor.errors.ArxivQueryError` for an error
    feed, :class:`monitor.errors.ArxivUnavailable` when the API cannot be used.
    ``requests_made``: HTTP responses received so far.
    """

    requests_made: int

    def by_ids(self, ids: list[str]) -> Iterable[Any]: ...


@dataclass
class ProbeResult:
    """What a probe found: the verdict, facts to store, and the response behind it (if one)."""

    outcome: Outcome
    info: dict[str, Any] = field(default_factory=dict)
    fetch: FetchResult | None = None


@dataclass
class ProbeContext:
    """Shared by the probes of one run: their network access, settings, prepared data, notes.

    ``fetcher``: the run's fetcher (None before the crawl starts); ``classify``: the generic
    classifier, for responses a probe does not decide itself; ``arxiv_client``: makes an
    :class:`ArxivLookup` for a batch of that many identifiers. ``notes`` are shown once in the
    run summary (e.g. "GitHub API rate limit reached").
    """

    fetcher: Fetching | None
    settings: Settings
    classify: Callable[[FetchResult], Outcome]
    arxiv_client: Callable[[int], ArxivLookup] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def note_once(self, text: str) -> None:
        """Add ``text`` to the run notes unless it is already there."""
        if text not in self.notes:
            self.notes.append(text)


Probe = Callable[[ProbeContext, Target], Awaitable[ProbeResult | None]]
Prepare = Callable[[list[Target], "Settings", ProbeContext], Any]
Events = Callable[[dict[str, Any], dict[str, Any]], list[EventDraft]]
Rule = Callable[[Parts], Parts]
KindRule = Callable[[str], str | None]


@dataclass(frozen=True)
class Site:
    """One site: its hosts and what it knows about them (see the module docstring).

    ``fingerprint``: whether pages of this site fetched generically (the probe returned None,
    or there is no probe) may be fingerprinted as content; probe results never are.
    """

    name: str
    hosts: tuple[str, ...] = ()
    probe: Probe | None = None
    fingerprint: bool = True
    prepare: Prepare | None = None
    events: Events | None = None
    canonical: Rule | None = None
    kind: KindRule | None = None
    markers: tuple[Marker, ...] = ()

    def matches(self, host: str) -> bool:
        return any(host == h or host.endswith("." + h) for h in self.hosts)


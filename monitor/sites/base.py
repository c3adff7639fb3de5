"""The site registry: host pattern -> probe (STYLE: one probe per site, a small registry).

A **probe** replaces the generic fetch + classify for URLs of one site where a plain fetch cannot
tell the truth (SPEC §7). It is an ``async`` function ``probe(ctx, target)`` returning a
:class:`ProbeResult` (an :class:`~monitor.classify.Outcome` plus a JSON-able ``info`` dict, stored
in ``check_results.probe`` and, merged per site, in ``resource_states.probe``), or ``None`` to
let the generic fetch handle this URL (a channel page, an API that is rate limited...).

A site may also have ``prepare(targets, settings) -> data``, run once before the crawl (the
arXiv batch query; ``data`` is in ``ctx.data[site.name]``), and ``events(old_info, new_info)``,
run when the run's states are applied, returning ``updated`` events from what changed between
the last stored ``info`` and this run's.

Adding a site is one function and one :func:`register` call::

    async def probe(ctx: ProbeContext, target: Target) -> ProbeResult | None: ...
    register(Site("example", ("example.com",), probe))
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from monitor.classify import Outcome
from monitor.config import Settings
from monitor.fetch import Fetcher, FetchResult
from monitor.health import EventDraft
from monitor.store.queries import Target
from monitor.urls import InvalidURL, host_of


@dataclass
class ProbeResult:
    """What a probe found: the verdict, facts to store, and the response behind it (if one)."""

    outcome: Outcome
    info: dict[str, Any] = field(default_factory=dict)
    fetch: FetchResult | None = None


@dataclass
class ProbeContext:
    """Shared by the probes of one run: the fetcher, settings, prepared data, run notes.

    ``notes`` are shown once in the run summary (e.g. "GitHub API rate limit reached").
    """

    fetcher: Fetcher | None
    settings: Settings
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def note_once(self, text: str) -> None:
        """Add ``text`` to the run notes unless it is already there."""
        if text not in self.notes:
            self.notes.append(text)


Probe = Callable[[ProbeContext, Target], Awaitable[ProbeResult | None]]
Prepare = Callable[[list[Target], Settings, ProbeContext], Any]
Events = Callable[[dict[str, Any], dict[str, Any]], list[EventDraft]]


@dataclass(frozen=True)
class Site:
    """One site: its hosts (a host matches itself and its subdomains) and its probe.

    ``fingerprint``: whether pages of this site fetched generically (the probe returned None)
    may be fingerprinted as content; probe results never are.
    """

    name: str
    hosts: tuple[str, ...]
    probe: Probe
    fingerprint: bool = True
    prepare: Prepare | None = None
    events: Events | None = None

    def matches(self, host: str) -> bool:
        return any(host == h or host.endswith("." + h) for h in self.hosts)


SITES: list[Site] = []


_BY_ORIGIN: dict[str, Site | None] = {}  # site_for's answers by "scheme://netloc"
_ORIGIN = re.compile(r"[^:/?#]+://[^/?#]*")


def register(site: Site) -> Site:
    """Add ``site`` to the registry (a later registration of the same name replaces it)."""
    SITES[:] = [s for s in SITES if s.name != site.name] + [site]
    _BY_ORIGIN.clear()
    return site


def site_for(url: str) -> Site | None:
    """The registered site whose hosts match ``url``'s host, or None.

    Answers are remembered by the URL's ``scheme://netloc`` (a crawl asks once per URL, and
    the answer depends on the host only).
    """
    origin = _ORIGIN.match(url)
    key = origin.group() if origin else None
    if key is not None and key in _BY_ORIGIN:
        return _BY_ORIGIN[key]
    try:
        host = host_of(url)
    except InvalidURL:
        return None
    found = next((s for s in SITES if s.matches(host)), None)
    if key is not None:
        if len(_BY_ORIGIN) >= 100_000:
            _BY_ORIGIN.clear()
        _BY_ORIGIN[key] = found
    return found


def prepare(targets: list[Target], settings: Settings, ctx: ProbeContext) -> None:
    """Run each site's ``prepare`` on its targets; results go to ``ctx.data[site.name]``."""
    for site in SITES:
        if site.prepare is None:
            continue
        mine = [t for t in targets if site_for(t.url) is site]
        if mine:
            ctx.data[site.name] = site.prepare(mine, settings, ctx)


def site_events(name: str | None, old: dict[str, Any], new: dict[str, Any]) -> list[EventDraft]:
    """The ``updated`` events of site ``name`` between its stored and its new probe info."""
    site = next((s for s in SITES if s.name == name), None)
    if site is None or site.events is None or not new:
        return []
    return site.events(old or {}, new)

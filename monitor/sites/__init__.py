"""Site knowledge (SPEC §5, §6, §7): one module per site, found by this registry.

Each module of this package that defines ``SITE`` (a :class:`~monitor.sites.base.Site`) is a
site: ``youtube`` (oEmbed probe, ``youtu.be`` rule, video/playlist/channel kinds, player
markers), ``arxiv`` (batched API probe, ``/pdf/`` -> ``/abs/`` rule, identifiers), ``github``
(REST API probe, repository rule), ``huggingface`` and ``medium`` (soft-404 markers). The
registry imports them on first use (:func:`all_sites`, in module-name order), so adding a site
is one new module and its test; nothing else lists the sites.

``wayback`` (the Wayback Machine availability API) suggests replacements for any failing URL:
it is a service the pipeline calls, not a site with hosts.

The registry answers:

- :func:`canonical_url`: the generic rules of :mod:`monitor.urls`, then each site's rule;
- :func:`kind_for`: a site's catalog kind for a URL (None when no site knows it);
- :func:`site_markers`: every site's soft-404 and bot-wall markers;
- :func:`site_for`: the site whose hosts match a URL (its probe replaces the generic fetch);
- :func:`prepare` and :func:`site_events`: the sites' batch step and ``updated`` events.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from typing import TYPE_CHECKING, Any

from monitor.sites.base import Marker, ProbeContext, ProbeResult, Site
from monitor.urls import InvalidURL, host_of, parse, unparse
from monitor.vocabulary import EventDraft, Target

if TYPE_CHECKING:
    from monitor.config import Settings

__all__ = ["Marker", "ProbeContext", "ProbeResult", "Site", "all_sites", "canonical_url",
           "kind_for", "prepare", "site_events", "site_for", "site_markers"]

_NOT_SITES = frozenset({"base", "wayback"})


@functools.cache
def all_sites() -> tuple[Site, ...]:
    """Every site of this package, in module-name order (imported on the first call)."""
    found = []
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if module in _NOT_SITES or module.startswith("_"):
            continue
        site = getattr(importlib.import_module(f"{__name__}.{module}"), "SITE", None)
        if isinstance(site, Site):
            found.append(site)
    return tuple(found)


def canonical_url(url: str) -> str:
    """The canonical spelling of ``url`` (SPEC §5; the rules: :mod:`monitor.urls`, then each
    site's own), e.g. ``"https://www.youtube.com/watch?v=ID"`` for ``"https://youtu.be/ID?si=x"``.

    Raises InvalidURL: empty, unparsable, without a host, or not http/https (message
    ``"not http/https: ftp://..."``).
    """
    parts = parse(url)
    if parts.netloc == parts.host:  # no userinfo or explicit port: site rules apply
        for site in all_sites():
            if site.canonical is not None:
                parts = site.canonical(parts)
    return unparse(parts)


def kind_for(canonical: str) -> str | None:
    """The catalog kind a site gives its URL ``canonical`` (a canonical URL), or None."""
    for site in all_sites():
        if site.kind is not None and (kind := site.kind(canonical)):
            return kind
    return None


@functools.cache
def site_markers() -> tuple[Marker, ...]:
    """Every site's markers, sites in registry order, each site's in its own order."""
    return tuple(m for site in all_sites() for m in site.markers)


_BY_ORIGIN: dict[str, Site | None] = {}  # site_for's answers by "scheme://netloc"
_ORIGIN = re.compile(r"[^:/?#]+://[^/?#]*")


def site_for(url: str) -> Site | None:
    """The site with a probe whose hosts match ``url``'s host, or None.

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
    found = next((s for s in all_sites() if s.probe is not None and s.matches(host)), None)
    if key is not None:
        if len(_BY_ORIGIN) >= 100_000:
            _BY_ORIGIN.clear()
        _BY_ORIGIN[key] = found
    return found


def prepare(targets: list[Target], settings: Settings, ctx: ProbeContext) -> None:
    """Run each site's ``prepare`` on its targets; results go to ``ctx.data[site.name]``."""
    for site in all_sites():
        if site.prepare is None:
            continue
        mine = [t for t in targets if site_for(t.url) is site]
        if mine:
            ctx.data[site.name] = site.prepare(mine, settings, ctx)


def site_events(name: str | None, old: dict[str, Any], new: dict[str, Any]) -> list[EventDraft]:
    """The ``updated`` events of site ``name`` between its stored and its new probe info."""
    site = next((s for s in all_sites() if s.name == name), None)
    if site is None or site.events is None or not new:
        return []
    return site.events(old or {}, new)

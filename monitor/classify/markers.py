"""Markers of soft 404s and bot walls, as data: one row per marker, each with its source.

:data:`MARKERS` is every site's own markers (:func:`monitor.sites.site_markers`: GitHub, Hugging
Face, arXiv, Medium, YouTube), then the generic ones below, which apply on any host; the first
match wins. A marker (:class:`~monitor.sites.base.Marker`) matches the page ``<title>`` or the
first 256 KB of the decoded body, case-insensitively; a body marker names a ``needle``, a
lower-case literal every match contains, looked for with a plain substring search before the
regex runs (26x faster on ordinary pages, which contain none). Evidence for each is in
``../shared/fixtures/soft404/MARKERS_EVIDENCE.md`` and ``youtube/ERROR_BEHAVIOUR_EVIDENCE.md``.
"""

from __future__ import annotations

import functools

from monitor.sites import site_markers
from monitor.sites.base import Marker
from monitor.sites.base import body_marker as _b
from monitor.sites.base import title_marker as _m

GENERIC: tuple[Marker, ...] = (
    # --- soft 404: the page answers 200 but says the content is gone ---
    _m("generic_title_removed", "soft_404",
       r"^\s*(?:page|content|video|article|post|story)\s+(?:removed|unavailable"
       r"|no longer available)\s*$|^\s*this (?:page|content|video|article|post|story) "
       r"(?:has been (?:removed|deleted)|is (?:no longer available|unavailable))[.!]?\s*$"),
    _m("generic_title_404", "soft_404",
       r"^\s*(?:error\s*)?404\b|\b404\s*(?:error|not found)\b|^\s*(?:page|file)?\s*not found\s*$"
       r"|^\s*page not found\b|\bpage (?:does not|doesn't) exist\b"),
    # --- bot walls: the site refused the monitor; cannot verify, never dead ---
    _m("cloudflare_just_a_moment", "blocked", r"^\s*just a moment\.\.\."),
    _m("cloudflare_attention_required", "blocked", r"attention required!\s*\|\s*cloudflare"),
    _b("cloudflare_challenge_platform", "blocked", "/cdn-cgi/challenge-platform/",
       r"/cdn-cgi/challenge-platform/"),
    _b("checking_your_browser", "blocked", "checking ",
       r"checking (?:if the site connection is secure|your browser before accessing)"),
    _b("datadome_captcha", "blocked", "captcha-delivery.com", r"captcha-delivery\.com"),
    _b("perimeterx_captcha", "blocked", "px-captcha", r"px-captcha"),
    _b("verify_human", "blocked", "verify you are", r"please verify you are (?:a )?human"),
    _m("akamai_access_denied", "blocked", r"^\s*access denied\s*$"),
)
"""Markers that apply on any host, whatever the site."""



@functools.cache
def all_markers() -> tuple[Marker, ...]:
    """Every marker, in the order they are tried: the sites' (registry order), then
    :data:`GENERIC`."""
    return (*site_markers(), *GENERIC)


MARKERS: tuple[Marker, ...] = all_markers()
"""Every marker, in the order they are tried (as found at import)."""

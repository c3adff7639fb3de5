"""Markers of soft 404s and bot walls, as data: one row per marker, each with its source.

A marker matches the page ``<title>`` (``where="title"``) or the first 256 KB of the decoded
body (``where="body"``), case-insensitively, optionally only on some hosts. A body marker names a
``needle``: a lower-case literal every match contains, looked for with a plain substring search
before the regex runs (26x faster on ordinary pages, which contain none). Evidence for each is
in ``../shared/fixtures/soft404/MARKERS_EVIDENCE.md`` and ``youtube/ERROR_BEHAVIOUR_EVIDENCE.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Marker:
    """A pattern that marks a page as ``soft_404`` or ``blocked``."""

    name: str
    verdict: str  # "soft_404" or "blocked"
    where: str  # "title" or "body"
    pattern: re.Pattern[str]
    hosts: tuple[str, ...] = ()  # host suffixes it applies to; empty = any host
    needle: bytes = b""  # body markers: a literal (lower case) that every match contains

    def applies_to(self, host: str) -> bool:
        return not self.hosts or any(host == h or host.endswith("." + h) for h in self.hosts)


def _m(name: str, verdict: str, where: str, regex: str, *hosts: str) -> Marker:
    return Marker(name, verdict, where, re.compile(regex, re.I), hosts)


def _b(name: str, verdict: str, needle: str, regex: str, *hosts: str) -> Marker:
    return Marker(name, verdict, "body", re.compile(regex, re.I), hosts, needle.encode())


MARKERS: tuple[Marker, ...] = (
    # --- soft 404: the page answers 200 but says the content is gone ---
    _m("github_page_not_found", "soft_404", "title", r"^\s*page not found\s*·\s*github"),
    _m("huggingface_404", "soft_404", "title", r"^\s*404\s*[–-]\s*hugging face", "huggingface.co"),
    _b("arxiv_identifier_not_recognized", "soft_404", "not recognized",
       r"article identifier '[^']*' not recognized", "arxiv.org"),
    _b("medium_story_deleted", "soft_404", "medium story", r"the author deleted this medium story"),
    _b("medium_account_deleted", "soft_404", "medium account",
       r"the user deleted their medium account"),
    _b("youtube_playability_error", "soft_404", "playabilitystatus",
       r'"playabilityStatus":\s*\{\s*"status":\s*"ERROR"', "youtube.com"),
    _b("youtube_video_removed", "soft_404", "this video",
       r"this video (?:has been removed for violating|is no longer available because)",
       "youtube.com"),
    _m("generic_title_removed", "soft_404", "title",
       r"^\s*(?:page|content|video|article|post|story)\s+(?:removed|unavailable"
       r"|no longer available)\s*$|^\s*this (?:page|content|video|article|post|story) "
       r"(?:has been (?:removed|deleted)|is (?:no longer available|unavailable))[.!]?\s*$"),
    _m("generic_title_404", "soft_404", "title",
       r"^\s*(?:error\s*)?404\b|\b404\s*(?:error|not found)\b|^\s*(?:page|file)?\s*not found\s*$"
       r"|^\s*page not found\b|\bpage (?:does not|doesn't) exist\b"),
    # --- bot walls: the site refused the monitor; cannot verify, never dead ---
    _m("cloudflare_just_a_moment", "blocked", "title", r"^\s*just a moment\.\.\."),
    _m("cloudflare_attention_required", "blocked", "title",
       r"attention required!\s*\|\s*cloudflare"),
    _b("cloudflare_challenge_platform", "blocked", "/cdn-cgi/challenge-platform/",
       r"/cdn-cgi/challenge-platform/"),
    _b("checking_your_browser", "blocked", "checking ",
       r"checking (?:if the site connection is secure|your browser before accessing)"),
    _b("datadome_captcha", "blocked", "captcha-delivery.com", r"captcha-delivery\.com"),
    _b("perimeterx_captcha", "blocked", "px-captcha", r"px-captcha"),
    _b("verify_human", "blocked", "verify you are", r"please verify you are (?:a )?human"),
    _m("youtube_consent_wall", "blocked", "title",
       r"before you continue to youtube|antes de ir a youtube"),
    _m("akamai_access_denied", "blocked", "title", r"^\s*access denied\s*$"),
)

"""YouTube videos and playlists through oEmbed, never through the watch page's status alone.

Rules (evidence: ``../shared/fixtures/youtube/ERROR_BEHAVIOUR_EVIDENCE.md``):

- ``GET https://www.youtube.com/oembed?url=<watch or playlist URL>&format=json``:
  200 with JSON -> ok (title and channel recorded); 400 or 404 -> the video is gone; 403, or 200
  whose body is the text ``Forbidden`` -> private (both failing, then dead);
- **401 only means the owner disabled embedding**: the video exists, and is decided from the
  watch page's ``playabilityStatus``: ``OK`` and ``UNPLAYABLE`` (exists, not embeddable) -> ok;
  ``LOGIN_REQUIRED`` -> private, unless its reason is an age gate ("confirm your age",
  "age-restricted", "inappropriate": yt-dlp's rule) -> ok; ``ERROR`` -> gone. A watch page without
  a status (the EU consent wall ``consent.youtube.com`` / "Before you continue to YouTube", a
  JavaScript-only page) is never taken as content: the thumbnail
  ``https://img.youtube.com/vi/ID/0.jpg`` decides (200 exists, 404 gone; else blocked);
- other answers (429, 5xx, no connection) are classified like any fetch of the oEmbed URL.

Channels (``/@name``, ``/c/name``, ``/channel/ID``, ``/user/name``) and other pages: plain fetch
(the probe returns None). No YouTube page is ever fingerprinted as content.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from monitor.classify import Outcome, classify
from monitor.classify.rules import match_marker
from monitor.fetch import FetchResult
from monitor.sites.base import ProbeContext, ProbeResult, Site, register
from monitor.store.queries import Target
from monitor.urls import host_of, youtube_playlist_id, youtube_video_id

OEMBED = "https://www.youtube.com/oembed"
THUMBNAIL = "https://img.youtube.com/vi/{id}/0.jpg"
_PLAYABILITY = re.compile(
    rb'"playabilityStatus"\s*:\s*\{\s*"status"\s*:\s*"(?P<status>[A-Z_]+)"'
    rb'(?:\s*,\s*"reason"\s*:\s*"(?P<reason>(?:[^"\\]|\\.)*)")?')
_AGE_GATE = re.compile(r"confirm your age|age-restricted|inappropriate", re.I)


def oembed_url(page: str) -> str:
    """The oEmbed request URL for a watch or playlist URL."""
    return f"{OEMBED}?{urlencode({'url': page, 'format': 'json'})}"


def _subject(url: str) -> tuple[str, str, str] | None:
    """``(kind, id, canonical page URL)`` for a video or playlist URL, else None."""
    video = youtube_video_id(url)
    if video:
        return "video", video, f"https://www.youtube.com/watch?v={video}"
    playlist = youtube_playlist_id(url)
    if playlist:
        return "playlist", playlist, f"https://www.youtube.com/playlist?list={playlist}"
    return None


async def probe(ctx: ProbeContext, target: Target) -> ProbeResult | None:
    """Decide a video or playlist from oEmbed (see the module docstring); None for channels."""
    subject = _subject(target.url)
    if subject is None or ctx.fetcher is None:
        return None
    kind, ident, page = subject
    res = await ctx.fetcher.fetch(oembed_url(page), headers={"Accept": "application/json"})
    info: dict[str, Any] = {"kind": kind, "id": ident, "oembed": res.status}
    if res.status == 401 and kind == "video":
        return await _embedding_disabled(ctx, ident, page, info)
    return ProbeResult(_oembed_outcome(res, info, kind), info, res)


def _oembed_outcome(res: FetchResult, info: dict[str, Any], kind: str) -> Outcome:
    status = res.status
    if status == 200:
        data = _json(res.body)
        if data is None:
            if res.body.strip().lower().startswith(b"forbidden"):
                return Outcome("failing", "soft_404", 200, None,
                               "private video: oEmbed answered 200 'Forbidden'")
            return Outcome("failing", "soft_404", 200, None, "oEmbed answered 200 without JSON")
        info.update(title=data.get("title"), author=data.get("author_name"),
                    author_url=data.get("author_url"))
        return Outcome("ok", None, 200, None, None)
    if status in (400, 404):
        return Outcome("failing", "http_4xx", status, None,
                       f"{kind} does not exist: oEmbed {status}")
    if status == 403:
        return Outcome("failing", "http_4xx", 403, None, "private video: oEmbed 403")
    if status == 401:  # a playlist: it exists, embedding is disabled
        return Outcome("ok", None, 401, None, "embedding disabled by the owner")
    out = classify(res)
    return Outcome(out.outcome, out.error, out.http_status, None,
                   f"oEmbed: {out.detail or out.error or status}")


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _embedding_disabled(ctx: ProbeContext, ident: str, page: str,
                              info: dict[str, Any]) -> ProbeResult:
    """oEmbed 401: the video exists unless the watch page or the thumbnail says otherwise."""
    assert ctx.fetcher is not None
    watch = await ctx.fetcher.fetch(page)
    status, reason = playability(watch)
    info.update(playability=status)
    if status is not None:
        return ProbeResult(_from_playability(status, reason), info, watch)
    thumb = await ctx.fetcher.fetch(THUMBNAIL.format(id=ident), headers={"Accept": "image/*"})
    info.update(thumbnail=thumb.status)
    if thumb.status == 200:
        out = Outcome("ok", None, 200, None,
                      "embedding disabled by the owner; the thumbnail exists")
    elif thumb.status == 404:
        out = Outcome("failing", "soft_404", 404, None, "video gone: thumbnail 404")
    else:
        out = Outcome("blocked", "blocked", thumb.status, None,
                      "embedding disabled and neither watch page nor thumbnail could tell")
    return ProbeResult(out, info, thumb)


def playability(watch: FetchResult) -> tuple[str | None, str]:
    """``(playabilityStatus.status, reason)`` of a watch page; None for a consent wall or
    a page without a player response."""
    if watch.status != 200 or _consent_wall(watch):
        return None, ""
    match = _PLAYABILITY.search(watch.body)
    if match is None:
        return None, ""
    reason = (match.group("reason") or b"").decode("utf-8", "replace")
    return match.group("status").decode(), reason


def _consent_wall(watch: FetchResult) -> bool:
    try:
        landed = host_of(watch.final_url)
    except ValueError:
        landed = ""
    if landed == "consent.youtube.com":
        return True
    marker = match_marker(watch.final_url, watch.body, "blocked")
    return marker is not None and marker.name == "youtube_consent_wall"


def _from_playability(status: str, reason: str) -> Outcome:
    why = f"watch page playabilityStatus {status}" + (f" ({reason})" if reason else "")
    if status in ("OK", "UNPLAYABLE", "LIVE_STREAM_OFFLINE", "AGE_CHECK_REQUIRED",
                  "AGE_VERIFICATION_REQUIRED"):
        return Outcome("ok", None, 200, None, f"embedding disabled by the owner; {why}")
    if status == "LOGIN_REQUIRED":
        if _AGE_GATE.search(reason):
            return Outcome("ok", None, 200, None, f"age-restricted; {why}")
        return Outcome("failing", "soft_404", 200, None, f"private video: {why}")
    return Outcome("failing", "soft_404", 200, None, f"video gone: {why}")


SITE = register(Site("youtube", ("youtube.com", "youtu.be"), probe, fingerprint=False))

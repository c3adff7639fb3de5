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

Canonical URLs (SPEC §5): ``youtu.be/ID`` becomes ``https://www.youtube.com/watch?v=ID``;
``youtube.com`` and ``m.youtube.com`` become ``www.youtube.com`` over https. A watch URL that names
a video (``v=``) drops ``list`` and ``index``: the video is the resource, so the same video
reached from a playlist merges with the bare video. ``t`` (start time) is kept: it is not
tracking and the reader lands somewhere else. ``/playlist?list=`` URLs keep ``list``.
Kinds: a video is ``video``, a playlist ``playlist``, ``/@name``, ``/c/``, ``/channel/``,
``/user/`` pages ``channel``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from monitor.sites.base import (
    ProbeContext,
    ProbeResult,
    Site,
    body_marker,
    find_marker,
    title_marker,
)
from monitor.urls import InvalidURL, Parts, host_of, parse, query_key, query_value
from monitor.vocabulary import FetchResult, Outcome, Target

OEMBED = "https://www.youtube.com/oembed"
THUMBNAIL = "https://img.youtube.com/vi/{id}/0.jpg"
_PLAYABILITY = re.compile(
    rb'"playabilityStatus"\s*:\s*\{\s*"status"\s*:\s*"(?P<status>[A-Z_]+)"'
    rb'(?:\s*,\s*"reason"\s*:\s*"(?P<reason>(?:[^"\\]|\\.)*)")?')
_AGE_GATE = re.compile(r"confirm your age|age-restricted|inappropriate", re.I)
HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com"})
_ID_RE = re.compile(r"[A-Za-z0-9_-]{6,}\Z")
_CHANNEL_PATH = re.compile(r"^/(@[^/]+|c/|channel/|user/)")

MARKERS = (
    body_marker("youtube_playability_error", "soft_404", "playabilitystatus",
                r'"playabilityStatus":\s*\{\s*"status":\s*"ERROR"', "youtube.com"),
    body_marker("youtube_video_removed", "soft_404", "this video",
                r"this video (?:has been removed for violating|is no longer available because)",
                "youtube.com"),
    title_marker("youtube_consent_wall", "blocked",
                 r"before you continue to youtube|antes de ir a youtube"),
)
_CONSENT_WALL = MARKERS[-1:]


def canonical(parts: Parts) -> Parts:
    """The YouTube rule of :func:`monitor.sites.canonical_url` (module docstring)."""
    if parts.host == "youtu.be":
        video = parts.path.strip("/")
        if not _ID_RE.match(video):
            return parts
        query = (f"v={video}", *(s for s in parts.query if query_key(s) != "v"))
        return canonical(Parts("https", "www.youtube.com", "www.youtube.com", "/watch", query))
    if parts.host not in HOSTS:
        return parts
    query = parts.query
    if parts.path == "/watch" and query_value(query, "v"):
        query = tuple(s for s in query if query_key(s) not in ("list", "index"))
    return Parts("https", "www.youtube.com", "www.youtube.com", parts.path, query)


def _own_parts(url: str) -> Parts | None:
    """``url`` parsed and put through :func:`canonical` (None when invalid); site rules only
    apply without user info or an explicit port."""
    try:
        parts = parse(url)
    except InvalidURL:
        return None
    return canonical(parts) if parts.netloc == parts.host else parts


def youtube_video_id(url: str) -> str | None:
    """Video id of a YouTube watch, ``youtu.be``, ``/shorts/``, ``/embed/`` or ``/live/`` URL.

    Returns None for anything else (playlists, channels, other sites, invalid URLs).
    """
    parts = _own_parts(url)
    if parts is None or parts.host != "www.youtube.com":
        return None
    if parts.path == "/watch":
        return query_value(parts.query, "v") or None
    bits = parts.path.strip("/").split("/")
    if len(bits) == 2 and bits[0] in ("shorts", "embed", "live", "v") and _ID_RE.match(bits[1]):
        return bits[1]
    return None


def youtube_playlist_id(url: str) -> str | None:
    """Playlist id of a YouTube ``/playlist?list=ID`` URL (also before canonicalisation, a
    watch URL's ``list``); None otherwise."""
    try:
        parts = parse(url)
    except InvalidURL:
        return None
    if parts.host not in HOSTS or parts.path not in ("/playlist", "/watch"):
        return None
    return query_value(parts.query, "list") or None


def url_kind(url: str) -> str | None:
    """``video``, ``playlist`` or ``channel`` for those YouTube URLs, else None."""
    if youtube_video_id(url):
        return "video"
    if youtube_playlist_id(url):
        return "playlist"
    parts = _own_parts(url)
    if parts is not None and parts.host == "www.youtube.com" and _CHANNEL_PATH.match(parts.path):
        return "channel"
    return None


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
    return ProbeResult(_oembed_outcome(ctx, res, info, kind), info, res)


def _oembed_outcome(ctx: ProbeContext, res: FetchResult, info: dict[str, Any],
                    kind: str) -> Outcome:
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
    out = ctx.classify(res)
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
    return find_marker(_CONSENT_WALL, watch.final_url, watch.body) is not None


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


SITE = Site("youtube", ("youtube.com", "youtu.be"), probe, fingerprint=False, canonical=canonical,
            kind=url_kind, markers=MARKERS)

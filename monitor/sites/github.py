"""GitHub repositories through the REST API ``GET /repos/{owner}/{repo}``.

https://docs.github.com/en/rest/repos/repos#get-a-repository. The token is ``$GITHUB_TOKEN``
(sent as ``Authorization: Bearer``; it is never logged or stored). Rules:

- 200: ok; ``archived: true`` -> detail "archived" and an ``updated`` event
  ``{"what": "archived"}`` the first time; ``html_url`` different from the cataloged repository
  (renamed or transferred: the API answered ``301`` to ``/repositories/ID``, followed, see
  ``../shared/fixtures/github/``) -> ``moved`` with the new URL;
- 404 (and 410, 451): failing (``http_4xx``);
- rate limit: 403 or 429 with ``x-ratelimit-remaining: 0`` (60 requests an hour without a
  token), or a 200 that says 0 remain: this and every later repository of the run is checked by
  a plain fetch of the page instead, and the run says so once;
- anything else (401 bad token, 5xx, no connection): plain fetch of the page.

Other github.com URLs (files, issues, users) are fetched plainly and may be fingerprinted.

Canonical URLs (SPEC §5): ``www.github.com`` becomes ``github.com`` over https; on a repository
root (``/owner/repo``) the ``tab`` parameter (``?tab=readme-ov-file``) is dropped. Kind: a
repository root (or ``/tree/...``) is a ``repo``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from monitor.sites.base import ProbeContext, ProbeResult, Site, title_marker
from monitor.urls import InvalidURL, Parts, parse, query_key
from monitor.vocabulary import EventDraft, FetchResult, Outcome, Target

API = "https://api.github.com"
GONE = frozenset({404, 410, 451})
HOSTS = frozenset({"github.com", "www.github.com"})
_RESERVED = frozenset(
    {"about", "orgs", "settings", "features", "topics", "marketplace", "sponsors", "collections",
     "login", "join", "explore", "notifications", "search", "trending", "pricing", "enterprise"}
)
MARKERS = (
    title_marker("github_page_not_found", "soft_404", r"^\s*page not found\s*·\s*github"),
)


def canonical(parts: Parts) -> Parts:
    """The GitHub rule of :func:`monitor.sites.canonical_url` (module docstring)."""
    if parts.host not in HOSTS:
        return parts
    query = parts.query
    if _root(parts.path):
        query = tuple(s for s in query if query_key(s) != "tab")
    return Parts("https", "github.com", "github.com", parts.path, query)


def _root(path: str) -> tuple[str, str] | None:
    """(owner, repo) when ``path`` is exactly a repository root ``/owner/repo[/]``."""
    bits = path.strip("/").split("/")
    if len(bits) != 2 or not all(bits) or bits[0].lower() in _RESERVED:
        return None
    return bits[0], bits[1]


def github_repo(url: str) -> tuple[str, str] | None:
    """``(owner, repo)`` for a GitHub repository root or a ``/tree/...`` URL, else None.

    Deeper paths (``/blob/``, ``/issues/``, ...) and user or organisation pages give None,
    because they are not the repository itself. A ``.git`` suffix is removed from ``repo``.
    """
    try:
        parts = parse(url)
    except InvalidURL:
        return None
    if parts.netloc == parts.host:
        parts = canonical(parts)
    if parts.host != "github.com":
        return None
    bits = parts.path.strip("/").split("/")
    if len(bits) > 2 and bits[2] == "tree":
        bits = bits[:2]
    found = _root("/".join(bits))
    if not found:
        return None
    owner, repo = found
    return owner, repo.removesuffix(".git")


def url_kind(url: str) -> str | None:
    """``repo`` for a repository URL, else None."""
    return "repo" if github_repo(url) else None


def _headers() -> dict[str, str]:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def probe(ctx: ProbeContext, target: Target) -> ProbeResult | None:
    """Check one repository through the API; None -> plain fetch (see the module docstring)."""
    repo = github_repo(target.url)
    state = ctx.data.setdefault("github", {"limited": False})
    if repo is None or ctx.fetcher is None or state["limited"]:
        return None
    owner, name = repo
    res = await ctx.fetcher.fetch(f"{API}/repos/{owner}/{name}", headers=_headers())
    if _rate_limited(res):
        state["limited"] = True
        ctx.note_once(f"GitHub API rate limit reached (resets {_reset(res)}): "
                      "repositories checked by plain fetch for the rest of the run")
        if res.status != 200:
            return None
    if res.status in GONE:
        return ProbeResult(Outcome("failing", "http_4xx", res.status, None,
                                   f"GitHub API {res.status}: repository not found"),
                           {"repo": f"{owner}/{name}", "status": res.status}, res)
    data = _json(res) if res.status == 200 else None
    if data is None:
        return None
    return _repository(owner, name, data, res)


def _rate_limited(res: FetchResult) -> bool:
    return res.headers.get("x-ratelimit-remaining") == "0" and res.status in (200, 403, 429)


def _reset(res: FetchResult) -> str:
    value = res.headers.get("x-ratelimit-reset", "")
    if not value.isdigit():
        return "later"
    return datetime.fromtimestamp(int(value), UTC).isoformat(timespec="minutes")


def _json(res: FetchResult) -> dict[str, Any] | None:
    try:
        data = json.loads(res.body)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("html_url") else None


def _repository(owner: str, name: str, data: dict[str, Any], res: FetchResult) -> ProbeResult:
    html_url = str(data["html_url"])
    info = {"repo": data.get("full_name") or f"{owner}/{name}", "html_url": html_url,
            "archived": bool(data.get("archived")), "pushed_at": data.get("pushed_at"),
            "status": 200}
    notes = ["archived (read-only)"] if info["archived"] else []
    if html_url.rstrip("/").lower() != f"https://github.com/{owner}/{name}".lower():
        detail = "; ".join([f"renamed or transferred to {info['repo']}", *notes])
        return ProbeResult(Outcome("moved", None, 200, html_url, detail), info, res)
    return ProbeResult(Outcome("ok", None, 200, None, "; ".join(notes) or None), info, res)


def events(old: dict[str, Any], new: dict[str, Any]) -> list[EventDraft]:
    """``updated`` ``{"what": "archived"}`` when a repository is seen archived the first time."""
    if new.get("archived") and not old.get("archived"):
        return [EventDraft("updated", {"what": "archived", "repo": new.get("repo")})]
    return []


SITE = Site("github", ("github.com",), probe, events=events, canonical=canonical, kind=url_kind,
            markers=MARKERS)

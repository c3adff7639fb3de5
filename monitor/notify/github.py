"""One rolling GitHub issue through the REST API (SPEC §13).

Endpoints (https://docs.github.com/en/rest/issues/issues, API version 2022-11-28):

- ``GET /repos/{owner}/{repo}/issues?state=open&labels={label}&sort=created&direction=asc``:
  the open issues with the label, oldest first, paginated by the ``Link`` header
  (``<url>; rel="next"``, https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api);
  pull requests are in this list too (they carry a ``pull_request`` key) and are skipped;
- ``POST /repos/{owner}/{repo}/issues`` ``{title, body, labels}`` -> 201: create (labels are
  kept only when the token may push; otherwise GitHub silently drops them);
- ``PATCH /repos/{owner}/{repo}/issues/{number}`` ``{title, body}`` or
  ``{state: "closed", state_reason: "completed"}`` -> 200: update, close;
- ``POST /repos/{owner}/{repo}/issues/{number}/comments`` ``{body}`` -> 201: comment
  (https://docs.github.com/en/rest/issues/comments).

Headers: ``Authorization: Bearer $GITHUB_TOKEN``, ``Accept: application/vnd.github+json``,
``X-GitHub-Api-Version: 2022-11-28``. The issue is found again by its label every night, never
by a number kept on disk; with several open, the oldest is the rolling one. An issue body holds
at most 65,536 characters (422 beyond). Errors become failed outcomes: 401 (bad token), 403/429
with ``x-ratelimit-remaining: 0`` (rate limit, with its reset time), other 403 (no permission),
404 (no such repository, or the token cannot see it), 422, 5xx and no answer (retried once).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from monitor.notify.config import ChannelOutcome, NotifyConfig
from monitor.notify.http import HttpError, Response, request
from monitor.notify.safe import one_line, scrub

PER_PAGE = 50
MAX_PAGES = 20
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([\w ]+)"?')


class GitHubError(Exception):
    """A request that failed; the message is one line, without the token."""


@dataclass(frozen=True)
class Target:
    """Where the rolling issue lives: ``repo`` (owner/name), ``api_url``, ``label``, ``token``;
    ``timeout`` and ``retry_delay`` as in :class:`NotifyConfig`."""

    repo: str
    api_url: str
    label: str
    token: str
    timeout: float = 20.0
    retry_delay: float = 2.0

    @classmethod
    def from_config(cls, config: NotifyConfig) -> Target:
        """The target of ``config`` (``GITHUB_TOKEN`` from ``config.env``)."""
        return cls(config.github_repo.strip(), config.github_api_url.rstrip("/"),
                   config.github_label, config.github_token(), config.timeout, config.retry_delay)

    @property
    def channel(self) -> str:
        """How the outcome names it: ``github:owner/name``."""
        return f"github:{self.repo}"

    def problem(self) -> str:
        """What makes the target unusable, "" when nothing does."""
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", self.repo):
            return f"notify.github.repo {self.repo!r} is not owner/name"
        if not self.label or "," in self.label:
            return "notify.github.label must be one label name, without a comma"
        if urlsplit(self.api_url).scheme not in ("http", "https"):
            return "notify.github.api_url must be an http(s) URL"
        return "" if self.token else "GITHUB_TOKEN is not set"

    def headers(self) -> dict[str, str]:
        """The request headers, with the token."""
        return {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "monitor-notify", "Authorization": f"Bearer {self.token}"}


def _reset(resp: Response) -> str:
    value = resp.headers.get("x-ratelimit-reset", "")
    if not value.isdigit():
        return "later"
    return datetime.fromtimestamp(int(value), UTC).strftime("%H:%M UTC")


def _explain(resp: Response) -> str:
    """A failed answer in words."""
    data = resp.json()
    said = one_line(data.get("message"), 120) if isinstance(data, dict) else ""
    rate_limited = resp.headers.get("x-ratelimit-remaining") == "0"
    if resp.status in (403, 429) and rate_limited:
        return f"GitHub API rate limit reached (resets {_reset(resp)})"
    known = {401: "GitHub refused the token (401): check GITHUB_TOKEN",
             403: "GitHub refused (403): the token needs the issues: write permission",
             404: "repository not found (404), or the token cannot see it",
             422: "GitHub rejected the request (422)"}
    text = known.get(resp.status, f"GitHub answered {resp.status}")
    return f"{text}: {said}" if said and resp.status != 401 else text


def _call(target: Target, method: str, url: str, payload: Any = None) -> Response:
    """One API request, retried once on 5xx or no answer; raises GitHubError when it fails."""
    for attempt in (1, 2):
        try:
            resp = request(method, url, target.headers(), payload, timeout=target.timeout)
        except HttpError as err:
            problem = str(err)
        else:
            if resp.status < 300:
                return resp
            problem = _explain(resp)
            if resp.status < 500:
                break
        if attempt == 1 and target.retry_delay > 0:
            time.sleep(target.retry_delay)
    raise GitHubError(scrub(problem, [target.token]))


def _next_page(resp: Response, target: Target) -> str | None:
    for url, rel in _LINK.findall(resp.headers.get("link", "")):
        if "next" in rel.split():
            if urlsplit(url).netloc != urlsplit(target.api_url).netloc:
                raise GitHubError("the next page link leaves the API host")
            return url
    return None


def open_issues(target: Target) -> list[dict[str, Any]]:
    """The open issues carrying ``target.label``, oldest first (every page, pull requests
    left out)."""
    query = urlencode({"state": "open", "labels": target.label, "sort": "created",
                       "direction": "asc", "per_page": PER_PAGE})
    url: str | None = f"{target.api_url}/repos/{target.repo}/issues?{query}"
    found: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        if url is None:
            return found
        resp = _call(target, "GET", url)
        page = resp.json()
        if not isinstance(page, list):
            raise GitHubError("the issue list is not a JSON list")
        found += [i for i in page if isinstance(i, dict) and "pull_request" not in i
                  and isinstance(i.get("number"), int)]
        url = _next_page(resp, target)
    raise GitHubError(f"more than {MAX_PAGES} pages of open issues labelled {target.label!r}")


def _issue_url(target: Target, number: int, tail: str = "") -> str:
    return f"{target.api_url}/repos/{target.repo}/issues/{quote(str(number))}{tail}"


def _create(target: Target, title: str, body: str) -> ChannelOutcome:
    resp = _call(target, "POST", f"{target.api_url}/repos/{target.repo}/issues",
                 {"title": title, "body": body, "labels": [target.label]})
    issue = resp.json()
    issue = issue if isinstance(issue, dict) else {}
    number, link = issue.get("number"), str(issue.get("html_url") or "")
    labels = {str(lb.get("name")) for lb in issue.get("labels", []) if isinstance(lb, dict)}
    if target.label not in labels:
        return ChannelOutcome(target.channel, False, f"created issue #{number}",
                              f"GitHub dropped the label {target.label!r} (the token cannot "
                              "set labels), so the issue will not be found again", url=link)
    return ChannelOutcome(target.channel, True, f"created issue #{number}", url=link)


def _update(target: Target, issue: dict[str, Any], title: str, body: str) -> ChannelOutcome:
    number = issue["number"]
    resp = _call(target, "PATCH", _issue_url(target, number), {"title": title, "body": body})
    data = resp.json()
    link = str((data if isinstance(data, dict) else issue).get("html_url") or "")
    return ChannelOutcome(target.channel, True, f"updated issue #{number}", url=link)


def _close(target: Target, issue: dict[str, Any], comment: str) -> ChannelOutcome:
    number = issue["number"]
    _call(target, "POST", _issue_url(target, number, "/comments"), {"body": comment})
    _call(target, "PATCH", _issue_url(target, number),
          {"state": "closed", "state_reason": "completed"})
    return ChannelOutcome(target.channel, True, f"closed issue #{number}",
                          url=str(issue.get("html_url") or ""))


def _guarded(target: Target, action: Callable[[], ChannelOutcome]) -> ChannelOutcome:
    if problem := target.problem():
        return ChannelOutcome(target.channel, False, "failed", problem)
    try:
        return action()
    except GitHubError as err:
        return ChannelOutcome(target.channel, False, "failed", str(err))
    except Exception as err:  # an answer of an unexpected shape: never out of the module
        return ChannelOutcome(target.channel, False, "failed",
                              f"unexpected answer from GitHub ({type(err).__name__})")


def roll_issue(target: Target, want: str, title: str, body: str,
               close_comment: str) -> ChannelOutcome:
    """Bring the rolling issue to ``want``: ``"open"`` (update the open one, or create it) or
    ``"close"`` (comment and close the open one, if any). Never raises."""

    def act() -> ChannelOutcome:
        issues = open_issues(target)
        if want == "open":
            return _update(target, issues[0], title, body) if issues else _create(
                target, title, body)
        if not issues:
            return ChannelOutcome(target.channel, True, "no open issue")
        return _close(target, issues[0], close_comment)

    return _guarded(target, act)


def check(target: Target) -> ChannelOutcome:
    """``--test``: can the token list the repository's issues? Changes nothing."""

    def act() -> ChannelOutcome:
        n = len(open_issues(target))
        return ChannelOutcome(target.channel, True,
                              f"token accepted, {n} open issue(s) labelled {target.label!r}")

    return _guarded(target, act)

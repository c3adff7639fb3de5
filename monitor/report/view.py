"""The report's view model: what needs action, in what order, said in words; the trend chart.

Pure functions over :class:`~monitor.report.model.ReportData`, shared by HTML and Markdown.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from monitor.report.model import ReportData

ERROR_WORDS = {
    "dns": "the host name does not resolve",
    "connect": "the connection was refused or dropped",
    "timeout": "no answer within the time limit",
    "tls": "the TLS certificate was rejected",
    "too_many_redirects": "too many redirects",
    "redirect_loop": "the redirects go round in a loop",
    "soft_404": "the page says the content is gone",
    "invalid_url": "the URL (or a redirect's Location) is not valid",
    "blocked": "the site refused the monitor",
    "body_too_large": "the page is larger than the size limit",
}
# urgency: lower is more urgent
KIND_ORDER = {"new_dead": 0, "dead": 1, "moved": 2, "anchor": 3, "failing": 4, "changed": 5,
              "updated": 6}
KIND_LABEL = {"new_dead": "newly dead", "dead": "dead", "moved": "moved", "anchor": "anchor gone",
              "failing": "failing", "changed": "changed", "updated": "updated"}
FIX_COMMAND = "monitor fix"
"""Shows every edit of the catalog sources as a diff (``--apply`` makes them): SPEC §12."""
FIXABLE = frozenset({"new_dead", "dead", "moved", "anchor"})
"""The actions ``monitor fix`` acts on (a dead link only when it has an archived copy)."""


def error_in_words(error: str | None, status: int | None) -> str:
    """A short sentence for an error class and HTTP status ("HTTP 404 Not Found")."""
    if error in ("http_4xx", "http_5xx") or (status and status >= 400 and error == "blocked"):
        try:
            phrase = HTTPStatus(status or 0).phrase
        except ValueError:
            phrase = "error"
        prefix = "server error: " if error == "http_5xx" else ""
        return f"{prefix}HTTP {status} {phrase}"
    return ERROR_WORDS.get(error or "", error or "unknown error")


@dataclass
class Action:
    """One line of *Needs action*: a resource, why, and what to do."""

    kind: str  # a key of KIND_ORDER
    resource: dict[str, Any]
    why: str
    replacement: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return KIND_LABEL[self.kind]

    @property
    def order(self) -> tuple[int, str, str]:
        return KIND_ORDER[self.kind], self.resource.get("section") or "", self.resource["url"]


def _failure_why(r: dict[str, Any]) -> str:
    why = error_in_words(r["error"], r["http_status"])
    if r["error"] == "soft_404" and r.get("detail"):
        why = f"{why} ({r['detail']})"
    if r.get("failing_since"):
        nights = r["consecutive_failures"]
        why += f"; failing since {r['failing_since'][:10]} ({nights} run{'s' * (nights != 1)})"
    return why


def _events_by(data: ReportData, kind: str) -> dict[str, dict[str, Any]]:
    return {e["url"]: e for e in data.events if e["kind"] == kind}


def _state_actions(data: ReportData) -> list[Action]:
    new_dead = _events_by(data, "went_dead")
    out = []
    for r in data.resources:
        state = r["state"]
        if state == "dead":
            kind = "new_dead" if r["url"] in new_dead else "dead"
            out.append(Action(kind, r, _failure_why(r), r.get("suggested_url")))
        elif state == "failing":
            out.append(Action("failing", r, _failure_why(r), r.get("suggested_url")))
        elif state == "moved":
            out.append(Action("moved", r, "permanent redirect", r["final_url"]))
        if r.get("anchor_missing") and state not in ("dead", "failing", "moved"):
            out.append(Action("anchor", r, f"the page no longer has the anchor "
                                           f"#{r['anchor_missing']}", r["url"].split("#")[0]))
    return out


def _change_actions(data: ReportData) -> list[Action]:
    changed = _events_by(data, "changed")
    updated = [e for e in data.events if e["kind"] == "updated"]
    wanted = changed.keys() | {e["url"] for e in updated}
    by_url = {r["url"]: r for r in data.resources if r["url"] in wanted}
    out = []
    for url, event in changed.items():
        if url in by_url:
            d = event.get("detail") or {}
            sim = d.get("similarity", by_url[url].get("similarity"))
            why = f"content changed (similarity {sim:.2f})" if sim is not None else "changed"
            out.append(Action("changed", by_url[url], why, None,
                              {"removed": d.get("removed", ""), "added": d.get("added", "")}))
    for event in updated:
        if event["url"] in by_url:
            out.append(Action("updated", by_url[event["url"]], describe_update(event["detail"])))
    return out


def describe_update(detail: dict[str, Any] | None) -> str:
    """Words for an ``updated`` event detail (new paper version, archived repo, new commit)."""
    d = detail or {}
    what = d.get("what")
    if what == "version":
        return f"new version: v{d.get('old')} → v{d.get('new')}"
    if what == "archived":
        return "the repository was archived (read-only)"
    if what == "withdrawn":
        return "the paper was withdrawn"
    return str(d.get("note") or what or "updated")


def actions(data: ReportData) -> list[Action]:
    """Everything that needs the maintainer, most urgent first."""
    return sorted(_state_actions(data) + _change_actions(data), key=lambda a: a.order)


def fix_command(action: Action) -> str | None:
    """The command that edits the catalog sources for this action (``monitor fix``: moved,
    dead with an archived copy, anchor gone), or None when there is nothing it can edit."""
    if action.kind not in FIXABLE or not action.replacement:
        return None
    return FIX_COMMAND


def count_deltas(data: ReportData) -> dict[str, int | None]:
    """Per state, the change of the count since the previous run (None without one)."""
    counts, prev = data.counts(), data.previous
    return {s: (n - prev[s] if prev and s in prev else None) for s, n in counts.items()}


def triage_commands(s: dict[str, Any]) -> tuple[str, str]:
    """The exact ``monitor suggestions accept/reject`` commands for a suggestion."""
    accept = f"monitor suggestions accept {s['id']}"
    if s.get("section"):
        accept += f" --section {shlex.quote(s['section'])}"
    return accept, f"monitor suggestions reject {s['id']} --reason {shlex.quote('not a fit')}"


def first_sentences(text: str | None, limit: int = 280) -> str:
    """The first sentences of an abstract, at most ``limit`` characters."""
    words = " ".join((text or "").split())
    if len(words) <= limit:
        return words
    cut = words[:limit]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    return cut[: end + 1] if end > limit // 3 else cut.rsplit(" ", 1)[0] + " …"

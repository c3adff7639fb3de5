"""The report's view model: what needs action, in what order, said in words; the trend chart.

Pure functions over :class:`~monitor.report.model.ReportData`, shared by HTML and Markdown.
"""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from monitor.report.model import ReportData
from monitor.vocabulary import RANKING_LEXICAL, RANKING_SEMANTIC

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


@dataclass(frozen=True)
class RankingLine:
    """What the report says near the suggestions about how they were ranked; ``warn`` when
    some were ranked lexically (no embedding model)."""

    text: str
    warn: bool


def run_note(data: ReportData) -> str:
    """The run's note for the header banner: every line but a semantic ranking line (that one is
    shown near the suggestions; a lexical one is shown in both places)."""
    note = (data.run or {}).get("note") or ""
    return "\n".join(line for line in note.splitlines()
                     if not line.startswith(RANKING_SEMANTIC))


def ranking_line(data: ReportData) -> RankingLine | None:
    """How the open suggestions (and the run's own watch) were ranked, in words; None when
    neither says (no suggestion, no watch)."""
    note = (data.run or {}).get("note") or ""
    run_ranking = next((line for line in note.splitlines() if line.startswith("ranking: ")), "")
    counts = Counter(s.get("ranking") or "" for s in data.suggestions)
    lexical = {r: n for r, n in counts.items() if r.startswith(RANKING_LEXICAL)}
    total = len(data.suggestions)
    if lexical:
        why, n = max(lexical.items(), key=lambda rn: rn[1])
        share = "all" if n == total else f"{sum(lexical.values())} of {total}"
        return RankingLine(f"Ranked lexically (by word overlap with the handbook's sections) "
                           f"for {share} suggestions: {_detail(why)}. Set arxiv.model or "
                           "arxiv.model_path to rank by meaning.", True)
    if run_ranking.startswith(RANKING_LEXICAL):
        return RankingLine(f"This run ranked lexically: {_detail(run_ranking)}.", True)
    semantic = run_ranking or next((r for r in counts if r.startswith(RANKING_SEMANTIC)), "")
    if semantic:
        return RankingLine(f"Ranked by meaning: embedding similarity ({_detail(semantic)}) with "
                           "the handbook's chapters and the papers accepted so far, pushed down "
                           "near rejected ones.", False)
    return None


def _detail(ranking: str) -> str:
    """``"ranking: lexical (no model: x)"`` -> ``"no model: x"``."""
    kind, _, rest = ranking.partition(" (")
    return rest[:-1] if rest.endswith(")") else rest or kind

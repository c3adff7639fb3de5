"""Markdown report: the HTML report's content, compact, within one GitHub issue body.

GitHub rejects issue bodies over 65,536 characters; every list is cut to fit with a line that
says how many items were left out.
"""

from __future__ import annotations

import re
from typing import Any

from monitor.report import titles, view
from monitor.report.links import safe_href
from monitor.report.model import ReportData

GITHUB_ISSUE_LIMIT = 65_536
_SPECIALS = "\\`*_[]<>|#!~"
_ZWSP = "\u200b"
_PINGS = re.compile(r"(@)(?=[\w-])|(#)(?=\d)|\b(GH)(?=-\d)", re.IGNORECASE)


def md_escape(text: Any) -> str:
    """Escape Markdown and HTML specials in outside text (titles, errors); one line. No
    ``@mention`` and no ``#123`` / ``GH-123`` reference stays live where the Markdown is read
    (a GitHub issue): a zero-width space follows the ``@``, ``#`` or ``GH``."""
    out = " ".join(str(text or "").split())
    out = _PINGS.sub(lambda m: m.group() + _ZWSP, out)
    for ch in _SPECIALS:
        out = out.replace(ch, "\\" + ch)
    return out


def md_link(url: str | None, text: str | None = None) -> str:
    """A Markdown link for an http(s) URL; any other URL is shown as escaped text."""
    label = md_escape(text or url)
    href = safe_href(url)
    if href is None:
        return label
    return f"[{label}](<{href.replace('<', '%3C').replace('>', '%3E').replace(' ', '%20')}>)"


def md_code(text: str) -> str:
    """An inline code span holding ``text`` literally, whatever backticks it contains."""
    text = " ".join(text.split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _title(r: dict[str, Any]) -> str:
    """The resource's title (the page's own when the link text is weak, then the link text in
    quotes), neutralised; or its link."""
    shown, context = titles.lead(r)
    if not r.get("title") and not context and shown == titles.clean(r["url"], 300):
        return md_link(r["url"])
    return md_escape(shown) + (f" (“{md_escape(context)}”)" if context else "")


def _action(a: view.Action) -> str:
    r = a.resource
    line = f"- **{a.label}** {_title(r)} — {md_link(r['url'])}"
    line += f": {md_escape(a.why)}"
    if a.kind in ("moved", "anchor"):
        line += f" → {md_link(a.replacement)}"
    elif a.replacement:
        line += f"; archived copy {md_link(a.replacement)}"
    if a.kind == "changed" and (a.extra.get("removed") or a.extra.get("added")):
        line += (f"  \n  removed: {md_escape(a.extra.get('removed'))[:200]}  \n"
                 f"  added: {md_escape(a.extra.get('added'))[:200]}")
    if r.get("section"):
        line += f" _({md_escape(r['section'])})_"
    command = view.fix_command(a)
    if command:
        where = f"{md_code(r['source'])}: " if r.get("source") else ""
        line += f"  \n  fix {where}{md_code(command)}"
    elif r.get("source"):
        line += f" {md_code(r['source'])}"
    return line


def _suggestion(rank: int, s: dict[str, Any]) -> str:
    accept, reject = view.triage_commands(s)
    names = s.get("authors") or []
    authors = ", ".join(names[:4]) + (" et al." if len(names) > 4 else "")
    terms = md_escape(", ".join(s.get("matched_terms") or []))
    why = s.get("explanation") or ""
    where = (f"{md_escape(why)}{'; terms: ' + terms if terms else ''}"
             if why.startswith("close to: ") else
             f"matches {md_escape(s.get('section'))}"
             f"{' › ' + md_escape(s['chapter']) if s.get('chapter') else ''}"
             f"{': ' + terms if terms else ''}")
    return (f"{rank}. **{s['score']:.2f}** {md_link(s['url'], s['title'])} — "
            f"{md_escape(authors)}, {(s.get('published') or '')[:10]}  \n"
            f"   {where}  \n"
            f"   {md_escape(view.first_sentences(s.get('abstract'), 200))}  \n"
            f"   {md_code(accept)} · {md_code(reject)}")


def _ranking(data: ReportData) -> list[str]:
    """The line saying how the suggestions were ranked (bold when lexically), and a blank."""
    line = view.ranking_line(data)
    if line is None:
        return []
    text = md_escape(line.text)
    return [f"**{text}**" if line.warn else f"_{text}_", ""]


def _fit(lines: list[str], budget: int, what: str) -> list[str]:
    out, used = [], 0
    for i, line in enumerate(lines):
        if used + len(line) + 1 > budget - 80:
            out.append(f"- … {len(lines) - i} more {what} not shown (see the HTML report)")
            break
        out.append(line)
        used += len(line) + 1
    return out


def _header(data: ReportData) -> list[str]:
    run = data.run
    lines = ["# Link health report", ""]
    if run:
        lines.append(f"Run {run['id']} · {run['started_at'][:16].replace('T', ' ')} UTC · "
                     f"{data.duration() or '?'} · {run['checked']} checked · **{run['status']}**")
        if run["status"] == "degraded":
            lines += ["", "> **Degraded run:** the network looked down; no link was marked "
                      "failing or dead."]
        elif view.run_note(data):
            lines += ["", f"> {md_escape(view.run_note(data))}"]
    deltas = view.count_deltas(data)
    lines += ["", " · ".join(f"{s} **{n}**" + (f" ({deltas[s]:+d})" if deltas[s] else "")
                            for s, n in data.counts().items()), ""]
    return lines


def _sections(data: ReportData) -> list[str]:
    rows = ["| section | dead | failing | moved | blocked | ok | total |",
            "|---|--:|--:|--:|--:|--:|--:|"]
    rows += [f"| {md_escape(n)} | {c['dead']} | {c['failing']} | {c['moved']} | {c['blocked']} "
             f"| {c['ok']} | {c['total']} |" for n, c in data.sections()]
    return rows


def _trend(data: ReportData) -> list[str]:
    rows = ["| run | date | ok | moved | failing | dead | blocked |",
            "|--:|---|--:|--:|--:|--:|--:|"]
    rows += [f"| {r['id']} | {(r['started_at'] or '')[:10]} | {r['ok']} | {r['moved']} | "
             f"{r['failing']} | {r['dead']} | {r['blocked']} |" for r in data.history[-10:]]
    return rows


def render_markdown(data: ReportData, limit: int = GITHUB_ISSUE_LIMIT) -> str:
    """Render ``data`` as Markdown of at most ``limit`` characters."""
    fixed = _header(data) + ["## Health by section", ""] + _sections(data) + [
        "", "## Trend", ""] + _trend(data) + ["", f"_{len(data.resources)} resources · "
                                                 f"monitor {data.version}_", ""]
    budget = limit - sum(len(x) + 1 for x in fixed) - 400
    actions = [_action(a) for a in view.actions(data)]
    blocked = [f"- {_title(r)} {md_link(r['url'])}: "
               f"{md_escape(view.error_in_words(r['error'], r['http_status']))}"
               for r in data.by_state("blocked")]
    papers = [_suggestion(i + 1, s) for i, s in enumerate(data.suggestions)]
    parts = {"actions": (actions, 0.55), "papers": (papers, 0.3), "blocked": (blocked, 0.15)}
    shown = {k: _fit(v, int(budget * share), k) for k, (v, share) in parts.items()}
    body = (["## Needs action", ""] + (shown["actions"] or ["Nothing needs action."])
            + ["", "## Suggested papers", ""] + _ranking(data)
            + (shown["papers"] or ["No new suggestions."])
            + ["", "## Could not verify", ""] + (shown["blocked"] or ["None."]) + [""])
    head, tail = fixed[: len(_header(data))], fixed[len(_header(data)):]
    return "\n".join(head + body + tail)[:limit]

"""Markdown report: the same content as the HTML, compact, for a GitHub issue body."""

from __future__ import annotations

from monitor.report.html import needs_action
from monitor.report.links import safe_href
from monitor.report.model import ReportData

GITHUB_ISSUE_LIMIT = 65_536


def md_escape(text: str | None) -> str:
    """Escape Markdown/HTML specials in text from outside (titles, errors)."""
    if not text:
        return ""
    out = text.replace("\\", "\\\\").replace("\n", " ").replace("\r", " ")
    for ch in "`*_[]<>|#!":
        out = out.replace(ch, "\\" + ch)
    return out


def md_link(url: str | None, text: str | None = None) -> str:
    """A Markdown link for http(s) URLs; other URLs are shown as escaped code-free text."""
    label = md_escape(text or url)
    href = safe_href(url)
    if href is None:
        return label
    return f"[{label}](<{href.replace('>', '%3E').replace(' ', '%20')}>)"


def _action_line(r: dict) -> str:
    title = md_escape(r["title"]) or md_link(r["url"])
    where = f" — {md_escape(r['section'])}" if r["section"] else ""
    if r["state"] == "moved":
        return f"- **moved** {title}: {md_link(r['url'])} → {md_link(r['final_url'])}{where}"
    since = f", failing since {r['failing_since']}" if r["failing_since"] else ""
    status = f" HTTP {r['http_status']}" if r["http_status"] else ""
    new = "newly " if r.get("new") else ""
    return (f"- **{new}{r['state']}** {title}: {md_link(r['url'])} ({r['error']}{status}{since})"
            f"{where}")


def _bounded(lines: list[str], budget: int, what: str) -> list[str]:
    out, used = [], 0
    for i, line in enumerate(lines):
        if used + len(line) + 1 > budget:
            out.append(f"- … and {len(lines) - i} more {what} not shown")
            break
        out.append(line)
        used += len(line) + 1
    return out


def render_markdown(data: ReportData, limit: int = GITHUB_ISSUE_LIMIT) -> str:
    """Render ``data`` as Markdown no longer than ``limit`` characters."""
    run = data.run
    head = ["# Link health report", ""]
    if run:
        head.append(f"Run {run['id']} · {run['started_at']} · **{run['status']}**")
        if run["status"] == "degraded":
            head.append("\n> Degraded run: the network looked down; nothing was marked failing "
                        "or dead.")
    counts = data.counts()
    head += ["", " · ".join(f"{k}: {v}" for k, v in counts.items()), ""]
    actions = [_action_line(r) for r in needs_action(data)]
    blocked = [f"- {md_link(r['url'])}: {md_escape(r['detail'] or r['error'])}"
               for r in data.by_state("blocked")]
    sections = ["| section | dead | failing | moved | blocked | ok | total |",
                "|---|---|---|---|---|---|---|"]
    sections += [f"| {md_escape(n)} | {c['dead']} | {c['failing']} | {c['moved']} | "
                 f"{c['blocked']} | {c['ok']} | {c['total']} |" for n, c in data.sections()]
    footer = ["", f"_{len(data.resources)} resources · monitor {data.version}_", ""]
    fixed = "\n".join(head + sections + footer)
    budget = max(0, limit - len(fixed) - 200)
    body = ["## Needs action", ""] + (_bounded(actions, budget * 2 // 3, "items") or ["Nothing."])
    rest = budget - sum(len(x) + 1 for x in body)
    body += ["", "## Could not verify", ""]
    body += _bounded(blocked, max(0, rest), "blocked") or ["None."]
    text = "\n".join(head + body + ["", "## Health by section", ""] + sections + footer)
    return text[:limit]

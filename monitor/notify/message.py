"""The message: a title that says it all and a short Markdown body (pure functions).

Shapes::

    monitor: 2 dead, 1 moved, 5 new papers

    Run 42 · 2025-01-02 03:00 UTC · complete
    dead **5** (+2) · moved **1** (+1) · failing **3** · blocked **4** · ok **250** · unknown **0**

    ### Needs action
    - **dead** Attention Is All You Need — <https://...> _(Transformers)_ `index.md:12`
      fix: <https://web.archive.org/...>
    - … 4 more in the report

    ### New papers
    1. **0.83** A paper title — <https://arxiv.org/abs/2501.00001> _(Agents)_

    Full report: <https://reports.example.org/>

All outside text goes through :mod:`monitor.notify.safe`. The GitHub issue gets the Markdown
report (:func:`issue_body`), neutralised the same way and cut to GitHub's limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.notify.digest import STATES, Digest, DigestEvent, DigestSuggestion
from monitor.notify.policy import ACTION_ORDER as URGENCY
from monitor.notify.safe import md_text, md_url, one_line, redact_url, safe_url, unping

GITHUB_BODY_LIMIT = 65_536
MAX_ITEMS = 8
MAX_PAPERS = 5
LABELS = {"went_dead": "dead", "moved": "moved", "anchor_missing": "anchor gone",
          "changed": "changed", "updated": "updated"}
TITLE_WORDS = {"went_dead": "dead", "moved": "moved", "anchor_missing": "anchors gone",
               "changed": "changed", "updated": "updated"}
OTHER_EVENTS = ("went_failing", "recovered", "blocked")


@dataclass(frozen=True)
class Message:
    """A notification: ``title`` (plain text, one line) and ``body`` (Markdown)."""

    title: str
    body: str


def title(digest: Digest) -> str:
    """"monitor: 2 dead, 1 moved, 5 new papers"; "monitor: 3 dead still open" on a night
    without news; "monitor: all clear (250 ok)" when nothing is outstanding."""
    parts = [f"{n} {TITLE_WORDS[k]}" for k in URGENCY if (n := len(digest.events_of(k)))]
    if digest.suggestions:
        n = len(digest.suggestions)
        parts.append(f"{n} new paper{'s' if n != 1 else ''}")
    if parts:
        return "monitor: " + ", ".join(parts)
    still = [f"{digest.count(s)} {s}" for s in ("dead", "moved") if digest.count(s)]
    if still:
        return "monitor: " + ", ".join(still) + " still open"
    return f"monitor: all clear ({digest.count('ok')} ok)"


def _run_line(digest: Digest) -> str:
    run = digest.run
    when = run.started_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    return f"Run {run.id} · {when} · {md_text(run.status, 20)}"


def _counts_line(digest: Digest) -> str:
    cells = []
    for state in STATES:
        delta = digest.delta(state)
        cells.append(f"{state} **{digest.count(state)}**" + (f" ({delta:+d})" if delta else ""))
    return " · ".join(cells)


def _fix(fix: str) -> str:
    if not fix:
        return ""
    if safe_url(fix):
        return f"  \n  fix: {md_url(fix)}"
    command = re.sub(r"https?://\S+", lambda m: redact_url(m.group(0)) or "URL", one_line(fix))
    return f"  \n  fix: `{command.replace('`', '')}`"


def _item(event: DigestEvent) -> str:
    name = md_text(event.title, 120) if event.title.strip() else ""
    line = f"- **{LABELS[event.kind]}** " + (f"{name} — " if name else "") + md_url(event.url)
    if event.section:
        line += f" _({md_text(event.section, 60)})_"
    if event.source:
        line += f" {md_text(event.source, 80)}"
    return line + _fix(event.fix)


def _actions(digest: Digest) -> list[str]:
    urgent = [e for k in URGENCY for e in digest.events_of(k)]
    if not urgent:
        return []
    lines = ["### Needs action", ""] + [_item(e) for e in urgent[:MAX_ITEMS]]
    if len(urgent) > MAX_ITEMS:
        lines.append(f"- … {len(urgent) - MAX_ITEMS} more in the report")
    return lines + [""]


def _paper(rank: int, s: DigestSuggestion) -> str:
    line = f"{rank}. **{s.score:.2f}** {md_text(s.title, 160)} — {md_url(s.url)}"
    return line + (f" _({md_text(s.section, 60)})_" if s.section else "")


def _papers(digest: Digest) -> list[str]:
    best = sorted(digest.suggestions, key=lambda s: -s.score)
    if not best:
        return []
    lines = ["### New papers", ""] + [_paper(i + 1, s) for i, s in enumerate(best[:MAX_PAPERS])]
    if len(best) > MAX_PAPERS:
        lines.append(f"- … {len(best) - MAX_PAPERS} more: `monitor suggestions list`")
    return lines + [""]


def _others(digest: Digest) -> list[str]:
    words = [f"{n} {k.replace('_', ' ')}" for k in OTHER_EVENTS if (n := len(digest.events_of(k)))]
    return [f"Also: {', '.join(words)}.", ""] if words else []


def _report_link(digest: Digest) -> list[str]:
    return [f"Full report: {md_url(digest.base_url)}"] if safe_url(digest.base_url) else []


def compose(digest: Digest) -> Message:
    """The run's message: title and short Markdown body (module docstring)."""
    lines = [_run_line(digest), "", _counts_line(digest), ""]
    lines += _actions(digest) + _papers(digest) + _others(digest) + _report_link(digest)
    return Message(title(digest), "\n".join(lines).rstrip() + "\n")


def degraded(digest: Digest) -> Message:
    """The short "the network looked down" message of a degraded run."""
    lines = [_run_line(digest), "",
             "Most hosts were unreachable, so the monitor's own network was probably down. "
             "No link was marked failing or dead. There is no further message while the "
             "following runs stay degraded.", ""] + _report_link(digest)
    return Message(f"monitor: the network looked down (run {digest.run.id})",
                   "\n".join(lines).rstrip() + "\n")


def test_message() -> Message:
    """The ``monitor notify --test`` message."""
    return Message("monitor: test message",
                   "This is a test message from monitor (`monitor notify --test`). "
                   "If you can read it, this channel works.\n")


def close_comment(digest: Digest) -> str:
    """The comment that closes the rolling issue when all is clear."""
    lines = [f"All clear in run {digest.run.id} "
             f"({digest.run.started_at.strftime('%Y-%m-%d %H:%M %Z').strip()}): nothing is dead "
             "or moved and the run brought no news. Closing; a new issue opens when something "
             "needs action again."]
    return "\n\n".join(lines + _report_link(digest)) + "\n"


_SKIP = re.compile(r"(`+)[^\n]*?\1|https?://[^\s<>\"'`\])]+")


def neutralise_markdown(text: str) -> str:
    """Markdown rendered elsewhere (the report) made inert for GitHub: no ``@mention`` or
    ``#123`` outside code spans and URLs, no credentials in URLs."""
    out, last = [], 0
    for m in _SKIP.finditer(text):
        out.append(unping(text[last:m.start()]))
        out.append(re.sub(r"(https?://)[^/\s@`]+@", r"\1", m.group(0)))
        last = m.end()
    out.append(unping(text[last:]))
    return "".join(out)


def fit(text: str, limit: int = GITHUB_BODY_LIMIT, where: str = "") -> str:
    """``text`` within ``limit`` characters: cut at a line end, with a closing note saying how
    many lines and characters were left out and ``where`` to read them."""
    if len(text) <= limit:
        return text
    room = limit - 400
    cut = text.rfind("\n", 0, room)
    cut = cut if cut > 0 else room
    left = text[cut:]
    note = (f"\n\n---\n_Cut to fit GitHub's {limit:,}-character limit: "
            f"{left.count(chr(10)) + 1:,} more lines ({len(left):,} characters) are not shown"
            + (f"; the full report: {where}" if where else "") + "._\n")
    return text[:cut] + note


def issue_body(digest: Digest) -> str:
    """The rolling issue's body: the Markdown report (or the short message), inert, cut to
    :data:`GITHUB_BODY_LIMIT`."""
    text = digest.report_markdown or compose(digest).body
    where = md_url(digest.base_url) if safe_url(digest.base_url) else "`reports/latest.md`"
    return fit(neutralise_markdown(text), GITHUB_BODY_LIMIT, where)

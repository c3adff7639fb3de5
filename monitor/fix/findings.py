"""What the monitor found, as edits of the sources (SPEC §12): the rules of ``monitor fix``.

- ``moved``: the URL becomes the final URL of its permanent redirect;
- ``dead``: the URL becomes its archived copy with ``dead="archive"`` (the default) when there
  is one; otherwise, and always with ``dead="none"``, the link is only listed;
- ``anchor``: the page is there but its ``#fragment`` names no anchor any more: the URL loses
  the fragment (the link then opens the page at its top);
- a finding without a ``file:line`` source (a catalog row not extracted from the sources) is
  listed, never edited.

A moved or dead URL keeps its fragment when the new URL has none (RFC 9110 §10.2.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.fix.edit import Edit

__all__ = ["DEAD_MODES", "Finding", "edits_for"]

DEAD_MODES = ("archive", "none")


@dataclass(frozen=True)
class Finding:
    """One resource that needs action: its catalog ``url`` and ``source`` (``file:line``),
    ``reason`` (``moved``, ``dead`` or ``anchor``), the ``final_url`` of a moved one and the
    ``archive_url`` (Wayback snapshot) of a dead one."""

    url: str
    source: str
    reason: str
    final_url: str | None = None
    archive_url: str | None = None


def edits_for(findings: Iterable[Finding],
              dead: str = "archive") -> tuple[list[Edit], list[Finding]]:
    """(the edits to make, the findings only listed). Raises ValueError for an unknown
    ``dead`` mode or reason."""
    if dead not in DEAD_MODES:
        raise ValueError(f"dead must be one of {DEAD_MODES}, not {dead!r}")
    edits: list[Edit] = []
    listed: list[Finding] = []
    for finding in findings:
        new_url = _new_url(finding, dead)
        if new_url and finding.source and new_url.strip() != finding.url.strip():
            edits.append(Edit.at(finding.source, finding.url, new_url, finding.reason))
        else:
            listed.append(finding)
    return edits, listed


def _new_url(finding: Finding, dead: str) -> str | None:
    if finding.reason == "moved":
        return _keep_fragment(finding.url, finding.final_url)
    if finding.reason == "dead":
        return _keep_fragment(finding.url, finding.archive_url) if dead == "archive" else None
    if finding.reason == "anchor":
        return finding.url.strip().split("#", 1)[0]
    raise ValueError(f"unknown reason {finding.reason!r}")


def _keep_fragment(old: str, new: str | None) -> str | None:
    if not new:
        return None
    fragment = urlsplit(old.strip()).fragment
    return f"{new}#{fragment}" if fragment and "#" not in new else new

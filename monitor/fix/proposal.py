"""What ``monitor fix`` proposes: the stored findings as a plan of edits of the configured
catalog sources (SPEC §12), for the command line and the web UI.

:func:`propose` reads the active resources' states (:func:`monitor.report.model.status_objects`,
the one status object), turns what needs action into findings (``moved``: ``final_url``;
``dead``: the Wayback snapshot ``suggested_url``; ``anchor``: ``anchor_missing``), makes them
edits (:func:`~monitor.fix.findings.edits_for`) and plans them over every source file
(:func:`~monitor.fix.plan.plan_fixes`). An edit the sources already carry (its old URL is
nowhere in them and its new URL is: an earlier ``fix --apply`` before the next run) is
dropped, so a second ``fix`` finds nothing; one whose line holds neither is stale (exit 3).

Temporary files a killed ``--apply`` left beside the sources (``.NAME.*.monitor-fix``) are
removed first.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.catalog import InvalidURL, canonical_url
from monitor.catalog.sources import Sources, sources_of
from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.fix.edit import Edit
from monitor.fix.findings import Finding, edits_for
from monitor.fix.locate import find_links
from monitor.fix.plan import Plan, plan_fixes
from monitor.fix.source import NotUTF8
from monitor.report.model import status_objects
from monitor.report.titles import lead
from monitor.store.db import Database

__all__ = ["NO_SOURCES", "Proposal", "findings_of", "propose", "require_sources"]

NO_SOURCES = (
    "monitor fix edits the catalog sources, and none are configured: set catalog.sources in "
    "monitor.toml to the Markdown files the catalog is extracted from, relative to that file, "
    'e.g.\n\n[catalog]\nsources = ["../handbook/index.md", "../handbook/_includes/*.md"]')
_TEMP_SUFFIX = ".monitor-fix"  # monitor.fix.write's temporary files: .NAME.RANDOM.monitor-fix


@dataclass
class Proposal:
    """The plan of ``monitor fix`` and what it leaves alone.

    ``plan``: the edits by file (``Plan.skipped``: files not UTF-8); ``requested``: one edit
    per finding, at its catalog ``source`` (the plan also edits the other places of the same
    resource); ``listed``: findings not edited, each with why; ``done``: findings the sources
    already carry; ``titles``: the title to show per catalog URL
    (:func:`monitor.report.titles.lead`); ``removed``: leftover temporary files deleted.
    """

    sources: Sources
    plan: Plan
    requested: list[Edit] = field(default_factory=list)
    listed: list[tuple[Finding, str]] = field(default_factory=list)
    done: list[Finding] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def title(self, url: str) -> str:
        """What to call the resource whose catalog URL is ``url``."""
        return self.titles.get(url, "")


def require_sources(settings: Settings) -> Sources:
    """The configured sources; ConfigError (exit 3) saying what to configure when there are
    none, or naming a pattern that matches nothing."""
    sources = sources_of(settings)
    if sources is None:
        raise ConfigError(NO_SOURCES)
    return sources


def findings_of(resources: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """The findings of status objects (SPEC §10): a ``moved`` resource with its final URL, a
    ``dead`` one with its archived copy (or none), an ``anchor_missing`` one that is neither
    failing, dead nor moved (those edits change the whole URL)."""
    out: list[Finding] = []
    for r in resources:
        url, source, state = r["url"], r.get("source") or "", r["state"]
        if state == "moved" and r.get("final_url"):
            out.append(Finding(url, source, "moved", final_url=r["final_url"]))
        elif state == "dead":
            out.append(Finding(url, source, "dead", archive_url=r.get("suggested_url")))
        elif r.get("anchor_missing") and state not in ("failing", "dead", "moved"):
            out.append(Finding(url, source, "anchor"))
    return out


def propose(db: Database, settings: Settings, *, dead: str = "archive",
            wanted: Callable[[Edit], bool] | None = None) -> Proposal:
    """Plan the fixes of the stored findings in the configured sources (module docstring).

    ``dead``: ``archive`` or ``none`` (SPEC §12); ``wanted``: keep only the edits it accepts
    (the web UI's per-item apply). Raises ConfigError without sources, StaleSource (exit 3)
    when a line no longer holds its URL, FixError when an edit cannot be made safely.
    """
    sources = require_sources(settings)
    removed = _remove_leftovers(sources.paths)
    resources = [r for r in status_objects(db) if _needs_action(r)]
    findings = findings_of(resources)
    edits, listed = edits_for(findings, dead)
    present = _written_keys(sources.paths)
    done = [e for e in edits if _already_done(e, present)]
    todo = [e for e in edits if e not in done and (wanted is None or wanted(e))]
    plan = plan_fixes(sources.root, todo, sources.paths)
    by_url = {f.url: f for f in findings}
    return Proposal(sources, plan, todo, [(f, _why_listed(f, dead)) for f in listed],
                    [by_url[e.old_url] for e in done if e.old_url in by_url],
                    {r["url"]: lead(r)[0] for r in resources}, removed)


def _needs_action(r: Mapping[str, Any]) -> bool:
    return r["state"] in ("moved", "dead") or bool(r.get("anchor_missing"))


def _why_listed(finding: Finding, dead: str) -> str:
    if not finding.source:
        return "not from the sources (its catalog row has no file:line)"
    if finding.reason == "dead" and dead == "none":
        return "dead (--dead none)"
    if finding.reason == "dead":
        return "dead, and the Wayback Machine has no copy: edit by hand"
    return "nothing to change"


def _key(url: str, with_fragment: bool) -> str | None:
    """A URL as the sources' links are compared: canonical (SPEC §5), with its fragment for
    an anchor. None for a URL that is not http(s)."""
    try:
        canonical = canonical_url(url)
    except InvalidURL:
        return None
    fragment = urlsplit(url.strip()).fragment
    return canonical + ("#" + fragment if with_fragment and fragment else "")


def _written_keys(paths: Iterable[Path]) -> set[str]:
    """The key of every link in the sources, canonical and with its fragment (files that
    cannot be read or decoded left out: the plan reports them)."""
    keys: set[str] = set()
    for path in paths:
        try:
            links = find_links(path.read_bytes())
        except (OSError, NotUTF8):
            continue
        for link in links:
            keys.update(k for k in (_key(link.href, False), _key(link.href, True)) if k)
    return keys


def _already_done(edit: Edit, present: set[str]) -> bool:
    """Whether the sources already carry ``edit``: its old URL nowhere, its new URL there."""
    anchor = edit.reason == "anchor"
    old, new = _key(edit.old_url, anchor), _key(edit.new_url, anchor)
    return old is not None and old not in present and new is not None and new in present


def _remove_leftovers(paths: Iterable[Path]) -> list[str]:
    """Delete the temporary files a killed ``--apply`` left beside ``paths``."""
    removed = []
    for path in paths:
        real = Path(os.path.realpath(path))  # written through a symbolic link: beside its target
        pattern = os.path.join(glob.escape(str(real.parent)),
                               f".{glob.escape(real.name)}.*{_TEMP_SUFFIX}")
        for temp in sorted(glob.glob(pattern)):
            with contextlib.suppress(OSError):
                os.unlink(temp)
                removed.append(temp)
    return removed

"""Fixes in the catalog sources: the handbook's Markdown, edited where its links are (SPEC §12).

The stages, each a module::

    source.py   bytes -> SourceText (UTF-8, BOM, lines numbered as extraction numbers them)
    locate.py   SourceText -> Outline: links with the byte span of each URL, headings, lists
    escape.py   a new URL -> the text that reads as that URL at a link's place
    edit.py     Edit, apply_edits(SourceText, edits) -> new bytes (verified by parsing again)
    findings.py edits_for(findings, dead) -> (edits, listed): the rules of ``monitor fix``
    plan.py     plan_fixes(root, edits, files) -> Plan: every file's new bytes, files skipped
    diff.py     Plan.diff(): a unified diff that ``git apply`` accepts in the sources' folder
    write.py    Plan.apply(): every file written atomically, all or none
    insert.py   place_paper(...): an accepted paper as a list item in its chapter's list

Typical use (``monitor fix``)::

    edits, listed = edits_for([Finding(r.url, r.source, "moved", final_url=r.final_url), ...])
    plan = plan_fixes(sources_folder, edits, files=source_paths)   # StaleSource: exit 3
    sys.stdout.buffer.write(plan.diff())  # or plan.to_json(), or plan.apply()

Errors: :class:`FixError` (exit 3) and its subclass :class:`StaleSource`; a file that is not
UTF-8 is a :class:`Skipped` value in ``Plan.skipped``, never an exception.
"""

from __future__ import annotations

from monitor.fix.diff import unified_diff
from monitor.fix.edit import REASONS, Edit, FixError, StaleSource, apply_edits
from monitor.fix.findings import DEAD_MODES, Finding, edits_for
from monitor.fix.insert import Insertion, Placement, arxiv_abs_url, insert_item, place_paper
from monitor.fix.locate import Link, find_links, outline
from monitor.fix.plan import Change, Plan, Skipped, plan_fixes
from monitor.fix.source import NotUTF8, SourceText
from monitor.fix.write import write_changes

__all__ = [
    "DEAD_MODES", "REASONS", "Change", "Edit", "Finding", "FixError", "Insertion", "Link",
    "NotUTF8", "Placement", "Plan", "Skipped", "SourceText", "StaleSource", "apply_edits",
    "arxiv_abs_url", "edits_for", "find_links", "insert_item", "outline", "place_paper",
    "plan_fixes", "unified_diff", "write_changes",
]

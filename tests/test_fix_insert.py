"""Inserting accepted papers (monitor.fix.insert): the right list, its style, line endings,
hostile titles, and the real handbook. Cases: tests/cases/fix_links.yaml ``inserts``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.catalog.extract import extract
from monitor.fix import FixError, arxiv_abs_url, find_links, insert_item, place_paper
from monitor.fix.insert import inline_text
from tests.fixcases import CASES, case_bytes, git, git_repo, handbook_copy, handbook_paths, ids

INSERT_CASES = CASES["inserts"]


@pytest.mark.parametrize("case", INSERT_CASES, ids=ids(INSERT_CASES))
def test_insert_case(case: dict[str, Any]) -> None:
    data = case_bytes(case, "source")
    options = {"chapter": case.get("chapter", ""), "section": case.get("section", ""),
               "authors": case.get("authors", ())}
    if "error" in case:
        with pytest.raises(FixError) as info:
            insert_item(data, case["title"], case["url"], **options)
        assert case["error"] in str(info.value)
        return
    done = insert_item(data, case["title"], case["url"], **options)
    assert done.new == case_bytes(case, "result")
    assert (done.line, done.how) == (case["line"], case["how"])
    links = [link for link in find_links(done.new) if link.href == case["url"]]
    assert [link.line for link in links] == [case["line"]]


def test_inline_text_reads_as_the_title() -> None:
    """The escaped title renders as the title (whitespace collapsed), nothing more."""
    from markdown_it import MarkdownIt

    title = "A *star* [b] `c` <d> & e_f \\ g ~h~ $x$ #1 !i | {{ j }}"
    rendered = MarkdownIt("commonmark").renderInline(inline_text(title))
    assert rendered == ("A *star* [b] `c` &lt;d&gt; &amp; e_f \\ g ~h~ $x$ #1 !i | "
                        "&#123;{ j }}").replace("&#123;", "{")


def test_arxiv_ids() -> None:
    assert arxiv_abs_url(" 2401.12345v2 ") == "https://arxiv.org/abs/2401.12345v2"
    assert arxiv_abs_url("hep-th/9901001") == "https://arxiv.org/abs/hep-th/9901001"
    for bad in ("2401.1234)", "../x", "2401.12345 [x](y)", ""):
        with pytest.raises(FixError):
            arxiv_abs_url(bad)


def test_place_paper_in_the_handbook(tmp_path: Path) -> None:
    """The chapter's list in the real handbook; the diff applies; extraction then finds the
    paper in the right section and chapter, at the line returned."""
    root = handbook_copy(tmp_path)
    git_repo(root)
    rows, _ = extract(handbook_paths(root))
    placed = place_paper(root, rows, "Section III: Foundations for Modern Language Modeling",
                         "Scaling Laws", "Scaling Laws\nfor `Neural` Language Models",
                         "2001.08361", ["Jared Kaplan", "Sam McCandlish", "Tom Henighan"])
    assert (placed.source, placed.how) == ("_includes/section3.md:67", "chapter")
    from monitor.fix import unified_diff

    checked = git(root, "apply", "--check", "-", stdin=unified_diff([placed.change]))
    assert checked.returncode == 0, checked.stderr.decode()
    (root / placed.change.file).write_bytes(placed.change.new)
    after, _ = extract(handbook_paths(root))
    row = next(r for r in after if r.url == "https://arxiv.org/abs/2001.08361")
    assert (row.section, row.chapter, row.source) == (
        "Section III: Foundations for Modern Language Modeling", "Scaling Laws",
        placed.source)
    assert row.title == "Scaling Laws for `Neural` Language Models"  # literal, not code
    assert len(after) == len(rows) + 1


def test_place_paper_in_a_section_without_lists(tmp_path: Path) -> None:
    root = handbook_copy(tmp_path)
    rows, _ = extract(handbook_paths(root))
    placed = place_paper(root, rows, "Section I: Foundations of Sequential Prediction",
                         "Time-Series Analysis", "A paper", "2401.00001")
    assert placed.how == "new-list"
    (root / placed.change.file).write_bytes(placed.change.new)
    after, _ = extract(handbook_paths(root))
    row = next(r for r in after if r.url == "https://arxiv.org/abs/2401.00001")
    assert (row.chapter, row.source) == ("Time-Series Analysis", placed.source)


def test_place_paper_unknown_section(tmp_path: Path) -> None:
    root = handbook_copy(tmp_path)
    rows, _ = extract(handbook_paths(root))
    with pytest.raises(FixError, match="no links in the sources"):
        place_paper(root, rows, "Section X", "", "T", "2401.00001")

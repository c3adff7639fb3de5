"""Link location (monitor.fix.locate): each link form, code, containers, agreement with
extraction. Cases: tests/cases/fix_links.yaml ``links``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from monitor.catalog import InvalidURL, canonical_url
from monitor.catalog.extract import extract
from monitor.fix import Link, NotUTF8, find_links
from tests.fixcases import CASES, DOCUMENTS, case_bytes, extraction_lines, handbook_paths, ids

LINK_CASES = CASES["links"]


def _expected_span(data: bytes, line: int, raw: str, nth: int) -> tuple[int, int]:
    lines = data.split(b"\n")
    start = sum(len(x) + 1 for x in lines[: line - 1])
    encoded = raw.encode("utf-8")
    at = -1
    for _ in range(nth + 1):
        at = lines[line - 1].find(encoded, at + 1)
        assert at >= 0, f"{raw!r} not {nth + 1} times on line {line}"
    return start + at, start + at + len(encoded)


@pytest.mark.parametrize("case", LINK_CASES, ids=ids(LINK_CASES))
def test_links_found(case: dict[str, Any]) -> None:
    data = case_bytes(case, "source")
    links = find_links(data)
    got = [(link.line, link.span, link.form) for link in links]
    expected = [(e[0], _expected_span(data, e[4] if len(e) > 4 else e[0], e[1],
                                      e[3] if len(e) > 3 else 0), e[2]) for e in case["links"]]
    assert got == expected
    for link in links:
        assert link.span is not None
        assert data[link.span[0]:link.span[1]].decode("utf-8") == link.raw


@pytest.mark.parametrize("case", LINK_CASES, ids=ids(LINK_CASES))
def test_links_agree_with_extraction(case: dict[str, Any], tmp_path: Path) -> None:
    """Same hrefs on the same lines as extraction (per link when its walk is importable; the
    first place of each http(s) URL through the public extract() always)."""
    data = case_bytes(case, "source")
    mine = [(link.href, link.line) for link in find_links(data) if link.form != "definition"]
    theirs = extraction_lines(data)
    if theirs is not None:
        assert sorted(mine) == sorted(theirs)
    path = tmp_path / "f.md"
    path.write_bytes(data)
    rows, _ = extract([path])
    assert {(row.canonical_url, row.source) for row in rows} == _first_places(mine)


def _first_places(links: list[tuple[str, int]]) -> set[tuple[str, str]]:
    first: dict[str, str] = {}
    for href, line in links:
        href = href.strip()  # extraction reads an href without the whitespace around it
        if not re.match(r"https?://", href, re.I):
            continue  # extraction's filter
        try:
            first.setdefault(canonical_url(href), f"f.md:{line}")
        except InvalidURL:
            continue
    return set(first.items())


def test_handbook_links_agree_with_extraction() -> None:
    """Every link of the real handbook: same href and line as extraction, and its bytes found."""
    paths = handbook_paths(Path(__file__).resolve().parents[2] / "shared" / "handbook")
    if not paths[0].is_file():
        pytest.skip("handbook not found")
    total = 0
    for path in paths:
        data = path.read_bytes()
        links = [link for link in find_links(data) if link.form != "definition"]
        theirs = extraction_lines(data)
        if theirs is not None:
            assert sorted((link.href, link.line) for link in links) == sorted(theirs), path
        assert all(_reads(link) for link in links), path
        total += len(links)
    assert total > 300


def _reads(link: Link) -> bool:
    return link.span is not None and link.raw.strip() != "" and (
        link.raw == link.href or link.href.startswith("%5B"))  # one handbook URL is in brackets


def test_lines_follow_extraction_for_cr_only_line_breaks() -> None:
    links = find_links(b"a\rb\r[x](https://a.com/)\r")
    assert [(link.line, link.raw) for link in links] == [(3, "https://a.com/")]


def test_not_utf8_names_the_line() -> None:
    with pytest.raises(NotUTF8) as info:
        find_links(b"ok\n[a](https://a.com/)\nbad \xff byte\n")
    assert info.value.line == 3


# ---------------------------------------------------------------- generated documents



@settings(max_examples=80, deadline=None)
@given(document=DOCUMENTS)
def test_generated_documents_agree_with_extraction(document: str) -> None:
    """Any mix of link forms, code, containers, HTML and line endings: the same (href, line)
    as extraction, and every URL's bytes found."""
    data = document.encode("utf-8")
    theirs = extraction_lines(data)
    links = find_links(data)
    if theirs is not None:
        found = [(link.href, link.line) for link in links if link.form != "definition"]
        assert sorted(found) == sorted(theirs)
    for link in links:
        assert link.span is not None
        assert data[link.span[0]:link.span[1]].decode("utf-8") == link.raw

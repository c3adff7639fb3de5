"""Edits of one file (monitor.fix.edit, monitor.fix.escape): only the URL's bytes change, the
new URL reads back exactly, stale lines are refused. Cases: tests/cases/fix_links.yaml
``edits``; escaping is also checked on generated URLs (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.fix import Edit, FixError, SourceText, StaleSource, apply_edits, find_links
from monitor.fix.escape import read_as
from tests.fixcases import CASES, DOCUMENTS, case_bytes, ids

EDIT_CASES = CASES["edits"]


def _edits(case: dict[str, Any]) -> list[Edit]:
    return [Edit("f.md", line, old, new, "moved") for line, old, new in case["edits"]]


@pytest.mark.parametrize("case", EDIT_CASES, ids=ids(EDIT_CASES))
def test_edit_case(case: dict[str, Any]) -> None:
    source = SourceText.decode(case_bytes(case, "source"))
    if "error" in case:
        with pytest.raises(FixError, match=None) as info:
            apply_edits(source, _edits(case))
        assert case["error"] in str(info.value)
        assert info.value.exit_code == 3
        return
    assert apply_edits(source, _edits(case)) == case_bytes(case, "result")


def test_stale_edits_are_all_named() -> None:
    source = SourceText.decode(b"[a](https://a.com/)\n[b](https://b.com/)\n")
    edits = [Edit("f.md", 1, "https://x.com/", "https://y.com/", "dead"),
             Edit("f.md", 2, "https://b.com/", "https://c.com/", "moved"),
             Edit("f.md", 2, "https://z.com/", "https://y.com/", "dead")]
    with pytest.raises(StaleSource) as info:
        apply_edits(source, edits)
    assert info.value.places == ("f.md:1", "f.md:2")


def test_edit_json_and_source() -> None:
    edit = Edit.at("_includes/a b.md:12", "https://a.com/", "https://b.com/", "anchor")
    assert edit.to_json() == {"file": "_includes/a b.md", "line": 12, "old_url": "https://a.com/",
                              "new_url": "https://b.com/", "reason": "anchor"}
    assert edit.source == "_includes/a b.md:12"
    with pytest.raises(ValueError):
        Edit("f.md", 1, "https://a.com/", "https://b.com/", "gone")
    with pytest.raises(ValueError):
        Edit.at("no-line", "https://a.com/", "https://b.com/", "dead")


# ---------------------------------------------------------------- escaping, generated

TEMPLATES = {
    "inline": "x [t]({}) y\n",
    "inline-title": "[t]({} \"T\")\n",
    "angle": "[t](<{}>)\n",
    "reference": "[t][r]\n\n[r]: {}\n",
    "autolink": "<{}> x\n",
    "html-double": "<a href=\"{}\">t</a>\n",
    "html-single": "<a href='{}'>t</a>\n",
    "html-unquoted": "<a href={}>t</a>\n",
    "table": "| a |\n|---|\n| [t]({}) |\n",
    "html-table": "| a |\n|---|\n| <a href=\"{}\">t</a> |\n",
}
URL_CHARS = st.sampled_from(list("abcXYZ019-._~:/?#[]@!$&'()*+,;=% <>\"\\|`{}^é😀\t"))
NEW_URLS = st.lists(URL_CHARS, max_size=20).map(lambda cs: "https://new.example/" + "".join(cs))


@pytest.mark.parametrize("template", TEMPLATES.values(), ids=TEMPLATES.keys())
@settings(max_examples=60, deadline=None)
@given(new_url=NEW_URLS)
def test_any_new_url_reads_back_exactly(template: str, new_url: str) -> None:
    """Whatever the new URL holds, the edited file reads it back as extraction reads it, and
    every byte outside the URL is the same."""
    data = template.format("https://old.example/p").encode()
    before = [link for link in find_links(data)]
    line = next(link.line for link in before if link.form != "definition")
    new = apply_edits(SourceText.decode(data), [Edit("f.md", line, "https://old.example/p",
                                                     new_url, "moved")])
    after = find_links(new)
    assert [(a.form, a.line) for a in after] == [(b.form, b.line) for b in before]
    assert all(a.href == read_as(new_url, a.form) for a in after)
    start, end = before[0].span or (0, 0)
    assert new[:start] == data[:start]
    assert new[len(new) - (len(data) - end):] == data[end:]


@settings(max_examples=40, deadline=None)
@given(document=DOCUMENTS, new_url=NEW_URLS)
def test_every_link_of_generated_documents_can_be_edited(document: str, new_url: str) -> None:
    """Each http(s) link of any generated document takes any new URL and reads it back."""
    data = document.encode("utf-8")
    for link in find_links(data):
        if link.href.startswith("http"):
            edit = Edit("f.md", link.line, link.href, new_url, "moved")
            apply_edits(SourceText.decode(data), [edit])  # verifies the read-back itself

"""Anchors (SPEC §6 ``anchor_missing``): the check of a page (monitor.classify.anchors), when
it is an event (monitor.health.anchors), and a run that records it once. Cases:
tests/cases/anchors.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.classify.anchors import anchor_of, check_anchor, slug
from monitor.health import anchor_transition
from tests.cli_helpers import monitor, status_json, write_catalog, write_config

CASES: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "anchors.yaml").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES["checks"], ids=[c["name"] for c in CASES["checks"]])
def test_check_anchor(case: dict[str, Any]) -> None:
    got = check_anchor(case["fragment"], case["body"].encode(),
                       case.get("content_type", "text/html; charset=utf-8"),
                       case.get("truncated", False))
    assert got.verdict == case["verdict"]
    assert got.fragment == case["fragment"]
    if case["verdict"] == "unknown":
        assert got.note and case["note"] in got.note and f"#{case['fragment']}" in got.note
    else:
        assert got.note is None


@pytest.mark.parametrize(("url", "fragment"), CASES["fragments"])
def test_anchor_of(url: str, fragment: str | None) -> None:
    assert anchor_of(url) == fragment


@pytest.mark.parametrize(("stored", "url", "verdict", "expected"), CASES["transitions"])
def test_anchor_transition(stored: str | None, url: str, verdict: str | None,
                           expected: list[str | None]) -> None:
    after, event = anchor_transition(stored, url, verdict)
    assert [after, event.detail["fragment"] if event else None] == expected
    assert event is None or event.kind == "anchor_missing"


def test_slug_is_the_renderers_heading_id() -> None:
    assert slug("Tool Use and “Agents”") == "tool-use-and-agents"
    assert slug("  LoRA: Low-Rank  Adapters ") == "lora-low-rank-adapters"


def _page(anchor: str | None) -> bytes:
    heading = f'<h2 id="{anchor}">Part</h2>' if anchor else "<h2>Part</h2>"
    return (f"<html><head><title>Course</title></head><body><h1>Course</h1><p>Lectures, "
            f"readings and the schedule of a course, in plenty of words.</p>{heading}"
            "</body></html>").encode()


def test_a_run_records_anchor_missing_once_and_again_after_it_came_back(
        simweb, tmp_path: Path, db_url: str) -> None:
    url = "https://course.test/index.html#coursework"
    simweb.route("course.test", "/index.html", body=_page("coursework"))
    simweb.route("spa.test", "/", body=b'<html><body><div id="app"></div>'
                                       b'<script src="/app.js"></script></body></html>')
    catalog = write_catalog(tmp_path / "c.csv", [url, "https://spa.test/#pricing"])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)})

    def night() -> list[str]:
        assert monitor(db_url, config, "check").exit_code == 0
        import json

        report = json.loads(monitor(db_url, config, "report", "--format", "json").stdout)
        return [e["kind"] for e in report["events"] if e["kind"] == "anchor_missing"]

    assert night() == []
    simweb.route("course.test", "/index.html", body=_page(None))
    assert night() == ["anchor_missing"]
    rows = status_json(db_url, config)
    assert rows[url]["state"] == "ok" and rows[url]["anchor_missing"] == "coursework"
    assert night() == []  # still gone: no second event
    simweb.route("course.test", "/index.html", body=_page("coursework"))
    assert night() == [] and status_json(db_url, config)[url]["anchor_missing"] is None
    simweb.route("course.test", "/index.html", body=_page(None))
    assert night() == ["anchor_missing"]
    spa = status_json(db_url, config)["https://spa.test/#pricing"]
    assert spa["anchor_missing"] is None  # a route fragment: never checked
    markdown = monitor(db_url, config, "report", "--format", "md").stdout
    assert "**anchor gone**" in markdown and "#coursework" in markdown


def test_a_script_page_is_never_reported_and_says_why(simweb, tmp_path: Path,
                                                      db_url: str) -> None:
    url = "https://app.test/docs#install"
    simweb.route("app.test", "/docs", body=b'<html><head><title>Docs</title></head><body>'
                                           b'<div id="root"></div><script src="/main.js">'
                                           b"</script></body></html>")
    catalog = write_catalog(tmp_path / "c.csv", [url])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)})
    assert monitor(db_url, config, "check").exit_code == 0
    row = status_json(db_url, config)[url]
    assert row["state"] == "ok" and row["anchor_missing"] is None
    assert "anchor #install not checked: the page is mostly script" in row["detail"]

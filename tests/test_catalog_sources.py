"""The catalog sources (issue 12, SPEC §5 and §12): ``catalog.sources`` patterns relative to the
config file, the derived snapshot (what a person added kept, written only when it changes, a
skipped file's rows carried), and titles a maintainer recognises."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from monitor.catalog import CatalogRow, load_catalog
from monitor.catalog.sources import catalog_rows, merge_snapshot, source_paths, sources_of
from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.report.markdown import md_escape
from monitor.report.titles import MAX_TITLE, clean, is_weak, lead
from tests.cli_helpers import monitor

TODAY = date(2026, 12, 10)


def _site(tmp_path: Path) -> Path:
    """``tmp_path/site``: index.md including two files; ``tmp_path/conf/m.toml`` names them."""
    site = tmp_path / "site"
    (site / "_includes").mkdir(parents=True)
    (site / "index.md").write_text("# List\n\n{% include a.md %}\n{% include b.md %}\n")
    (site / "_includes" / "a.md").write_text("## A\n\n- [Alpha](https://a.example/)\n")
    (site / "_includes" / "b.md").write_text("## B\n\n- [Beta](https://b.example/)\n")
    (tmp_path / "conf").mkdir()
    config = tmp_path / "conf" / "m.toml"
    config.write_text(f'[catalog]\npath = "{tmp_path / "catalog.csv"}"\n'
                      'sources = ["../site/index.md", "../site/_includes/*.md"]\n')
    return config


def test_patterns_are_relative_to_the_config_file_not_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _site(tmp_path)
    monkeypatch.chdir(tmp_path / "site" / "_includes")
    settings = load_settings(str(config))
    sources = sources_of(settings)
    assert sources is not None
    assert sources.root == tmp_path / "site"
    assert sources.names() == ["index.md", "_includes/a.md", "_includes/b.md"]
    rows, problems = catalog_rows(settings, TODAY)
    assert [(r.url, r.source) for r in rows] == [("https://a.example/", "_includes/a.md:3"),
                                                 ("https://b.example/", "_includes/b.md:3")]
    assert problems == []


def test_a_pattern_that_matches_nothing_names_itself(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no file matches 'nope/\\*.md'"):
        source_paths(["nope/*.md"], tmp_path)
    config = _site(tmp_path)
    config.write_text(config.read_text().replace("_includes/*.md", "_include/*.md"))
    result = monitor(f"sqlite:///{tmp_path / 'm.db'}", config, "check")
    assert result.exit_code == 3 and "catalog.sources: no file matches" in result.stderr


def test_the_snapshot_keeps_what_a_person_added_and_is_written_only_on_change(
        tmp_path: Path) -> None:
    config = _site(tmp_path)
    settings = load_settings(str(config))
    snapshot = tmp_path / "catalog.csv"
    catalog_rows(settings, TODAY)
    first = snapshot.read_text()
    assert first.splitlines()[1].startswith("https://a.example/,Alpha,A,A,")
    assert ",2026-12-10," not in first  # a first snapshot invents no dates
    snapshot.write_text(first.replace("_includes/a.md:3,,", "_includes/a.md:3,2024-01-01,mine")
                        .replace("notes\n", "notes,rating\n", 1))
    (tmp_path / "site" / "_includes" / "b.md").write_text(
        "## B\n\n- [Gamma](https://c.example/)\n")
    rows, _ = catalog_rows(settings, TODAY)
    by_url = {r.url: r for r in rows}
    assert (by_url["https://a.example/"].added, by_url["https://a.example/"].notes) == (
        "2024-01-01", "mine")
    assert by_url["https://a.example/"].extra == (("rating", ""),)
    assert by_url["https://c.example/"].added == "2026-12-10"  # new today
    assert "https://b.example/" not in by_url  # gone from the sources: retired
    written = load_catalog(snapshot)[0]
    assert [r.url for r in written] == ["https://a.example/", "https://c.example/"]
    stamp = snapshot.stat().st_mtime_ns
    os.utime(snapshot, ns=(stamp - 10**9, stamp - 10**9))
    catalog_rows(settings, TODAY)
    assert snapshot.stat().st_mtime_ns == stamp - 10**9  # same content: not written again


def test_a_skipped_source_keeps_its_rows_of_the_previous_snapshot() -> None:
    old = [CatalogRow("https://a.example/", "https://a.example/", "A", source="a.md:1",
                      notes="n"),
           CatalogRow("https://b.example/", "https://b.example/", "B", source="b.md:3")]
    extracted = [CatalogRow("https://a.example/", "https://a.example/", "A2", source="a.md:2")]
    rows = merge_snapshot(extracted, old, skipped=["b.md"], today=TODAY)
    assert [(r.url, r.title, r.source, r.notes) for r in rows] == [
        ("https://a.example/", "A2", "a.md:2", "n"), ("https://b.example/", "B", "b.md:3", "")]


def test_a_snapshot_that_is_not_csv_stops_the_run_before_a_person_loses_notes(
        tmp_path: Path) -> None:
    config = _site(tmp_path)
    (tmp_path / "catalog.csv").write_text('url,title\nhttps://a.example/,"unclosed\n')
    result = monitor(f"sqlite:///{tmp_path / 'm.db'}", config, "check")
    assert result.exit_code == 3 and "never closed" in result.stderr
    assert (tmp_path / "catalog.csv").read_text().endswith('"unclosed\n')


# ---------------------------------------------------------------- titles


@pytest.mark.parametrize(("title", "weak"), [
    ("…give you most of the core…", True), ("scrambling", True), ("v0.1", True),
    ("this blog post", True), ("", True), ("Understanding LSTM Networks", False),
    ("Chinchilla Scaling Laws for Large Language Models", False),
    ("These lecture notes from Waterloo give some useful coverage of calculus as it…", True),
])
def test_weak_titles(title: str, weak: bool) -> None:
    assert is_weak(title) is weak


def test_the_page_title_leads_when_the_link_text_is_weak() -> None:
    page = "Calculus on Computational Graphs: Backpropagation -- colah's blog"
    assert lead({"title": "…a nice walk-through of backprop for…", "page_title": page,
                 "url": "u"}) == (page, "…a nice walk-through of backprop for…")
    assert lead({"title": "Understanding LSTM Networks", "page_title": page, "url": "u"}) == (
        "Understanding LSTM Networks", "")
    assert lead({"title": "scrambling", "page_title": None, "url": "u"}) == ("scrambling", "")
    assert lead({"title": "", "page_title": "here", "url": "https://x/"}) == ("https://x/", "")


def test_hostile_page_titles_are_bounded_one_line_and_inert_in_markdown() -> None:
    hostile = "Fix\u202e #123 for @octocat\n<img src=x onerror=alert(1)> " + "word " * 80
    shown = clean(hostile)
    assert len(shown) <= MAX_TITLE and "\n" not in shown and "\u202e" not in shown
    text = md_escape(shown)
    assert "@octocat" not in text and "#123" not in text and "\\<img" in text
    assert "@\u200boctocat" in text and "\\#\u200b123" in text


def test_notifications_call_a_resource_by_the_title_the_report_leads_with() -> None:
    from monitor.notify.digest import digest_from_report

    run = {"id": 2, "status": "complete", "started_at": "2026-12-10T03:00:00+00:00"}
    resource = {"url": "https://a.example/x", "title": "scrambling", "state": "moved",
                "page_title": "Scrambling Text for Fun", "final_url": "https://b.example/x",
                "source": "_includes/a.md:3", "section": "S"}
    event = {"run_id": 2, "at": run["started_at"], "url": resource["url"], "kind": "moved",
             "detail": {}}
    digest = digest_from_report(run, None, [resource], [event], [])
    assert digest.events[0].title == "Scrambling Text for Fun"
    assert digest.events[0].source == "_includes/a.md:3"

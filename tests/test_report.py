"""Report structure (parsed, not snapshots), safety with hostile strings, Markdown size."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from monitor.report import FORMATS, render_html, render_json, render_markdown
from monitor.report.links import safe_href
from monitor.report.markdown import GITHUB_ISSUE_LIMIT
from tests.cli_helpers import monitor, write_catalog, write_config
from tests.report_data import HOSTILE, realistic, resource, suggestion


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


def test_html_has_every_section_and_the_counts() -> None:
    data = realistic()
    page = soup(render_html(data))
    for section in ("needs-action", "blocked", "sections", "trend", "suggestions"):
        assert page.find(id=section) is not None, section
    counts = {li["data-count"]: int(li.text) for li in page.select("#counts [data-count]")}
    assert counts == {"ok": 254, "moved": 12, "failing": 10, "dead": 12, "blocked": 12,
                      "unknown": 0}
    assert "+" in page.select_one("#counts .dead").text  # 12 dead vs 9 in the previous run
    assert page.find("footer").text.count("300 resources") == 1


def test_needs_action_puts_newly_dead_first_with_replacements() -> None:
    page = soup(render_html(realistic()))
    kinds = [li["data-kind"] for li in page.select("#needs-action li")]
    assert kinds[:4] == ["new_dead"] * 4
    assert kinds == sorted(kinds, key=["new_dead", "dead", "moved", "anchor", "failing",
                                       "changed", "updated"].index)
    assert kinds.count("moved") == 12 and kinds.count("changed") == 12
    assert kinds.count("updated") == 1
    first = page.select_one("#needs-action li")
    assert "web.archive.org" in first.select_one("a.replacement")["href"]
    moved = page.select_one('#needs-action li[data-kind="moved"]')
    assert moved.select_one("a.replacement")["href"].startswith("https://new.test/")
    assert moved.select_one(".fix code.cmd").text == "monitor fix"
    assert "sed -i" not in page.text and "catalog.csv" not in page.text
    changed = page.select_one('#needs-action li[data-kind="changed"]')
    assert "0.42" in changed.text and "removed" in changed.text and "added" in changed.text
    failing = page.select_one('#needs-action li[data-kind="failing"]')
    assert "HTTP 404 Not Found" in failing.text and "failing since 2026-11-27" in failing.text


def test_sections_worst_first_and_trend_chart() -> None:
    page = soup(render_html(realistic()))
    rows = page.select("#sections tbody tr")
    assert len(rows) == 5
    dead = [int(r.select("td")[1].text) for r in rows]
    assert dead == sorted(dead, reverse=True)
    svg = page.select_one("#trend svg")
    assert svg is not None and svg.find("title").text.startswith("Resources per state")
    assert len(svg.select("rect")) >= 30
    labels = [t.text for t in svg.select("text")]
    assert "resources" in labels and any("#30" in t for t in labels)


def test_suggestions_show_rank_score_terms_and_commands() -> None:
    page = soup(render_html(realistic(suggestions=10)))
    items = page.select("#suggestions li")
    assert len(items) == 10
    first = items[0]
    assert "#1" in first.text and "0.90" in first.text and "lora, adapters" in first.text
    codes = [c.text for c in first.select("code")]
    assert codes[0] == ("monitor suggestions accept 1 --section "
                        "'Section IV: Finetuning Methods for LLMs'")
    assert codes[1].startswith("monitor suggestions reject 1 --reason")
    assert "Barbara Liskov" in first.text and "2026-11-28" in first.text


def test_degraded_run_says_so_and_all_clear_when_nothing_to_do() -> None:
    data = realistic()
    data.run = data.run | {"status": "degraded"}
    data.resources = [resource(i, "ok") for i in range(5)]
    data.events = []
    page = soup(render_html(data))
    assert page.find(id="degraded") is not None
    assert page.find(id="all-clear") is not None


def test_page_is_self_contained() -> None:
    page = soup(render_html(realistic()))
    assert not page.find_all("script") and not page.find_all("img")
    assert not page.find_all("link")
    for tag in page.find_all(src=True):
        pytest.fail(f"external asset {tag}")
    assert "@import" not in page.style.text and "url(" not in page.style.text
    assert "prefers-color-scheme: dark" in page.style.text and "@media print" in page.style.text


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "data:text/html,<script>1</script>",
                                 " JavaScript:alert(1)", "vbscript:x", "//evil.test/x"])
def test_unsafe_urls_never_become_links(bad: str) -> None:
    assert safe_href(bad) is None
    data = realistic(n=3, suggestions=1)
    data.resources = [resource(0, "dead", url=bad, suggested_url=bad),
                      resource(1, "moved", final_url=bad), resource(2, "blocked", url=bad)]
    data.suggestions = [suggestion(0, url=bad)]
    page = soup(render_html(data))
    for a in page.find_all("a"):
        assert a["href"].startswith(("http://", "https://")), a
    md = render_markdown(data)
    assert f"(<{bad}" not in md and f"({bad}" not in md


def test_hostile_titles_are_escaped_everywhere() -> None:
    data = realistic(n=3, suggestions=1)
    data.resources = [resource(0, "dead", title=HOSTILE, section=HOSTILE, detail=HOSTILE),
                      resource(1, "blocked", title=HOSTILE, detail=HOSTILE),
                      resource(2, "moved", title=HOSTILE)]
    data.events = [{"run_id": 30, "at": "x", "url": data.resources[2]["url"], "kind": "changed",
                    "detail": {"similarity": 0.1, "removed": HOSTILE, "added": HOSTILE}}]
    data.suggestions = [suggestion(0, title=HOSTILE, abstract=HOSTILE, authors=[HOSTILE],
                                   section=HOSTILE, matched_terms=[HOSTILE])]
    html = render_html(data)
    page = soup(html)
    assert not page.find_all("script") and not page.find_all("img")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert not any(attr.startswith("on") for tag in page.find_all(True) for attr in tag.attrs)
    md = re.sub(r"(`+)(.+?)\1", "", render_markdown(data))  # code spans show text literally
    assert not re.search(r"(?<!\\)<(?:script|img)", md)  # only backslash-escaped
    assert json.loads(render_json(data))["suggestions"][0]["title"] == HOSTILE


def test_markdown_of_a_big_run_fits_in_one_github_issue() -> None:
    data = realistic(n=300, suggestions=30)
    md = render_markdown(data)
    assert len(md) <= GITHUB_ISSUE_LIMIT
    for heading in ("## Needs action", "## Suggested papers", "## Could not verify",
                    "## Health by section", "## Trend"):
        assert heading in md
    assert md.count("monitor suggestions accept") == 30
    huge = realistic(n=3000, suggestions=30)
    huge.resources = [resource(i, "dead") for i in range(3000)]
    md = render_markdown(huge)
    assert len(md) <= GITHUB_ISSUE_LIMIT and "more actions not shown" in md
    assert md.rstrip().endswith("_")  # the footer survived the cut


def test_json_has_the_spec_shape() -> None:
    data = json.loads(FORMATS["json"](realistic(n=5, suggestions=2)))
    assert set(data) == {"run", "resources", "events", "suggestions"}
    assert set(data["events"][0]) == {"run_id", "at", "url", "kind", "detail"}


def test_report_command_formats_run_and_stdout(simweb, tmp_path: Path, db_url: str) -> None:
    simweb.route("r.test", "/a", body=b"<title>A</title>")
    simweb.route("r.test", "/b", status=404)
    catalog = write_catalog(tmp_path / "c.csv", ["https://r.test/a", "https://r.test/b"])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)})
    monitor(db_url, config, "check")
    monitor(db_url, config, "check")
    result = monitor(db_url, config, "report", "--run", "1", "--out", "-")
    assert result.exit_code == 0 and "Run 1" in result.stdout
    out = tmp_path / "r.md"
    assert monitor(db_url, config, "report", "--format", "md", "--out", str(out)).exit_code == 0
    assert out.read_text().startswith("# Link health report")
    assert monitor(db_url, config, "report", "--run", "99").exit_code == 3
    result = monitor(db_url, config, "report")
    assert result.exit_code == 0
    assert (tmp_path / "reports" / "index.html").exists()


def test_each_fixable_link_shows_its_source_and_the_fix_command() -> None:
    """Moved, dead with an archived copy and anchor-gone links name their file:line and
    ``monitor fix``; a dead link without a copy and a failing one do not (nothing to edit yet);
    no ``sed`` edit of catalog.csv anywhere (issue 12)."""
    data = realistic()
    data.resources += [
        resource(900, "dead", url="https://nocopy.test/x", suggested_url=None,
                 source="_includes/section2.md:7"),
        resource(901, "ok", url="https://s.test/p#gone", anchor_missing="gone",
                 source="_includes/section3.md:9")]
    page = soup(render_html(data))
    assert page.select_one("#fix-help") is not None
    by_url = {li.select_one(".url").text: li for li in page.select("#needs-action li")}
    moved = next(li for li in page.select("#needs-action li") if li["data-kind"] == "moved")
    assert moved.select_one(".fix code.source").text.startswith("_includes/section1.md:")
    assert moved.select_one(".fix code.cmd").text == "monitor fix"
    anchor = by_url["https://s.test/p#gone"]
    assert anchor["data-kind"] == "anchor" and "#gone" in anchor.text
    assert anchor.select_one("a.replacement")["href"] == "https://s.test/p"
    assert anchor.select_one(".fix code.source").text == "_includes/section3.md:9"
    assert by_url["https://nocopy.test/x"].select_one(".fix") is None
    failing = next(li for li in page.select("#needs-action li") if li["data-kind"] == "failing")
    assert failing.select_one(".fix") is None
    text = render_markdown(data)
    assert "sed -i" not in text and "catalog.csv" not in text
    assert "fix `_includes/section3.md:9`: `monitor fix`" in text
    assert "**anchor gone**" in text


def test_report_for_an_earlier_run_shows_the_states_as_they_were(simweb, tmp_path: Path,
                                                                 db_url: str) -> None:
    simweb.route("h.test", "/a", status=404)
    simweb.route("h.test", "/b", body=b"<title>B</title>")
    catalog = write_catalog(tmp_path / "c.csv", ["https://h.test/a", "https://h.test/b"])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)},
                          health={"dead_after_runs": 2, "dead_after_hours": 0.0})
    for _ in range(2):
        monitor(db_url, config, "check")
    simweb.route("h.test", "/a", body=b"<title>A is back</title>")
    monitor(db_url, config, "check")

    def states(*args: str) -> dict[str, str]:
        result = monitor(db_url, config, "report", "--format", "json", *args)
        assert result.exit_code == 0, result.output
        return {r["url"]: r["state"] for r in json.loads(result.stdout)["resources"]}

    assert states("--run", "1") == {"https://h.test/a": "failing", "https://h.test/b": "ok"}
    assert states("--run", "2")["https://h.test/a"] == "dead"
    assert states()["https://h.test/a"] == "ok"
    html = monitor(db_url, config, "report", "--run", "2")
    assert html.exit_code == 0 and (tmp_path / "reports" / "run-2.html").exists()

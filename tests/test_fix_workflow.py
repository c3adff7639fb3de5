"""Issue 12 end to end, through the command line, on a copy of the real handbook served by the
simulated web: ``monitor run`` then ``monitor fix`` (moved, dead with and without an archived
copy, an anchor gone), ``--apply``, the next extraction and run, stale lines, a crash during
``--apply``, a non-UTF-8 source, the catalog snapshot, accepting papers into the handbook, and
what the report shows."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from monitor.catalog import canonical_url
from monitor.catalog.extract import extract_sources
from monitor.config import load_settings
from monitor.fix import Edit
from monitor.fix.proposal import propose
from monitor.store.db import open_database
from monitor.store.models import Resource, Suggestion, utcnow
from tests.cli_helpers import monitor, status_json
from tests.fixcases import git, handbook_paths
from tests.handbook_web import Night, handbook_night
from tests.test_fix_plan import _assert_only_urls_changed, snapshot

BACKPROP = "https://colah.github.io/posts/2015-08-Backprop/"
D2L = "http://d2l.ai"  # in two files, seven places
LORA_POST = "https://sebastianraschka.com/blog/2023/llm-finetuning-lora.html"  # "( url )"
NEURALNETS = "https://karpathy.github.io/neuralnets/"
CS224N = "https://web.stanford.edu/class/cs224n/index.html#coursework"
MOVED = {BACKPROP: "https://colah.net/posts/backprop/", D2L: "https://d2l.ai/"}
DEAD = {LORA_POST: "20240101000000", NEURALNETS: None}
ARCHIVED = f"http://web.archive.org/web/20240101000000/{LORA_POST}"
EXPECTED = {  # old URL: (new URL, reason)
    BACKPROP: (MOVED[BACKPROP], "moved"), D2L: (MOVED[D2L], "moved"),
    LORA_POST: (ARCHIVED, "dead"), CS224N: (CS224N.split("#")[0], "anchor")}
BACKPROP_TITLE = "Calculus on Computational Graphs: Backpropagation"


@pytest.fixture
def night(simweb, tmp_path: Path, db_url: str) -> tuple[Path, Path]:
    """A run over the handbook copy in which two links moved, two died (one archived) and one
    page lost the anchor the handbook links to. Returns ``(handbook folder, config)``."""
    root, config = handbook_night(simweb, tmp_path, Night(
        MOVED, DEAD, [CS224N], {BACKPROP: BACKPROP_TITLE}))
    result = monitor(db_url, config, "run", "--skip-arxiv")
    assert result.exit_code == 0, result.output
    return root, config


def fix(db_url: str, config: Path, *args: str):  # noqa: ANN201 - click's Result
    return monitor(db_url, config, "fix", *args)


def test_run_then_fix_gives_a_patch_git_accepts(night, db_url: str) -> None:
    root, config = night
    rows = status_json(db_url, config)
    assert rows[CS224N]["state"] == "ok" and rows[CS224N]["anchor_missing"] == "coursework"
    assert rows[BACKPROP]["page_title"] == BACKPROP_TITLE
    result = fix(db_url, config)
    assert result.exit_code == 0, result.output
    checked = git(root, "apply", "--check", "-", stdin=result.stdout_bytes)
    assert checked.returncode == 0, checked.stderr.decode()
    assert "not fixed: _includes/section2.md:23 " in result.stderr
    assert f"{NEURALNETS}: dead, and the Wayback Machine has no copy" in result.stderr
    assert f"moved: {BACKPROP_TITLE} — {BACKPROP}" in result.stderr  # the page's own title
    listed = json.loads(fix(db_url, config, "--json").stdout)
    assert {(e["old_url"], e["new_url"], e["reason"]) for e in listed} == {
        (old, new, reason) for old, (new, reason) in EXPECTED.items()}
    assert sum(e["old_url"] == D2L for e in listed) == 7
    assert {e["file"] for e in listed if e["old_url"] == D2L} == {"_includes/intro.md",
                                                                  "_includes/section2.md"}
    assert set(listed[0]) == {"file", "line", "old_url", "new_url", "reason"}
    out = root.parent / "fix.patch"
    assert fix(db_url, config, "--out", str(out)).stdout == ""
    assert out.read_bytes() == result.stdout_bytes
    none = json.loads(fix(db_url, config, "--json", "--dead", "none").stdout)
    assert "dead" not in {e["reason"] for e in none}
    _report_shows_file_line_the_fix_command_and_own_titles(root.parent)


def _report_shows_file_line_the_fix_command_and_own_titles(tmp_path: Path) -> None:
    from bs4 import BeautifulSoup

    page = BeautifulSoup((tmp_path / "conf" / "reports" / "index.html").read_text(), "lxml")
    items = {li.select_one(".url").text: li for li in page.select("#needs-action li")}
    moved = items[BACKPROP]
    assert moved.select_one(".title").text == BACKPROP_TITLE
    assert "This blog post from Chris Olah" in moved.select_one(".context").text
    assert moved.select_one(".fix code.source").text == "_includes/section2.md:24"
    assert moved.select_one(".fix code.cmd").text == "monitor fix"
    assert items[CS224N]["data-kind"] == "anchor"
    assert items[NEURALNETS].select_one(".fix") is None
    markdown = (tmp_path / "conf" / "reports" / "latest.md").read_text()
    assert "fix `_includes/section4.md:17`: `monitor fix`" in markdown
    assert "sed -i" not in markdown


def test_apply_then_the_next_extraction_and_run(night, db_url: str, tmp_path: Path) -> None:
    root, config = night
    before = snapshot(root)
    rows_before = extract_sources(handbook_paths(root)).rows
    planned = fix(db_url, config, "--json").stdout
    result = fix(db_url, config, "--apply", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(planned)  # what was applied
    assert "fixed 10 link(s) in 3 file(s)" in result.stderr
    # git diff: exactly the edits listed, nothing else
    numstat = [line.split("\t") for line in git(root, "diff", "--numstat").stdout.decode()
               .split("\n") if line]
    assert {name for _, _, name in numstat} == {
        "_includes/intro.md", "_includes/section2.md", "_includes/section4.md"}
    assert all(added == removed for added, removed, _ in numstat)
    edits = [Edit(**e) for e in json.loads(planned)]
    plan = SimpleNamespace(changes=[SimpleNamespace(file=f) for f in {e.file for e in edits}],
                           edits=edits)
    _assert_only_urls_changed(before, snapshot(root), plan)  # type: ignore[arg-type]
    after = extract_sources(handbook_paths(root)).rows
    urls = {row.canonical_url for row in after}
    assert not {canonical_url(u) for u in (BACKPROP, D2L, LORA_POST)} & urls
    assert {canonical_url(new) for new, _ in EXPECTED.values()} <= urls
    assert CS224N not in {row.url for row in after}
    assert len(after) == len(rows_before)
    second = fix(db_url, config)
    assert second.exit_code == 0 and second.stdout == ""
    assert "nothing to fix (4 already fixed in the sources)" in second.stderr
    # the next night: the new URLs are checked, the fixed ones are no longer reported
    assert monitor(db_url, config, "run", "--skip-arxiv").exit_code == 0
    rows = status_json(db_url, config)
    assert not {BACKPROP, D2L, LORA_POST, CS224N} & set(rows)
    assert rows[CS224N.split("#")[0]]["anchor_missing"] is None
    assert rows[MOVED[BACKPROP]]["state"] == "ok"
    assert json.loads(fix(db_url, config, "--json").stdout) == []
    database = open_database(db_url)
    try:  # history stays: the old resources are inactive, with their checks
        with database.session() as s:
            old = s.query(Resource).filter(Resource.url == BACKPROP).one()
            assert not old.active
    finally:
        database.dispose()
    report = (tmp_path / "conf" / "reports" / "latest.md").read_text()
    assert BACKPROP not in report and "anchor gone" not in report


def test_an_edited_source_line_is_refused_with_file_line(night, db_url: str) -> None:
    root, config = night
    section4 = root / "_includes" / "section4.md"
    lines = section4.read_bytes().split(b"\n")
    lines.insert(10, b"A line added since the last run.")  # the dead link moves down a line
    section4.write_bytes(b"\n".join(lines))
    before = snapshot(root)
    for args in ((), ("--apply",)):
        result = fix(db_url, config, *args)
        assert result.exit_code == 3
        assert f"_includes/section4.md:17: no longer holds {LORA_POST}" in result.stderr
        assert snapshot(root) == before


CHILD = """
import os, signal, sys
import monitor.fix.write as write
from monitor.cli import main

renamed = 0

def rename(source, target):
    global renamed
    os.replace(source, target)
    renamed += 1
    if renamed == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)

write._rename = rename
main(sys.argv[2:])
"""


def test_a_crash_during_apply_leaves_each_file_old_or_new(night, db_url: str) -> None:
    """Killed after two of three files were renamed: each file is wholly old or new; the next
    ``fix --apply`` removes the temporary file left behind and finishes the job."""
    root, config = night
    database = open_database(db_url)
    try:
        changes = {c.file: (c.old, c.new) for c in propose(
            database, load_settings(str(config))).plan.changes}
    finally:
        database.dispose()
    assert len(changes) == 3
    child = subprocess.run(
        [sys.executable, "-c", CHILD, "2", "--db", db_url, "--config", str(config), "fix",
         "--apply"], capture_output=True, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    states = [(root / name).read_bytes() == new for name, (old, new) in changes.items()
              if (root / name).read_bytes() in (old, new)]
    assert sorted(states) == [False, True, True]
    assert any(name.endswith(".monitor-fix") for name in snapshot(root))
    again = fix(db_url, config, "--apply")
    assert again.exit_code == 0, again.output
    assert "removed a temporary file left by an interrupted fix" in again.stderr
    assert {name: (root / name).read_bytes() for name in changes} == {
        name: new for name, (_, new) in changes.items()}
    assert not any(name.endswith(".monitor-fix") for name in snapshot(root))


def test_a_source_that_is_not_utf8_is_reported_and_skipped(night, db_url: str) -> None:
    root, config = night
    section2 = root / "_includes" / "section2.md"
    data = section2.read_bytes()
    section2.write_bytes(data.replace(b"Neural", b"Neur\xe0l", 1))
    line = data[: data.index(b"Neural")].count(b"\n") + 1
    run = monitor(db_url, config, "check")
    assert run.exit_code == 0
    assert f"_includes/section2.md:{line}: not UTF-8" in run.stderr
    rows = status_json(db_url, config)
    assert BACKPROP in rows  # its file was skipped, not its links retired
    result = fix(db_url, config)
    assert result.exit_code == 0
    assert f"skipped _includes/section2.md:{line}: not UTF-8" in result.stderr
    files = {e["file"] for e in json.loads(fix(db_url, config, "--json").stdout)}
    assert files == {"_includes/intro.md", "_includes/section4.md"}


def test_without_sources_fix_says_what_to_configure(tmp_path: Path, db_url: str) -> None:
    from monitor.cli.fix import fix as command
    from monitor.fix.findings import DEAD_MODES

    result = monitor(db_url, None, "fix")
    assert result.exit_code == 3
    assert "set catalog.sources in monitor.toml" in result.stderr
    dead = next(p for p in command.params if p.name == "dead")
    assert tuple(dead.type.choices) == DEAD_MODES  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the catalog is the sources


def test_links_added_and_removed_in_the_sources_and_the_snapshot(night, db_url: str,
                                                                 tmp_path: Path) -> None:
    root, config = night
    snapshot_csv = tmp_path / "catalog.csv"
    rows = list(csv.DictReader(snapshot_csv.open(encoding="utf-8")))
    assert len(rows) == 271 and rows[0]["source"] == "index.md:7"
    # a person adds notes and a column; the next run keeps them for rows that still exist
    header = list(rows[0]) + ["owner"]
    for row in rows:
        row["owner"] = "me" if row["url"] == BACKPROP else ""
        row["notes"] = "keep" if row["url"] in (BACKPROP, NEURALNETS) else ""
    with snapshot_csv.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    section1 = root / "_includes" / "section1.md"
    text = section1.read_text(encoding="utf-8")
    section1.write_text(text + "\nA new [guide](https://new-guide.example/read) today.\n",
                        encoding="utf-8")
    section2 = root / "_includes" / "section2.md"
    section2.write_text(section2.read_text(encoding="utf-8").replace(
        f"[blog post]({NEURALNETS})", "blog post"), encoding="utf-8")
    assert monitor(db_url, config, "check").exit_code == 0
    status = status_json(db_url, config)
    assert status["https://new-guide.example/read"]["section"].startswith("Section I:")
    assert NEURALNETS not in status  # retired; its history stays
    after = {r["url"]: r for r in csv.DictReader(snapshot_csv.open(encoding="utf-8"))}
    assert after[BACKPROP]["notes"] == "keep" and after[BACKPROP]["owner"] == "me"
    assert NEURALNETS not in after
    assert after["https://new-guide.example/read"]["added"] == utcnow().date().isoformat()
    written = snapshot_csv.stat().st_mtime_ns
    assert monitor(db_url, config, "check").exit_code == 0
    assert snapshot_csv.stat().st_mtime_ns == written  # unchanged content: not rewritten


# ---------------------------------------------------------------- accepting papers


def _suggest(db_url: str, rows: list[tuple[str, str, str, str]]) -> list[int]:
    database = open_database(db_url)
    try:
        with database.session() as s:
            items = [Suggestion(arxiv_id=a, version=1, title=t, authors=["Ada Lovelace"],
                                abstract="An abstract.", published=utcnow(),
                                categories=["cs.CL"], score=0.8, section=section,
                                chapter=chapter, matched_terms=["x"], status="new")
                     for a, t, section, chapter in rows]
            s.add_all(items)
            s.flush()
            return [i.id for i in items]
    finally:
        database.dispose()


SECTION3 = "Section III: Foundations for Modern Language Modeling"
SECTION4 = "Section IV: Finetuning Methods for LLMs"


def test_accepted_papers_land_in_their_section_and_chapter(night, db_url: str,
                                                          tmp_path: Path) -> None:
    root, config = night
    ids = _suggest(db_url, [
        ("2001.08361", "Scaling Laws for Neural Language Models", SECTION3, "Scaling Laws"),
        ("2402.00001", "A Reward Model Study", SECTION4, "Reward Models and RLHF"),
        ("2402.00002", "Another Reward Model Study", SECTION4, "Reward Models and RLHF"),
        ("2402.00003", "A Paper Without a Chapter", SECTION4, "")])
    before = snapshot(root)
    dry = monitor(db_url, config, "suggestions", "accept", str(ids[0]), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "+- [Scaling Laws for Neural Language Models](https://arxiv.org/abs/2001.08361)" \
        in dry.stdout
    assert git(root, "apply", "--check", "-", stdin=dry.stdout_bytes).returncode == 0
    assert snapshot(root) == before
    for ident in ids:
        result = monitor(db_url, config, "suggestions", "accept", str(ident))
        assert result.exit_code == 0, result.output
    rows = {r.url: r for r in extract_sources(handbook_paths(root)).rows}
    placed = {url: (r.section, r.chapter) for url, r in rows.items() if "arxiv.org/abs/2" in url
              and url.rsplit("/", 1)[1] in {"2001.08361", "2402.00001", "2402.00002",
                                            "2402.00003"}}
    assert placed == {
        "https://arxiv.org/abs/2001.08361": (SECTION3, "Scaling Laws"),
        "https://arxiv.org/abs/2402.00001": (SECTION4, "Reward Models and RLHF"),
        "https://arxiv.org/abs/2402.00002": (SECTION4, "Reward Models and RLHF"),
        "https://arxiv.org/abs/2402.00003": (SECTION4, "Distillation and Merging")}
    # the second paper of a chapter without a list joined the list the first one started
    first = int(rows["https://arxiv.org/abs/2402.00001"].source.rsplit(":", 1)[1])
    assert rows["https://arxiv.org/abs/2402.00002"].source == f"_includes/section4.md:{first + 1}"
    catalog = {r["url"]: r for r in csv.DictReader((tmp_path / "catalog.csv").open())}
    row = catalog["https://arxiv.org/abs/2402.00001"]
    assert (row["kind"], row["chapter"], row["added"]) == (
        "paper", "Reward Models and RLHF", utcnow().date().isoformat())
    assert row["source"] == rows["https://arxiv.org/abs/2402.00001"].source
    again = monitor(db_url, config, "suggestions", "accept", str(ids[0]))
    assert again.exit_code == 1 and "already accepted" in again.stderr

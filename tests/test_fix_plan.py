"""Plans over many files (monitor.fix.plan, diff, write) on a copy of the real handbook and on
small hostile files: git apply --check accepts the diff, --apply then extraction gives the new
URLs and nothing else changed, stale lines and non-UTF-8 files, atomic all-or-none writes
(including a process killed between two files), symbolic links."""

from __future__ import annotations

import difflib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import monitor.fix.write as write
from monitor.catalog import canonical_url
from monitor.catalog.extract import extract
from monitor.fix import (
    Edit,
    Finding,
    FixError,
    Plan,
    StaleSource,
    edits_for,
    find_links,
    plan_fixes,
)
from tests.fixcases import git, git_repo, handbook_copy, handbook_paths

# Real handbook URLs and what they become: moved (one is in two files, five places), dead
# (the handbook writes this one with a space before its closing parenthesis).
FIXES = {
    "http://d2l.ai": ("https://d2l.ai/", "moved"),
    "https://youtu.be/dA-NhCtrrVE?si=TpJkPfYxngQQ0iGj":
        ("https://videos.example.org/lora-part-1", "moved"),
    "https://sebastianraschka.com/blog/2023/llm-finetuning-lora.html":
        ("https://web.archive.org/web/2024/https://sebastianraschka.com/blog/2023/"
         "llm-finetuning-lora.html", "dead"),
    "https://willcb.com": ("https://willcb.com/about (new)", "moved"),
}


def handbook_edits(root: Path) -> list[Edit]:
    """Edits as the monitor makes them: from the catalog rows (url, source) of the copy."""
    rows, _ = extract(handbook_paths(root))
    by_url = {row.url: row for row in rows}
    return [Edit.at(by_url[url].source, url, new, reason) for url, (new, reason) in FIXES.items()]


def plan_handbook(root: Path) -> Plan:
    return plan_fixes(root, handbook_edits(root), handbook_paths(root))


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.parts}


# ---------------------------------------------------------------- the real handbook


def test_handbook_diff_applies_with_git(tmp_path: Path) -> None:
    root = handbook_copy(tmp_path)
    git_repo(root)
    plan = plan_handbook(root)
    checked = git(root, "apply", "--check", "-", stdin=plan.diff())
    assert checked.returncode == 0, checked.stderr.decode()
    assert git(root, "apply", "-", stdin=plan.diff()).returncode == 0
    by_git = snapshot(root)
    assert git(root, "checkout", "-q", ".").returncode == 0
    plan.apply()
    assert snapshot(root) == by_git


def test_handbook_diff_applies_in_a_subfolder_of_a_repository(tmp_path: Path) -> None:
    root = handbook_copy(tmp_path)
    (tmp_path / "README").write_text("repo\n")
    git_repo(tmp_path)
    checked = git(root, "apply", "--check", "-", stdin=plan_handbook(root).diff())
    assert checked.returncode == 0, checked.stderr.decode()


def test_handbook_apply_then_extract(tmp_path: Path) -> None:
    root = handbook_copy(tmp_path)
    before_rows, _ = extract(handbook_paths(root))
    before = snapshot(root)
    plan = plan_handbook(root)
    plan.apply()
    after_rows, _ = extract(handbook_paths(root))
    old = {canonical_url(url) for url in FIXES}
    new = {canonical_url(new.replace(" ", "%20")) for new, _ in FIXES.values()}
    urls_after = {row.canonical_url for row in after_rows}
    assert not old & urls_after
    assert new <= urls_after
    assert len(after_rows) == len(before_rows)
    unchanged = [(r.canonical_url, r.source) for r in before_rows if r.canonical_url not in old]
    assert set(unchanged) <= {(r.canonical_url, r.source) for r in after_rows}
    _assert_only_urls_changed(before, snapshot(root), plan)
    for path in handbook_paths(root):  # nothing left to fix: no old URL anywhere
        assert not {canonical_url(link.href) for link in find_links(path.read_bytes())
                    if link.href.startswith("http")} & old


def _assert_only_urls_changed(before: dict[str, bytes], after: dict[str, bytes],
                              plan: Plan) -> None:
    """Every byte that differs lies inside one of the edited URLs' spans."""
    edited = {c.file for c in plan.changes}
    assert {name for name in before if before[name] != after[name]} == edited
    for name in edited:
        spans = [link.span for link in find_links(before[name]) if link.span and any(
            link.href.strip() == e.old_url for e in plan.edits if e.file == name)]
        old_lines, new_lines = before[name].split(b"\n"), after[name].split(b"\n")
        assert len(old_lines) == len(new_lines)
        offset = 0
        for old, new in zip(old_lines, new_lines, strict=True):
            matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
            for tag, i1, i2, _, _ in matcher.get_opcodes():
                start, end = offset + i1, offset + i2
                assert tag == "equal" or any(s <= start and end <= e for s, e in spans), name
            offset += len(old) + 1


def test_handbook_url_in_two_files_is_fixed_everywhere(tmp_path: Path) -> None:
    root = handbook_copy(tmp_path)
    plan = plan_handbook(root)
    d2l = [(e.file, e.line) for e in plan.edits if e.old_url == "http://d2l.ai"]
    written = [(name, number) for name in ("_includes/intro.md", "_includes/section2.md")
               for number, line in enumerate((root / name).read_bytes().split(b"\n"), 1)
               if b"](http://d2l.ai)" in line]
    assert d2l == written
    assert len(written) == 7
    assert {e["reason"] for e in plan.to_json()} == {"moved", "dead"}
    assert json.dumps(plan.to_json())  # the --json output serialises


def test_handbook_stale_line_refused_nothing_written(tmp_path: Path) -> None:
    root = handbook_copy(tmp_path)
    edits = handbook_edits(root)
    section4 = root / "_includes" / "section4.md"
    lines = section4.read_bytes().split(b"\n")
    lines[16] = b"- a line rewritten since the last extraction"
    section4.write_bytes(b"\n".join(lines))
    before = snapshot(root)
    with pytest.raises(StaleSource) as info:
        plan_fixes(root, edits, handbook_paths(root)).apply()
    assert info.value.places == ("_includes/section4.md:17",)
    assert "_includes/section4.md:17: no longer holds https://sebastianraschka.com" in str(
        info.value)
    assert info.value.exit_code == 3
    assert snapshot(root) == before


def test_non_utf8_file_is_reported_and_skipped(tmp_path: Path) -> None:
    root = handbook_copy(tmp_path)
    edits = handbook_edits(root)
    section2 = root / "_includes" / "section2.md"
    data = section2.read_bytes()
    section2.write_bytes(data.replace(b"Neural", b"Neur\xe0l", 1))
    plan = plan_fixes(root, edits, handbook_paths(root))
    at = data.index(b"Neural") + 4
    line = data.count(b"\n", 0, at) + 1
    assert [str(s) for s in plan.skipped] == [
        f"_includes/section2.md:{line}: not UTF-8 (byte {at}); left alone"]
    assert "_includes/section2.md" not in {c.file for c in plan.changes}
    assert {c.file for c in plan.changes} == {"index.md", "_includes/intro.md",
                                              "_includes/section4.md"}


# ---------------------------------------------------------------- diffs of hostile files


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


HOSTILE = {
    "crlf.md": b"# T\r\n\r\n[a](https://old.com/)   \r\nlast line\r\n",
    "no newline.md": b"x\n\n[b](https://old.com/)",
    "bom.md": b"\xef\xbb\xbf[c](https://old.com/)\nend\n",
    "sub/mixed.md": b"a\r\nb\n<https://old.com/>\r\n\r\n",
    "crlf no newline.md": b"a\r\n\r\n<a href='https://old.com/'>b</a>",
}


def test_hostile_files_diff_applies_with_git(tmp_path: Path) -> None:
    _write(tmp_path, HOSTILE)
    git_repo(tmp_path)
    edits = [Edit.at("crlf.md:3", "https://old.com/", "https://new.com/", "moved")]
    plan = plan_fixes(tmp_path, edits, list(HOSTILE))
    assert len(plan.changes) == 5
    diff = plan.diff()
    assert b"\\ No newline at end of file" in diff and b"\r\n" in diff
    assert b"--- a/no newline.md" in diff
    checked = git(tmp_path, "apply", "--check", "-", stdin=diff)
    assert checked.returncode == 0, checked.stderr.decode()
    assert git(tmp_path, "apply", "-", stdin=diff).returncode == 0
    expected = {name: data.replace(b"old.com", b"new.com") for name, data in HOSTILE.items()}
    assert snapshot(tmp_path) == expected


def test_git_diff_of_the_applied_plan_is_the_plan(tmp_path: Path) -> None:
    _write(tmp_path, HOSTILE)
    git_repo(tmp_path)
    plan = plan_fixes(tmp_path, [Edit.at("bom.md:1", "https://old.com/", "https://n.com/",
                                         "dead")], list(HOSTILE))
    plan.apply()
    numstat = git(tmp_path, "diff", "--numstat").stdout.decode().split("\n")
    assert sorted(line for line in numstat if line) == [
        "1\t1\tbom.md", "1\t1\tcrlf no newline.md", "1\t1\tcrlf.md", "1\t1\tno newline.md",
        "1\t1\tsub/mixed.md"]


def test_fragments_follow_each_place(tmp_path: Path) -> None:
    _write(tmp_path, {"a.md": b"[a](https://old.com/x#intro)\n",
                      "b.md": b"[b](https://old.com/x) [c](https://OLD.com/x#end)\n"})
    edits = [Edit.at("a.md:1", "https://old.com/x#intro", "https://new.com/y#intro", "moved")]
    plan = plan_fixes(tmp_path, edits, ["a.md", "b.md"])
    assert [c.new for c in plan.changes] == [
        b"[a](https://new.com/y#intro)\n",
        b"[b](https://new.com/y) [c](https://new.com/y#end)\n"]


def test_anchor_edit_changes_only_that_fragment(tmp_path: Path) -> None:
    _write(tmp_path, {"a.md": b"[a](https://s.com/p#gone) [b](https://s.com/p#kept)\n"})
    edits = [Edit.at("a.md:1", "https://s.com/p#gone", "https://s.com/p", "anchor")]
    plan = plan_fixes(tmp_path, edits, ["a.md"])
    assert plan.changes[0].new == b"[a](https://s.com/p) [b](https://s.com/p#kept)\n"


def test_edit_outside_the_sources_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FixError, match="not inside"):
        plan_fixes(tmp_path / "src", [Edit.at("../x.md:1", "https://a.com/", "https://b.com/",
                                              "dead")])


# ---------------------------------------------------------------- writing


def _three_files(root: Path) -> list[Edit]:
    _write(root, {f"f{i}.md": f"# {i}\n[x](https://old.com/{i})\n".encode() for i in range(3)})
    return [Edit.at(f"f{i}.md:2", f"https://old.com/{i}", f"https://new.com/{i}", "moved")
            for i in range(3)]


CHILD = """
import json, os, signal, sys
import monitor.fix.write as write
from monitor.fix import Edit, plan_fixes

root, edits, after = sys.argv[1], [Edit(**e) for e in json.loads(sys.argv[2])], int(sys.argv[3])
renamed = 0

def rename(source, target):
    global renamed
    os.replace(source, target)
    renamed += 1
    if renamed == after:
        os.kill(os.getpid(), signal.SIGKILL)

write._rename = rename
plan_fixes(root, edits).apply()
"""


@pytest.mark.parametrize("after", [1, 2])
def test_killed_between_files_leaves_each_file_old_or_new(tmp_path: Path, after: int) -> None:
    edits = _three_files(tmp_path)
    plan = plan_fixes(tmp_path, edits)
    payload = json.dumps([e.to_json() for e in edits])
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), payload, str(after)],
                           capture_output=True, check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    states = []
    for change in plan.changes:
        data = change.path.read_bytes()
        assert data in (change.old, change.new)
        states.append(data == change.new)
    assert states == [True] * after + [False] * (3 - after)


def test_failure_before_the_renames_writes_nothing(tmp_path: Path) -> None:
    edits = _three_files(tmp_path)
    plan = plan_fixes(tmp_path, edits)
    (tmp_path / "f2.md").write_bytes(b"# 2\nedited meanwhile\n")
    before = snapshot(tmp_path)
    with pytest.raises(FixError, match="f2.md: changed since the fix was planned"):
        plan.apply()
    assert snapshot(tmp_path) == before  # no temporary file left either


def test_failed_rename_puts_the_first_files_back(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    edits = _three_files(tmp_path)
    plan = plan_fixes(tmp_path, edits)
    before = snapshot(tmp_path)
    calls = []

    def rename(source: str, target: str) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        os.replace(source, target)

    monkeypatch.setattr(write, "_rename", rename)
    with pytest.raises(OSError):
        plan.apply()
    assert snapshot(tmp_path) == before


def test_mode_kept_and_symlink_written_through(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere" / "real.md"
    _write(tmp_path, {"elsewhere/real.md": b"[a](https://old.com/)\n"})
    real.chmod(0o640)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "link.md").symlink_to(real)
    plan = plan_fixes(tmp_path / "src", [Edit.at("link.md:1", "https://old.com/",
                                                 "https://new.com/", "moved")])
    plan.apply()
    assert (tmp_path / "src" / "link.md").is_symlink()
    assert real.read_bytes() == b"[a](https://new.com/)\n"
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.md"]


# ---------------------------------------------------------------- findings -> edits


def test_findings_become_edits_or_are_listed() -> None:
    findings = [
        Finding("https://a.com/x#part", "a.md:3", "moved", final_url="https://b.com/y"),
        Finding("https://c.com/", "a.md:4", "dead", archive_url="https://web.archive.org/c"),
        Finding("https://d.com/", "a.md:5", "dead"),
        Finding("https://e.com/p#gone", "b.md:1", "anchor"),
        Finding("https://f.com/", "", "moved", final_url="https://g.com/"),
    ]
    edits, listed = edits_for(findings)
    assert [(e.source, e.new_url, e.reason) for e in edits] == [
        ("a.md:3", "https://b.com/y#part", "moved"),
        ("a.md:4", "https://web.archive.org/c", "dead"),
        ("b.md:1", "https://e.com/p", "anchor")]
    assert [f.url for f in listed] == ["https://d.com/", "https://f.com/"]
    edits, listed = edits_for(findings, dead="none")
    assert [e.reason for e in edits] == ["moved", "anchor"]
    assert len(listed) == 3
    with pytest.raises(ValueError):
        edits_for(findings, dead="delete")


def test_a_second_fix_finds_nothing(tmp_path: Path) -> None:
    """After --apply, the catalog extracted again holds the new URLs: the findings of the
    next run (none for these resources) give no edit, and the old edits are stale."""
    root = handbook_copy(tmp_path)
    edits = handbook_edits(root)
    plan_fixes(root, edits, handbook_paths(root)).apply()
    rows, _ = extract(handbook_paths(root))
    assert not {canonical_url(u) for u in FIXES} & {r.canonical_url for r in rows}
    with pytest.raises(StaleSource):
        plan_fixes(root, edits, handbook_paths(root))

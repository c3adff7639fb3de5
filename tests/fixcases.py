"""Shared helpers of the tests of monitor.fix: the YAML cases, the handbook copy, extraction."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import strategies as st

CASES: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "fix_links.yaml").read_text("utf-8"))
HANDBOOK = Path(__file__).resolve().parents[2] / "shared" / "handbook"

# Markdown documents made of pieces that are hard to locate links in (hypothesis).
PIECES = [
    "[a](https://a.com/x)", '[b]( https://b.com/(p) "t")', "`code [c](https://c.com/)`",
    "``x ` y``", "<https://d.com/q?a=1&b=2>", '<a href="https://e.com/">e</a>',
    "<a href='https://e2.com/'>", "</a>", "[r][ref]", "[ref]", "![i](https://img.com/i.png)",
    "\\[not](https://n.com/)", "[t\nu](https://t.com/)", "*em [f](https://f.com/)*",
    "[g](<https://g.com/a b>)", "&amp;", "|", " | ", "\t", "  ", "\n", "\n\n", "\n- ", "\n  - ",
    "\n1. ", "\n> ", "\n```\n", "\n    ", '\n<div markdown="1">\n', "\n</div>\n", "\n# ",
    "\n## ", "\n| h | k |\n|---|---|\n| ", "\n[ref]: https://ref.com/def\n", "é",
    "[h](https://h.com/é)", "<!-- c -->", "{% include x.md %}", "[](https://empty.com/)",
    "\r\n", "\r",
]
DOCUMENTS = st.lists(st.sampled_from(PIECES), min_size=1, max_size=25).map("".join)


def case_bytes(case: dict[str, Any], key: str) -> bytes:
    """``case[key]`` as the file's bytes, after the case's crlf / bom / final_newline flags."""
    text: str = case[key]
    if case.get("final_newline") is False:
        text = text.removesuffix("\n")
    if case.get("crlf"):
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if case.get("bom") else data


def ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


def handbook_copy(tmp_path: Path) -> Path:
    """A writable copy of the real handbook sources in ``tmp_path/handbook``."""
    if not HANDBOOK.is_dir():
        pytest.skip(f"handbook not found at {HANDBOOK}")
    target = tmp_path / "handbook"
    shutil.copytree(HANDBOOK, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def handbook_paths(root: Path) -> list[Path]:
    return [root / "index.md", *sorted((root / "_includes").glob("*.md"))]


def git(folder: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run git in ``folder`` (a private identity, no user configuration)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(folder), "PATH": "/usr/bin:/bin",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=folder, input=stdin, capture_output=True,
                          env=env, check=False)


def git_repo(folder: Path) -> None:
    """Make ``folder`` a git repository with everything in it committed."""
    for args in (("init", "-q"), ("config", "core.autocrlf", "false"), ("add", "-A"),
                 ("commit", "-qm", "copy")):
        assert git(folder, *args).returncode == 0


def extraction_lines(data: bytes) -> list[tuple[str, int]] | None:
    """(href, line) of every link extraction finds in one file, or None when the per-file
    walk is not importable (it is private to extraction and may move)."""
    for name in ("monitor.catalog.extract",):
        try:
            module = __import__(name, fromlist=["_file_events", "_Link"])
            events, link = module._file_events, module._Link
        except (ImportError, AttributeError):
            continue
        text = data.decode("utf-8-sig")
        return [(e.href, e.line) for e in events(text) if isinstance(e, link)]
    return None

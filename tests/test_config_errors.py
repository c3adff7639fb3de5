"""Configuration errors a first-time user meets: help always works; every problem is listed at
once with file, line and key, and a typo gets the nearest key."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.toml_lines import key_lines
from tests.service_helpers import register_commands

BROKEN = '[http]\nper_hots = 3\ntimeout = "soon"\n[htpp]\nretries = 1\n'

def every_command() -> list[list[str]]:
    """``[]`` (monitor itself) and the path of every command and group under it."""
    register_commands()
    found: list[list[str]] = [[]]

    def walk(group: click.Group, path: list[str]) -> None:
        for name, command in group.commands.items():
            found.append([*path, name])
            if isinstance(command, click.Group):
                walk(command, [*path, name])

    walk(main, [])
    return found


HELP = every_command()


@pytest.mark.parametrize("command", HELP, ids=lambda c: " ".join(c) or "monitor")
def test_help_works_with_a_broken_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         command: list[str]) -> None:
    register_commands()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    (tmp_path / "monitor.toml").write_text(BROKEN)
    for flag in ("--help", "-h"):
        result = CliRunner().invoke(main, [*command, flag], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.stdout and "per_hots" not in result.output
    explicit = CliRunner().invoke(main, ["--config", "monitor.toml", *command, "--help"])
    assert explicit.exit_code == 0 and "Usage:" in explicit.stdout


def test_a_command_with_a_broken_config_lists_every_problem(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    (tmp_path / "monitor.toml").write_text(BROKEN)
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path / 'm.db'}", "status"])
    assert result.exit_code == 3
    assert "monitor.toml:2: unknown key http.per_hots (did you mean http.per_host?)" in (
        result.stderr)
    assert "monitor.toml:3: http.timeout must be a number" in result.stderr
    assert "monitor.toml:4: unknown section [htpp] (did you mean [http]?)" in result.stderr
    assert "3 problems" in result.stderr


def problems(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(str(path))
    return str(err.value).replace(str(path), "m.toml")


@pytest.mark.parametrize(("text", "expected"), [
    # keys that only look like keys, inside strings of each kind, come before the real one
    ('[arxiv]\nkeywords = ["""\nper_hots = 1\n""", \'\'\'\nx = 2\n\'\'\']\n'
     '[http]\n# per_hots = 0\nuser_agent = "a # b = c"\nper_hots = 3\n',
     "m.toml:10: unknown key http.per_hots (did you mean http.per_host?)"),
    ("http.per_hots = 3\n", "m.toml:1: unknown key http.per_hots"),
    ("\n\nhttp = { retries = 1, per_hots = 3 }\n", "m.toml:3: unknown key http.per_hots"),
    ('[http]\n"per_hots" = 3\n', "m.toml:2: unknown key http.per_hots"),
    ("[ http ]\r\n\r\nper_hots = 3\r\n", "m.toml:3: unknown key http.per_hots"),
    ("[report]\n\n\nhistory_runs = 0\n", "m.toml:4: report.history_runs must be between"),
    ("[http]\nhistory_runs = 3\n", "m.toml:2: unknown key http.history_runs "
                                   "(did you mean report.history_runs?)"),
    ("timeout = 3\n", "m.toml:1: a top-level key 'timeout': settings go in a table such as "
                      "[http] (did you mean http.timeout?)"),
    ('[schedule]\ntimezone = "UTC"\ncron = "every night"\n',
     "m.toml:3: schedule.cron: 'every night' must have 5 fields"),
    ('[schedule]\n\ntimezone = "Mars/Olympus"\n', "m.toml:3: schedule.timezone: unknown time"),
    ("[http]\nretries =\n", "m.toml: Invalid value (at line 2"),
])
def test_problems_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problems(tmp_path, text)


def test_a_file_not_in_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_bytes(b'[http]\nretries = 1\nuser_agent = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"m\.toml:3: not UTF-8"):
        load_settings(str(path))


def test_all_problems_at_once_in_file_order(tmp_path: Path) -> None:
    text = ("[schedule]\ncron = \"61 * * * *\"\n[http]\nconcurrency = 0\nper_hots = 1\n"
            "[arxiv]\nlookback_days = 1000000\n")
    found = problems(tmp_path, text)
    lines = [int(n) for n in re.findall(r"^  m\.toml:(\d+):", found, re.M)]
    assert found.startswith("m.toml: 4 problems") and lines == [2, 4, 5, 7], found


def test_key_lines_on_a_tricky_document() -> None:
    text = ('a = """\n[x]\nb = 1\n"""\n[t]  # c\n"q k" = [\n  1, # d = 2\n  { e = 3 },\n]\n'
            "[[arr]]\nf = 1979-05-27 07:32:00Z\n")
    found = key_lines(text)
    assert found[("a",)] == 1 and ("x",) not in found and ("b",) not in found
    assert found[("t",)] == 5 and found[("t", "q k")] == 6 and found[("t", "q k", "e")] == 8
    assert ("d",) not in found and ("t", "d") not in found
    assert found[("arr",)] == 10 and found[("arr", "f")] == 11

"""Configuration: every key documented, types and ranges checked, errors name the key."""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

import pytest

from monitor.config import SETTINGS, Setting, load_settings
from monitor.errors import ConfigError
from monitor.store.db import SCHEMA_HEAD, current_revision, open_database
from tests.cli_helpers import monitor
from tests.unprivileged import run_monitor

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for setting in SETTINGS:
        section = re.search(rf"^\[{setting.section}\]$(.*?)(?=^\[|^```)", text, re.M | re.S)
        assert section and re.search(rf"^{setting.name} = ", section.group(1), re.M), setting.key


@pytest.mark.parametrize(("toml", "key", "words"), [
    ("[http]\nconcurency = 4\n", "http.concurency", "unknown key"),
    ("[htp]\nretries = 1\n", "[htp]", "unknown section"),
    ('[http]\nretries = "two"\n', "http.retries", "must be a integer"),
    ("[http]\nconcurrency = 0\n", "http.concurrency", "between 1 and 1024"),
    ("[http]\ntimeout = inf\n", "http.timeout", "finite"),
    ("[http]\nbackoff_base = 1e9\n", "http.backoff_base", "between 0 and 600"),
    ("[health]\ndegraded_threshold = 7\n", "health.degraded_threshold", "between 0 and 1"),
    ('[http]\nuser_agent = "a\\nb"\n', "http.user_agent", "control characters"),
    ('[http]\nconnect_to = [1]\n', "http.connect_to", "list of strings"),
    ('[schedule]\ncron = "every night"\n', "schedule.cron", "5 fields"),
    ('[schedule]\ntimezone = "Mars/Olympus"\n', "schedule.timezone", "unknown time zone"),
    ("[http\n", "m.toml", "Expected"),
])
def test_bad_settings_name_the_key(tmp_path: Path, toml: str, key: str, words: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(str(path))
    assert key in str(err.value) and words in str(err.value)


def test_ints_are_accepted_for_floats_and_defaults_fill_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text("[http]\ntimeout = 5\n[schedule]\ncron = \"30 2 * * 0\"\n")
    settings = load_settings(str(path))
    assert settings["http.timeout"] == 5.0 and isinstance(settings["http.timeout"], float)
    assert settings["http.retries"] == 2 and settings.source == str(path)


def test_a_missing_named_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(str(tmp_path / "nope.toml"))


def _open(url: str) -> None:
    open_database(url).dispose()


def test_processes_migrating_a_new_database_at_once(db_url: str) -> None:
    """Alembic's context is process-global, so the race is between processes (4 first starts)."""
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_open, [db_url] * 4)
    database = open_database(db_url)
    assert current_revision(database.engine) == SCHEMA_HEAD
    database.dispose()


def test_every_command_is_in_the_readme() -> None:
    import click

    from monitor.cli import main

    text = README.read_text(encoding="utf-8")
    for name, command in main.commands.items():
        subs = command.commands if isinstance(command, click.Group) else {}
        for full in [f"monitor {name} {sub}" for sub in subs] or [f"monitor {name}"]:
            assert f"`{full}" in text, full


# ---------------------------------------------------------------- extreme values (issue 16)

NUMBERS = [s for s in SETTINGS if isinstance(s.default, int | float)
           and not isinstance(s.default, bool)]


def test_every_number_has_both_bounds() -> None:
    for setting in NUMBERS:
        assert setting.low is not None and setting.high is not None, setting.key
        assert setting.low <= setting.default <= setting.high, setting.key


@pytest.mark.parametrize("setting", NUMBERS, ids=lambda s: s.key)
@pytest.mark.parametrize("value", ["1000000000000000", "-1000000000000000", "1e308", "nan"])
def test_extreme_numbers_name_the_key(tmp_path: Path, setting: Setting, value: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(f"[{setting.section}]\n{setting.name} = {value}\n")
    if isinstance(setting.default, int) and not value.lstrip("-").isdigit():
        value = "1000000000000000"
        path.write_text(f"[{setting.section}]\n{setting.name} = {value}\n")
    with pytest.raises(ConfigError, match=re.escape(setting.key)):
        load_settings(str(path))


def test_a_huge_lookback_is_exit_3_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text("[arxiv]\nlookback_days = 1000000\n")
    result = monitor(f"sqlite:///{tmp_path / 'm.db'}", path, "arxiv")
    assert result.exit_code == 3 and "arxiv.lookback_days" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("key", "value"), [
    ("catalog.path", "/dev/zero"), ("http.ca_bundle", "/dev/zero"), ("catalog.path", "/"),
    ("report.dir", "/dev/null"), ("report.dir", "/dev/null/reports"),
])
def test_special_files_in_path_settings_are_exit_3(tmp_path: Path, key: str, value: str) -> None:
    section, name = key.split(".")
    path = tmp_path / "m.toml"
    path.write_text(f'[{section}]\n{name} = "{value}"\n')
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_settings(str(path))
    result = monitor(f"sqlite:///{tmp_path / 'm.db'}", path, "status")
    assert result.exit_code == 3 and key in result.stderr and "Traceback" not in result.output


def test_special_files_on_the_command_line_are_exit_3(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    checked = monitor(url, None, "check", "--catalog", "/dev/zero")
    assert checked.exit_code == 3 and "catalog.path" in checked.stderr
    config = monitor(url, Path("/dev/zero"), "status")
    assert config.exit_code == 3 and "/dev/zero is not a regular file" in config.stderr
    validated = monitor(url, None, "catalog", "validate", "/dev/zero")
    assert validated.exit_code == 3 and "/dev/zero is not a regular file" in validated.stderr


def test_a_big_config_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text("# padding\n" * 200_000)
    with pytest.raises(ConfigError, match="larger than"):
        load_settings(str(path))


def test_an_inaccessible_report_dir_is_exit_3_naming_the_key(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir(mode=0o000)  # like /proc/1/root for anyone but root
    config = tmp_path / "m.toml"
    config.write_text(f'[report]\ndir = "{hidden / "reports"}"\n')
    try:
        result = run_monitor(["--db", f"sqlite:///{tmp_path / 'm.db'}", "--config", str(config),
                              "report"], tmp_path)
    finally:
        hidden.chmod(0o700)
    assert result.returncode == 3, result.stderr
    assert "report.dir" in result.stderr and "Permission denied" in result.stderr
    assert "Traceback" not in result.stderr

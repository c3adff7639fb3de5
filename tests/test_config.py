"""Configuration: every key documented, types and ranges checked, errors name the key."""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

import pytest

from monitor.config import SETTINGS, load_settings
from monitor.errors import ConfigError
from monitor.store.db import SCHEMA_HEAD, current_revision, open_database

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
    ("[http]\nconcurrency = 0\n", "http.concurrency", "at least 1"),
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

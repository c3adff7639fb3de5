"""A PostgreSQL URL without its driver installed says which extra to install (no server needed:
port 1 of 127.0.0.1 refuses at once)."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.store.db import POSTGRES_EXTRA, make_engine

SECRET = "s3cret-pw"


@pytest.fixture
def without_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import psycopg`` (and psycopg2) fail, as after a plain ``pip install -e .``."""
    for name in ("psycopg", "psycopg2"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("url", [f"postgresql+psycopg://monitor:{SECRET}@127.0.0.1:1/monitor",
                                 f"postgresql://monitor:{SECRET}@127.0.0.1:1/monitor",
                                 f"postgresql+psycopg2://monitor:{SECRET}@127.0.0.1:1/monitor"])
def test_a_missing_postgres_driver_names_the_extra(without_psycopg: None, url: str) -> None:
    result = CliRunner().invoke(main, ["--db", url, "status"])
    assert result.exit_code == 3, result.output
    assert POSTGRES_EXTRA in result.stderr and "pip install 'monitor[postgres]'" in result.stderr
    assert SECRET not in result.output and "monitor:***@127.0.0.1:1" in result.stderr


def test_postgresql_without_a_driver_name_uses_the_extras_driver() -> None:
    pytest.importorskip("psycopg")
    engine = make_engine(f"postgresql://monitor:{SECRET}@127.0.0.1:1/monitor")
    assert engine.url.drivername == ("postgresql+psycopg2" if _has("psycopg2")
                                     else "postgresql+psycopg")
    engine.dispose()
    result = CliRunner().invoke(main, ["--db", f"postgresql://monitor:{SECRET}@127.0.0.1:1/m",
                                       "status"])
    assert result.exit_code == 1 and "unreachable" in result.stderr  # a driver, no server
    assert SECRET not in result.output


def test_a_malformed_url_never_shows_its_password() -> None:
    result = CliRunner().invoke(main, ["--db", f"nosuchdb://monitor:{SECRET}@host/x", "status"])
    assert result.exit_code == 3 and SECRET not in result.output


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None

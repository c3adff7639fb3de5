"""Read commands on a SQLite database this process cannot write (file, folder, or both).

The commands run in a child that file modes apply to even when the suite runs as root
(tests/unprivileged.py). The database is SQLite whatever MONITOR_TEST_DATABASE_URL says: the
rules are SQLite's.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.store.db import is_read_only, make_engine, open_database
from monitor.store.models import Resource, ResourceState, Run, Suggestion
from tests.unprivileged import run_monitor

READS = [["status", "--json"], ["runs", "--json"]]
MORE_READS = [["suggestions", "list", "--json"], ["report", "--format", "json", "--out", "-"]]


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A folder holding ``m.db`` (migrated, one finished run, one resource)."""
    where = tmp_path / "data"
    where.mkdir()
    database = open_database(f"sqlite:///{where / 'm.db'}")
    start = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    with database.session() as s:
        s.add(Run(started_at=start, finished_at=start + timedelta(minutes=1), status="complete",
                  checked=1, ok=1))
        resource = Resource(url="https://example.org/a", canonical_url="https://example.org/a",
                            title="A", section="S", kind="site")
        s.add(resource)
        s.flush()
        s.add(ResourceState(resource_id=resource.id, state="ok"))
        s.add(Suggestion(arxiv_id="2401.00001", version=1, title="T", authors=["A"],
                         abstract="", published=start, categories=["cs.CL"], score=0.5,
                         section="S", matched_terms=[], status="new"))
    database.dispose()
    yield where
    where.chmod(0o755)
    (where / "m.db").chmod(0o644)


@contextmanager
def modes(folder: Path, file_mode: int, folder_mode: int) -> Iterator[None]:
    (folder / "m.db").chmod(file_mode)
    folder.chmod(folder_mode)
    try:
        yield
    finally:
        folder.chmod(0o755)
        (folder / "m.db").chmod(0o644)


def reads(folder: Path, commands: list[list[str]] = READS) -> dict[str, object]:
    """Each read command's JSON; each must exit 0."""
    out: dict[str, object] = {}
    for args in commands:
        result = run_monitor(["--db", f"sqlite:///{folder / 'm.db'}", *args], folder.parent)
        assert result.returncode == 0, (args, result.stderr)
        out[args[0]] = json.loads(result.stdout)
    return out


@pytest.mark.parametrize(("file_mode", "folder_mode"), [(0o444, 0o555), (0o644, 0o555),
                                                        (0o444, 0o755)],
                         ids=["file-and-folder", "folder", "file"])
def test_read_commands_work_on_a_read_only_database(folder: Path, file_mode: int,
                                                    folder_mode: int) -> None:
    with modes(folder, file_mode, folder_mode):
        found = reads(folder)
    assert [r["url"] for r in found["status"]] == ["https://example.org/a"]  # type: ignore[union-attr]
    assert [r["status"] for r in found["runs"]] == ["complete"]  # type: ignore[union-attr]
    if folder_mode == 0o555:
        assert sorted(p.name for p in folder.iterdir()) == ["m.db"]  # nothing created beside


def test_every_read_command_and_a_refused_write(folder: Path) -> None:
    with modes(folder, 0o444, 0o555):
        found = reads(folder, MORE_READS)
        write = run_monitor(["--db", f"sqlite:///{folder / 'm.db'}", "suggestions", "reject",
                             "1"], folder.parent)
    assert [x["arxiv_id"] for x in found["suggestions"]] == ["2401.00001"]  # type: ignore[union-attr]
    assert found["report"]["run"]["id"] == 1  # type: ignore[index]
    assert write.returncode == 1 and "readonly database" in write.stderr
    assert "Traceback" not in write.stderr


def test_a_read_only_reader_sees_what_a_running_writer_committed(folder: Path) -> None:
    writer = sqlite3.connect(folder / "m.db")  # keeps -wal and -shm, as a running check does
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("INSERT INTO runs (command, started_at, finished_at, status, checked, ok,"
                       " moved, failing, dead, blocked, unknown, hosts, hosts_unreachable, note)"
                       " VALUES ('check', '2026-01-03 03:00:00.000000', "
                       "'2026-01-03 03:01:00.000000', 'degraded', 0, 0, 0, 0, 0, 0, 0, 0, 0, '')")
        writer.commit()  # in the -wal file only: no checkpoint while the connection is open
        assert (folder / "m.db-wal").exists() and (folder / "m.db-shm").exists()
        with modes(folder, 0o644, 0o555):
            runs = reads(folder, [["runs", "--json"]])["runs"]
    finally:
        writer.close()
    assert [r["status"] for r in runs] == ["degraded", "complete"]  # type: ignore[union-attr]


def test_a_read_only_database_behind_head_is_a_clear_error(folder: Path) -> None:
    with sqlite3.connect(folder / "m.db") as raw:
        raw.execute("UPDATE alembic_version SET version_num = '0000'")
    raw.close()
    with modes(folder, 0o444, 0o555):
        result = run_monitor(["--db", f"sqlite:///{folder / 'm.db'}", "runs"], folder.parent)
    assert result.returncode == 1
    assert "read-only" in result.stderr and "monitor db upgrade" in result.stderr


def test_a_writable_database_stays_read_write(folder: Path) -> None:
    engine = make_engine(f"sqlite:///{folder / 'm.db'}")
    assert not is_read_only(engine)
    engine.dispose()

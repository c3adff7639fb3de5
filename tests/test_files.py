"""Files the monitor writes (issue 16 item 2): through a symbolic link to a regular file, never
over a FIFO, a device or a directory; atomically."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.files import write_atomic
from tests.cli_helpers import monitor
from tests.dbutil import db_url  # noqa: F401


def test_a_symlink_is_written_through_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "real.html"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "link.html"
    link.symlink_to(target)
    assert write_atomic(link, b"new", "report") == target
    assert link.is_symlink() and target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.html", "real.html"]


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        write_atomic(fifo, b"x", "report")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_device_is_refused_before_anything_is_written(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []
    monkeypatch.setattr(os, "replace", lambda a, b: written.append(str(b)))
    with pytest.raises(ConfigError, match="not a regular file"):
        write_atomic("/dev/null", b"x", "report")
    assert written == [] and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="directory"):
        write_atomic(tmp_path, b"x", "report")


def test_report_out_to_a_fifo_is_exit_3(tmp_path: Path, db_url: str) -> None:  # noqa: F811
    fifo = tmp_path / "out.md"
    os.mkfifo(fifo)
    result = monitor(db_url, None, "report", "--format", "md", "--out", str(fifo))
    assert result.exit_code == 3 and "not a regular file" in result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)

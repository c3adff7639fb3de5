"""Notifications through the nightly job (``monitor run``) and ``monitor notify``: real channels
on loopback (a json:// webhook, a local fake of the GitHub REST API), the simulated web for the
links. A quiet night sends nothing; a night that needs action sends one message per channel;
six nights keep one issue (created, updated, closed); a channel down never changes the exit
status; no secret reaches the output, the database or the reports."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.store.db import open_database
from tests.cli_helpers import monitor, write_catalog, write_config
from tests.dbutil import db, db_url  # noqa: F401
from tests.notify_fakes import FakeGitHub, Hook, LoopThread, loop_thread
from tests.simweb import SimWeb, redirect

__all__ = ["loop_thread"]

TOKEN = "ghp_RunT0kenForTests0123456789abcdefXYZ"
HOOK_SECRET = "hook-Secret-9f8e7d6c"
HOOK_PATH_TOKEN = "pathTok3nABCDEF0123"
SECRETS = (TOKEN, HOOK_SECRET, HOOK_PATH_TOKEN)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hook_url(port: int) -> str:
    return f"json://user:{HOOK_SECRET}@127.0.0.1:{port}/hook/{HOOK_PATH_TOKEN}"


@pytest.fixture
def hook(loop_thread: LoopThread) -> Hook:
    receiver = Hook()
    receiver.port = loop_thread.serve_app(receiver.app())
    return receiver


@pytest.fixture
def github(loop_thread: LoopThread, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fake = FakeGitHub(TOKEN, page_size=2)
    fake.port = loop_thread.serve_app(fake.app())
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return fake


def _web(simweb: SimWeb, moved: bool) -> None:
    simweb.route("fine.test", "/a", body=b"<title>A</title><p>a page</p>")
    if moved:
        simweb.route("old.test", "/p", redirect("https://new.test/p", 301))
    else:
        simweb.route("old.test", "/p", body=b"<title>P</title><p>the paper</p>")
    simweb.route("new.test", "/p", body=b"<title>P</title><p>the paper</p>")


def _config(tmp_path: Path, simweb: SimWeb, catalog: Path, urls: list[str],
            github: FakeGitHub | None = None, **notify: object) -> Path:
    sections: dict[str, dict[str, object]] = {
        "catalog": {"path": str(catalog)}, "notify": {"urls": urls, **notify}}
    if github is not None:
        sections["notify.github"] = {"repo": "owner/handbook",
                                     "api_url": f"http://127.0.0.1:{github.port}"}
    return write_config(tmp_path / "monitor.toml", simweb, **sections)


def _scan_for_secrets(tmp_path: Path, db_url: str, *outputs: str) -> None:  # noqa: F811
    texts = list(outputs)
    texts += [p.read_text("utf-8", "replace") for p in (tmp_path / "reports").glob("*")]
    database = open_database(db_url)
    try:
        with database.engine.connect() as c:
            for table in ("runs", "notifications", "check_results", "events"):
                texts += [repr(row) for row in c.execute(text(f"SELECT * FROM {table}"))]
    finally:
        database.dispose()
    for secret in SECRETS:
        assert not [t for t in texts if secret in t], f"a secret leaked: {secret[:5]}..."


def test_quiet_night_sends_nothing_and_an_action_night_one_message(
        simweb: SimWeb, tmp_path: Path, db_url: str, hook: Hook) -> None:  # noqa: F811
    _web(simweb, moved=False)
    catalog = write_catalog(tmp_path / "catalog.csv", ["https://fine.test/a", "https://old.test/p"])
    config = _config(tmp_path, simweb, catalog, [_hook_url(hook.port)])
    quiet = monitor(db_url, config, "run", "--skip-arxiv")
    assert quiet.exit_code == 0, quiet.output
    assert hook.requests == [] and "nothing sent" in quiet.stdout
    _web(simweb, moved=True)
    action = monitor(db_url, config, "run", "--skip-arxiv")
    assert action.exit_code == 0, action.output
    assert len(hook.requests) == 1
    sent = hook.requests[0]["json"]
    assert sent["title"] == "monitor: 1 moved"
    assert "https://new.test/p" in sent["message"]
    assert "notify (" in action.stdout and "json://127.0.0.1: sent" in action.stdout
    again = monitor(db_url, config, "run", "--skip-arxiv")  # still moved: nothing new
    assert again.exit_code == 0 and len(hook.requests) == 1
    _scan_for_secrets(tmp_path, db_url, quiet.output, action.output, again.output)


def test_six_nights_keep_one_issue_then_close_it(
        simweb: SimWeb, tmp_path: Path, db_url: str, github: FakeGitHub) -> None:  # noqa: F811
    _web(simweb, moved=True)
    catalog = write_catalog(tmp_path / "catalog.csv", ["https://fine.test/a", "https://old.test/p"])
    config = _config(tmp_path, simweb, catalog, [], github)
    outputs = []
    for _ in range(5):
        result = monitor(db_url, config, "run", "--skip-arxiv")
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert len(github.issues) == 1 and github.issues[0]["state"] == "open"
    writes = github.writes()
    assert writes[0] == "POST /repos/owner/handbook/issues"
    assert writes[1:] == ["PATCH /repos/owner/handbook/issues/1"] * 4
    assert "new.test/p" in github.issues[0]["body"]
    write_catalog(catalog, ["https://fine.test/a", "https://new.test/p"])  # the fix landed
    closing = monitor(db_url, config, "run", "--skip-arxiv")
    assert closing.exit_code == 0, closing.output
    assert len(github.issues) == 1 and github.issues[0]["state"] == "closed"
    assert len(github.comments[1]) == 1
    assert all(entry["auth"] == f"Bearer {TOKEN}" for entry in github.log)
    _scan_for_secrets(tmp_path, db_url, *outputs, closing.output)


def test_a_channel_down_never_fails_the_run_and_is_noted(
        simweb: SimWeb, tmp_path: Path, db_url: str, hook: Hook,  # noqa: F811
        github: FakeGitHub) -> None:
    _web(simweb, moved=True)
    catalog = write_catalog(tmp_path / "catalog.csv", ["https://fine.test/a", "https://old.test/p"])
    github.forced = [(503, {}), (503, {})]
    config = _config(tmp_path, simweb, catalog, [_hook_url(_closed_port()), _hook_url(hook.port)],
                     github)
    result = monitor(db_url, config, "run", "--skip-arxiv")
    assert result.exit_code == 0, result.output
    assert len(hook.requests) == 1  # the working channel still got its message
    runs = json.loads(monitor(db_url, config, "runs", "--json").stdout)
    assert "notification failed" in runs[0]["note"] and "json://127.0.0.1" in runs[0]["note"]
    html = (tmp_path / "reports" / "index.html").read_text("utf-8")
    assert "notification failed" in html
    _scan_for_secrets(tmp_path, db_url, result.output)


def test_notify_test_and_resend(simweb: SimWeb, tmp_path: Path, db_url: str,  # noqa: F811
                                hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    _web(simweb, moved=False)
    catalog = write_catalog(tmp_path / "catalog.csv", ["https://fine.test/a"])
    monkeypatch.setenv("MONITOR_TEST_HOOKS", _hook_url(hook.port))
    config = _config(tmp_path, simweb, catalog, [], urls_env="MONITOR_TEST_HOOKS")
    tried = monitor(db_url, config, "notify", "--test")
    assert tried.exit_code == 0, tried.output
    assert tried.stdout.strip() == "json://127.0.0.1: test sent" and len(hook.requests) == 1
    assert monitor(db_url, config, "notify").exit_code == 3  # no run yet
    assert monitor(db_url, config, "run", "--skip-arxiv").exit_code == 0
    assert len(hook.requests) == 1  # a quiet night
    resent = monitor(db_url, config, "notify", "--run", "1")
    assert resent.exit_code == 0 and len(hook.requests) == 2
    down = _config(tmp_path, simweb, catalog, [_hook_url(_closed_port())])
    failed = monitor(db_url, down, "notify", "--test")
    assert failed.exit_code == 1 and "json://127.0.0.1: failed" in failed.stdout
    _scan_for_secrets(tmp_path, db_url, tried.output, resent.output, failed.output)


def test_the_readme_notify_block_works_as_written(tmp_path: Path) -> None:
    from monitor.config import load_settings
    from monitor.notify.config import NotifyConfig

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    section = readme[readme.index("## Notifications"):]
    block = section[section.index("```toml") + 7:section.index("```", section.index("```toml") + 7)]
    path = tmp_path / "monitor.toml"
    path.write_text(block, encoding="utf-8")
    settings = load_settings(str(path))
    config = NotifyConfig.from_settings(settings, {"MONITOR_NOTIFY_URLS": "json://h/x ntfy://t"})
    assert config.channel_urls() == ["json://h/x", "ntfy://t"]
    assert config.github_repo == "owner/handbook" and config.when == "action"

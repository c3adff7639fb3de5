"""monitor.notify through apprise, on loopback: a real SMTP server receives the mailto://
message, a local aiohttp server the json:// webhook. Secrets never appear in output, logs or
returned values."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from monitor.notify import Delivery, NotifyConfig, deliver
from monitor.notify.channels import quiet_libraries
from tests.notify_fakes import (
    FakeGitHub,
    Hook,
    LoopThread,
    SmtpSink,
    loop_thread,
    night,
    wait_for,
)

__all__ = ["loop_thread"]

SMTP_PASSWORD = "smtp-Pa55word-9f3a"
HOOK_PASSWORD = "hook-Pa55word-77c1"
HOOK_TOKEN = "whk-T0ken-1b2c3d4e5f"
GITHUB_TOKEN = "ghp_Secr3tT0kenOfTheChannelsTest000000"
SECRETS = (SMTP_PASSWORD, HOOK_PASSWORD, HOOK_TOKEN, GITHUB_TOKEN)
ACTION = (("went_dead", "https://dead.example.org/paper"), ("moved", "https://old.example.org"))


@dataclass
class Channels:
    smtp: SmtpSink
    hook: Hook
    mailto: str
    json: str


@pytest.fixture
def channels(loop_thread: LoopThread) -> Channels:
    smtp = SmtpSink("bob", SMTP_PASSWORD)
    smtp.port = loop_thread.serve_smtp(smtp.factory)
    hook = Hook()
    hook.port = loop_thread.serve_app(hook.app())
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the test server's own log
    return Channels(
        smtp, hook,
        f"mailto://bob:{SMTP_PASSWORD}@127.0.0.1:{smtp.port}"
        "?from=monitor@example.org&to=maint@example.org",
        f"json://hookuser:{HOOK_PASSWORD}@127.0.0.1:{hook.port}/hook/{HOOK_TOKEN}")


@pytest.fixture
def scan(caplog: pytest.LogCaptureFixture,
         capsys: pytest.CaptureFixture[str]) -> Iterator[list[object]]:
    """Everything appended to the yielded list, all log records (DEBUG and up) and standard
    output and error are scanned for the secrets at the end of the test."""
    caplog.set_level(logging.DEBUG)
    seen: list[object] = []
    yield seen
    out = capsys.readouterr()
    texts = [out.out, out.err, caplog.text, *map(repr, seen)]
    texts += [f"{r.getMessage()} {r.args!r} {r.exc_text}" for r in caplog.records]
    for secret in SECRETS:
        assert not [t for t in texts if secret in t], f"a secret leaked: {secret[:4]}…"


def config(*urls: str, **kwargs: object) -> NotifyConfig:
    return NotifyConfig(urls=urls, retry_delay=0, **kwargs)  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_quiet_night_sends_nothing(channels: Channels, scan: list[object]) -> None:
    result = deliver(config(channels.mailto, channels.json), night(2, dead=3))
    scan.append(result)
    assert result.outcomes == () and result.decision and not result.decision.send
    assert channels.smtp.messages == [] and channels.hook.requests == []
    assert result.line() == "notify (a quiet night: 3 dead still open): nothing sent"


def test_action_night_one_message_per_channel(channels: Channels, scan: list[object]) -> None:
    result = deliver(config(channels.mailto, channels.json), night(1, events=ACTION, papers=2))
    scan.append(result)
    assert [(o.channel, o.ok, o.detail, o.attempts) for o in result.outcomes] == [
        ("mailto://127.0.0.1", True, "sent", 1), ("json://127.0.0.1", True, "sent", 1)]
    wait_for(lambda: len(channels.smtp.messages) == 1 and len(channels.hook.requests) == 1)
    mail = channels.smtp.texts()[0]
    scan.append(mail)
    assert "Subject: monitor: 1 dead, 1 moved, 2 new papers" in mail
    assert channels.smtp.messages[0].rcpt_tos == ["maint@example.org"]
    assert "text/html" in mail and "Needs action" in mail
    request = channels.hook.requests[0]
    payload = request["json"]
    scan.append(payload)
    assert request["path"] == f"/hook/{HOOK_TOKEN}"
    assert request["headers"]["Authorization"].startswith("Basic ")
    assert payload["title"] == "monitor: 1 dead, 1 moved, 2 new papers"
    assert payload["type"] == "info" and "version" in payload
    assert "- **dead** Title of https://dead.example.org/paper" in payload["message"]
    assert "Full report: <https://reports.example.org/>" in payload["message"]


def test_channel_down_never_raises(channels: Channels, scan: list[object]) -> None:
    down = f"json://user:{HOOK_PASSWORD}@127.0.0.1:{closed_port()}/hook/{HOOK_TOKEN}"
    channels.hook.status = 500
    result = deliver(config(down, channels.json, channels.mailto, "nosuchscheme://x.org/a"),
                     night(1, events=ACTION))
    scan.append(result)
    got = [(o.channel, o.ok, o.attempts) for o in result.outcomes]
    assert got == [("json://127.0.0.1", False, 2), ("json://127.0.0.1", False, 2),
                   ("mailto://127.0.0.1", True, 1), ("nosuchscheme://x.org", False, 1)]
    assert len(channels.hook.requests) == 2  # tried once more
    assert all(o.error for o in result.failures())
    assert "not a usable apprise URL" in result.outcomes[3].error
    assert result.note().startswith("notification failed: json://127.0.0.1: failed (")
    assert not result.ok


def test_a_failure_is_retried_once(channels: Channels, scan: list[object]) -> None:
    channels.hook.fail_first = 1
    result = deliver(config(channels.json), night(1, events=ACTION))
    scan.append(result)
    assert [(o.ok, o.attempts) for o in result.outcomes] == [(True, 2)]
    assert len(channels.hook.requests) == 2


def test_degraded_sends_once(channels: Channels, scan: list[object]) -> None:
    cfg = config(channels.mailto, channels.json)
    nights = [night(1, status="degraded"), night(2, status="degraded", previous_status="degraded"),
              night(3, status="degraded", previous_status="degraded"),
              night(4, previous_status="degraded")]
    results = [deliver(cfg, d) for d in nights]
    scan.extend(results)
    assert [len(r.outcomes) for r in results] == [2, 0, 0, 0]
    assert len(channels.smtp.messages) == 1 and len(channels.hook.requests) == 1
    assert channels.hook.requests[0]["json"]["title"] == "monitor: the network looked down (run 1)"


def test_test_mode_reaches_every_channel(channels: Channels, scan: list[object]) -> None:
    cfg = NotifyConfig(urls_env="MONITOR_NOTIFY_URLS", retry_delay=0,
                       env={"MONITOR_NOTIFY_URLS": f"{channels.mailto} {channels.json}"})
    result = deliver(cfg, None, test=True)
    scan.append(result)
    assert isinstance(result, Delivery) and result.decision is None
    assert [(o.channel, o.detail) for o in result.outcomes] == [
        ("mailto://127.0.0.1", "test sent"), ("json://127.0.0.1", "test sent")]
    assert channels.hook.requests[0]["json"]["title"] == "monitor: test message"
    assert "Subject: monitor: test message" in channels.smtp.texts()[0]


def test_wrong_smtp_password_fails_without_showing_it(channels: Channels,
                                                      scan: list[object]) -> None:
    wrong = channels.mailto.replace(SMTP_PASSWORD, HOOK_PASSWORD)
    result = deliver(config(wrong), night(1, events=ACTION))
    scan.append(result)
    assert [(o.ok, o.attempts) for o in result.outcomes] == [(False, 2)]
    assert channels.smtp.messages == []


def test_apprise_itself_would_log_the_token(channels: Channels,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """Why channels.quiet_libraries exists: apprise's json:// plugin logs its full URL."""
    import apprise

    caplog.set_level(logging.DEBUG)
    sender = apprise.Apprise()
    sender.add(channels.json)
    assert sender.notify(body="x", title="y")
    assert HOOK_TOKEN in caplog.text
    caplog.clear()
    with quiet_libraries():
        assert sender.notify(body="x", title="y")
    assert HOOK_TOKEN not in caplog.text


def test_every_channel_and_the_issue_in_one_night(channels: Channels, loop_thread: LoopThread,
                                                  scan: list[object]) -> None:
    gh = FakeGitHub(GITHUB_TOKEN)
    gh.port = loop_thread.serve_app(gh.app())
    cfg = NotifyConfig(urls=[channels.mailto], urls_env="NOTIFY_URLS", retry_delay=0,
                       github_repo="o/r", github_api_url=f"http://127.0.0.1:{gh.port}",
                       env={"NOTIFY_URLS": channels.json, "GITHUB_TOKEN": GITHUB_TOKEN})
    result = deliver(cfg, night(1, events=ACTION, dead=1, moved=1, report="# Report\n"))
    scan.extend([result, result.line(), result.note(), cfg])
    assert [o.line() for o in result.outcomes] == [
        "mailto://127.0.0.1: sent", "json://127.0.0.1: sent", "github:o/r: created issue #1"]
    assert gh.issues[0]["body"] == "# Report\n" and result.ok and result.note() == ""
    assert result.line().startswith("notify (1 went dead, 1 moved): mailto://127.0.0.1: sent")

"""The rolling GitHub issue against a local fake of the REST API (tests/notify_fakes.py):
one issue created, updated while action is needed, closed with a comment when all is clear;
found again by its label through every page; errors become failed outcomes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from monitor.notify import Delivery, NotifyConfig, deliver
from tests.notify_fakes import FakeGitHub, LoopThread, loop_thread, night

__all__ = ["loop_thread"]

TOKEN = "ghp_F4keT0kenForTests0123456789abcdef"
DEAD = (("went_dead", "https://dead.example.org/x"),)


@pytest.fixture
def gh(loop_thread: LoopThread) -> FakeGitHub:
    fake = FakeGitHub(TOKEN)
    fake.port = loop_thread.serve_app(fake.app())
    return fake


@pytest.fixture
def scan(caplog: pytest.LogCaptureFixture,
         capsys: pytest.CaptureFixture[str]) -> Iterator[list[object]]:
    """The token never appears in logs, output, or what is appended to the yielded list."""
    caplog.set_level(logging.DEBUG)
    seen: list[object] = []
    yield seen
    out = capsys.readouterr()
    texts = [out.out, out.err, caplog.text, *map(repr, seen)]
    assert not [t for t in texts if TOKEN in t]


def config(gh: FakeGitHub, api: str = "", token: str = TOKEN, **kw: object) -> NotifyConfig:
    return NotifyConfig(github_repo="owner/handbook", retry_delay=0,
                        github_api_url=api or f"http://127.0.0.1:{gh.port}",
                        env={"GITHUB_TOKEN": token} if token else {}, **kw)  # type: ignore[arg-type]


def only(result: Delivery) -> tuple[bool, str, str]:
    (outcome,) = result.outcomes
    return outcome.ok, outcome.detail, outcome.error


def test_five_nights_one_issue(gh: FakeGitHub, scan: list[object]) -> None:
    gh.add("someone's PR", ["monitor"], pr=True)  # the label list pages past them
    gh.add("another PR", ["monitor"], pr=True)
    gh.add("an old report", ["monitor"], state="closed")
    gh.add("unrelated", ["bug"])
    cfg = config(gh)
    nights = [night(1, events=DEAD, dead=1), night(2, dead=1),
              night(3, events=(("moved", "https://m.example.org"),), dead=1, moved=1),
              night(4, dead=1, moved=1), night(5, events=(("recovered", "https://x.org"),)),
              night(6), night(7, status="degraded", dead=1)]
    results = [deliver(cfg, d) for d in nights]
    scan.extend(results)
    assert [only(r)[:2] for r in results[:6]] == [
        (True, "created issue #5"), (True, "updated issue #5"), (True, "updated issue #5"),
        (True, "updated issue #5"), (True, "closed issue #5"), (True, "no open issue")]
    assert results[6].outcomes == ()  # a degraded night leaves the issue alone
    assert gh.writes() == ["POST /repos/owner/handbook/issues"] + [
        "PATCH /repos/owner/handbook/issues/5"] * 3 + [
        "POST /repos/owner/handbook/issues/5/comments", "PATCH /repos/owner/handbook/issues/5"]
    issue = gh.issues[4]
    assert issue["state"] == "closed" and issue["labels"] == [{"name": "monitor"}]
    assert issue["title"] == "monitor: 1 dead, 1 moved still open"
    assert gh.comments[5][0].startswith("All clear in run 5 (2025-01-06 03:00 UTC)")
    assert "https://reports.example.org/" in gh.comments[5][0]
    assert results[0].outcomes[0].url == "https://github.test/o/r/issues/5"
    assert all(e["auth"] == f"Bearer {TOKEN}" for e in gh.log)
    assert any("page=2" in e["path"] for e in gh.log)


def test_an_open_issue_is_reused_never_a_second(gh: FakeGitHub, scan: list[object]) -> None:
    for i in range(5):
        gh.add(f"filler {i}", ["monitor"], pr=True)
    gh.add("opened by hand", ["monitor"])
    gh.add("another by hand", ["monitor"])
    result = deliver(config(gh), night(1, events=DEAD, dead=1))
    scan.append(result)
    assert only(result)[:2] == (True, "updated issue #6")
    assert len(gh.open_with("monitor")) == 2


def test_body_is_the_report_within_the_limit(gh: FakeGitHub, scan: list[object]) -> None:
    report = "# Link health report\n\nThanks @someone, see #3\n" + "- a line of the report\n" * 5000
    result = deliver(config(gh), night(1, events=DEAD, dead=1, report=report))
    scan.append(result)
    assert only(result)[0]
    body = gh.issues[0]["body"]
    assert 60_000 < len(body) <= 65_536
    assert "@\u200bsomeone" in body and "#\u200b3" in body
    assert "more lines" in body and "not shown" in body


def test_bad_token_is_a_failed_outcome(gh: FakeGitHub, scan: list[object]) -> None:
    result = deliver(config(gh, token="ghp_wrong"), night(1, events=DEAD, dead=1))
    scan.append(result)
    assert only(result) == (False, "failed", "GitHub refused the token (401): check GITHUB_TOKEN")
    assert len(gh.log) == 1  # a 4xx is not retried


def test_no_token(gh: FakeGitHub, scan: list[object]) -> None:
    result = deliver(config(gh, token=""), night(1, events=DEAD, dead=1))
    assert only(result) == (False, "failed", "GITHUB_TOKEN is not set") and gh.log == []


def test_rate_limit(gh: FakeGitHub, scan: list[object]) -> None:
    gh.forced = [(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1767236400"})]
    result = deliver(config(gh), night(1, events=DEAD, dead=1))
    scan.append(result)
    assert only(result) == (False, "failed", "GitHub API rate limit reached (resets 03:00 UTC)")


def test_forbidden(gh: FakeGitHub, scan: list[object]) -> None:
    gh.forced = [(403, {"x-ratelimit-remaining": "4999"})]
    ok, _, error = only(deliver(config(gh), night(1, events=DEAD, dead=1)))
    assert not ok and error.startswith("GitHub refused (403): the token needs the issues: write")


def test_server_error_is_retried_once(gh: FakeGitHub, scan: list[object]) -> None:
    gh.forced = [(502, {})]
    result = deliver(config(gh), night(1, events=DEAD, dead=1))
    scan.append(result)
    assert only(result)[:2] == (True, "created issue #1")
    gh.forced = [(503, {}), (500, {})]
    result = deliver(config(gh), night(2, events=DEAD, dead=1))
    scan.append(result)
    assert only(result) == (False, "failed", "GitHub answered 500: forced")
    assert len(gh.issues) == 1


def test_no_answer(gh: FakeGitHub, scan: list[object]) -> None:
    from tests.test_notify_channels import closed_port

    result = deliver(config(gh, api=f"http://127.0.0.1:{closed_port()}"),
                     night(1, events=DEAD, dead=1))
    scan.append(result)
    ok, _, error = only(result)
    assert not ok and error.startswith("no answer from 127.0.0.1") and "refused" in error


def test_token_kept_on_same_host_redirect(gh: FakeGitHub, scan: list[object]) -> None:
    result = deliver(config(gh, api=f"http://127.0.0.1:{gh.port}/redirect/127.0.0.1"),
                     night(1, events=DEAD, dead=1))
    scan.append(result)
    assert only(result)[:2] == (True, "created issue #1")


def test_token_dropped_on_redirect_to_another_host(gh: FakeGitHub, scan: list[object]) -> None:
    result = deliver(config(gh, api=f"http://127.0.0.1:{gh.port}/redirect/localhost"),
                     night(1, events=DEAD, dead=1))
    scan.append(result)
    assert only(result) == (False, "failed", "GitHub refused the token (401): check GITHUB_TOKEN")
    assert [(e["host"].split(":")[0], e["auth"] is not None) for e in gh.log] == [
        ("127.0.0.1", True), ("localhost", False)]


def test_test_mode_only_reads(gh: FakeGitHub, scan: list[object]) -> None:
    gh.add("open", ["monitor"])
    result = deliver(config(gh), None, test=True)
    scan.append(result)
    assert only(result) == (True, "token accepted, 1 open issue(s) labelled 'monitor'", "")
    assert gh.writes() == []


def test_bad_settings_are_failed_outcomes(gh: FakeGitHub) -> None:
    cfg = NotifyConfig(github_repo="not a repo", env={"GITHUB_TOKEN": TOKEN})
    assert only(deliver(cfg, night(1, events=DEAD)))[2] == (
        "notify.github.repo 'not a repo' is not owner/name")
    cfg = config(gh, github_label="a,b")
    assert "without a comma" in only(deliver(cfg, night(1, events=DEAD)))[2]


def test_a_dropped_label_is_reported(gh: FakeGitHub, scan: list[object]) -> None:
    gh.drop_labels = True
    ok, detail, error = only(deliver(config(gh), night(1, events=DEAD, dead=1)))
    assert (ok, detail) == (False, "created issue #1")
    assert "dropped the label 'monitor'" in error


def test_answers_are_capped(gh: FakeGitHub) -> None:
    from monitor.notify.http import HttpError, request

    gh.add("open", ["monitor"])
    url = f"http://127.0.0.1:{gh.port}/repos/o/r/issues?state=open&labels=monitor"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert request("GET", url, headers).json()[0]["title"] == "open"
    with pytest.raises(HttpError, match="larger than 100 bytes"):
        request("GET", url, headers, max_bytes=100)

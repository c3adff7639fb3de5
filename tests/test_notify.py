"""monitor.notify, the pure parts: policy (cases in tests/cases/notify_policy.yaml), message,
neutralisation of outside text, secrets kept out of what is shown."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.notify import (
    Digest,
    DigestEvent,
    DigestSuggestion,
    NotifyConfig,
    RunInfo,
    compose,
    decide,
    digest_from_report,
)
from monitor.notify import message as msg
from monitor.notify.safe import (
    ZWSP,
    channel_display,
    md_text,
    md_url,
    redact_url,
    scrub,
    url_secrets,
)
from tests.notify_fakes import night

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "notify_policy.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_policy(case: dict[str, Any]) -> None:
    events = tuple((kind, f"https://e.org/{i}") for i, kind in enumerate(case.get("events", [])))
    digest = night(5, status=case.get("status", "complete"),
                   previous_status=case.get("previous_status", "complete"), events=events,
                   dead=case.get("dead", 0), papers=case.get("papers", 0))
    decision = decide(digest, case.get("when", "action"), case.get("min_suggestions", 1),
                      case.get("min_score", 0.0))
    assert (decision.message, decision.issue) == (case["expect"]["message"],
                                                  case["expect"]["issue"]), decision.reason
    assert decision.reason


def test_policy_rejects_unknown_when() -> None:
    with pytest.raises(ValueError, match="notify.when"):
        decide(night(1), "sometimes")


def test_reason_says_what_happened() -> None:
    d = decide(night(1, events=(("went_dead", "https://a.org"), ("went_dead", "https://b.org")),
                     papers=3))
    assert d.reason == "2 went dead, 3 new suggestions"


def test_title_says_it_all() -> None:
    d = night(1, events=(("went_dead", "https://a.org"), ("went_dead", "https://b.org"),
                         ("moved", "https://c.org")), papers=5)
    assert msg.title(d) == "monitor: 2 dead, 1 moved, 5 new papers"
    assert msg.title(night(2, dead=3)) == "monitor: 3 dead still open"
    assert msg.title(night(3)) == "monitor: all clear (100 ok)"


def test_body_has_counts_items_with_fix_papers_and_link() -> None:
    d = night(1, events=(("went_dead", "https://a.org/x"), ("moved", "https://c.org"),
                         ("recovered", "https://r.org")), dead=1, moved=1, papers=7)
    body = compose(d).body
    assert "Run 1 · 2025-01-02 03:00 UTC · complete" in body
    assert "dead **1** (+1)" in body and "moved **1** (+1)" in body
    assert "- **dead** Title of https://a.org/x — <https://a.org/x>" in body
    assert "fix: <https://web.archive.org/web/2024/https://a.org/x>" in body
    assert "fix: `monitor fix`" in body
    assert body.index("**dead**") < body.index("**moved**")
    assert "1. **0.90** Paper 0 — <https://arxiv.org/abs/2501.00000> _(Agents)_" in body
    assert "… 2 more: `monitor suggestions list`" in body
    assert "Also: 1 recovered." in body
    assert body.rstrip().endswith("Full report: <https://reports.example.org/>")


def test_long_lists_are_cut() -> None:
    events = tuple(("went_dead", f"https://a.org/{i}") for i in range(20))
    body = compose(night(1, events=events)).body
    assert body.count("- **dead**") == msg.MAX_ITEMS
    assert f"… {20 - msg.MAX_ITEMS} more in the report" in body


def test_no_link_without_base_url() -> None:
    d = dataclasses.replace(night(1, events=(("moved", "https://c.org"),)), base_url="")
    assert "Full report" not in compose(d).body


def test_degraded_message_is_short() -> None:
    m = msg.degraded(night(4, status="degraded"))
    assert m.title == "monitor: the network looked down (run 4)"
    assert "No link was marked failing or dead" in m.body and len(m.body) < 600


HOSTILE = ("@everyone see #12 and GH-7 and owner/repo#9 <img src=x onerror=alert(1)> "
           "[click](javascript:alert(1)) **bold** `code` \u202eevil\nnext line")


def test_outside_text_is_inert() -> None:
    text = md_text(HOSTILE)
    assert "@" + ZWSP + "everyone" in text
    assert "#" + ZWSP + "12" in text and "#" + ZWSP + "9" in text and "GH" + ZWSP + "-7" in text
    assert "<" not in text and ">" not in text
    assert r"\[click\]\(javascript:alert\(1\)\)" in text
    assert r"\*\*bold\*\*" in text and r"\`code\`" in text
    assert "\u202e" not in text and "\n" not in text


def test_hostile_event_in_a_message() -> None:
    event = DigestEvent("went_dead", "https://bob:hunter22@evil.org/a b>c?token=abc123&x=1",
                        title=HOSTILE, section="@team #3", source="x.md:1 @me",
                        fix="monitor ack https://u:pw123456@h.org/`rm -rf`")
    d = dataclasses.replace(night(1), events=(event,))
    body = compose(d).body
    for secret in ("hunter22", "abc123", "pw123456"):
        assert secret not in body
    assert "<https://evil.org/a%20b%3Ec?token=REDACTED&x=1>" in body
    assert "@everyone" not in body and "@team" not in body and "@me" not in body
    assert "`rm" not in body


def test_only_http_urls_become_links() -> None:
    assert md_url("javascript:alert(1)") == r"javascript:alert\(1\)"
    assert md_url("https://example.org/a_b*c") == "<https://example.org/a_b*c>"
    assert md_url("ftp://example.org/") == "ftp://example.org/"


def test_redact_url() -> None:
    assert redact_url("https://u:p@h.org:8443/x?api_key=1&page=2#f") == (
        "https://h.org:8443/x?api_key=REDACTED&page=2#f")


@pytest.mark.parametrize(("url", "shown"), [
    ("mailto://bob:s3cret@smtp.example.org:2525?to=a@b.org", "mailto://smtp.example.org"),
    ("json://user:pw@127.0.0.1:8080/hook/TOKEN123", "json://127.0.0.1"),
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "slack://…"),
    ("tgram://123456789:AAbbCCdd/12315544", "tgram://…"),
    ("ntfy://mytopic", "ntfy://…"),
    ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://…"),
    ("json://[::1]:9000/x", "json://::1"),
    ("not a url", "(unreadable URL)"),
])
def test_channel_display_is_scheme_and_host_only(url: str, shown: str) -> None:
    assert channel_display(url) == shown


def test_scrub_removes_every_part_of_the_url() -> None:
    url = "json://user:pa55word@hooks.example.org/hook/T0KEN-abc?key=QUERYSECRET"
    text = ("error posting to json://user:pa55word@hooks.example.org/hook/T0KEN-abc "
            "pa55word T0KEN-abc QUERYSECRET")
    out = scrub(text, url_secrets(url))
    for secret in ("pa55word", "T0KEN-abc", "QUERYSECRET"):
        assert secret not in out
    assert "hooks.example.org" not in url_secrets(url)


def test_issue_body_is_inert_and_fits() -> None:
    report = "# Report\n\n- Thanks @alice, see #42 · `keep @this #1` https://u:pw@x.org/#12\n"
    body = msg.issue_body(night(1, report=report + "- line\n" * 20_000))
    assert len(body) <= msg.GITHUB_BODY_LIMIT
    assert "@" + ZWSP + "alice" in body and "#" + ZWSP + "42" in body
    assert "`keep @this #1`" in body and "https://x.org/#12" in body and "pw@" not in body
    assert body.rstrip().endswith("the full report: <https://reports.example.org/>._")
    assert "more lines" in body.splitlines()[-1]
    assert body.splitlines()[-4:-2] == ["- line", ""] and body.splitlines()[-2] == "---"


def test_short_report_is_kept_whole() -> None:
    assert msg.issue_body(night(1, report="# ok\n")) == "# ok\n"
    assert msg.issue_body(night(1)) == compose(night(1)).body


def test_config_reads_urls_env_and_hides_itself() -> None:
    cfg = NotifyConfig(urls=["json://a.org/x"], urls_env="NOTIFY_URLS",
                       env={"NOTIFY_URLS": " mailto://u:pw@b.org  json://a.org/x ",
                            "GITHUB_TOKEN": "ghp_x"})
    assert cfg.channel_urls() == ["json://a.org/x", "mailto://u:pw@b.org"]
    assert cfg.github_token() == "ghp_x"
    assert "pw" not in repr(cfg) and "ghp_x" not in repr(cfg)


def test_digest_from_report_shapes() -> None:
    run = {"id": 7, "started_at": "2025-01-07T03:00:00+00:00", "status": "complete", "ok": 8,
           "moved": 1, "failing": 0, "dead": 1, "blocked": 0}
    previous = run | {"id": 6, "status": "degraded", "dead": 0, "ok": 9}
    resources = [{"url": "https://a.org", "title": "A", "section": "S", "source": "i.md:3",
                  "final_url": None, "suggested_url": "https://web.archive.org/a"},
                 {"url": "https://b.org", "title": "B", "section": "S", "source": None,
                  "final_url": "https://b2.org", "suggested_url": None}]
    events = [{"run_id": 7, "at": "x", "url": "https://a.org", "kind": "went_dead",
               "detail": {"error": "dns"}},
              {"run_id": 7, "at": "x", "url": "https://b.org", "kind": "moved", "detail": {}}]
    papers = [{"arxiv_id": "2501.1", "title": "P", "score": 0.5, "section": "S",
               "url": "https://arxiv.org/abs/2501.1"}]
    d = digest_from_report(run, previous, resources, events, papers, base_url="https://r.org/")
    assert d.run == RunInfo(7, "complete", datetime(2025, 1, 7, 3, tzinfo=UTC))
    assert d.count("dead") == 1 and d.delta("dead") == 1 and d.delta("ok") == -1
    assert d.previous_status == "degraded"
    assert [e.fix for e in d.events] == ["https://web.archive.org/a", "https://b2.org"]
    assert d.events[0].source == "i.md:3" and d.events[1].source == ""
    assert d.suggestions == (DigestSuggestion("2501.1", "P", 0.5, "S",
                                              "https://arxiv.org/abs/2501.1"),)
    assert isinstance(d, Digest) and d.events[0].detail == {"error": "dns"}

"""Site-aware probes through the simulated web: YouTube oEmbed, the arXiv API, the GitHub API,
Wayback suggestions, and every soft-404 / bot-wall marker on a served page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.classify import classify
from monitor.classify.markers import MARKERS
from monitor.store import queries
from monitor.store.db import open_database
from monitor.store.models import CheckResult, Fingerprint, Resource, ResourceState
from tests.cli_helpers import monitor, status_json, write_catalog, write_config
from tests.simweb import SimWeb, fetch_sync, redirect, static
from tests.sitefakes import (
    CONSENT_PAGE,
    GITHUB_301,
    OEMBED_PLAYLIST,
    OEMBED_VIDEO,
    RATE_LIMITED,
    FakeArxivIds,
    FakeWayback,
    FakeYouTube,
    github_repo_json,
    watch_page,
)
from tests.test_classify import MARKER_PAGES

HEALTH = {"dead_after_runs": 2, "dead_after_hours": 0.0}


def configure(web_: SimWeb, tmp_path: Path, urls: list[str], **sections: dict) -> Path:
    catalog = write_catalog(tmp_path / "catalog.csv", urls)
    return write_config(tmp_path / "monitor.toml", web_, catalog={"path": str(catalog)},
                        health=HEALTH, **sections)


def run(db_url: str, config: Path, times: int = 1) -> list[str]:
    outputs = []
    for _ in range(times):
        result = monitor(db_url, config, "check")
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    return outputs


def stored(db_url: str) -> tuple[dict[str, dict], list[tuple[str, str, dict]], int, list]:
    """``(probe info by url, events (url, kind, detail), fingerprint rows, check rows)``."""
    database = open_database(db_url)
    try:
        with database.session() as s:
            probes = {r.url: st.probe for r, st in s.execute(
                select(Resource, ResourceState).join(
                    ResourceState, ResourceState.resource_id == Resource.id))}
            prints = len(list(s.scalars(select(Fingerprint.id))))
            rows = [(c.url, c.probe, c.detail) for c in s.scalars(select(CheckResult))]
        events = [(r.url, e.kind, e.detail) for e, r in queries.run_events(database)]
    finally:
        database.dispose()
    return probes, events, prints, rows


# ---------------------------------------------------------------- YouTube

VIDEOS = {  # id: (oEmbed answer, watch page or None for the consent wall, thumbnail, state)
    "eiHXASgRTcA": ((200, OEMBED_VIDEO), watch_page("OK"), None, "ok"),
    "badRequest1": ((400, b"Bad Request"), watch_page("OK"), None, "dead"),
    "notFound404": ((404, b"Not Found"), watch_page("OK"), None, "dead"),
    "private0403": ((403, b"Forbidden"), watch_page("OK"), None, "dead"),
    "ejCiG0swM24": ((200, b"Forbidden"), watch_page("OK"), None, "dead"),
    "noEmbedOK01": ((401, b"Unauthorized"), watch_page("OK"), None, "ok"),
    "noEmbedUnpl": ((401, b"Unauthorized"), watch_page("UNPLAYABLE", "Video unavailable"),
                    None, "ok"),
    "noEmbedAge1": ((401, b"Unauthorized"),
                    watch_page("LOGIN_REQUIRED", "Sign in to confirm your age"), None, "ok"),
    "noEmbedErr1": ((401, b"Unauthorized"), watch_page("ERROR", "Video unavailable"), None,
                    "dead"),
    "noEmbedPriv": ((401, b"Unauthorized"),
                    watch_page("LOGIN_REQUIRED", None, ',"messages":["This is a private video. '
                               'Please sign in to verify that you may see it."]'), None, "dead"),
    "consentThu1": ((401, b"Unauthorized"), None, 200, "ok"),
    "consentGone": ((401, b"Unauthorized"), None, 404, "dead"),
}


@pytest.fixture
def youtube(simweb: SimWeb) -> FakeYouTube:
    fake = FakeYouTube()
    for vid, (answer, page, thumb, _) in VIDEOS.items():
        fake.oembed[vid] = answer
        fake.watch[vid] = page
        if thumb:
            simweb.route("img.youtube.com", f"/vi/{vid}/0.jpg", status=thumb, body=b"\xff\xd8",
                         content_type="image/jpeg")
    fake.oembed["PL4qTakKkQATKOyZPJG_cAMnRtF7fAIdST"] = (200, OEMBED_PLAYLIST)
    simweb.route("www.youtube.com", "/oembed", fake.oembed_handler)
    simweb.route("www.youtube.com", "/watch", fake.watch_handler)
    simweb.route("consent.youtube.com", "/m", body=CONSENT_PAGE)
    simweb.route("www.youtube.com", "/@kittens", body=b"<title>Kittens - YouTube</title>"
                 b"<p>Channel page with videos</p>")
    simweb.route("www.youtube.com", "/c/walled", redirect(
        "https://consent.youtube.com/m?continue=https%3A%2F%2Fwww.youtube.com%2Fc%2Fwalled", 302))
    return fake


def test_youtube_oembed_answers(simweb, youtube, tmp_path, db_url) -> None:
    urls = [f"https://www.youtube.com/watch?v={v}" for v in VIDEOS if v != "noEmbedOK01"]
    urls += ["https://youtu.be/noEmbedOK01?si=share",
             "https://www.youtube.com/playlist?list=PL4qTakKkQATKOyZPJG_cAMnRtF7fAIdST",
             "https://www.youtube.com/@kittens", "https://www.youtube.com/c/walled"]
    config = configure(simweb, tmp_path, urls)
    run(db_url, config, times=2)
    rows = status_json(db_url, config)
    rows["https://www.youtube.com/watch?v=noEmbedOK01"] = rows["https://youtu.be/noEmbedOK01?si=share"]
    got = {v: rows[f"https://www.youtube.com/watch?v={v}"]["state"] for v in VIDEOS}
    assert got == {v: expected[3] for v, expected in VIDEOS.items()}
    assert rows[urls[-4]]["state"] == "ok"  # the playlist
    assert rows["https://www.youtube.com/@kittens"]["state"] == "ok"  # channel: plain fetch
    assert rows["https://www.youtube.com/c/walled"]["state"] == "blocked"  # consent wall
    assert "private" in rows["https://www.youtube.com/watch?v=ejCiG0swM24"]["detail"]
    probes, _, prints, _ = stored(db_url)
    assert probes[urls[0]]["youtube"]["title"] == "Noisy kittens waiting for dinner!"
    assert probes[urls[0]]["youtube"]["author"] == "smshdchrb"
    assert prints == 0  # no YouTube page is ever fingerprinted
    watched = {h.query for h in simweb.hits_for("www.youtube.com", "/watch")}
    assert watched == {f"v={v}" for v, e in VIDEOS.items() if e[0][0] == 401}


def test_deleted_and_private_videos_die_while_their_watch_pages_answer_200(
        simweb, youtube, tmp_path, db_url) -> None:
    urls = ["https://www.youtube.com/watch?v=notFound404",
            "https://www.youtube.com/watch?v=ejCiG0swM24",
            "https://www.youtube.com/watch?v=noEmbedOK01"]
    config = configure(simweb, tmp_path, urls)
    for vid in ("notFound404", "ejCiG0swM24", "noEmbedOK01"):
        page = fetch_sync(simweb.fetch_options(), f"https://www.youtube.com/watch?v={vid}")
        assert page.status == 200
    run(db_url, config)
    first = {u: r["state"] for u, r in status_json(db_url, config).items()}
    run(db_url, config)
    second = {u: r["state"] for u, r in status_json(db_url, config).items()}
    assert list(first.values()) == ["failing", "failing", "ok"]
    assert list(second.values()) == ["dead", "dead", "ok"]


# ---------------------------------------------------------------- arXiv

NINE = ["https://arxiv.org/abs/2104.12255", "https://arxiv.org/pdf/2104.12255v1",
        "https://arxiv.org/abs/1706.03762v5", "https://arxiv.org/pdf/2005.14165.pdf",
        "https://arxiv.org/abs/hep-th/9901001", "https://arxiv.org/abs/astro-ph/0601001",
        "https://www.arxiv.org/abs/2303.08774", "https://arxiv.org/pdf/2201.11903v6",
        "https://export.arxiv.org/abs/1810.04805"]


def arxiv_config(web_: SimWeb, tmp_path: Path, urls: list[str], fake: FakeArxivIds) -> Path:
    web_.route("127.0.0.1", "/api/query", fake)
    api = f"http://127.0.0.1:{web_.http_port}/api/query"
    return configure(web_, tmp_path, urls, arxiv={"api_url": api, "delay_seconds": 0.0})


def test_nine_arxiv_links_take_one_api_request(simweb, tmp_path, db_url) -> None:
    fake = FakeArxivIds({i: (1, f"Paper {i}", None) for i in (
        "2104.12255", "1706.03762", "2005.14165", "hep-th/9901001", "astro-ph/0601001",
        "2303.08774", "2201.11903", "1810.04805")})
    config = arxiv_config(simweb, tmp_path, NINE, fake)
    run(db_url, config)
    assert len(simweb.hits_for("127.0.0.1", "/api/query")) == 1
    assert sorted(fake.queries[0]) == sorted(fake.papers)
    assert not simweb.hits_for("arxiv.org") and not simweb.hits_for("www.arxiv.org")
    assert {r["state"] for r in status_json(db_url, config).values()} == {"ok"}
    _, _, prints, _ = stored(db_url)
    assert prints == 0


def test_arxiv_version_bump_withdrawal_unknown_and_malformed(simweb, tmp_path, db_url) -> None:
    fake = FakeArxivIds({"2104.12255": (1, "Zero", None), "1706.03762": (5, "Attention", None)},
                        malformed={"1234.12345"})
    urls = ["https://arxiv.org/abs/2104.12255", "https://arxiv.org/abs/1706.03762",
            "https://arxiv.org/abs/0000.00000", "https://arxiv.org/abs/1234.12345"]
    config = arxiv_config(simweb, tmp_path, urls, fake)
    run(db_url, config)
    fake.papers["2104.12255"] = (2, "Zero", None)
    fake.papers["1706.03762"] = (6, "Attention", "This paper has been withdrawn by the author "
                                 "due to an error in Section 3")
    run(db_url, config, times=2)
    rows = status_json(db_url, config)
    assert [rows[u]["state"] for u in urls] == ["ok", "ok", "dead", "dead"]
    assert (rows[urls[2]]["error"], rows[urls[3]]["error"]) == ("soft_404", "http_4xx")
    assert "incorrect id format for 1234.12345" in rows[urls[3]]["detail"]
    assert "withdrawn" in rows[urls[1]]["detail"]
    _, events, _, _ = stored(db_url)
    updated = [(u, d) for u, k, d in events if k == "updated"]
    assert updated == [(urls[0], {"what": "version", "old": 1, "new": 2}),
                       (urls[1], {"what": "version", "old": 5, "new": 6}),
                       (urls[1], {"what": "withdrawn", "version": 6})]
    assert all(len(q) == 3 for q in fake.queries[1::2])  # asked again without the bad id


def test_arxiv_api_down_falls_back_to_plain_fetch(simweb, tmp_path, db_url) -> None:
    fake = FakeArxivIds(down=True)
    simweb.route("arxiv.org", "/abs/2104.12255", body=b"<title>[2104.12255] Zero</title><p>x</p>")
    config = arxiv_config(simweb, tmp_path, ["https://arxiv.org/abs/2104.12255"], fake)
    out = run(db_url, config)[0]
    assert "arXiv API unavailable" in out
    assert status_json(db_url, config)["https://arxiv.org/abs/2104.12255"]["state"] == "ok"
    assert len(simweb.hits_for("arxiv.org", "/abs/2104.12255")) == 1


# ---------------------------------------------------------------- GitHub


def test_github_archived_renamed_and_missing(simweb, tmp_path, db_url) -> None:
    simweb.route("api.github.com", "/repos/ada/old-repo",
                 body=github_repo_json("ada/old-repo", archived=True),
                 content_type="application/json")
    simweb.route("api.github.com", "/repos/protoncoin/protoncoin", static(
        301, GITHUB_301, {"Location": "https://api.github.com/repositories/112116543"},
        "application/json"))
    simweb.route("api.github.com", "/repositories/112116543",
                 body=github_repo_json("padima2/protoncoin"), content_type="application/json")
    simweb.route("api.github.com", "/repos/ada/gone", status=404,
                 body=b'{"message":"Not Found","documentation_url":"https://docs.github.com/'
                      b'rest/repos/repos#get-a-repository"}', content_type="application/json")
    urls = ["https://github.com/ada/old-repo", "https://github.com/protoncoin/protoncoin",
            "https://github.com/ada/gone"]
    config = configure(simweb, tmp_path, urls)
    run(db_url, config, times=2)
    rows = status_json(db_url, config)
    assert [rows[u]["state"] for u in urls] == ["ok", "moved", "dead"]
    assert "archived" in rows[urls[0]]["detail"]
    assert rows[urls[1]]["final_url"] == "https://github.com/padima2/protoncoin"
    _, events, _, _ = stored(db_url)
    assert [(u, k) for u, k, _ in events if k in ("updated", "moved")] == [
        (urls[0], "updated"), (urls[1], "moved")]
    assert next(d for u, k, d in events if k == "updated")["what"] == "archived"
    assert not simweb.hits_for("github.com")  # the API answered everything


def test_github_rate_limit_falls_back_to_plain_fetch_once(simweb, tmp_path, db_url,
                                                          monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_NotARealToken123")
    limited = static(403, RATE_LIMITED, {"x-ratelimit-limit": "60", "x-ratelimit-remaining": "0",
                                         "x-ratelimit-reset": "1538660372"}, "application/json")
    for name in ("one", "two", "three"):
        simweb.route("api.github.com", f"/repos/ada/{name}", limited)
        simweb.route("github.com", f"/ada/{name}", body=f"<title>ada/{name}</title><p>{name}</p>")
    urls = [f"https://github.com/ada/{n}" for n in ("one", "two", "three")]
    config = configure(simweb, tmp_path, urls, http={"concurrency": 1})
    out = run(db_url, config)[0]
    assert out.count("GitHub API rate limit reached") == 1
    rows = status_json(db_url, config)
    assert {r["state"] for r in rows.values()} == {"ok"}
    api = simweb.hits_for("api.github.com")
    assert len(api) < 3  # once limited, no more API requests (two were in flight at most)
    assert {h.headers["Authorization"] for h in api} == {"Bearer ghp_NotARealToken123"}
    assert len(simweb.hits_for("github.com")) == 3
    _, _, prints, rows = stored(db_url)
    assert prints == 3  # plain pages are content
    assert "ghp_" not in json.dumps(rows) + out


# ---------------------------------------------------------------- Wayback


def test_wayback_suggestion_asked_once_and_cleared_on_recovery(simweb, tmp_path, db_url) -> None:
    wayback = FakeWayback({"https://gone.test/post": "20260212061822"})
    simweb.route("archive.org", "/wayback/available", wayback)
    simweb.route("gone.test", "/post", status=404)
    simweb.route("gone.test", "/other", status=410)
    urls = ["https://gone.test/post", "https://gone.test/other"]
    config = configure(simweb, tmp_path, urls)
    run(db_url, config, times=3)
    rows = status_json(db_url, config)
    assert rows[urls[0]]["state"] == "dead"
    assert rows[urls[0]]["suggested_url"] == \
        "http://web.archive.org/web/20260212061822/https://gone.test/post"
    assert rows[urls[1]]["suggested_url"] is None
    assert sorted(wayback.asked) == sorted(urls)  # once each over three runs
    simweb.route("gone.test", "/post", body=b"<title>Back</title><p>back again</p>")
    run(db_url, config)
    assert status_json(db_url, config)[urls[0]]["suggested_url"] is None


# ---------------------------------------------------------------- markers


@pytest.mark.parametrize("marker", MARKERS, ids=lambda m: m.name)
def test_each_marker_on_a_served_page(simweb, marker) -> None:  # noqa: ANN001
    url, page = MARKER_PAGES[marker.name]
    host, _, path = url.removeprefix("https://").partition("/")
    simweb.route(host, "/" + path.split("?")[0], body=page)
    out = classify(fetch_sync(simweb.fetch_options(retries=0), url))
    expected = "failing" if marker.verdict == "soft_404" else "blocked"
    assert (out.outcome, out.error) == (expected, marker.verdict)
    assert marker.name in (out.detail or "")

"""End to end through the simulated web: every state and error class, transitions across runs,
degraded runs, bad catalog rows, JSON shapes, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.store import lock
from monitor.store.db import open_database
from monitor.store.models import Lock, Run, utcnow
from tests.cli_helpers import monitor, status_json, write_catalog, write_config
from tests.simweb import (
    EXPIRED_HOST,
    NXDOMAIN_HOST,
    REFUSED_HOST,
    SimWeb,
    redirect,
    slow,
    static,
)

STATUS_KEYS = {"url", "canonical_url", "title", "section", "kind", "state", "http_status", "error",
               "final_url", "consecutive_failures", "failing_since", "last_ok_at",
               "last_checked_at", "changed_at", "similarity", "suggested_url", "page_title"}
RUN_KEYS = {"id", "started_at", "finished_at", "status", "checked", "ok", "moved", "failing",
            "dead", "blocked", "note"}  # SPEC §10, and the note of issue 13


def routes(web: SimWeb) -> dict[str, tuple[str, str | None]]:
    """A web with one URL per outcome; returns ``{url: (state after one run, error)}``."""
    page = "<html><head><title>{0}</title></head><body><p>{0}</p></body></html>"
    web.route("ok.test", "/", body=page.format("Home"))
    web.route("ok.test", "/page", body=page.format("A fine page"))
    web.route("ok.test", "/temp", redirect("https://ok.test/page", 302))
    web.route("old.test", "/paper", redirect("https://new.test/paper", 301))
    web.route("new.test", "/paper", body=page.format("The paper"))
    web.route("gone.test", "/x", status=404, body=page.format("Not Found"))
    web.route("flaky.test", "/x", status=503, body=b"down")
    web.route("root.test", "/deep/article", redirect("https://root.test/", 301))
    web.route("root.test", "/", body=page.format("Welcome"))
    web.route("soft.test", "/repo", body=page.format("Page not found · GitHub · GitHub"))
    web.route("wall.test", "/x", status=403, body=page.format("Forbidden"))
    web.route("cf.test", "/x", status=503, body=page.format("Just a moment..."))
    web.route("slow.test", "/x", slow(5.0))
    web.route("loop.test", "/a", redirect("https://loop.test/b", 302))
    web.route("loop.test", "/b", redirect("https://loop.test/a", 302))
    for i in range(15):
        web.route("hops.test", f"/{i}", redirect(f"https://hops.test/{i + 1}", 302))
    web.route("garbage.test", "/x", redirect("http://[bad", 302))
    web.route("big.test", "/x", body=b"<title>Big</title>" + b"x" * 50_000)
    return {
        "https://ok.test/page": ("ok", None),
        "https://ok.test/temp": ("ok", None),
        "https://old.test/paper": ("moved", None),
        "https://gone.test/x": ("failing", "http_4xx"),
        "https://flaky.test/x": ("failing", "http_5xx"),
        "https://root.test/deep/article": ("failing", "soft_404"),
        "https://soft.test/repo": ("failing", "soft_404"),
        "https://wall.test/x": ("blocked", "blocked"),
        "https://cf.test/x": ("blocked", "blocked"),
        f"https://{NXDOMAIN_HOST}/x": ("failing", "dns"),
        f"https://{REFUSED_HOST}/x": ("failing", "connect"),
        "https://slow.test/x": ("failing", "timeout"),
        f"https://{EXPIRED_HOST}/x": ("failing", "tls"),
        "https://loop.test/a": ("failing", "redirect_loop"),
        "https://hops.test/0": ("failing", "too_many_redirects"),
        "https://garbage.test/x": ("failing", "invalid_url"),
        "https://big.test/x": ("ok", None),
    }


@pytest.fixture
def web_setup(simweb: SimWeb, tmp_path: Path) -> tuple[dict, Path, Path]:
    expected = routes(simweb)
    catalog = write_catalog(tmp_path / "catalog.csv", list(expected))
    config = write_config(tmp_path / "monitor.toml", simweb,
                          http={"timeout": 1.0, "max_redirects": 10, "max_body_bytes": 10_000},
                          health={"dead_after_runs": 3, "dead_after_hours": 0.0},
                          catalog={"path": str(catalog)})
    return expected, catalog, config


def test_every_state_and_error_class(web_setup, db_url: str) -> None:
    expected, _, config = web_setup
    result = monitor(db_url, config, "check")
    assert result.exit_code == 0, result.output
    assert "complete" in result.stdout
    rows = status_json(db_url, config)
    got = {url: (r["state"], r["error"]) for url, r in rows.items()}
    assert got == expected
    assert rows["https://old.test/paper"]["final_url"] == "https://new.test/paper"
    assert rows["https://ok.test/temp"]["final_url"] == "https://ok.test/page"
    assert rows["https://gone.test/x"]["http_status"] == 404
    assert "expired" in (rows[f"https://{EXPIRED_HOST}/x"]["detail"] or "")
    for row in rows.values():
        assert set(row) >= STATUS_KEYS


def test_states_over_runs_dead_recovered_and_events(web_setup, db_url, simweb) -> None:
    expected, _, config = web_setup
    for _ in range(3):
        assert monitor(db_url, config, "check").exit_code == 0
    rows = status_json(db_url, config)
    assert rows["https://gone.test/x"]["state"] == "dead"
    assert rows["https://gone.test/x"]["consecutive_failures"] == 3
    assert rows["https://wall.test/x"]["state"] == "blocked"
    simweb.route("gone.test", "/x", body=b"<title>Back</title>")
    assert monitor(db_url, config, "check").exit_code == 0
    assert status_json(db_url, config)["https://gone.test/x"]["state"] == "ok"
    report = json.loads(monitor(db_url, config, "report", "--format", "json").stdout)
    assert [e["kind"] for e in report["events"] if e["url"] == "https://gone.test/x"] == \
        ["recovered"]
    runs = json.loads(monitor(db_url, config, "runs", "--json").stdout)
    assert [r["status"] for r in runs] == ["complete"] * 4
    assert set(runs[0]) == RUN_KEYS and runs[-1]["dead"] == 0 and runs[1]["dead"] >= 1


def test_a_503_that_recovers_never_dies(simweb, tmp_path, db_url) -> None:
    simweb.route("a.test", "/", body=b"ok")
    simweb.route("b.test", "/", body=b"ok")
    simweb.route("flaky.test", "/x", status=503)
    catalog = write_catalog(tmp_path / "c.csv", ["https://flaky.test/x", "https://a.test/",
                                                 "https://b.test/"])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)},
                          health={"dead_after_hours": 0.0})
    states = []
    for night in range(6):
        if night == 2:
            simweb.route("flaky.test", "/x", body=b"fine")
        if night == 3:
            simweb.route("flaky.test", "/x", status=503)
        monitor(db_url, config, "check")
        states.append(status_json(db_url, config)["https://flaky.test/x"]["state"])
    assert states == ["failing", "failing", "ok", "failing", "failing", "dead"]


def test_no_network_is_a_degraded_run_that_declares_nothing(simweb, tmp_path, db_url) -> None:
    hosts = [f"h{i}.test" for i in range(5)]
    simweb.unresolvable.extend(hosts)
    urls = [f"https://{h}/x" for h in hosts]
    catalog = write_catalog(tmp_path / "c.csv", urls)
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)},
                          health={"dead_after_runs": 1, "dead_after_hours": 0.0})
    for _ in range(3):
        result = monitor(db_url, config, "check")
        assert result.exit_code == 0
        assert "degraded" in result.stdout and "network looked down" in result.stdout
    assert {r["state"] for r in status_json(db_url, config).values()} == {"unknown"}
    runs = json.loads(monitor(db_url, config, "runs", "--json").stdout)
    assert {r["status"] for r in runs} == {"degraded"}
    report = monitor(db_url, config, "report")
    assert report.exit_code == 0
    html = (tmp_path / "reports" / "index.html").read_text()
    assert 'id="degraded"' in html


def test_degraded_run_keeps_failing_resources_where_they_were(simweb, tmp_path, db_url) -> None:
    hosts = [f"d{i}.test" for i in range(4)]
    for h in hosts:
        simweb.route(h, "/x", body=b"ok")
    simweb.route(hosts[0], "/x", status=404)
    catalog = write_catalog(tmp_path / "c.csv", [f"https://{h}/x" for h in hosts])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)},
                          health={"dead_after_runs": 2, "dead_after_hours": 0.0})
    monitor(db_url, config, "check")
    simweb.unresolvable.extend(hosts)
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)},
                          health={"dead_after_runs": 2, "dead_after_hours": 0.0})
    assert "degraded" in monitor(db_url, config, "check").stdout
    rows = status_json(db_url, config)
    assert rows[f"https://{hosts[0]}/x"]["state"] == "failing"
    assert rows[f"https://{hosts[0]}/x"]["consecutive_failures"] == 1
    assert rows[f"https://{hosts[1]}/x"]["state"] == "ok"


def test_bad_catalog_rows_are_reported_and_skipped(simweb, tmp_path, db_url) -> None:
    simweb.route("good.test", "/a", body=b"ok")
    simweb.route("good.test", "/b", body=b"ok")
    catalog = tmp_path / "c.csv"
    catalog.write_text("url,title\nhttps://good.test/a,A\n,empty\nftp://files.test/x,ftp\n"
                       "\x01\x02 garbage ;; not a url,,,,\nhttps://good.test/b,B\n",
                       encoding="utf-8")
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)})
    result = monitor(db_url, config, "check")
    assert result.exit_code == 0, result.output
    assert "c.csv:3" in result.stderr and "c.csv:4" in result.stderr
    assert "c.csv:5" in result.stderr
    rows = status_json(db_url, config)
    assert set(rows) == {"https://good.test/a", "https://good.test/b"}
    assert {r["state"] for r in rows.values()} == {"ok"}


def test_catalog_without_url_column_is_exit_3(tmp_path, db_url) -> None:
    catalog = tmp_path / "c.csv"
    catalog.write_text("link,title\nhttps://a.test/,A\n")
    result = monitor(db_url, None, "check", "--catalog", str(catalog))
    assert result.exit_code == 3 and "url" in result.stderr


def test_unknown_config_key_names_the_key(tmp_path, db_url) -> None:
    config = tmp_path / "m.toml"
    config.write_text("[http]\nconcurency = 4\n")
    result = monitor(db_url, config, "status")
    assert result.exit_code == 3 and "http.concurency" in result.stderr
    config.write_text("[http]\nretries = \"two\"\n")
    result = monitor(db_url, config, "status")
    assert result.exit_code == 3 and "http.retries" in result.stderr


def test_catalog_sync_deactivates_and_updates(simweb, tmp_path, db_url) -> None:
    simweb.route("s.test", "/a", body=b"ok")
    simweb.route("s.test", "/b", body=b"ok")
    catalog = write_catalog(tmp_path / "c.csv", ["https://s.test/a", "https://s.test/b"])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)})
    monitor(db_url, config, "check")
    write_catalog(catalog, [("https://s.test/a?utm_source=x", "Section B")])
    monitor(db_url, config, "check")
    rows = status_json(db_url, config)
    assert list(rows) == ["https://s.test/a?utm_source=x"]
    assert rows["https://s.test/a?utm_source=x"]["section"] == "Section B"


def test_fail_on_exits_2(web_setup, db_url) -> None:
    _, _, config = web_setup
    result = monitor(db_url, config, "check", "--fail-on", "failing,blocked")
    assert result.exit_code == 2 and "fail-on" in result.stderr
    result = monitor(db_url, config, "check", "--fail-on", "nonsense")
    assert result.exit_code == 3 and "nonsense" in result.output  # a usage error, not a match


def test_run_lock_held_by_another_process_is_exit_75(simweb, tmp_path, db_url, db) -> None:
    simweb.route("l.test", "/", body=b"ok")
    catalog = write_catalog(tmp_path / "c.csv", ["https://l.test/"])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)})
    with db.session() as s:
        s.add(Lock(name="run", holder=f"{lock.holder_id().rpartition(':')[0]}:{os.getppid()}",
                   acquired_at=utcnow(), heartbeat_at=utcnow()))
    result = monitor(db_url, config, "check")
    assert result.exit_code == 75 and "a run is in progress since" in result.stderr


def test_a_killed_run_is_marked_aborted_at_next_start(simweb, tmp_path, db_url, db) -> None:
    simweb.route("k.test", "/", body=b"ok")
    catalog = write_catalog(tmp_path / "c.csv", ["https://k.test/"])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)})
    with db.session() as s:
        s.add(Run(command="check", started_at=utcnow(), status="running", note=""))
        s.add(Lock(name="run", holder=f"{lock.holder_id().rpartition(':')[0]}:999999999",
                   acquired_at=utcnow(), heartbeat_at=utcnow()))
    assert monitor(db_url, config, "check").exit_code == 0
    with db.session() as s:
        statuses = list(s.scalars(select(Run.status).order_by(Run.id)))
    assert statuses == ["aborted", "complete"]


def test_conditional_request_sends_etag_and_304_keeps_ok(simweb, tmp_path, db_url) -> None:
    async def etagged(request):  # noqa: ANN001, ANN202
        if request.headers.get("If-None-Match") == '"v1"':
            return await static(304)(request)
        return await static(200, b"<title>E</title>", {"ETag": '"v1"'})(request)

    simweb.route("e.test", "/", etagged)
    catalog = write_catalog(tmp_path / "c.csv", ["https://e.test/"])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)})
    monitor(db_url, config, "check")
    monitor(db_url, config, "check")
    hits = simweb.hits_for("e.test", "/")
    assert "If-None-Match" not in hits[0].headers
    assert hits[1].headers.get("If-None-Match") == '"v1"'
    row = status_json(db_url, config)["https://e.test/"]
    assert (row["state"], row["http_status"]) == ("ok", 304)


def test_run_writes_reports_and_db_upgrade(web_setup, db_url, tmp_path) -> None:
    _, _, config = web_setup
    result = monitor(db_url, config, "run", "--skip-arxiv")
    assert result.exit_code == 0, result.output
    reports = tmp_path / "reports"
    assert (reports / "index.html").exists() and (reports / "latest.json").exists()
    assert len(list(reports.glob("20*.html"))) == 1
    assert monitor(db_url, config, "db", "upgrade").exit_code == 0
    database = open_database(db_url)
    database.dispose()


def test_relative_permanent_redirect_suggests_an_absolute_url(simweb, tmp_path, db_url) -> None:
    simweb.route("rel.test", "/docs", redirect("/docs/", 301))
    simweb.route("rel.test", "/docs/", body=b"<title>Docs</title>")
    catalog = write_catalog(tmp_path / "c.csv", ["https://rel.test/docs"])
    config = write_config(tmp_path / "m.toml", simweb, catalog={"path": str(catalog)})
    monitor(db_url, config, "check")
    row = status_json(db_url, config)["https://rel.test/docs"]
    assert (row["state"], row["final_url"]) == ("moved", "https://rel.test/docs/")


@pytest.mark.parametrize(("toml", "key"), [
    ("[http]\nconcurrency = 0\n", "http.concurrency"),
    ("[health]\ndegraded_threshold = 7\n", "health.degraded_threshold"),
    ("[health]\ndead_after_runs = 0\n", "health.dead_after_runs"),
])
def test_out_of_range_settings_are_exit_3_naming_the_key(tmp_path, db_url, toml, key) -> None:
    config = tmp_path / "m.toml"
    config.write_text(toml)
    result = monitor(db_url, config, "check")
    assert result.exit_code == 3 and key in result.stderr


def test_a_ca_bundle_that_is_not_pem_is_exit_3(tmp_path, db_url) -> None:
    bundle = tmp_path / "bad.pem"
    bundle.write_text("not a certificate\n")
    catalog = write_catalog(tmp_path / "c.csv", ["https://a.test/"])
    result = monitor(db_url, None, "check", "--catalog", str(catalog), "--ca-bundle", str(bundle))
    assert result.exit_code == 3 and "bad.pem" in result.stderr
    assert json.loads(monitor(db_url, None, "runs", "--json").stdout) == []


def test_result_batches_written_by_the_writer_thread_and_its_errors_surface(db) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from monitor.catalog import CatalogRow
    from monitor.pipeline.crawl import ResultSink
    from monitor.store import queries
    from monitor.store.models import CheckResult
    from monitor.vocabulary import Check, Outcome

    urls = [f"https://site.test/{n}" for n in range(3)]
    queries.sync_catalog(db, [CatalogRow(u, u, "T", "S", "", "site", "", "", "", {}, 2)
                              for u in urls])
    run_id = queries.start_run(db, "check", os.getpid())
    ids = [t.resource_id for t in queries.active_targets(db)]
    url = urls[0]

    def row(rid: int) -> Check:
        return Check(rid, url, "site.test", Outcome("ok", None, 200), utcnow(), elapsed_ms=1)

    with ThreadPoolExecutor(1) as writer:
        sink = ResultSink(db, run_id, writer)
        for rid in ids:
            sink.buffer = [row(rid)]
            sink._send()  # noqa: SLF001 - what add() does once a batch is full
        sink.buffer = [row(ids[0])]  # checked again in this run: written once (idempotent)
        sink._send()  # noqa: SLF001
        sink.flush()
        with db.session() as s:
            assert len(s.scalars(select(CheckResult)).all()) == 3
        assert sink.written == 3
        sink.buffer = [row(max(ids) + 1000)]  # no such resource: the insert fails
        sink._send()  # noqa: SLF001
        with pytest.raises(Exception, match="(?i)foreign key"):
            sink.flush()
    with db.session() as s:
        assert len(s.scalars(select(CheckResult)).all()) == 3


def test_history_lists_every_check_of_one_resource_newest_first(simweb: SimWeb, tmp_path: Path,
                                                                 db_url: str) -> None:
    """``monitor history URL [--json]`` (issue 16 item 20, SPEC §3)."""
    simweb.route("hist.test", "/a", status=404, body=b"<title>Not Found</title>")
    simweb.route("hist.test", "/b", body=b"<title>B</title><p>b</p>")
    catalog = write_catalog(tmp_path / "c.csv", ["https://hist.test/a", "https://hist.test/b"])
    config = write_config(tmp_path / "monitor.toml", simweb)
    for _ in range(2):
        assert monitor(db_url, config, "check", "--catalog", str(catalog)).exit_code == 0
    simweb.route("hist.test", "/a", body=b"<title>A</title><p>back</p>")
    assert monitor(db_url, config, "check", "--catalog", str(catalog)).exit_code == 0
    result = monitor(db_url, config, "history", "HTTPS://HIST.test/a", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["run_id"], r["outcome"], r["http_status"]) for r in rows] == [
        (3, "ok", 200), (2, "failing", 404), (1, "failing", 404)]
    assert rows[1]["error"] == "http_4xx" and rows[0]["run_status"] == "complete"
    text = monitor(db_url, config, "history", "https://hist.test/a").stdout
    assert text.splitlines()[1].split()[2:5] == ["3", "ok", "200"]
    missing = monitor(db_url, config, "history", "https://nowhere.test/")
    assert missing.exit_code == 1 and "not in the catalog" in missing.stderr

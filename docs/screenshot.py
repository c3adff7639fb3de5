"""Render the README's report screenshots from a realistic run over the simulated web.

    python docs/screenshot.py            # writes docs/report-desktop.png and docs/report-phone.png

Forty real handbook links (their titles and sections from catalog.csv) are served by the test
suite's simulated web: a dozen die over four nights, some move, some are rewritten, some sit
behind bot walls, one fails tonight; the Wayback fake archives the dead ones. Ten suggestions are
the best-scored relevant papers of bench/arxiv_labels.json. Needs Chromium and Playwright, like
the browser tests; nothing reaches the internet.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.store.db import open_database  # noqa: E402
from monitor.store.models import Suggestion  # noqa: E402
from monitor.urls import host_of  # noqa: E402
from monitor.watch.score import Scorer  # noqa: E402
from tests.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402
from tests.cli_helpers import monitor, write_config  # noqa: E402
from tests.pages import ARTICLE, REWRITE, article  # noqa: E402
from tests.simweb import SimWeb, redirect  # noqa: E402
from tests.sitefakes import FakeWayback  # noqa: E402

PROBED = ("youtube.com", "youtu.be", "arxiv.org", "github.com")
PLAN = ["dead"] * 12 + ["moved"] * 5 + ["changed"] * 4 + ["blocked"] * 4 + ["failing"] * 2


def catalog_rows(n: int) -> list[dict[str, str]]:
    """``n`` catalog rows on hosts without a site probe, spread over sections."""
    with (ROOT / "catalog.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if not any(p in host_of(r["url"]) for p in PROBED)]
    return rows[::max(1, len(rows) // n)][:n]


def serve(web: SimWeb, rows: list[dict[str, str]], night: int, wayback: FakeWayback) -> None:
    """Routes for night ``night`` (0-3)."""
    for i, row in enumerate(rows):
        host, path = host_of(row["url"]), row["url"].split(host_of(row["url"]), 1)[1] or "/"
        path = path.split("?")[0] or "/"
        role = PLAN[i] if i < len(PLAN) else "ok"
        if role == "dead" and night >= (0 if i < 8 else 1):
            web.route(host, path, status=404, body=b"<title>Not Found</title>")
            wayback.archived[row["url"]] = "20240117093512"
        elif role == "moved":
            web.route(host, path, redirect(f"https://new-home.example/{i}/", 301))
            web.route("new-home.example", f"/{i}/", body=b"<title>New home</title><p>Moved.</p>")
        elif role == "changed":
            web.route(host, path, body=article(REWRITE if night >= 2 else ARTICLE, night))
        elif role == "blocked":
            web.route(host, path, status=403 if i % 2 else 503,
                      body=b"<title>Just a moment...</title>")
        elif role == "failing" and night == 3:
            web.route(host, path, status=503, body=b"<title>Service Unavailable</title>")
        else:
            web.route(host, path, body=article(ARTICLE, night))
    web.route("archive.org", "/wayback/available", wayback)


def suggest(db_url: str) -> None:
    """Store the ten best-scored relevant papers of the labelled set as suggestions."""
    papers = [p for p in json.loads((ROOT / "bench" / "arxiv_labels.json").read_text())["papers"]
              if p["relevant"]]
    scorer = Scorer.default()
    scored = sorted(((scorer.score(p["title"], p["abstract"]), p) for p in papers),
                    key=lambda sp: -sp[0].value)[:10]
    db = open_database(db_url)
    with db.session() as s:
        for i, (score, p) in enumerate(scored):
            s.add(Suggestion(arxiv_id=p["arxiv_id"], version=1, title=p["title"],
                             authors=["A. Author", "B. Author", "C. Author"],
                             abstract=p["abstract"], categories=["cs.CL", "cs.LG"],
                             published=datetime(2026, 11, 28, tzinfo=UTC) - timedelta(hours=i),
                             score=round(score.value, 3), section=score.section,
                             matched_terms=list(score.terms), status="new"))
    db.dispose()


def shoot(html: Path, out: Path) -> None:
    """Desktop and phone screenshots of ``html`` (the first screen, as a person sees it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for name, (w, h) in {"desktop": (1280, 1100), "phone": (390, 844)}.items():
            page = browser.new_page(viewport={"width": w, "height": h}, device_scale_factor=1)
            page.goto(html.as_uri())
            page.screenshot(path=str(out / f"report-{name}.png"))
        browser.close()


def main() -> None:
    """Run four nights over the simulated web, then render and photograph the report."""
    web = SimWeb().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work, rows, wayback = Path(tmp), catalog_rows(40), FakeWayback()
            with (work / "catalog.csv").open("w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
            config = write_config(work / "monitor.toml", web,
                                  catalog={"path": str(work / "catalog.csv")},
                                  health={"dead_after_runs": 3, "dead_after_hours": 0.0})
            db_url = f"sqlite:///{work / 'monitor.db'}"
            for night in range(4):
                serve(web, rows, night, wayback)
                print(monitor(db_url, config, "check").output.strip())
            suggest(db_url)
            monitor(db_url, config, "report")
            shoot(work / "reports" / "index.html", ROOT / "docs")
    finally:
        web.close()
    print("wrote docs/report-desktop.png and docs/report-phone.png")


if __name__ == "__main__":
    main()

"""The report in headless Chromium: phone and desktop widths, no overflow, no console errors,
the newly dead links and their replacements visible without scrolling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.report import render_html
from tests.report_data import HOSTILE, realistic, resource

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def open_report(browser: Any, html: str, tmp_path: Path,
                viewport: dict[str, int]) -> tuple[Any, list[str]]:
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))
    page.goto(path.as_uri())
    return page, errors


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_report_fits_the_screen_and_shows_new_dead_first(browser, tmp_path: Path,
                                                         name: str) -> None:
    page, errors = open_report(browser, render_html(realistic()), tmp_path, VIEWPORTS[name])
    overflow = page.evaluate("document.documentElement.scrollWidth - "
                             "document.documentElement.clientWidth")
    assert overflow <= 0, f"horizontal overflow of {overflow}px at {name} width"
    first = page.locator("#needs-action li").first
    assert first.get_attribute("data-kind") == "new_dead"
    box = page.locator("#needs-action li .replacement").first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= VIEWPORTS[name]["height"], \
        "the first replacement is below the fold"
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=False)
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    assert errors == []
    page.close()


def test_hostile_report_runs_no_script(browser, tmp_path: Path) -> None:
    data = realistic(n=3, suggestions=0)
    data.resources = [resource(0, "dead", title=HOSTILE, url="javascript:alert(1)"),
                      resource(1, "moved", title=HOSTILE, final_url="javascript:alert(2)"),
                      resource(2, "blocked", detail=HOSTILE)]
    page, errors = open_report(browser, render_html(data), tmp_path, VIEWPORTS["desktop"])
    hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.href)")
    assert all(h.startswith(("http://", "https://")) for h in hrefs)
    assert page.evaluate("document.scripts.length") == 0
    assert errors == []
    page.close()

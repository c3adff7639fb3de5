"""Headless Chromium for browser tests (Debian's ``chromium``, driven by Playwright for Python).

Never downloads a browser: uses ``/usr/bin/chromium`` (or ``$MONITOR_CHROMIUM``) and skips the
test with a clear reason when it or the Playwright package is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]


def chromium_path() -> str | None:
    """The Chromium executable, or None."""
    return os.environ.get("MONITOR_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A Playwright Chromium browser (module-scoped), or a skip."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    path = chromium_path()
    if not path:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()

"""The site registry finds every site module by itself: a new site is one module (and its test)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import monitor.sites
from monitor.catalog import canonical_url, guess_kind
from monitor.classify import classify
from monitor.classify.markers import GENERIC, all_markers
from monitor.sites import all_sites, site_for, site_markers
from monitor.vocabulary import FetchResult, Hop

EXAMPLE = '''
from monitor.sites.base import ProbeResult, Site, title_marker
from monitor.urls import Parts
from monitor.vocabulary import Outcome


def canonical(parts: Parts) -> Parts:
    if parts.host != "www.example-models.test":
        return parts
    return Parts("https", "example-models.test", "example-models.test", parts.path.lower(),
                 parts.query)


def kind(url: str) -> str | None:
    return "repo" if "example-models.test/m/" in url else None


async def probe(ctx, target):
    return ProbeResult(Outcome("ok", None, 200, None, "from the probe"), {"seen": True})


SITE = Site("example_models", ("example-models.test",), probe, canonical=canonical, kind=kind,
            markers=(title_marker("example_models_gone", "soft_404", r"^model gone$",
                                  "example-models.test"),))
'''


def _clear() -> None:
    for cached in (all_sites, site_markers, all_markers):
        cached.cache_clear()
    monitor.sites._BY_ORIGIN.clear()  # noqa: SLF001 - site_for's memo of the old registry


@pytest.fixture
def extra_site(tmp_path: Path) -> Iterator[None]:
    """A site module dropped beside the others (here: a folder added to the package path)."""
    (tmp_path / "example_models.py").write_text(textwrap.dedent(EXAMPLE), encoding="utf-8")
    monitor.sites.__path__.append(str(tmp_path))
    _clear()
    try:
        yield
    finally:
        monitor.sites.__path__.remove(str(tmp_path))
        _clear()


def test_the_shipped_sites_are_found_in_module_order() -> None:
    assert [s.name for s in all_sites()] == ["arxiv", "github", "huggingface", "medium",
                                             "youtube"]
    assert {m.name for m in site_markers()} | {m.name for m in GENERIC} == {
        m.name for m in all_markers()}


def test_a_new_site_module_supplies_rule_kind_markers_and_probe(extra_site: None) -> None:
    url = "https://WWW.Example-Models.test/M/Llama?utm_source=x"
    assert canonical_url(url) == "https://example-models.test/m/llama"
    assert guess_kind(url) == "repo"
    site = site_for("https://example-models.test/m/llama")
    assert site is not None and site.name == "example_models" and site.probe is not None
    page = FetchResult("https://example-models.test/m/x", "https://example-models.test/m/x",
                       200, [Hop("https://example-models.test/m/x", 200, None)],
                       body=b"<title>Model gone</title>")
    out = classify(page)
    assert (out.outcome, out.error, out.detail) == ("failing", "soft_404",
                                                    "soft_404 marker example_models_gone")


def test_without_the_module_nothing_knows_the_site() -> None:
    assert site_for("https://example-models.test/m/llama") is None
    assert canonical_url("https://WWW.Example-Models.test/M/x") == (
        "https://www.example-models.test/M/x")

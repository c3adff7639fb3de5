"""Classification rules: one case per rule and per marker, from real page shapes."""

from __future__ import annotations

import pytest

from monitor.classify import classify
from monitor.classify.markers import MARKERS
from monitor.vocabulary import FetchResult, Hop


def result(url: str = "https://example.test/a", status: int | None = 200, body: bytes = b"",
           chain: list[Hop] | None = None, error: str | None = None) -> FetchResult:
    chain = chain if chain is not None else ([Hop(url, status, None)] if status else [])
    final = chain[-1].url if chain else url
    return FetchResult(url=url, final_url=final, status=status, chain=chain, error=error,
                       body=body)


@pytest.mark.parametrize("error", ["dns", "connect", "timeout", "tls", "too_many_redirects",
                                   "redirect_loop", "invalid_url"])
def test_transport_errors_fail_with_their_class(error: str) -> None:
    out = classify(result(status=None, error=error))
    assert (out.outcome, out.error) == ("failing", error)


@pytest.mark.parametrize(("status", "outcome", "error"), [
    (200, "ok", None), (204, "ok", None), (304, "ok", None),
    (404, "failing", "http_4xx"), (410, "failing", "http_4xx"), (400, "failing", "http_4xx"),
    (500, "failing", "http_5xx"), (503, "failing", "http_5xx"),
    (401, "blocked", "blocked"), (403, "blocked", "blocked"), (429, "blocked", "blocked"),
    (999, "blocked", "blocked"),
])
def test_status_codes(status: int, outcome: str, error: str | None) -> None:
    out = classify(result(status=status))
    assert (out.outcome, out.error, out.http_status) == (outcome, error, status)


def test_body_too_large_is_not_a_failure() -> None:
    out = classify(result(status=200, error="body_too_large", body=b"<title>Big</title>"))
    assert (out.outcome, out.error, out.detail) == ("ok", None, "body_too_large")


def test_permanent_redirect_is_moved_to_its_target() -> None:
    chain = [Hop("https://a.test/old", 301, "https://b.test/new"),
             Hop("https://b.test/new", 200, None)]
    out = classify(result("https://a.test/old", chain=chain))
    assert (out.outcome, out.final_url) == ("moved", "https://b.test/new")


def test_moved_target_is_the_last_permanent_hop() -> None:
    chain = [Hop("https://a.test/old", 308, "https://b.test/new"),
             Hop("https://b.test/new", 302, "https://b.test/new?session=1"),
             Hop("https://b.test/new?session=1", 200, None)]
    out = classify(result("https://a.test/old", chain=chain))
    assert (out.outcome, out.final_url) == ("moved", "https://b.test/new")


def test_temporary_redirect_to_reachable_page_is_ok() -> None:
    chain = [Hop("https://a.test/x", 302, "https://a.test/y"), Hop("https://a.test/y", 200, None)]
    out = classify(result("https://a.test/x", chain=chain))
    assert (out.outcome, out.final_url) == ("ok", "https://a.test/y")


def test_permanent_redirect_to_same_canonical_url_is_ok() -> None:
    chain = [Hop("https://a.test/x?utm_source=t", 301, "https://a.test/x"),
             Hop("https://a.test/x", 200, None)]
    assert classify(result("https://a.test/x?utm_source=t", chain=chain)).outcome == "ok"


@pytest.mark.parametrize(("target", "why"), [
    ("https://a.test/", "site root"),
    ("https://a.test/login?next=/paper", "login"),
    ("https://a.test/404.html", "not-found"),
    ("https://a.test/not-found", "not-found"),
])
def test_redirect_to_root_login_or_not_found_is_soft_404(target: str, why: str) -> None:
    chain = [Hop("https://a.test/paper", 301, target), Hop(target, 200, None)]
    out = classify(result("https://a.test/paper", chain=chain))
    assert (out.outcome, out.error) == ("failing", "soft_404")
    assert why in (out.detail or "")


def test_root_to_root_redirect_is_not_soft_404() -> None:
    chain = [Hop("http://a.test/", 301, "https://a.test/"), Hop("https://a.test/", 200, None)]
    assert classify(result("http://a.test/", chain=chain)).outcome == "moved"


MARKER_PAGES = {
    "github_page_not_found": ("https://github.com/x/y",
                              "<!DOCTYPE html>\n<title>Page not found · GitHub · GitHub</title>"),
    "huggingface_404": ("https://huggingface.co/x",
                        "<title>404 – Hugging Face</title><h1>404</h1>"),
    "arxiv_identifier_not_recognized": (
        "https://arxiv.org/abs/2312.99999",
        "<title>arXiv</title><p>Article identifier '2312.99999' not recognized</p>"
        "<p>You might instead try to search for articles using title or author information.</p>"),
    "medium_story_deleted": ("https://medium.com/@a/b",
                             "<title>Medium</title><h2>The author deleted this Medium story</h2>"),
    "medium_account_deleted": ("https://medium.com/@a",
                               "<title>Medium</title><p>The user deleted their Medium account</p>"),
    "youtube_playability_error": (
        "https://www.youtube.com/watch?v=x",
        '<title>YouTube</title><script>var ytInitialPlayerResponse = {"playabilityStatus":'
        '{"status":"ERROR","reason":"Video unavailable"}}</script>'),
    "youtube_video_removed": (
        "https://www.youtube.com/watch?v=x",
        "<title>YouTube</title><div>This video is no longer available because the YouTube "
        "account associated with this video has been terminated.</div>"),
    "generic_title_removed": ("https://a.test/x", "<title>This page has been removed</title>"),
    "generic_title_404": ("https://a.test/x", "<title>404 Not Found</title>"),
    "cloudflare_just_a_moment": ("https://a.test/x", "<title>Just a moment...</title>"),
    "cloudflare_attention_required": ("https://a.test/x",
                                      "<title>Attention Required! | Cloudflare</title>"),
    "cloudflare_challenge_platform": (
        "https://a.test/x",
        '<title>x</title><script src="/cdn-cgi/challenge-platform/h/b/orchestrate"></script>'),
    "checking_your_browser": ("https://a.test/x",
                              "<title>x</title>Checking your browser before accessing a.test"),
    "datadome_captcha": ("https://a.test/x",
                         '<title>x</title><iframe src="https://geo.captcha-delivery.com/captcha/">'),
    "perimeterx_captcha": ("https://a.test/x", '<title>x</title><div id="px-captcha"></div>'),
    "verify_human": ("https://a.test/x", "<title>x</title>Please verify you are a human"),
    "youtube_consent_wall": ("https://consent.youtube.com/m?continue=x",
                             "<title>Before you continue to YouTube</title>"),
    "akamai_access_denied": ("https://a.test/x", "<title>Access Denied</title>"),
}


def test_every_marker_has_a_page() -> None:
    assert {m.name for m in MARKERS} == set(MARKER_PAGES)


@pytest.mark.parametrize("marker", MARKERS, ids=lambda m: m.name)
def test_marker_on_a_200_page(marker) -> None:  # noqa: ANN001
    url, page = MARKER_PAGES[marker.name]
    out = classify(result(url, body=page.encode()))
    expected = "failing" if marker.verdict == "soft_404" else "blocked"
    assert (out.outcome, out.error) == (expected, marker.verdict)
    assert marker.name in (out.detail or "")


def test_cloudflare_challenge_with_503_is_blocked_not_5xx() -> None:
    out = classify(result(status=503, body=b"<title>Just a moment...</title>"))
    assert (out.outcome, out.error) == ("blocked", "blocked")


@pytest.mark.parametrize("title", ["Why 404 pages matter to users", "Not Found in Translation",
                                   "Attention Is All You Need", "Video unavailable? Try this",
                                   "This page has been removed from search results: why"])
def test_ordinary_titles_are_not_markers(title: str) -> None:
    assert classify(result(body=f"<title>{title}</title>".encode())).outcome == "ok"


def test_host_specific_marker_does_not_fire_elsewhere() -> None:
    page = b"<title>Notes</title><p>Article identifier 'x' not recognized</p>"
    assert classify(result("https://example.test/", body=page)).outcome == "ok"


def test_every_body_marker_has_a_lower_case_needle_its_page_contains() -> None:
    for marker in MARKERS:
        if marker.where == "body":
            assert marker.needle and marker.needle == marker.needle.lower(), marker.name
            assert marker.needle in MARKER_PAGES[marker.name][1].lower().encode(), marker.name

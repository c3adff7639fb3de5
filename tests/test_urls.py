"""Tests for monitor.urls: canonical URLs (SPEC §5) and site identifiers. No network."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.catalog import canonical_url
from monitor.sites.arxiv import arxiv_id
from monitor.sites.github import _RESERVED as _GITHUB_RESERVED
from monitor.sites.github import github_repo
from monitor.sites.youtube import youtube_playlist_id, youtube_video_id
from monitor.urls import TRACKING_PARAMS, InvalidURL, host_of

CASES = json.loads((Path(__file__).parent / "cases" / "canonical_urls.json").read_text("utf-8"))


@pytest.mark.parametrize(("url", "expected", "rule"), CASES["valid"], ids=lambda v: str(v)[:60])
def test_canonical_url(url: str, expected: str, rule: str) -> None:
    assert canonical_url(url) == expected, rule
    assert canonical_url(expected) == expected, "idempotent"


@pytest.mark.parametrize(("url", "message"), CASES["invalid"])
def test_invalid_url(url: str, message: str) -> None:
    with pytest.raises(InvalidURL, match=message.replace("(", r"\(").replace(")", r"\)")):
        canonical_url(url)


def test_invalid_url_is_a_value_error() -> None:
    assert issubclass(InvalidURL, ValueError)
    with pytest.raises(ValueError, match="not http/https: ftp://x"):
        canonical_url("ftp://x")


def test_same_resource_spellings_merge() -> None:
    spellings = [
        "https://youtu.be/VMj-3S1tku0?si=abc",
        "https://www.youtube.com/watch?v=VMj-3S1tku0",
        "https://www.youtube.com/watch?v=VMj-3S1tku0&list=PLAqhIrjkxbuWI23v9cThsA9GvCAUhRvKZ",
        "http://m.youtube.com/watch?v=VMj-3S1tku0&feature=share#t=1",
    ]
    assert len({canonical_url(u) for u in spellings}) == 1
    papers = ["https://arxiv.org/pdf/1810.06339", "https://arxiv.org/pdf/1810.06339.pdf",
              "http://export.arxiv.org/abs/1810.06339", "https://www.arxiv.org/abs/1810.06339"]
    assert {canonical_url(u) for u in papers} == {"https://arxiv.org/abs/1810.06339"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://arxiv.org/abs/2401.12345v2", ("2401.12345", 2)),
        ("https://arxiv.org/pdf/2401.12345v2.pdf", ("2401.12345", 2)),
        ("http://export.arxiv.org/abs/2401.12345", ("2401.12345", None)),
        ("https://arxiv.org/abs/hep-th/9901001", ("hep-th/9901001", None)),
        ("https://arxiv.org/pdf/1909.05207.pdf", ("1909.05207", None)),
        ("https://arxiv.org/list/cs.AI/recent", None),
        ("https://example.com/abs/2401.12345", None),
        ("not a url", None),
    ],
)
def test_arxiv_id(url: str, expected: tuple[str, int | None] | None) -> None:
    assert arxiv_id(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://youtu.be/dA-NhCtrrVE?si=x", "dA-NhCtrrVE"),
        ("https://www.youtube.com/watch?v=zeJD6dqJ5lo", "zeJD6dqJ5lo"),
        ("https://m.youtube.com/watch?v=r9S2fMQiP2E&list=PL1&index=13", "r9S2fMQiP2E"),
        ("https://www.youtube.com/shorts/abcdefghijk", "abcdefghijk"),
        ("https://www.youtube.com/embed/abcdefghijk", "abcdefghijk"),
        ("https://www.youtube.com/playlist?list=PLzvYlJMoZ02Dxtwe", None),
        ("https://www.youtube.com/@statquest", None),
        ("https://vimeo.com/12345", None),
        ("ftp://youtube.com/watch?v=x", None),
    ],
)
def test_youtube_video_id(url: str, expected: str | None) -> None:
    assert youtube_video_id(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.youtube.com/playlist?list=PLzvYlJMoZ02Dxtwe", "PLzvYlJMoZ02Dxtwe"),
        ("https://youtube.com/playlist?list=PLz&si=x", "PLz"),
        ("https://www.youtube.com/watch?v=aircAruvnKk&list=PLZHQ", "PLZHQ"),
        ("https://www.youtube.com/watch?v=aircAruvnKk", None),
        ("https://example.com/playlist?list=PLz", None),
    ],
)
def test_youtube_playlist_id(url: str, expected: str | None) -> None:
    assert youtube_playlist_id(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/mlabonne/llm-course", ("mlabonne", "llm-course")),
        ("https://github.com/mlabonne/llm-course?tab=readme-ov-file", ("mlabonne", "llm-course")),
        ("http://www.github.com/owner/repo.git/", ("owner", "repo")),
        ("https://github.com/rasbt/ml-book/tree/main/ch01", ("rasbt", "ml-book")),
        ("https://github.com/owner/repo/blob/main/README.md", None),
        ("https://github.com/owner/repo/issues/1", None),
        ("https://github.com/owner", None),
        ("https://github.com/orgs/genai-handbook", None),
        ("https://gitlab.com/owner/repo", None),
    ],
)
def test_github_repo(url: str, expected: tuple[str, str] | None) -> None:
    assert github_repo(url) == expected


def test_host_of() -> None:
    assert host_of("HTTPS://WWW.Example.com:8080/x") == "www.example.com"
    assert host_of("http://bücher.example/") == "xn--bcher-kva.example"
    with pytest.raises(InvalidURL):
        host_of("ftp://example.com")


# ---------------------------------------------------------------- properties

_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", fullmatch=True)
_hosts = st.one_of(
    st.lists(_label, min_size=1, max_size=3).map(".".join).map(lambda h: h + ".com"),
    st.sampled_from(["youtu.be", "www.youtube.com", "m.youtube.com", "arxiv.org",
                     "export.arxiv.org", "github.com", "www.github.com", "bücher.de"]),
)
_path_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_paths = st.one_of(
    _path_text.map(lambda p: "/" + p.replace("?", "").replace("#", "")),
    st.sampled_from(["/watch", "/playlist", "/abs/2401.12345v3", "/pdf/hep-th/9901001.pdf",
                     "/owner/repo", "/dA-NhCtrrVE", "/%7e%41%zz%%41b"]),
)
_params = st.lists(
    st.tuples(
        st.sampled_from(["v", "list", "index", "t", "tab", "si", "utm_source", "q", "a b", "%41"]),
        st.text(alphabet="abcXYZ019-_%+&= ", max_size=8),
    ),
    max_size=4,
)


@st.composite
def http_urls(draw: st.DrawFn) -> str:
    """Arbitrary http(s) URLs, including ones that exercise every site rule."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "hTTps"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    query = "&".join(f"{k}={v}" for k, v in draw(_params))
    fragment = draw(st.sampled_from(["", "#frag", "#"]))
    url = f"{scheme}://{draw(_hosts)}{port}{draw(_paths)}"
    return url + (f"?{query}" if query else "") + fragment


@settings(max_examples=400, deadline=None)
@given(http_urls())
def test_canonical_url_idempotent(url: str) -> None:
    try:
        once = canonical_url(url)
    except InvalidURL:
        return
    assert canonical_url(once) == once


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), http_urls().map(lambda u: u + "\x00 \u2028[]@:")))
def test_canonical_url_only_raises_invalid_url(text: str) -> None:
    try:
        result = canonical_url(text)
    except InvalidURL:
        return
    parts = urlsplit(result)
    assert parts.scheme in ("http", "https")
    assert parts.hostname
    assert canonical_url(result) == result


@settings(max_examples=200, deadline=None)
@given(http_urls())
def test_canonical_url_result_parses(url: str) -> None:
    try:
        result = canonical_url(url)
    except InvalidURL:
        return
    parts = urlsplit(result)
    assert parts.scheme in ("http", "https")
    assert parts.hostname == host_of(result)
    assert not parts.fragment and parts.path.startswith("/")
    assert result.isascii()


# ---------------------------------------------------------------- the resource is kept (SPEC §5)

_plain_hosts = st.lists(_label, min_size=1, max_size=3).map(".".join).map(lambda h: h + ".org")
_hosts_no_rules = st.one_of(_plain_hosts, st.sampled_from(["bücher.de", "ÉCOLE.example"]))


@st.composite
def plain_urls(draw: st.DrawFn) -> str:
    """http(s) URLs on hosts that no site rule touches (no user info)."""
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    query = "&".join(f"{k}={v}" for k, v in draw(_params))
    fragment = draw(st.sampled_from(["", "#frag", "#a?b"]))
    url = f"{scheme}://{draw(_hosts_no_rules)}{port}{draw(_paths)}"
    return url + (f"?{query}" if query else "") + fragment


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """Decoded (key, value) pairs of the non-empty, non-tracking query segments, in order."""
    pairs = []
    for segment in query.split("&"):
        if not segment:
            continue
        key, _, value = segment.partition("=")
        if unquote(key).lower() in TRACKING_PARAMS or unquote(key).lower().startswith("utm_"):
            continue
        pairs.append((unquote(key), unquote(value)))
    return pairs


@settings(max_examples=400, deadline=None)
@given(plain_urls())
def test_canonical_url_keeps_the_resource(url: str) -> None:
    """Beyond the SPEC §5 rules (case of scheme and host, punycode, default port, fragment,
    tracking parameters, escape spelling), scheme, host, port, path and query survive."""
    before, after = urlsplit(url.strip()), urlsplit(canonical_url(url))
    assert after.scheme == before.scheme.lower()
    assert after.hostname == before.hostname.encode("idna").decode().lower()
    default = {"http": 80, "https": 443}[after.scheme]
    assert (after.port or default) == (before.port or default)
    assert unquote(after.path) == (unquote(before.path) or "/")
    assert _query_pairs(after.query) == _query_pairs(before.query)
    assert after.fragment == ""


_video_ids = st.from_regex(r"[A-Za-z0-9_-]{11}", fullmatch=True)
_arxiv_ids = st.one_of(st.from_regex(r"2[0-9]{3}\.[0-9]{5}", fullmatch=True),
                       st.from_regex(r"(hep-th|math|cs)/[0-9]{7}", fullmatch=True))


@settings(max_examples=200, deadline=None)
@given(_video_ids, st.sampled_from(["https://youtu.be/{v}?si=x", "http://m.youtube.com/watch?"
                                    "v={v}&list=PL1&index=2", "https://youtube.com/watch?"
                                    "feature=share&v={v}#t=3"]))
def test_youtube_rules_keep_the_video(video: str, template: str) -> None:
    url = template.format(v=video)
    assert youtube_video_id(canonical_url(url)) == youtube_video_id(url) == video


@settings(max_examples=200, deadline=None)
@given(_arxiv_ids, st.sampled_from(["", "v1", "v12"]),
       st.sampled_from(["https://arxiv.org/pdf/{i}{v}.pdf", "http://export.arxiv.org/abs/{i}{v}",
                        "https://www.arxiv.org/pdf/{i}{v}?x=1#y"]))
def test_arxiv_rules_keep_the_paper(paper: str, version: str, template: str) -> None:
    url = template.format(i=paper, v=version)
    assert arxiv_id(canonical_url(url)) == arxiv_id(url) == (paper, int(version[1:]) if version
                                                             else None)


@settings(max_examples=200, deadline=None)
@given(_label, _label, st.sampled_from(["", "/", "?tab=readme-ov-file", "/tree/main"]))
def test_github_rules_keep_the_repository(owner: str, repo: str, tail: str) -> None:
    url = f"http://www.GitHub.com/{owner}/{repo}{tail}"
    expected = None if owner.lower() in _GITHUB_RESERVED else (owner, repo)
    assert github_repo(canonical_url(url)) == github_repo(url) == expected

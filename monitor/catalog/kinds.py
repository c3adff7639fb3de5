"""The ``kind`` of a catalog row guessed from its URL (SPEC §5 kinds): a site's own rule first
(:func:`monitor.sites.kind_for`), then tables of hosts and paths.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from monitor.sites import canonical_url, kind_for
from monitor.urls import InvalidURL, host_of

__all__ = ["guess_kind"]


_HOST_KINDS: tuple[tuple[str, str], ...] = (
    # (regex on host, kind); first match wins
    (r"(^|\.)(openreview\.net|aclanthology\.org|proceedings\.neurips\.cc|papers\.nips\.cc"
     r"|proceedings\.mlr\.press|jmlr\.org|dl\.acm\.org|aclweb\.org)$", "paper"),
    (r"(^|\.)(coursera\.org|edx\.org|udacity\.com|deeplearning\.ai|course\.fast\.ai)$", "course"),
    (r"^docs\.google\.com$", "site"),
    (r"(^docs\.|readthedocs\.(io|org)$|\.readthedocs\.)", "docs"),
    (r"(^|\.)(medium\.com|substack\.com|distill\.pub|towardsdatascience\.com)$|blog", "blog"),
    (r"(^|\.)(deeplearningbook\.org|d2l\.ai)$|book", "book"),
)
_PATH_KINDS: tuple[tuple[str, str], ...] = (
    # (regex on path, kind), tried after the host table
    (r"/docs?(/|$)|/documentation(/|$)", "docs"),
    (r"/class/|/courses?(/|$|-)|^/~?cs\d+", "course"),
    (r"/blog(/|$)|/posts?/|/\d{4}/\d{2}/", "blog"),
    (r"/books?(/|$)", "book"),
)


def guess_kind(url: str, title: str = "") -> str:
    """Guess a catalog ``kind`` from a URL (and title); ``"other"`` for an invalid URL.

    Rules, first match wins: the site's own kind (arXiv -> paper; YouTube video -> video,
    playlist -> playlist, ``/@name``, ``/c/``, ``/channel/``, ``/user/`` -> channel; GitHub
    repository -> repo: see :mod:`monitor.sites`); ``.pdf`` -> book when the title says
    book/textbook, else paper; then the host table and the path table above (papers, courses,
    docs, blogs, books); ``*.github.io`` below the root ->
    blog; else site.
    """
    try:
        canonical = canonical_url(url)
        host = host_of(canonical)
    except InvalidURL:
        return "other"
    path = urlsplit(canonical).path
    special = _special_kind(canonical, host, path, title)
    if special:
        return special
    for table, subject in ((_HOST_KINDS, host), (_PATH_KINDS, path)):
        for pattern, kind in table:
            if re.search(pattern, subject):
                return kind
    return "blog" if host.endswith(".github.io") and path.strip("/") else "site"


def _special_kind(url: str, host: str, path: str, title: str) -> str | None:
    kind = kind_for(url)
    if kind is not None:
        return kind
    if path.lower().endswith(".pdf"):
        return "book" if re.search(r"\b(text)?book\b", title, re.I) else "paper"
    return None

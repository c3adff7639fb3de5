"""arXiv identity: the versionless identifier is the key of a paper (SPEC §8).

Two identifier schemes exist (https://info.arxiv.org/help/arxiv_identifier.html):

- new style, since April 2007: ``YYMM.NNNN`` (to 2014) or ``YYMM.NNNNN`` (from 2015), e.g.
  ``2401.12345``;
- old style, before April 2007: ``archive[.SUBJECT]/YYMMNNN``, e.g. ``hep-th/9901001`` or
  ``math.GT/0309136``.

Either may carry a version suffix ``vN``. Catalog URLs are parsed by
:func:`monitor.urls.arxiv_id`; this module adds the API's ``entry_id`` and bare identifiers as a
user types them (``arXiv:2401.12345v2``).
"""

from __future__ import annotations

import re

from monitor.urls import arxiv_id as _url_arxiv_id

__all__ = ["abs_url", "parse_arxiv_id", "versionless"]

_ID_RE = re.compile(
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Za-z]{2})?/\d{7})(?:v(?P<ver>\d+))?\Z"
)


def parse_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """Split an arXiv reference into ``(versionless id, version or None)``.

    Accepts an API ``entry_id`` (``http://arxiv.org/abs/2401.12345v2``), any abs/pdf URL, or a
    bare identifier with an optional ``arXiv:`` prefix (``2401.12345v2``, ``hep-th/9901001``).
    Returns None for anything else (never raises).

    >>> parse_arxiv_id("http://arxiv.org/abs/hep-th/9901001v1")
    ('hep-th/9901001', 1)
    """
    text = text.strip()
    if "://" in text:
        return _url_arxiv_id(text)
    text = re.sub(r"^arxiv:", "", text, flags=re.I)
    match = _ID_RE.match(text)
    if not match:
        return None
    return match["id"], int(match["ver"]) if match["ver"] else None


def versionless(text: str) -> str | None:
    """The versionless identifier of ``text`` (see :func:`parse_arxiv_id`), or None."""
    parsed = parse_arxiv_id(text)
    return parsed[0] if parsed else None


def abs_url(arxiv_id: str) -> str:
    """The canonical abstract page of a versionless id: ``https://arxiv.org/abs/<id>``."""
    return f"https://arxiv.org/abs/{arxiv_id}"

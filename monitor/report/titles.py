"""Titles a maintainer recognises (issue 12): the page's own title leads when the link text is
generic or a fragment of a sentence.

Extraction takes a link's title from its text, or from the sentence around it when the text
is generic ("video", "this blog post"); about 110 of the handbook's 271 titles come out as
sentence fragments ("…give you most of the core…") or single words ("scrambling", "v0.1").
Wherever a resource is shown (reports, web UI, notifications, ``monitor fix``), :func:`lead`
puts the page's own title first (``page_title`` of the status object: the ``<title>`` its
fingerprint stored, or the oEmbed, arXiv or GitHub title of its probe) and keeps the link text
as context.

Titles come from the web: :func:`clean` makes them one line without control or bidirectional
override characters and at most :data:`MAX_TITLE` characters; the renderers escape them (HTML)
or neutralise them (Markdown: :func:`monitor.report.markdown.md_escape` breaks ``@mentions``
and ``#123`` references).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from monitor.catalog.extract import is_generic

__all__ = ["MAX_TITLE", "clean", "is_weak", "lead"]

MAX_TITLE = 160
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean(text: object, limit: int = MAX_TITLE) -> str:
    """``text`` on one line, control and bidirectional-override characters dropped, at most
    ``limit`` characters (cut at a word, with an ellipsis)."""
    line = " ".join(_CONTROL.sub(" ", str(text or "")).split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut).rstrip() + "…"


def is_weak(title: str) -> bool:
    """Whether a catalog title says little on its own: empty, one word, only generic words
    ("video", "here"), or a piece of a sentence (extraction cut it: it starts or ends with
    "…")."""
    text = title.strip()
    if not text or text.startswith("…") or text.endswith("…"):
        return True
    return len(text.split()) < 2 or is_generic(text)


def lead(resource: Mapping[str, Any]) -> tuple[str, str]:
    """``(what to show first, context)`` for a status object (SPEC §10): its ``page_title``
    and then its catalog ``title`` when the title is weak (:func:`is_weak`) and the page has
    a title of its own; else the title (or the URL) and no context. Both cleaned."""
    title = clean(resource.get("title"))
    page = clean(resource.get("page_title"))
    if page and is_weak(title) and not is_generic(page):
        return page, title if title.casefold() != page.casefold() else ""
    return title or clean(resource.get("url"), 300), ""

"""What one generic check says about a resource's content (SPEC §7). Pure.

Only an ``ok`` 2xx response with a real extraction is content (not an error page, a bot wall, a
soft 404 or an empty page: those are fetch results). A 304, or a body whose raw hash or
normalised text equals the latest fingerprint's (:class:`~monitor.vocabulary.Latest`), is the
*same* content again; otherwise the fingerprint is ``new`` (or ``first`` for a resource that
has none yet, which then becomes its baseline). Probe results (YouTube, arXiv, GitHub API) are
not content. The decision over time (changed or not) is :mod:`monitor.health.changes`.

Results are ``(content, fingerprint)``: ``content`` in ``"new"``, ``"first"``, ``"same"`` or
None (nothing observed); ``fingerprint`` set for new and first.

:func:`title_of` reads only the ``<title>`` of a page that is not fingerprinted (a moved link's
new page), so reports can still call it by its own title.
"""

from __future__ import annotations

import hashlib
import html
import re

from monitor.classify import fingerprint as extractor
from monitor.classify.fingerprint import Fingerprint
from monitor.vocabulary import FetchResult, Latest, Outcome

Observed = tuple[str | None, Fingerprint | None]
NOTHING: Observed = (None, None)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
TITLE_SCAN_BYTES = 65_536  # a <title> is in the head: the first bytes are enough


def title_of(res: FetchResult) -> str | None:
    """The ``<title>`` of an HTML response (one line, at most
    :data:`~monitor.classify.fingerprint.MAX_TITLE_CHARS` characters), or None."""
    kind = (res.headers.get("content-type") or "text/html").split(";")[0].strip().lower()
    if kind not in ("text/html", "application/xhtml+xml"):
        return None
    match = _TITLE.search(res.body[:TITLE_SCAN_BYTES])
    if match is None:
        return None
    text = " ".join(html.unescape(match.group(1).decode("utf-8", "replace")).split())
    return text[:extractor.MAX_TITLE_CHARS] or None


def observe(res: FetchResult | None, out: Outcome, latest: Latest | None) -> Observed:
    """What one generic check says about the content (see the module docstring)."""
    decided, needed = precheck(res, out, latest)
    if not needed:
        return decided
    assert res is not None
    print_ = extractor.fingerprint(res.body, res.headers.get("content-type"), res.final_url)
    return conclude(print_, latest)


def precheck(res: FetchResult | None, out: Outcome, latest: Latest | None
             ) -> tuple[Observed, bool]:
    """The cheap half of :func:`observe`: ``(observed, False)`` when it is decided without a
    fingerprint, ``(NOTHING, True)`` when the body must be fingerprinted (then
    :func:`conclude`)."""
    if res is None or out.outcome != "ok" or res.status is None:
        return NOTHING, False
    if res.status == 304:
        return (("same", None) if latest is not None else NOTHING), False
    if not 200 <= res.status < 300 or not res.body:
        return NOTHING, False
    current = latest is not None and latest.extractor_version == extractor.EXTRACTOR_VERSION
    if current and latest.raw_hash == hashlib.sha256(res.body).hexdigest():
        return ("same", None), False
    return NOTHING, True


def conclude(print_: Fingerprint | None, latest: Latest | None) -> Observed:
    """The second half of :func:`observe`, given the body's fingerprint (computed anywhere)."""
    if print_ is None:
        return NOTHING
    current = latest is not None and latest.extractor_version == extractor.EXTRACTOR_VERSION
    if current and print_.text_hash is not None and print_.text_hash == latest.text_hash:
        return "same", None
    return ("new" if latest is not None else "first"), print_

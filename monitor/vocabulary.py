"""The vocabulary of the monitor: the names SPEC §5, §6 and §10 define, and the values that flow
between the stages. Standard library only: every stage imports it, it imports no stage.

Names (``StrEnum`` members compare equal to their strings, so stored rows and JSON stay plain):

- :class:`State` of a resource (SPEC §6), :class:`EventKind` of a stored event,
  :class:`ErrorClass` of a failed check, :class:`Kind` of a catalog row (SPEC §5),
  :class:`RunStatus` of a run, :class:`SuggestionStatus` of an arXiv suggestion (SPEC §8);
- the orders they are shown in (:data:`STATES`, :data:`COUNT_ORDER`, :data:`SEVERITY`,
  :data:`TREND_ORDER`), and the subsets the rules use (:data:`TRANSPORT_ERRORS`,
  :data:`NETWORK_ERRORS`).

Values, in the order they flow (catalog -> fetch -> classify -> store -> health):

- :class:`Target`: an active resource to check (from the store);
- :class:`Hop` and :class:`FetchResult`: what the fetch stage saw (SPEC §6);
- :class:`Outcome`: the classifier's verdict on one fetch or probe;
- :class:`Latest`: the newest stored fingerprint of a resource, to tell new content from same;
- :class:`Check`: one resource checked in one run, the one shape the crawl hands to the store
  and the health stage;
- :class:`EventDraft`: an event the health stage decided, before it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a type name only: the fingerprint is computed by the classify stage
    from monitor.classify.fingerprint import Fingerprint


class State(StrEnum):
    """The state of a resource (SPEC §6)."""

    UNKNOWN = "unknown"
    OK = "ok"
    MOVED = "moved"
    FAILING = "failing"
    DEAD = "dead"
    BLOCKED = "blocked"


class EventKind(StrEnum):
    """What a run stores about a resource when something happened to it (SPEC §6)."""

    WENT_FAILING = "went_failing"
    WENT_DEAD = "went_dead"
    RECOVERED = "recovered"
    MOVED = "moved"
    CHANGED = "changed"
    UPDATED = "updated"
    BLOCKED = "blocked"
    ANCHOR_MISSING = "anchor_missing"


class ErrorClass(StrEnum):
    """Why a check failed (SPEC §6). ``body_too_large`` is noted, not a failure."""

    DNS = "dns"
    CONNECT = "connect"
    TIMEOUT = "timeout"
    TLS = "tls"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_LOOP = "redirect_loop"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    SOFT_404 = "soft_404"
    INVALID_URL = "invalid_url"
    BODY_TOO_LARGE = "body_too_large"
    BLOCKED = "blocked"


class Kind(StrEnum):
    """The ``kind`` column of a catalog row (SPEC §5)."""

    PAPER = "paper"
    VIDEO = "video"
    PLAYLIST = "playlist"
    CHANNEL = "channel"
    BLOG = "blog"
    DOCS = "docs"
    COURSE = "course"
    BOOK = "book"
    REPO = "repo"
    SITE = "site"
    OTHER = "other"


class RunStatus(StrEnum):
    """The status of a run: ``running`` until it ends complete, degraded or aborted (SPEC §10)."""

    RUNNING = "running"
    COMPLETE = "complete"
    DEGRADED = "degraded"
    ABORTED = "aborted"


class SuggestionStatus(StrEnum):
    """The triage status of an arXiv suggestion (SPEC §8)."""

    NEW = "new"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


def _values(kind: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in kind)


STATES: tuple[str, ...] = _values(State)
"""Every state, in SPEC §6 order (``unknown ok moved failing dead blocked``)."""
EVENT_KINDS: tuple[str, ...] = _values(EventKind)
ERROR_CLASSES: tuple[str, ...] = _values(ErrorClass)
"""Every error class, in SPEC §6 order."""
KINDS: tuple[str, ...] = _values(Kind)
SUGGESTION_STATUSES: tuple[str, ...] = _values(SuggestionStatus)
RANKING_SEMANTIC = "ranking: semantic"
RANKING_LEXICAL = "ranking: lexical"
"""How the arXiv watch ranked its papers (SPEC §8): the start of its line in the run note and of
each suggestion's ``ranking``, e.g. ``"ranking: semantic (sentence-transformers/all-MiniLM-L6-v2)"``
or ``"ranking: lexical (no embedding model: ...)"``."""

COUNT_ORDER: tuple[str, ...] = ("ok", "moved", "failing", "dead", "blocked", "unknown")
"""States as counted per run (``runs --json``, the run summary line, the report's counts)."""
SEVERITY: tuple[str, ...] = ("dead", "failing", "moved", "blocked", "unknown", "ok")
"""States worst first (health by section, what needs action first)."""
TREND_ORDER: tuple[str, ...] = ("ok", "moved", "blocked", "unknown", "failing", "dead")
"""States stacked bottom-up in the trend chart (the alarming ones on top)."""
OUTCOMES: tuple[str, ...] = ("ok", "moved", "failing", "blocked")
"""What one check can conclude (:attr:`Outcome.outcome`): the states a result can set."""

TRANSPORT_ERRORS: frozenset[str] = frozenset(
    {"dns", "connect", "timeout", "tls", "too_many_redirects", "redirect_loop", "invalid_url"})
"""The failures decided before any complete HTTP response (the fetch stage sets them on
:attr:`FetchResult.error`, with ``body_too_large``, which is not a failure)."""
NETWORK_ERRORS: frozenset[str] = frozenset({"dns", "connect", "timeout"})
"""The failures that suggest the monitor's own network is down (degraded runs, SPEC §6)."""


@dataclass(frozen=True, slots=True)
class Target:
    """An active resource to check, with what the conditional request needs.

    ``etag``/``last_modified``: the validators of the last full ``ok`` response (RFC 9110
    §13.1), None when there was none; ``state``: the resource's state before this run.
    """

    resource_id: int
    url: str
    canonical_url: str
    kind: str
    etag: str | None
    last_modified: str | None
    state: str


@dataclass(frozen=True)
class Hop:
    """One HTTP response in a redirect chain.

    ``url`` is the URL requested, ``status`` the HTTP status received, ``location`` the raw
    ``Location`` header value (None when absent).
    """

    url: str
    status: int
    location: str | None


@dataclass
class FetchResult:
    """The outcome of fetching one URL, redirects and retries included.

    Fields:
        url: the requested URL.
        final_url: URL of the last response (== url when there was no redirect, or when no
            response was received at all).
        status: HTTP status of the last response; None when no response was received.
        chain: every response in order, redirects included (the last one too).
        error: a class from :data:`TRANSPORT_ERRORS` or ``body_too_large``, or None when an
            HTTP response was received completely. ``body_too_large`` is not a failure: ``body``
            holds the first ``max_body_bytes`` and ``truncated`` is True. A connection lost
            after the headers keeps ``status``/``headers`` and sets ``connect`` with detail
            "connection lost mid-body: ...".
        detail: human-readable reason ("certificate has expired", "Name or service not known",
            "Retry-After 600 s exceeds cap 60 s").
        headers: headers of the last response, lower-case names, repeated headers joined
            with ", ".
        body: decoded (gzip/deflate/br) body of the last response, at most max_body_bytes.
        truncated: True when the body was cut at max_body_bytes.
        elapsed: seconds for the whole fetch, retries and backoff sleeps included.
        attempts: 1 + the retries actually done.
        bytes_received: body bytes received on the wire over all responses and attempts
            (compressed size when the body was content-encoded), for benchmarks.
    """

    url: str
    final_url: str
    status: int | None = None
    chain: list[Hop] = field(default_factory=list)
    error: str | None = None
    detail: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    elapsed: float = 0.0
    attempts: int = 1
    bytes_received: int = 0

    @property
    def not_modified(self) -> bool:
        """True when the last response was 304 Not Modified (a conditional request matched)."""
        return self.status == 304

    @property
    def redirected(self) -> bool:
        """True when at least one redirect was followed."""
        return len(self.chain) > 1


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict on one fetch or probe.

    ``outcome`` is one of :data:`OUTCOMES`; ``error`` is the :class:`ErrorClass` of failures
    and blocks (None when ok/moved); ``final_url`` is the suggested replacement for ``moved``
    and the landing URL otherwise (None when there was no redirect).
    """

    outcome: str
    error: str | None = None
    http_status: int | None = None
    final_url: str | None = None
    detail: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome == "failing"


@dataclass(frozen=True, slots=True)
class Latest:
    """The newest counted fingerprint of a resource: enough to tell "same content" (SPEC §7).

    ``raw_hash``/``text_hash``: SHA-256 hex of the body and of its normalised main text (None
    for binaries); ``extractor_version``: the extractor that took it.
    """

    id: int
    raw_hash: str
    text_hash: str | None
    extractor_version: str


@dataclass(frozen=True)
class EventDraft:
    """An event to store: ``kind`` from :data:`EVENT_KINDS` and a JSON-able ``detail``."""

    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Check:
    """One resource checked in one run: the verdict and what the store and health stages need.

    ``host``: the target URL's host, lower-cased. ``site``/``probe``: the site whose probe
    decided and the facts it found (``None`` for a generic fetch). ``etag``/``last_modified``:
    the response's validators (kept only where the health stage stores them: an ``ok`` that is
    not a 304). ``content``: what the fingerprint said about the content, ``"new"`` (a new
    version), ``"first"`` (the resource's first fingerprint), ``"same"`` or None (nothing
    observed). ``fingerprint``: the new fingerprint when ``content`` is new or first.

    The response facts (``final_url`` as stored: None without a redirect, ``chain``,
    ``elapsed_ms``, ``attempts``, ``bytes_received`` in bytes, ``content_type``) and the
    fingerprint are written with the result; :meth:`slim` drops the bulky ones once written.

    ``anchor``: what the page said about the anchor the URL's ``#fragment`` names (SPEC §6):
    ``"found"``, ``"missing"``, ``"unknown"`` (not checkable: see
    :mod:`monitor.classify.anchors`), or None when the URL names no anchor. ``title``: the
    page's ``<title>`` when this check took a new fingerprint (None otherwise).
    """

    resource_id: int
    url: str
    host: str
    outcome: Outcome
    at: datetime
    etag: str | None = None
    last_modified: str | None = None
    site: str | None = None
    probe: dict[str, Any] | None = None
    content: str | None = None
    fingerprint: Fingerprint | None = None
    final_url: str | None = None
    chain: tuple[Hop, ...] = ()
    elapsed_ms: int = 0
    attempts: int = 1
    bytes_received: int = 0
    content_type: str | None = None
    anchor: str | None = None
    title: str | None = None

    def slim(self, outcome: Outcome | None = None, host: str | None = None) -> Check:
        """This check without what only the result row needed (the chain, the fingerprint,
        the validators the health stage does not store); ``outcome``/``host``: shared equal
        objects to keep instead of this check's own (memory of 100,000 results)."""
        out = outcome or self.outcome
        stored = out.outcome == "ok" and out.http_status != 304
        return Check(self.resource_id, self.url, host or self.host, out, self.at,
                     self.etag if stored else None, self.last_modified if stored else None,
                     self.site, self.probe if self.site is not None else None, self.content,
                     anchor=self.anchor, title=self.title)

"""The arXiv API client (SPEC §7, §8), on the ``arxiv`` package: the watch's category listings
(:mod:`monitor.watch.feed`) and the arXiv site's batched ``id_list`` query
(:mod:`monitor.sites.arxiv`) both go through :class:`ArxivClient`.

The arXiv API (https://info.arxiv.org/help/api/user-manual.html) is queried page by page
(``start``/``max_results``) through :class:`arxiv.Client`, which keeps ``delay_seconds`` between
requests. arXiv's API Terms of Use (https://info.arxiv.org/help/api/tou.html) ask for "no more
than one request every three seconds": the default ``arxiv.delay_seconds`` is 3.0; tests set 0.

Known failure modes and what :class:`ArxivClient` does about them:

- an empty page in the middle of the results (the package raises ``UnexpectedEmptyPageError``;
  the API is known to do this sporadically): retried;
- HTTP 429 and 5xx, timeouts and connection errors: retried ``retries`` times with exponential
  backoff (``delay_seconds * 2**n`` seconds, at least a numeric ``Retry-After`` capped at
  :data:`RETRY_AFTER_CAP`); then the category is given up for this run, keeping what was read;
- an error entry in the feed (``<title>Error</title>``, id ``https://arxiv.org/api/errors#...``,
  usually with HTTP 400): not retried; :class:`ArxivQueryError` carries the API's own message;
- a hostile or broken endpoint: each request has ``http.timeout`` seconds in all (a server
  sending a byte a second is cut off, and retried like a timeout) and at most
  :data:`MAX_FEED_BYTES` of decoded body (past it the category is given up, not retried);
  see :mod:`monitor.fetch.bounded`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import arxiv
import requests
from lxml import etree

from monitor.errors import ArxivQueryError, ArxivUnavailable

from . import bounded

__all__ = ["RETRY_AFTER_CAP", "ArxivClient", "describe_error", "error_entry_message",
           "make_client"]

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_FEED_BYTES = 20_000_000
"""Decoded bytes of one API response read at most (a page of 100 entries is about 300 KB; the
API's largest page, 2,000 entries, about 6 MB)."""
RETRY_AFTER_CAP = 60.0
"""Seconds: a longer ``Retry-After`` is not waited out in full."""
_ATOM = "{http://www.w3.org/2005/Atom}"


class _TimeoutSession(requests.Session):
    """A requests session whose every request is bounded (the arxiv package sets no timeout):
    ``timeout`` seconds for the whole request, headers and body (a :class:`bounded.Deadline`,
    besides the per-read timeout), and at most ``max_bytes`` of decoded body
    (:class:`bounded.FeedTooLarge` past it)."""

    def __init__(self, timeout: float, max_bytes: int = MAX_FEED_BYTES) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.max_bytes = max_bytes
        for prefix in ("http://", "https://"):
            self.mount(prefix, bounded.BoundedAdapter())

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        kwargs["stream"] = True
        with bounded.Deadline(self.default_timeout) as deadline:
            try:
                response = super().request(*args, **kwargs)
                response._content = bounded.read_capped(response, self.max_bytes)
            except (requests.RequestException, OSError) as err:
                if deadline.expired:
                    raise requests.Timeout(f"no complete response within "
                                           f"{self.default_timeout:g} s") from err
                raise
        if deadline.expired:  # cut just as the last byte arrived: count it as late
            raise requests.Timeout(f"no complete response within {self.default_timeout:g} s")
        return response


class ArxivClient(arxiv.Client):
    """An :class:`arxiv.Client` pointed at ``api_url``, with backoff and clear API errors.

    ``page_size``: results per request (the API allows up to 2000); ``delay_seconds``: seconds
    between requests (arXiv asks for 3); ``retries``: extra tries per page for transient
    failures; ``timeout``: seconds for a whole request; ``proxy``: http(s) proxy URL for every
    request ("": requests reads HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment);
    ``max_bytes``: decoded bytes of a response read at most; ``sleep`` waits for backoff
    (injectable). ``requests_made`` counts HTTP responses received.
    """

    def __init__(self, api_url: str, *, page_size: int = 100, delay_seconds: float = 3.0,
                 retries: int = 2, timeout: float = 30.0, proxy: str = "",
                 max_bytes: int = MAX_FEED_BYTES,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(page_size=page_size, delay_seconds=delay_seconds, num_retries=0)
        self.api_url = api_url
        self.query_url_format = api_url + ("&" if "?" in api_url else "?") + "{}"
        self.retries = retries
        self.sleep = sleep
        self.requests_made = 0
        self.last_response: requests.Response | None = None
        self._session = _TimeoutSession(timeout, max_bytes)
        self._session.hooks["response"].append(self._remember)
        if proxy:
            self._session.proxies = {"http": proxy, "https": proxy}

    def by_ids(self, ids: list[str]) -> Iterator[arxiv.Result]:
        """The API's entries for the versionless ``ids`` (one ``id_list`` query, paged).

        Raises ArxivQueryError for an error feed (a malformed id names itself in the message),
        ArxivUnavailable (with :func:`describe_error`'s words) when the API cannot be used.
        """
        search = arxiv.Search(id_list=ids, max_results=len(ids))
        try:
            yield from self.results(search)
        except (arxiv.ArxivError, requests.RequestException) as err:
            raise ArxivUnavailable(describe_error(err)) from err

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.requests_made += 1
        self.last_response = response

    def _parse_feed(self, url: str, first_page: bool = True, _try_index: int = 0) -> Any:
        """One page, retried with backoff on transient failures (see the module docstring)."""
        for attempt in range(self.retries + 1):
            self.last_response = None
            try:
                feed = super()._parse_feed(url, first_page=first_page)
            except (arxiv.HTTPError, arxiv.UnexpectedEmptyPageError,
                    requests.RequestException) as err:
                status = err.status if isinstance(err, arxiv.HTTPError) else 200
                self._raise_error_entry(status)
                transient = not isinstance(err, arxiv.HTTPError | bounded.FeedTooLarge) or (
                    status in RETRY_STATUSES)
                if not transient or attempt == self.retries:
                    raise
                log.info("arXiv API: %s; retry %d of %d", err, attempt + 1, self.retries)
            else:
                self._raise_error_entry(200)
                return feed
            self.sleep(self._backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        wait = self.delay_seconds * 2**attempt
        response = self.last_response
        header = response.headers.get("Retry-After", "") if response is not None else ""
        if header.strip().isdigit():
            wait = max(wait, min(float(header), RETRY_AFTER_CAP))
        return wait

    def _raise_error_entry(self, status: int) -> None:
        """Raise ArxivQueryError if the last response is an API error feed."""
        body = self.last_response.content if self.last_response is not None else b""
        message = error_entry_message(body)
        if message is not None:
            raise ArxivQueryError(f"arXiv API error (HTTP {status}): {message}")


def error_entry_message(body: bytes) -> str | None:
    """The ``<summary>`` of an error entry (id ``.../api/errors#...``) in an Atom body, or None."""
    if b"api/errors" not in body:
        return None
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    for entry in root.iterfind(f"{_ATOM}entry"):
        if "/api/errors" in (entry.findtext(f"{_ATOM}id") or ""):
            return " ".join((entry.findtext(f"{_ATOM}summary") or "unknown error").split())
    return None


def describe_error(err: Exception) -> str:
    """A one-line, human explanation of a fetch failure."""
    if isinstance(err, arxiv.HTTPError):
        return f"gave up after HTTP {err.status} (retries exhausted)"
    if isinstance(err, arxiv.UnexpectedEmptyPageError):
        return "gave up after repeated empty pages in the middle of the results"
    if isinstance(err, requests.Timeout):
        return "gave up after timeouts"
    if isinstance(err, requests.ConnectionError):
        return f"cannot connect ({type(err).__name__})"
    return str(err)


def make_client(settings: Any, *, page_size: int | None = None) -> ArxivClient:
    """An :class:`ArxivClient` from settings: ``arxiv.api_url``, ``arxiv.delay_seconds``,
    ``http.retries``, ``http.timeout``, ``http.proxy``; ``page_size`` defaults to
    ``arxiv.max_results`` capped at 100 (the arxiv package's default page)."""
    size = page_size or max(1, min(int(settings["arxiv.max_results"]), 100))
    return ArxivClient(settings["arxiv.api_url"], page_size=size,
                       delay_seconds=float(settings["arxiv.delay_seconds"]),
                       retries=int(settings["http.retries"]),
                       timeout=float(settings["http.timeout"]), proxy=settings["http.proxy"])

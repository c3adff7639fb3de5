"""Value types of the fetch stage: options in, one `FetchResult` per URL out.

Outcomes are values (SPEC §6): a fetch that failed is a `FetchResult` whose `error` names a
transport-level class; HTTP-status classes (`http_4xx`, `http_5xx`, `soft_404`, `blocked`) are
decided later by the classifier from `status`, `chain` and `body`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR_CLASSES: tuple[str, ...] = (
    "dns",
    "connect",
    "timeout",
    "tls",
    "too_many_redirects",
    "redirect_loop",
    "http_4xx",
    "http_5xx",
    "soft_404",
    "invalid_url",
    "body_too_large",
    "blocked",
)
"""Every error class of SPEC §6, in the order the spec lists them."""

TRANSPORT_ERRORS: tuple[str, ...] = (
    "dns",
    "connect",
    "timeout",
    "tls",
    "too_many_redirects",
    "redirect_loop",
    "invalid_url",
    "body_too_large",
)
"""The subset of `ERROR_CLASSES` that `Fetcher.fetch` itself may set on `FetchResult.error`."""


@dataclass(frozen=True)
class Hop:
    """One HTTP response in a redirect chain.

    `url` is the URL requested, `status` the HTTP status received, `location` the raw
    `Location` header value (None when absent).
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
        error: a transport-level class from `TRANSPORT_ERRORS`, or None when an HTTP response
            was received completely. `body_too_large` is not a failure: `body` holds the first
            `max_body_bytes` and `truncated` is True. A connection lost after the headers keeps
            `status`/`headers` and sets `connect` with detail "connection lost mid-body: ...".
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


@dataclass(frozen=True)
class FetchOptions:
    """Settings of one fetch run; names and defaults are SPEC §4 `[http]`.

    concurrency: requests in flight over all hosts. per_host: requests in flight to one host
    (URL host, lower-cased). timeout: seconds for one whole request (connect, headers, body).
    connect_timeout: seconds to open a connection. max_redirects: redirects followed before
    `too_many_redirects`. retries: extra tries for transient failures. backoff_base: seconds,
    doubled each retry. retry_after_cap: seconds; a longer Retry-After stops retrying.
    max_body_bytes: decoded body bytes kept. user_agent: User-Agent header. connect_to: curl
    `--connect-to` strings "HOST1:PORT1:HOST2:PORT2". ca_bundle: path of an extra PEM file of
    trusted CAs ("" for none; the system store stays trusted).
    """

    concurrency: int = 32
    per_host: int = 2
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_redirects: int = 10
    retries: int = 2
    backoff_base: float = 1.0
    retry_after_cap: float = 60.0
    max_body_bytes: int = 5_000_000
    user_agent: str = "monitor/0.1.0"
    connect_to: tuple[str, ...] = ()
    ca_bundle: str = ""

"""Options of the fetch stage: the ``[http]`` settings (SPEC §4) as one value.

Outcomes are values (SPEC §6): a fetch that failed is a
:class:`~monitor.vocabulary.FetchResult` whose ``error`` names a transport-level class
(:data:`~monitor.vocabulary.TRANSPORT_ERRORS`, or ``body_too_large``); HTTP-status classes
(``http_4xx``, ``http_5xx``, ``soft_404``, ``blocked``) are decided later by the classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.config import Settings


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
    trusted CAs ("" for none; the system store stays trusted). proxy: http(s) proxy URL for
    every request, credentials allowed ("http://user:pass@host:3128"); "" takes HTTPS_PROXY /
    HTTP_PROXY / NO_PROXY from the environment (see `Fetcher`). Never printed or logged.
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
    proxy: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchOptions:
        """The ``[http]`` settings as fetcher options."""
        return cls(**{name: settings[f"http.{name}"] for name in (
            "concurrency", "per_host", "timeout", "connect_timeout", "max_redirects", "retries",
            "backoff_base", "retry_after_cap", "max_body_bytes", "user_agent", "ca_bundle",
            "proxy")},
            connect_to=tuple(settings["http.connect_to"]))

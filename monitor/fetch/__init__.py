"""Fetch stage: URL -> `FetchResult` (aiohttp session, limits, redirects, retries, connect-to).

Public API: `Fetcher`, `FetchOptions`, `FetchResult`, `Hop`, `ERROR_CLASSES`,
`TRANSPORT_ERRORS`, `ConnectTo`, `ConnectToResolver`, `parse_connect_to`, `make_ssl_context`,
`parse_retry_after`.
"""

from .client import Fetcher, parse_retry_after
from .resolver import ConnectTo, ConnectToResolver, make_ssl_context, parse_connect_to
from .types import ERROR_CLASSES, TRANSPORT_ERRORS, FetchOptions, FetchResult, Hop

__all__ = [
    "ERROR_CLASSES",
    "TRANSPORT_ERRORS",
    "ConnectTo",
    "ConnectToResolver",
    "FetchOptions",
    "FetchResult",
    "Fetcher",
    "Hop",
    "make_ssl_context",
    "parse_connect_to",
    "parse_retry_after",
]

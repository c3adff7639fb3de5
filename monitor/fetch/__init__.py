"""Fetch stage: URL -> :class:`~monitor.vocabulary.FetchResult` (aiohttp session, limits,
redirects, retries, curl-style ``--connect-to``). The only stage that opens connections to the
checked web; it writes nothing.

Public API: `Fetcher`, `FetchOptions`, `ConnectTo`, `ConnectToResolver`, `parse_connect_to`,
`make_ssl_context`, `parse_retry_after`.
"""

from .client import Fetcher, parse_retry_after
from .options import FetchOptions
from .resolver import ConnectTo, ConnectToResolver, make_ssl_context, parse_connect_to

__all__ = [
    "ConnectTo",
    "ConnectToResolver",
    "FetchOptions",
    "Fetcher",
    "make_ssl_context",
    "parse_connect_to",
    "parse_retry_after",
]

"""Bounded HTTP for the ``requests`` session under the ``arxiv`` package: a size cap and a
deadline over the whole request.

``requests``' ``timeout`` bounds each socket operation (connect, then every read), not the
request: a server sending one byte a second never trips it (urllib3's documentation says so of
its read timeout). So:

- :class:`Deadline` arms a timer for the whole request. Every connection that the request uses
  is registered with it (:class:`BoundedAdapter` builds urllib3 pools whose connections do so
  when they connect or send), and when the timer fires their sockets are shut down, which ends
  a read blocked anywhere: status line, headers, body, TLS or a proxy tunnel.
- :func:`read_capped` streams the decoded body (gzip included) and stops past a byte cap, so a
  hostile feed never sits in memory whole.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

CHUNK_BYTES = 64 * 1024
_ACTIVE = threading.local()  # .deadline: the Deadline of the request running in this thread


class FeedTooLarge(requests.RequestException):
    """The response body exceeded the cap; it was not read further."""


class Deadline:
    """A whole-request deadline for the requests made in this thread inside ``with``.

    ``expired`` tells afterwards whether the timer fired (whatever error the cut caused).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _ACTIVE.deadline = self
        self._timer.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._timer.cancel()
        _ACTIVE.deadline = None

    def watch(self, sock: socket.socket | None) -> None:
        """Cut ``sock`` when the deadline passes (at once if it already has)."""
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _cut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _cut(sock)


def _cut(sock: socket.socket) -> None:
    """Shut the socket down at the OS level (for TLS too: the base class's method, which leaves
    the SSL object to the reading thread), so a blocked ``recv`` returns at once."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watch(connection: HTTPConnection) -> None:
    deadline = getattr(_ACTIVE, "deadline", None)
    if deadline is not None:
        deadline.watch(connection.sock)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self)

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        _watch(self)  # a pooled connection, connected by an earlier request
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self)

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        _watch(self)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class BoundedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections (direct or through a proxy) register with the
    thread's :class:`Deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


def read_capped(response: requests.Response, cap: int) -> bytes:
    """The decoded body of a streamed ``response``, at most ``cap`` bytes; FeedTooLarge past
    it. The response is closed on any failure, with its content left empty."""
    body = bytearray()
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            body += chunk
            if len(body) > cap:
                raise FeedTooLarge(f"the response exceeds {cap:,} bytes; not read further")
    except BaseException:
        response._content = b""  # what later reads of .content see
        response.close()
        raise
    return bytes(body)

"""A hostile arXiv endpoint: huge feeds are cut at a cap, slow ones at the request deadline."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.fetch.arxiv_api import MAX_FEED_BYTES, ArxivClient
from monitor.watch.feed import CategoryFetch, fetch_category
from tests.feeds import FeedPaper, feed
from tests.simweb import SimWeb, gzip_bomb, trickle

SINCE = datetime(2020, 1, 1, tzinfo=UTC)


def client(url: str, **kw: object) -> ArxivClient:
    options: dict[str, object] = {"delay_seconds": 0.0, "retries": 0, "timeout": 1.0,
                                  "sleep": lambda _: None} | kw
    return ArxivClient(url, **options)  # type: ignore[arg-type]


def watch(c: ArxivClient) -> tuple[CategoryFetch, float]:
    started = time.monotonic()
    fetched = fetch_category(c, "cs.CL", since=SINCE, max_results=5)
    return fetched, time.monotonic() - started


def api_url(web: SimWeb) -> str:
    return f"http://127.0.0.1:{web.http_port}/api/query"


def test_a_feed_past_the_cap_is_given_up_without_holding_it(simweb: SimWeb) -> None:
    simweb.route("127.0.0.1", "/api/query", gzip_bomb(decoded_mib=256))
    c = client(api_url(simweb), timeout=30.0, retries=2)
    tracemalloc.start()
    try:
        fetched, _ = watch(c)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not fetched.complete and "exceeds 20,000,000 bytes" in fetched.error
    assert peak < 3 * MAX_FEED_BYTES, peak
    assert c.requests_made == 1  # a feed too large is not asked for again


def test_a_feed_under_a_smaller_cap_still_parses(simweb: SimWeb) -> None:
    paper = FeedPaper("2601.00001", "A paper", "An abstract.", datetime(2026, 1, 5, tzinfo=UTC))
    page = feed([paper], query="cat:cs.CL", start=0, size=5, total=1)
    simweb.route("127.0.0.1", "/api/query", body=page, content_type="application/atom+xml")
    fetched, _ = watch(client(api_url(simweb), max_bytes=len(page.encode()) + 10))
    assert fetched.complete and [p.arxiv_id for p in fetched.papers] == ["2601.00001"]
    small, _ = watch(client(api_url(simweb), max_bytes=100))
    assert not small.complete and "exceeds 100 bytes" in small.error


def test_a_trickling_body_is_cut_at_the_request_deadline(simweb: SimWeb) -> None:
    simweb.route("127.0.0.1", "/api/query", trickle(b"<", interval=0.05, count=400))
    fetched, seconds = watch(client(api_url(simweb), timeout=1.0, retries=1))
    assert not fetched.complete and "timeouts" in fetched.error
    assert seconds < 6, seconds  # two tries of 1 s each, not 20 s of trickle


@pytest.fixture
def slow_headers() -> Iterator[str]:
    """A server that sends its status line, then one header byte every 50 ms (for 20 s)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(400):
                    if stop.wait(0.05):
                        return
                    conn.sendall(b"a")
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/query"
    stop.set()
    listener.close()


def test_trickling_headers_are_cut_at_the_request_deadline(slow_headers: str) -> None:
    fetched, seconds = watch(client(slow_headers, timeout=1.0))
    assert not fetched.complete and "timeouts" in fetched.error
    assert seconds < 4, seconds

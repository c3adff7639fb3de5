"""A simulated web for the crawl benchmark: N URLs over H loopback hosts, in one process.

Every host is its own address of 127.0.0.0/8 (``127.1.x.y``, all on one port), so per-host
limits are real: a client cannot tell the hosts apart except by address. URLs are IP literals
(``http://127.1.0.7:PORT/docs/12/page-345.html``) so that every checker (the monitor,
LinkChecker, linkinator) reaches the same web without DNS or ``--connect-to``.

The web is a pure function of ``(size, hosts, seed)`` (:class:`Plan`): each URL has a kind
(a page, a 404, a 301 to a page on the same host, or a slow page), a latency per response drawn
from 20-200 ms (slow pages: 1-2 s), and a body picked from a few dozen realistic HTML articles
of 20-100 KB (mean about 40 KB) with navigation, inline styles and scripts. Pages carry
``ETag`` and ``Last-Modified`` and answer ``304`` to a matching conditional request.
``127.0.0.1:PORT/`` serves an index page linking every URL (the start page for crawlers);
``/__stats`` returns the counters as JSON (``peak_per_host``: the most requests one host was
answering at once) and ``/__reset`` zeroes them.

Run as a script (``python bench/webgen.py --size 10000 --hosts 500``): it prints one JSON line
``{"port": P}`` once every address listens, and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import signal
import socket
import sys
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

KINDS = ("page", "missing", "redirect", "slow")
KIND_WEIGHTS = (0.95, 0.02, 0.02, 0.01)
LATENCY = (0.020, 0.200)  # seconds, uniform, per response
SLOW_LATENCY = (1.0, 2.0)
SIZE_MIN, SIZE_MEAN_EXTRA, SIZE_MAX = 20_000, 20_000, 100_000
ARTICLES = 48
LAST_MODIFIED = "Tue, 02 Jan 2024 10:00:00 GMT"
_WORD_TEXT = """
model training data network layer attention token sequence gradient loss function optimizer
batch embedding vector matrix transformer decoder encoder inference latency memory cache kernel
throughput benchmark evaluation dataset sample probability distribution entropy sampling
temperature context window prompt instruction alignment reward policy value agent environment
feedback preference ranking retrieval index search query document chunk similarity cosine
metric precision recall baseline ablation
"""
WORDS = tuple(_WORD_TEXT.split())


def host_address(index: int) -> str:
    """The loopback address of host ``index`` (127.1.0.1, 127.1.0.2, ... 127.1.1.1 ...)."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


@dataclass
class Plan:
    """The whole simulated web as arrays indexed by URL number (deterministic from the seed)."""

    size: int
    hosts: int
    seed: int = 7
    kinds: list[str] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)  # first response
    latency2: list[float] = field(default_factory=list)  # redirect target
    article: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        for _ in range(self.size):
            kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
            self.kinds.append(kind)
            self.latency.append(rng.uniform(*(SLOW_LATENCY if kind == "slow" else LATENCY)))
            self.latency2.append(rng.uniform(*LATENCY))
            self.article.append(rng.randrange(ARTICLES))

    def host_of(self, i: int) -> int:
        """Host index of URL ``i`` (round robin)."""
        return i % self.hosts

    def path(self, i: int) -> str:
        """The path of URL ``i``."""
        return f"/docs/{i % 97}/page-{i}.html"

    def url(self, i: int, port: int) -> str:
        """The absolute URL of URL ``i``."""
        return f"http://{host_address(self.host_of(i))}:{port}{self.path(i)}"

    def requests(self, i: int) -> list[float]:
        """Latencies of the responses a full GET of URL ``i`` takes (two for a redirect)."""
        if self.kinds[i] == "redirect":
            return [self.latency[i], self.latency2[i]]
        return [self.latency[i]]


@dataclass(frozen=True)
class Ideal:
    """The best possible wall time for a plan under given limits (seconds)."""

    requests: int
    mean_latency: float
    global_bound: float
    host_bound: float
    chain_bound: float

    @property
    def seconds(self) -> float:
        return max(self.global_bound, self.host_bound, self.chain_bound)


def ideal(plan: Plan, concurrency: int, per_host: int) -> Ideal:
    """Sum of latencies / concurrency, the busiest host's / per_host, and the longest chain."""
    total, per_host_sum, longest, count = 0.0, Counter[int](), 0.0, 0
    for i in range(plan.size):
        lat = plan.requests(i)
        total += sum(lat)
        count += len(lat)
        per_host_sum[plan.host_of(i)] += sum(lat)
        longest = max(longest, sum(lat))
    busiest = max(per_host_sum.values(), default=0.0)
    return Ideal(count, total / max(count, 1), total / concurrency, busiest / per_host, longest)


# ---------------------------------------------------------------- page bodies


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    return " ".join(words).capitalize() + "."


def _style(rng: random.Random) -> str:
    rules = [f".c{n}{{margin:{rng.randint(0, 40)}px;padding:{rng.randint(0, 20)}px;"
             f"color:#{rng.randrange(16**6):06x}}}" for n in range(60)]
    return "<style>" + "".join(rules) + "</style>"


def _script(rng: random.Random, size: int) -> str:
    parts, length = [], 0
    while length < size:
        chunk = (f"function f{rng.randrange(10**6)}(a,b){{var x={rng.randrange(10**6)};"
                 f"return a.map(function(v){{return v*x+b}}).filter(Boolean)}};")
        parts.append(chunk)
        length += len(chunk)
    return "<script>" + "".join(parts) + "</script>"


def _nav(rng: random.Random, count: int) -> str:
    items = "".join(f'<li><a href="/docs/{rng.randrange(97)}/">{rng.choice(WORDS).title()}</a>'
                    "</li>" for _ in range(count))
    return f'<header><nav class="top"><ul>{items}</ul></nav></header>'


def _article_size(rng: random.Random) -> int:
    return min(SIZE_MAX, SIZE_MIN + int(rng.expovariate(1 / SIZE_MEAN_EXTRA)))


def article(n: int, seed: int) -> bytes:
    """Article ``n``: the part of a page after its <title> (head scripts, nav, text, footer)."""
    rng = random.Random(seed * 1000 + n)
    target = _article_size(rng)
    head = _style(rng) + _script(rng, rng.randint(3000, 9000)) + "</head><body>"
    parts = [head, _nav(rng, 40), f'<main><article><h1>{_sentence(rng)}</h1>']
    length = sum(map(len, parts))
    footer = ('</article></main><footer><p>© 2024 Example. Generated in 0.042 s.</p>'
              + _script(rng, 1500) + "</footer></body></html>")
    while length < target - len(footer):
        para = "<p>" + " ".join(_sentence(rng) for _ in range(rng.randint(3, 7))) + "</p>"
        if rng.random() < 0.2:
            para = f"<h2>{_sentence(rng)}</h2>" + para
        parts.append(para)
        length += len(para)
    return ("".join(parts) + footer).encode()


def page_head(i: int) -> bytes:
    """The URL-specific start of page ``i``."""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Page {i} - Example docs</title>"
            f'<meta name="viewport" content="width=device-width">').encode()


NOT_FOUND = (b"<!doctype html><html><head><title>404 Not Found</title></head><body>"
             b"<h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
             + b"<!-- padding -->" * 100 + b"</body></html>")


# ---------------------------------------------------------------- server


class Web:
    """The request handler and its counters."""

    def __init__(self, plan: Plan, port: int) -> None:
        self.plan, self.port = plan, port
        self.articles = [article(n, plan.seed) for n in range(ARTICLES)]
        self.stats: Counter[str] = Counter()
        self._index: bytes | None = None
        self._in_flight: Counter[str] = Counter()  # requests being answered, per host address

    def etag(self, i: int) -> str:
        digest = hashlib.blake2b(self.articles[self.plan.article[i]], digest_size=6).hexdigest()
        return f'"{digest}-{i:x}"'

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Route by local address and path."""
        local = request.transport.get_extra_info("sockname")[0] if request.transport else ""
        if local == "127.0.0.1":
            return self._control(request)
        self.stats["requests"] += 1
        self.stats[f"method_{request.method}"] += 1
        self._in_flight[local] += 1
        self.stats["peak_per_host"] = max(self.stats["peak_per_host"], self._in_flight[local])
        try:
            resp = await self._answer(request, local)
        finally:
            self._in_flight[local] -= 1
        self.stats[f"status_{resp.status}"] += 1
        if request.method != "HEAD" and resp.body is not None:
            self.stats["body_bytes"] += len(resp.body)  # type: ignore[arg-type]
        return resp

    def _control(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.path == "/__stats":
            return web.json_response(dict(self.stats))
        if request.path == "/__reset":
            self.stats.clear()
            return web.json_response({})
        if request.path in ("/", "/index.html"):
            return web.Response(body=self.index(), content_type="text/html")
        return web.Response(status=404, body=NOT_FOUND, content_type="text/html")

    def index(self) -> bytes:
        """The start page for crawlers: one link per URL."""
        if self._index is None:
            links = "".join(f'<li><a href="{self.plan.url(i, self.port)}">page {i}</a></li>\n'
                            for i in range(self.plan.size))
            self._index = (f"<!doctype html><html><head><title>Index</title></head><body><ul>"
                           f"{links}</ul></body></html>").encode()
        return self._index

    def _lookup(self, request: web.BaseRequest, local: str) -> tuple[int, bool] | None:
        """(URL number, is the redirect target) for this request, or None."""
        name = request.path.rsplit("/page-", 1)[-1]
        target = name.endswith("-new.html")
        number = name.removesuffix(".html").removesuffix("-new")
        if not number.isdigit() or int(number) >= self.plan.size:
            return None
        i = int(number)
        if host_address(self.plan.host_of(i)) != local or request.path != self._path(i, target):
            return None
        return i, target

    def _path(self, i: int, target: bool) -> str:
        path = self.plan.path(i)
        return path.replace(".html", "-new.html") if target else path

    async def _answer(self, request: web.BaseRequest, local: str) -> web.Response:
        found = self._lookup(request, local)
        if found is None:
            await asyncio.sleep(random.uniform(*LATENCY))
            return web.Response(status=404, body=NOT_FOUND, content_type="text/html")
        i, target = found
        kind = "page" if target else self.plan.kinds[i]
        await asyncio.sleep(self.plan.latency2[i] if target else self.plan.latency[i])
        if kind == "missing":
            return web.Response(status=404, body=NOT_FOUND, content_type="text/html")
        if kind == "redirect":
            return web.Response(status=301, headers={"Location": self._path(i, True)})
        return self._page(request, i)

    def _page(self, request: web.BaseRequest, i: int) -> web.Response:
        headers = {"ETag": self.etag(i), "Last-Modified": LAST_MODIFIED,
                   "Cache-Control": "max-age=600"}
        if (request.headers.get("If-None-Match") == headers["ETag"]
                or request.headers.get("If-Modified-Since") == LAST_MODIFIED):
            return web.Response(status=304, headers=headers)
        body = page_head(i) + self.articles[self.plan.article[i]]
        return web.Response(body=body, headers=headers, content_type="text/html")


def _bind(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def bind_all(hosts: int, tries: int = 20) -> tuple[int, list[socket.socket]]:
    """Listening sockets on 127.0.0.1 and every host address, all on one free port."""
    for _ in range(tries):
        control = _bind("127.0.0.1", 0)
        port = control.getsockname()[1]
        socks = [control]
        try:
            socks += [_bind(host_address(h), port) for h in range(hosts)]
            return port, socks
        except OSError:
            for s in socks:
                s.close()
    raise OSError(f"no port free on all {hosts} addresses after {tries} tries")


async def serve(plan: Plan) -> None:
    """Serve ``plan`` until SIGTERM/SIGINT; print ``{"port": P}`` when ready."""
    port, socks = bind_all(plan.hosts)
    app = Web(plan, port)
    server = web.Server(app.handle, access_log=None)
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(server, sock=s, backlog=1024) for s in socks]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"port": port}), flush=True)
    await stop.wait()
    for s in servers:
        s.close()
    await server.shutdown(0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    asyncio.run(serve(Plan(args.size, args.hosts, args.seed)))


if __name__ == "__main__":
    sys.exit(main())

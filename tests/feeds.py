"""A stand-in for the arXiv API, served by the simulated web (tests/simweb.py).

Feeds have the shape of the real 2026 API output in
``../shared/fixtures/arxiv/api_2026_cat_cs.AI_sortBy_submittedDate_max12.xml`` (namespaces on
``<feed>``, ``http://arxiv.org/abs/IDvN`` ids, https links, ``<category>`` then ``<published>``
then ``<arxiv:primary_category term=...>``, authors last); the error feed is the one recorded in
``arxiv_py_recorded/id_abc_s0_m100_b79c8dcf6bc3.json`` (HTTP 400).

``FakeArxiv`` answers ``search_query=cat:X`` with X's papers newest first, honouring ``start``
and ``max_results``; ``fail_next`` queues one-shot failures (HTTP status, an empty page, an
error feed) for the next request that matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web

FEED_HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" \
xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/JytubbqWqtaYctZbUolm74C6F88</id>
  <title>arXiv Query: search_query={query}&amp;id_list=&amp;start={start}&amp;\
max_results={size}</title>
  <updated>{updated}</updated>
  <link href="https://arxiv.org/api/query?search_query={query}&amp;start={start}&amp;\
max_results={size}&amp;id_list=" type="application/atom+xml"/>
  <opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
"""

ERROR_FEED = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" \
xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/</id>
  <title>arXiv Search Results</title>
  <updated>2026-04-12T22:59:06Z</updated>
  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>
  <opensearch:totalResults>1</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  <entry>
    <id>https://arxiv.org/api/errors#incorrect_id_format_for_abc</id>
    <title>Error</title>
    <updated>2026-04-12T22:59:06Z</updated>
    <link href="https://arxiv.org/api/errors#incorrect_id_format_for_abc" rel="alternate" \
type="text/html"/>
    <summary>incorrect id format for abc</summary>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>
</feed>
"""


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FeedPaper:
    """One paper as the API lists it; ``categories`` primary first."""

    arxiv_id: str
    title: str
    abstract: str
    published: datetime
    categories: tuple[str, ...] = ("cs.CL",)
    version: int = 1
    authors: tuple[str, ...] = ("Ada Lovelace", "Alan Turing")

    def entry(self) -> str:
        """The ``<entry>`` element, shaped like the real 2026 feed."""
        vid = f"{self.arxiv_id}v{self.version}"
        cats = "".join(f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>\n'
                       for c in self.categories)
        authors = "".join(f"    <author>\n      <name>{escape(a)}</name>\n    </author>\n"
                          for a in self.authors)
        return (
            f"  <entry>\n    <id>http://arxiv.org/abs/{vid}</id>\n"
            f"    <title>{escape(self.title)}</title>\n"
            f"    <updated>{_z(self.published)}</updated>\n"
            f'    <link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>\n'
            f'    <link href="https://arxiv.org/pdf/{vid}" rel="related" '
            f'type="application/pdf" title="pdf"/>\n'
            f"    <summary>{escape(self.abstract)}</summary>\n{cats}"
            f"    <published>{_z(self.published)}</published>\n"
            f"    <arxiv:comment>preprint</arxiv:comment>\n"
            f"    <arxiv:primary_category term={quoteattr(self.categories[0])}/>\n"
            f"{authors}  </entry>\n"
        )


def feed(papers: list[FeedPaper], *, query: str, start: int, size: int, total: int) -> str:
    """A result page: ``papers`` under the opensearch header."""
    head = FEED_HEAD.format(query=escape(query), start=start, size=size, total=total,
                            updated=_z(datetime.now(UTC)))
    return head + "".join(p.entry() for p in papers) + "</feed>\n"


@dataclass
class Request:
    """One API request seen: category, start, max_results, and the entries answered."""

    category: str
    start: int
    size: int
    entries: int = 0
    status: int = 200


@dataclass
class _Failure:
    action: int | str  # an HTTP status, "empty" or "error"
    category: str | None
    start: int | None


@dataclass
class FakeArxiv:
    """The arXiv query API over ``papers`` (see the module docstring)."""

    papers: list[FeedPaper] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)

    def add(self, *papers: FeedPaper) -> None:
        """List more papers."""
        self.papers.extend(papers)

    def fail_next(self, action: int | str, *, category: str | None = None,
                  start: int | None = None, times: int = 1) -> None:
        """Answer the next ``times`` matching requests with ``action`` (status/empty/error)."""
        self.failures += [_Failure(action, category, start) for _ in range(times)]

    def served(self, category: str | None = None) -> list[Request]:
        """Requests seen (for ``category`` when given)."""
        return [r for r in self.requests if category in (None, r.category)]

    def _failure(self, category: str, start: int) -> _Failure | None:
        for failure in self.failures:
            if failure.category in (None, category) and failure.start in (None, start):
                self.failures.remove(failure)
                return failure
        return None

    async def __call__(self, request: web.Request) -> web.Response:
        query = request.query.get("search_query", "")
        category = query.removeprefix("cat:")
        start, size = int(request.query.get("start", 0)), int(request.query.get("max_results", 10))
        seen = Request(category, start, size)
        self.requests.append(seen)
        failure = self._failure(category, start)
        listed = sorted((p for p in self.papers if category in p.categories),
                        key=lambda p: p.published, reverse=True)
        page = listed[start:start + size]
        if failure is not None:
            return self._fail(failure.action, seen, query, start, size, len(listed))
        seen.entries = len(page)
        body = feed(page, query=query, start=start, size=size, total=len(listed))
        return web.Response(text=body, content_type="application/atom+xml")

    @staticmethod
    def _fail(action: Any, seen: Request, query: str, start: int, size: int,
              total: int) -> web.Response:
        if action == "empty":
            body = feed([], query=query, start=start, size=size, total=total)
            return web.Response(text=body, content_type="application/atom+xml")
        if action == "error":
            seen.status = 400
            return web.Response(status=400, text=ERROR_FEED, content_type="application/atom+xml")
        seen.status = int(action)
        return web.Response(status=int(action), text="Service Unavailable",
                            headers={"Retry-After": "2"})

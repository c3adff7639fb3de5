"""New submissions per arXiv category (SPEC §8): ``search_query=cat:<category>``,
``sortBy=submittedDate``, ``sortOrder=descending``, read through the API client of
:mod:`monitor.fetch.arxiv_api` back to a cutoff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import arxiv
import requests

from monitor.errors import ArxivQueryError
from monitor.fetch.arxiv_api import describe_error
from monitor.sites.arxiv import parse_arxiv_id

__all__ = ["CategoryFetch", "Paper", "fetch_category", "to_paper"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Paper:
    """One arXiv submission as read from the API feed.

    ``arxiv_id`` is versionless; ``published`` is the aware UTC time of version 1;
    ``categories`` lists every category of the paper, primary first.
    """

    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: tuple[str, ...]
    published: datetime
    categories: tuple[str, ...]


@dataclass
class CategoryFetch:
    """What one category gave in one run.

    ``complete`` is true when the walk reached the cutoff, the end of the results or
    ``max_results``; false when it was given up (``error`` says why).
    """

    category: str
    papers: list[Paper] = field(default_factory=list)
    complete: bool = True
    error: str = ""

    @property
    def newest(self) -> datetime | None:
        """The newest ``published`` time read, or None."""
        return max((p.published for p in self.papers), default=None)


def to_paper(result: arxiv.Result) -> Paper | None:
    """A :class:`Paper` from a feed result, or None when its id is not an arXiv identifier."""
    parsed = parse_arxiv_id(result.entry_id)
    if parsed is None:
        log.warning("skipping arXiv entry with unexpected id %r", result.entry_id)
        return None
    primary = result.primary_category
    categories = ([primary] if primary else []) + [c for c in result.categories if c != primary]
    return Paper(
        arxiv_id=parsed[0],
        version=parsed[1] or 1,
        title=" ".join(result.title.split()),
        abstract=" ".join(result.summary.split()),
        authors=tuple(a.name for a in result.authors),
        published=result.published,
        categories=tuple(categories),
    )


def fetch_category(client: arxiv.Client, category: str, *, since: datetime,
                   max_results: int) -> CategoryFetch:
    """Read ``category`` newest first, keeping papers published strictly after ``since``.

    Stops at the first paper at or before ``since`` (an aware datetime), after ``max_results``
    papers, or at the end of the results. A failure that survives the client's retries
    (``arxiv.ArxivError``, ``requests`` errors, :class:`ArxivQueryError`) ends the walk: the
    result keeps the papers read so far, ``complete=False`` and ``error`` set. Never raises those.
    """
    search = arxiv.Search(query=f"cat:{category}", max_results=max_results,
                          sort_by=arxiv.SortCriterion.SubmittedDate,
                          sort_order=arxiv.SortOrder.Descending)
    out = CategoryFetch(category)
    try:
        for result in client.results(search):
            if result.published <= since:
                break
            paper = to_paper(result)
            if paper is not None:
                out.papers.append(paper)
    except (arxiv.ArxivError, requests.RequestException, ArxivQueryError) as err:
        out.complete = False
        out.error = f"{category}: {describe_error(err)}; kept {len(out.papers)} papers read before"
    return out

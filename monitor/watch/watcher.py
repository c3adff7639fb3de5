"""One watch run: fetch new papers per category, dedupe, score, store suggestions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import arxiv

from monitor.errors import ArxivUnavailable
from monitor.fetch.arxiv_api import make_client
from monitor.store import suggestions as store
from monitor.store.db import Database
from monitor.watch.feed import CategoryFetch, Paper, fetch_category
from monitor.watch.ranking import Scored, open_ranking
from monitor.watch.score import Score, Scorer
from monitor.watch.semantic import Ranked
from monitor.watch.triage import catalog_urls, cataloged_ids

__all__ = ["ArxivUnavailable", "WatchResult", "watch"]


@dataclass
class WatchResult:
    """Counts of one watch. ``fetched`` counts feed entries newer than the cutoff, summed over
    categories (a cross-listed paper counts once per category); ``papers`` distinct papers."""

    categories: list[str]
    fetched: int = 0
    papers: int = 0
    new: int = 0
    best: float | None = None
    cataloged: int = 0
    already_suggested: int = 0
    below_min_score: int = 0
    over_limit: int = 0
    failures: list[str] = field(default_factory=list)
    ranking: str = ""

    def line(self) -> str:
        """One line for the log, e.g. ``"arxiv: 412 fetched over 3 categories, 9 new
        suggestions (best 0.71), 2 already cataloged"``."""
        n = len(self.categories)
        parts = [f"arxiv: {self.fetched} fetched over {n} categor{'y' if n == 1 else 'ies'}",
                 f"{self.new} new suggestion{'' if self.new == 1 else 's'}"
                 + (f" (best {self.best:.2f})" if self.best is not None else "")]
        for count, label in ((self.cataloged, "already cataloged"),
                             (self.already_suggested, "already suggested"),
                             (self.below_min_score, "below min_score"),
                             (self.over_limit, "over max_suggestions")):
            if count:
                parts.append(f"{count} {label}")
        text = ", ".join(parts)
        if self.ranking:
            text += f"; {self.ranking}"
        if self.failures:
            text += "; incomplete: " + "; ".join(self.failures)
        return text


def watch(db: Database, settings: Any, *, client: arxiv.Client | None = None,
          today: date | None = None, scorer: Scorer | None = None,
          run_id: int | None = None) -> WatchResult:
    """Run one watch over ``arxiv.categories`` and store the new suggestions (marked as
    suggested by run ``run_id`` when the watch is part of a run).

    ``client`` defaults to :func:`monitor.fetch.arxiv_api.make_client` (``arxiv.api_url``,
    ``arxiv.delay_seconds``); ``today`` (UTC date) anchors ``arxiv.lookback_days``; ``scorer``
    defaults to the packaged section profiles with ``arxiv.keywords``. Papers are ranked by
    :func:`monitor.watch.ranking.open_ranking` (semantically when ``arxiv.model`` loads; the
    model may be downloaded once when the arXiv API answered, i.e. the machine is online);
    ``WatchResult.ranking`` says how. Raises ArxivUnavailable
    when the API could not be used at all (nothing fetched); ``CatalogError`` for an unreadable
    catalog file; ``DatabaseError`` when the database fails.
    """
    categories = list(dict.fromkeys(settings["arxiv.categories"]))
    result = WatchResult(categories)
    client = client or make_client(settings)
    fetches = _fetch_all(db, settings, client, categories, today or datetime.now(UTC).date())
    result.failures = [f.error for f in fetches if not f.complete]
    result.fetched = sum(len(f.papers) for f in fetches)
    papers = merge_papers(f.papers for f in fetches)
    result.papers = len(papers)
    seen_in_catalog = cataloged_ids(catalog_urls(db, settings["catalog.path"]))
    suggested = store.suggested_ids(db)
    fresh = [p for p in papers if p.arxiv_id not in seen_in_catalog | suggested]
    result.cataloged = sum(p.arxiv_id in seen_in_catalog for p in papers)
    result.already_suggested = len(papers) - len(fresh) - result.cataloged
    ranking = open_ranking(db, settings, scorer or Scorer.default(settings["arxiv.keywords"]),
                           download=_api_answered(client) and any(f.papers or f.complete
                                                                  for f in fetches))
    result.ranking = ranking.note
    kept = _rank(ranking.score(fresh), settings, result)
    newest = {f.category: f.newest for f in fetches if f.complete and f.newest is not None}
    store.add_suggestions(db, (_suggestion(k.paper, k.score) | k.extra | {"run_id": run_id}
                               for k in kept), newest)
    result.new = len(kept)
    result.best = kept[0].score.value if kept else None
    return result


def _fetch_all(db: Database, settings: Any, client: arxiv.Client, categories: list[str],
               today: date) -> list[CategoryFetch]:
    """Fetch each category from its cutoff; raise ArxivUnavailable if nothing could be read."""
    lookback = datetime.combine(today - timedelta(days=settings["arxiv.lookback_days"]),
                                time(0), UTC)
    cursors = store.cursors(db)
    fetches: list[CategoryFetch] = []
    max_results = int(settings["arxiv.max_results"])
    for category in categories:
        since = max(lookback, cursors.get(category, lookback))
        fetch = (fetch_category(client, category, since=since, max_results=max_results)
                 if max_results > 0 else CategoryFetch(category))
        fetches.append(fetch)
        if not fetches[0].complete and not fetches[0].papers and not _api_answered(client):
            break
    if fetches and all(not f.complete and not f.papers for f in fetches):
        url = getattr(client, "api_url", settings["arxiv.api_url"])
        raise ArxivUnavailable(f"arXiv API unusable at {url}: {fetches[0].error}")
    return fetches


def _api_answered(client: arxiv.Client) -> bool:
    """Whether any HTTP response came back (unknown for a plain arxiv.Client: assume yes)."""
    return bool(getattr(client, "requests_made", 1))


def merge_papers(batches: Any) -> list[Paper]:
    """One paper per versionless id: the highest version, categories of every listing."""
    merged: dict[str, Paper] = {}
    for batch in batches:
        for paper in batch:
            old = merged.get(paper.arxiv_id)
            if old is None:
                merged[paper.arxiv_id] = paper
                continue
            newer = paper if paper.version > old.version else old
            cats = tuple(dict.fromkeys(old.categories + paper.categories))
            merged[paper.arxiv_id] = Paper(newer.arxiv_id, newer.version, newer.title,
                                           newer.abstract, newer.authors, newer.published, cats)
    return list(merged.values())


def _rank(scored: list[Scored], settings: Any, result: WatchResult) -> list[Scored]:
    """Papers scoring at least ``arxiv.min_score``, best first (semantic scores never tie: they
    are not rounded), at most ``max_suggestions``."""
    good = [s for s in scored if s.score.value >= settings["arxiv.min_score"]]
    good.sort(key=lambda s: (-s.score.value, -s.paper.published.timestamp(), s.paper.arxiv_id))
    limit = int(settings["arxiv.max_suggestions"])
    result.below_min_score = len(scored) - len(good)
    result.over_limit = max(0, len(good) - limit)
    return good[:limit]


def _suggestion(paper: Paper, score: Score | Ranked) -> dict[str, Any]:
    return {"arxiv_id": paper.arxiv_id, "version": paper.version, "title": paper.title,
            "authors": list(paper.authors), "abstract": paper.abstract,
            "published": paper.published, "categories": list(paper.categories),
            "score": score.value, "section": score.section, "chapter": score.chapter,
            "matched_terms": list(score.terms), "status": "new"}

"""How one watch ranks its papers: semantically when an embedding model loads, else lexically
(SPEC §8, issue 14).

:func:`open_ranking` loads the semantic ranker (:func:`monitor.watch.semantic.load_ranker`) with
the chunk embeddings cached in the database (:class:`monitor.store.embeddings.DatabaseVectorCache`)
and every triage decision stored so far (accepted papers as positives, rejected ones as
penalties); decisions whose vector is missing or was made by another model are embedded once
and their vectors stored. :meth:`Ranking.score` then scores new papers and gives, per paper, the
score and what to store with it (explanation, how it was ranked, its vector).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.store import suggestions as store
from monitor.store.db import Database
from monitor.store.embeddings import DatabaseVectorCache
from monitor.watch.feed import Paper
from monitor.watch.score import Score, Scorer
from monitor.watch.semantic import (
    Decision,
    Ranked,
    SemanticRanker,
    load_ranker,
    pack_vectors,
    unpack_vectors,
)

__all__ = ["Ranking", "Scored", "open_ranking"]


@dataclass(frozen=True)
class Scored:
    """One paper's score (semantic :class:`Ranked` or lexical :class:`Score`) and the extra
    suggestion columns: ``explanation``, ``ranking``, ``embedding`` (float32 little-endian
    bytes, or None), ``embedding_model``."""

    paper: Paper
    score: Ranked | Score
    extra: dict[str, Any]


@dataclass
class Ranking:
    """The lexical ``scorer``, the semantic ``ranker`` (None: rank lexically) and ``note``, the
    line that says which (``"ranking: semantic (<model>)"`` or ``"ranking: lexical (<why>)"``)."""

    scorer: Scorer
    ranker: SemanticRanker | None
    note: str

    def score(self, papers: Sequence[Paper]) -> list[Scored]:
        """Score ``papers`` in order (semantically: embedded in batches, each vector kept)."""
        if self.ranker is None:
            return [Scored(p, s, self._extra(s.explanation, None)) for p in papers
                    for s in (self.scorer.score(p.title, p.abstract),)]
        pairs = [(p.title, p.abstract) for p in papers]
        vectors = self.ranker.embed(pairs)
        ranked = self.ranker.score_many(pairs, vectors)
        return [Scored(p, r, self._extra(r.explanation, v))
                for p, r, v in zip(papers, ranked, vectors, strict=True)]

    def _extra(self, explanation: str, vector: np.ndarray | None) -> dict[str, Any]:
        model = self.ranker.encoder.cache_id if self.ranker is not None else ""
        return {"explanation": explanation, "ranking": self.note,
                "embedding": None if vector is None else pack_vectors(vector[None, :]),
                "embedding_model": model if vector is not None else ""}


def open_ranking(db: Database, settings: Any, scorer: Scorer, *, download: bool) -> Ranking:
    """The ranking of this watch: ``arxiv.model`` / ``arxiv.model_path`` (``download``: the
    model may be fetched into the Hugging Face cache, i.e. the machine is online), the chunk
    vectors cached in ``db``, the triage decisions stored in ``db``. Never raises for a missing
    model (the note says why it ranks lexically); raises DatabaseError when the database fails.
    """
    ranker, note = load_ranker(settings["arxiv.model"], settings["arxiv.model_path"],
                               download=download, lexical=scorer,
                               cache=DatabaseVectorCache(db))
    if ranker is not None:
        _learn(db, ranker)
    return Ranking(scorer, ranker, note)


def _learn(db: Database, ranker: SemanticRanker) -> None:
    """Give ``ranker`` every stored decision; store the vectors it had to compute."""
    model, dim = ranker.encoder.cache_id, ranker.encoder.dim
    decisions = [Decision(d.title, d.abstract, d.accepted, d.section,
                          _vector(d.embedding, dim) if d.embedding_model == model else None,
                          d.arxiv_id)
                 for d in store.decided_papers(db)]
    ranker.set_decisions(decisions)
    store.set_embeddings(db, model, {key: pack_vectors(v[None, :])
                                     for key, v in ranker.computed.items()})


def _vector(blob: bytes | None, dim: int) -> np.ndarray | None:
    """A stored vector as float32 ``(dim,)``, or None when absent or of another size."""
    if blob is None:
        return None
    try:
        rows = unpack_vectors(blob, dim)
    except ValueError:
        return None
    return rows[0] if len(rows) == 1 else None

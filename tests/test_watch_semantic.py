"""The watch with the semantic ranker (issue 14): real all-MiniLM-L6-v2 weights offline, the fake
arXiv API of the simulated web, the chunk cache and triage decisions in the database, the run
note and the report line that say how papers were ranked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.config import Settings
from monitor.pipeline.run import _watch
from monitor.report import FORMATS
from monitor.report.build import build
from monitor.store import queries
from monitor.store.db import Database
from monitor.store.embeddings import KEEP, DatabaseVectorCache, cached_vectors, store_vectors
from monitor.store.suggestions import decided_papers, list_suggestions
from monitor.watch import ranking as ranking_module
from monitor.watch import semantic
from monitor.watch.chunks import Chunk, load_chunks
from monitor.watch.embed import Encoder, ModelUnavailable, locate_model
from monitor.watch.semantic import chunk_key, unpack_vectors
from monitor.watch.triage import accept, reject
from monitor.watch.watcher import watch
from tests.feeds import FakeArxiv
from tests.semantic_helpers import model_folder
from tests.simweb import SimWeb
from tests.test_watch import TEXTS, TODAY, api, catalog, client, paper, settings  # noqa: F401

MED = ("Preference optimization of a clinical assistant for radiology reports",
       "We apply direct preference optimization to a medical language model that writes "
       "radiology reports, with preference pairs from radiologists at three hospitals.")
MED_2 = ("Aligning a radiology report generator with radiologist preferences",
         "Radiologists ranked pairs of generated chest X-ray reports; we fine-tune the "
         "report generator on these preferences to reduce clinically significant errors.")
WANTED = {"Direct Preference Optimization Methods", "FlashAttention", "Diffusion Models",
          "Low-Rank Adapters (LoRA)", "Time-Series Analysis"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_folder(tmp_path_factory.mktemp("model"))


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> list[Chunk]:
    """A few chapter chunks stand in for the packaged ones (fast to embed, same code path)."""
    chunks = [c for c in load_chunks() if c.kind == "chapter" and c.chapter in WANTED]
    monkeypatch.setattr(semantic, "load_chunks", lambda: chunks)
    return chunks


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every text the encoder embeds, in order."""
    seen: list[str] = []
    original = Encoder.encode

    def spy(self: Encoder, texts: Any) -> np.ndarray:
        seen.extend(texts)
        return original(self, texts)

    monkeypatch.setattr(Encoder, "encode", spy)
    yield seen


@pytest.fixture
def semantic_settings(settings: Settings, folder: Path) -> Settings:  # noqa: F811
    settings.set("arxiv.model_path", str(folder))
    return settings


def _watch_once(db: Database, config: Settings, simweb: SimWeb) -> Any:
    return watch(db, config, client=client(simweb), today=TODAY)


def test_the_watch_ranks_by_meaning_and_keeps_what_it_learns_from(
        db: Database, semantic_settings: Settings, simweb: SimWeb, api: FakeArxiv,  # noqa: F811
        small: list[Chunk], encoded: list[str]) -> None:
    api.add(paper("2607.00001", "lora", 5), paper("2607.00002", "flash", 4),
            paper("2607.00003", "dpo", 3), paper("2607.00004", "astro", 2))
    result = _watch_once(db, semantic_settings, simweb)
    assert result.ranking == "ranking: semantic (sentence-transformers/all-MiniLM-L6-v2)"
    assert result.line().endswith("; ranking: semantic (sentence-transformers/all-MiniLM-L6-v2)")
    found = {s.arxiv_id: s for s in list_suggestions(db)}
    assert set(found) == {"2607.00001", "2607.00002", "2607.00003"}  # astronomy: below min
    assert result.below_min_score == 1
    lora = found["2607.00001"]
    assert lora.chapter == "Low-Rank Adapters (LoRA)"
    assert lora.explanation.startswith("close to: Section IV")
    assert lora.explanation.endswith("/ Low-Rank Adapters (LoRA)")
    assert found["2607.00002"].chapter == "FlashAttention"
    scores = [s.score for s in found.values()]
    assert len(set(scores)) == 3 and all(0 < s < 1 for s in scores)
    assert any(round(s, 4) != s for s in scores)  # unrounded: no ties by construction
    assert all(s.ranking == result.ranking and s.matched_terms for s in found.values())
    # the chunk vectors were embedded once and cached under their key
    encoder = Encoder(semantic_settings["arxiv.model_path"])
    key = chunk_key(small, encoder.cache_id)
    cached = unpack_vectors(cached_vectors(db, key) or b"", encoder.dim)
    assert cached.shape == (len(small), 384)
    assert sum(t == small[0].text for t in encoded) == 1
    # a second watch reads them from the database
    encoded.clear()
    api.add(paper("2607.00005", "mamba", 1))
    _watch_once(db, semantic_settings, simweb)
    assert small[0].text not in encoded and len(encoded) == 1


def test_every_suggestion_keeps_its_vector(db: Database, semantic_settings: Settings,
                                           simweb: SimWeb, api: FakeArxiv,  # noqa: F811
                                           small: list[Chunk]) -> None:
    api.add(paper("2607.00001", "lora", 5))
    _watch_once(db, semantic_settings, simweb)
    ((blob, model),) = _vectors(db)
    encoder = Encoder(semantic_settings["arxiv.model_path"])
    assert model == encoder.cache_id
    vector = unpack_vectors(blob or b"", 384)[0]
    expected = encoder.encode([semantic.paper_text(*TEXTS["lora"])])[0]
    assert float(vector @ expected) > 0.9999


def _vectors(db: Database) -> list[tuple[bytes | None, str]]:
    """``(embedding, embedding_model)`` of every suggestion."""
    from monitor.store.models import Suggestion

    with db.session() as s:
        return [tuple(row) for row in s.query(Suggestion.embedding, Suggestion.embedding_model)]


def test_a_rejection_pushes_near_papers_down_from_the_first(
        db: Database, semantic_settings: Settings, simweb: SimWeb, api: FakeArxiv,  # noqa: F811
        small: list[Chunk], encoded: list[str]) -> None:
    semantic_settings.set("arxiv.min_score", 0.0)
    api.add(_feed("2607.00010", MED, 9))
    _watch_once(db, semantic_settings, simweb)
    reject(db, "2607.00010", "a medical application")
    encoded.clear()
    api.add(_feed("2607.00011", MED_2, 8))
    _watch_once(db, semantic_settings, simweb)
    near = {s.arxiv_id: s for s in list_suggestions(db)}["2607.00011"]
    assert MED[0] not in " ".join(encoded)  # the rejected paper's stored vector was used
    assert near.score < _score_alone(semantic_settings, small, MED_2).value
    assert near.explanation.endswith("; near rejected: " + MED[0])


def test_an_accepted_paper_joins_the_profile(
        db: Database, semantic_settings: Settings, simweb: SimWeb, api: FakeArxiv,  # noqa: F811
        small: list[Chunk], catalog: Path) -> None:  # noqa: F811
    semantic_settings.set("arxiv.min_score", 0.0)
    api.add(_feed("2607.00010", MED, 9))
    _watch_once(db, semantic_settings, simweb)
    accept(db, "2607.00010", catalog, section="Section IV: Finetuning Methods for LLMs")
    api.add(_feed("2607.00011", MED_2, 8))
    _watch_once(db, semantic_settings, simweb)
    near = {s.arxiv_id: s for s in list_suggestions(db)}["2607.00011"]
    assert near.explanation == ("close to: Section IV: Finetuning Methods for LLMs / "
                                f"accepted: {MED[0]}")
    assert near.score > _score_alone(semantic_settings, small, MED_2).value


def test_vectors_of_another_model_are_recomputed_and_stored(
        db: Database, semantic_settings: Settings, simweb: SimWeb, api: FakeArxiv,  # noqa: F811
        small: list[Chunk], encoded: list[str]) -> None:
    semantic_settings.set("arxiv.min_score", 0.0)
    api.add(_feed("2607.00010", MED, 9))
    _watch_once(db, semantic_settings, simweb)
    reject(db, "2607.00010")
    from monitor.store.suggestions import set_embeddings

    set_embeddings(db, "another-model", {"2607.00010": b"\x00" * 16})
    encoded.clear()
    _watch_once(db, semantic_settings, simweb)
    assert semantic.paper_text(*MED) in encoded
    (d,) = decided_papers(db)
    assert d.embedding_model.startswith("sentence-transformers/all-MiniLM-L6-v2@")
    assert len(d.embedding or b"") == 384 * 4


def test_the_cache_keeps_the_newest_keys(db: Database) -> None:
    for i in range(KEEP + 2):
        store_vectors(db, f"k{i}", "m", 2, np.float32([i, i]).tobytes())
    assert cached_vectors(db, "k0") is None and cached_vectors(db, "k1") is None
    assert np.frombuffer(cached_vectors(db, f"k{KEEP + 1}") or b"", "<f4").tolist() == [
        KEEP + 1, KEEP + 1]
    cache = DatabaseVectorCache(db)
    cache.put("k2", "m", 2, b"\x00" * 8)  # same key again: replaced, not duplicated
    assert cache.get("k2") == b"\x00" * 8


def test_without_a_model_the_run_note_and_the_report_say_lexical(
        db: Database, settings: Settings, simweb: SimWeb, api: FakeArxiv) -> None:  # noqa: F811
    now = datetime.now(UTC)  # the pipeline's watch looks back from today
    api.add(paper("2607.00001", "lora", 5, now=now), paper("2607.00002", "flash", 4, now=now))
    run_id = queries.start_run(db, "run")
    queries.mark_aborted(db, run_id, "")  # a finished run for the report
    line = _watch(db, settings, run_id)
    assert ("ranking: lexical (no embedding model: model sentence-transformers/all-MiniLM-L6-v2 "
            "could not be downloaded") in line  # tests are offline (tests/conftest.py)
    (run,) = [r for r in queries.list_runs(db) if r.id == run_id]
    assert run.note.startswith("ranking: lexical (no embedding model: ")
    suggestions = list_suggestions(db)
    assert suggestions and all(s.explanation.startswith("matches ") for s in suggestions)
    assert _vectors(db) == [(None, ""), (None, "")]
    data = build(db)
    html = FORMATS["html"](data)
    section = html[html.index('id="suggestions"'):]
    assert 'id="ranking" class="banner" role="status">Ranked lexically' in section
    assert "for all suggestions: no embedding model: model sentence-transformers" in section
    assert 'id="note">ranking: lexical (no embedding model' in html  # the header says so too
    md = FORMATS["md"](data)
    papers = md[md.index("## Suggested papers"):]
    assert papers.split("\n")[2].startswith("**Ranked lexically (by word overlap")


def test_a_semantic_run_says_so_near_the_suggestions_not_in_the_banner(
        db: Database, semantic_settings: Settings, simweb: SimWeb, api: FakeArxiv,  # noqa: F811
        small: list[Chunk]) -> None:
    api.add(paper("2607.00001", "lora", 5, now=datetime.now(UTC)))
    run_id = queries.start_run(db, "run")
    queries.mark_aborted(db, run_id, "")
    _watch(db, semantic_settings, run_id)
    (run,) = [r for r in queries.list_runs(db) if r.id == run_id]
    assert run.note == "ranking: semantic (sentence-transformers/all-MiniLM-L6-v2)"
    data = build(db)
    html = FORMATS["html"](data)
    assert 'id="note"' not in html
    assert ('id="ranking" class="muted">Ranked by meaning: embedding similarity '
            "(sentence-transformers/all-MiniLM-L6-v2)") in html
    assert "close to <strong>Section IV: Finetuning Methods for LLMs / Low-Rank Adapters" in html
    md = FORMATS["md"](data)
    assert "_Ranked by meaning: embedding similarity" in md
    assert ("close to: Section IV: Finetuning Methods for LLMs / Low-Rank Adapters (LoRA); "
            "terms: ") in md


def test_the_model_is_downloaded_only_when_the_api_answered(
        db: Database, settings: Settings, simweb: SimWeb, api: FakeArxiv,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []

    def fake_load(*args: Any, download: bool = False, **kw: Any) -> tuple[None, str]:
        calls.append(download)
        return None, "ranking: lexical (test)"

    monkeypatch.setattr(ranking_module, "load_ranker", fake_load)
    api.add(paper("2607.00001", "lora", 5))
    _watch_once(db, settings, simweb)
    assert calls == [True]


def test_tests_never_download(tmp_path: Path) -> None:
    """HF_HUB_OFFLINE=1 (tests/conftest.py): even download=True stays offline."""
    with pytest.raises(ModelUnavailable, match="could not be downloaded"):
        locate_model(download=True, cache_dir=tmp_path)


def _feed(arxiv_id: str, text: tuple[str, str], hours_ago: float) -> Any:
    base = paper(arxiv_id, "lora", hours_ago)
    return type(base)(arxiv_id, text[0], text[1], base.published, base.categories, base.version)


def _score_alone(config: Settings, chunks: list[Chunk], text: tuple[str, str]) -> Any:
    ranker, _ = semantic.load_ranker(model_path=config["arxiv.model_path"], chunks=chunks,
                                     lexical=ranking_module.Scorer.default())
    assert ranker is not None
    return ranker.score(*text)

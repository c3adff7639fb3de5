"""Handbook chunks, semantic ranking, triage learning, the chunk cache and the lexical fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.watch.chunks import Chunk, build_chunks, file_chunks, load_chunks
from monitor.watch.embed import Encoder
from monitor.watch.score import Scorer
from monitor.watch.semantic import (
    CENTRE_COSINE,
    Decision,
    SemanticRanker,
    chunk_key,
    load_ranker,
    pack_vectors,
    paper_text,
    ranking_chunks,
    unpack_vectors,
)
from tests.semantic_helpers import model_folder

HANDBOOK = Path(__file__).resolve().parents[2] / "shared" / "handbook"

DPO = ("Direct Preference Optimization: Your Language Model is Secretly a Reward Model",
       "We fine-tune language models to align with human preferences directly from preference "
       "pairs, without fitting a reward model or running reinforcement learning.")
FLASH = ("FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
         "We make attention faster and use less GPU memory by tiling, reducing reads and writes "
         "between high-bandwidth memory and on-chip SRAM during transformer inference.")
HIGGS = ("Observation of a new boson at a mass of 125 GeV with the CMS experiment at the LHC",
         "Results are presented from searches for the standard model Higgs boson in "
         "proton-proton collisions at the Large Hadron Collider.")
MED_DPO = ("Preference optimization of a clinical assistant for radiology reports",
           "We apply direct preference optimization to a medical language model that writes "
           "radiology reports, with preference pairs from radiologists at three hospitals.")
MED_DPO_2 = ("Aligning a radiology report generator with radiologist preferences",
             "Radiologists ranked pairs of generated chest X-ray reports; we fine-tune the "
             "report generator on these preferences to reduce clinically significant errors.")


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return Encoder(model_folder(tmp_path_factory.mktemp("model")))


@pytest.fixture(scope="module")
def small_chunks() -> list[Chunk]:
    """One chapter chunk per watched topic: fast to embed, same code path as the full set."""
    wanted = {"Direct Preference Optimization Methods", "FlashAttention", "Diffusion Models",
              "Retrieval-Augmented Generation", "Tokenization", "Time-Series Analysis"}
    chunks = [c for c in load_chunks() if c.kind == "chapter" and c.chapter in wanted]
    assert len(chunks) == len(wanted)
    return chunks


@pytest.fixture(scope="module")
def ranker(encoder: Encoder, small_chunks: list[Chunk]) -> SemanticRanker:
    return SemanticRanker(encoder, small_chunks, lexical=Scorer.default())


def test_packaged_chunks_cover_every_chapter() -> None:
    chunks = load_chunks()
    kinds = {c.kind for c in chunks}
    assert kinds == {"section", "chapter", "paragraph"}
    chapters = [c for c in chunks if c.kind == "chapter"]
    assert len({c.section for c in chunks}) == 9 and len(chapters) == 52
    lora = next(c for c in chapters if c.chapter == "Low-Rank Adapters (LoRA)")
    assert lora.section == "Section IV: Finetuning Methods for LLMs"
    assert lora.text.startswith("Low-Rank Adapters (LoRA). While pre-training")
    assert not any("http" in c.text or "{%" in c.text or "<h2" in c.text for c in chunks)


@pytest.mark.skipif(not HANDBOOK.is_dir(), reason="../shared/handbook not present")
def test_packaged_chunks_are_rebuilt_from_the_handbook() -> None:
    assert build_chunks(HANDBOOK) == load_chunks()


def test_file_chunks_headings_paragraphs_and_lists() -> None:
    text = ("Intro text that is long enough to become a paragraph chunk here.\n\n"
            "<h2>First Chapter</h2>\n\nA [linked](https://example.org) paragraph with enough "
            "words in it to count.\n\n- item one of a list\n- item two of the list\n\n"
            "## Second\n\nShort.\n")
    chunks = file_chunks("Section X", text)
    assert [(c.chapter, c.kind) for c in chunks] == [
        ("", "paragraph"), ("First Chapter", "chapter"), ("First Chapter", "paragraph"),
        ("First Chapter", "paragraph"), ("Second", "chapter")]
    assert chunks[0].text.startswith("Section X. Intro text")
    assert chunks[1].text == ("First Chapter. A linked paragraph with enough words in it to "
                              "count. item one of a list item two of the list")
    assert chunks[-1].text == "Second. Short."


def test_relevant_papers_rank_above_off_topic(ranker: SemanticRanker) -> None:
    dpo, flash, higgs = ranker.score_many([DPO, FLASH, HIGGS])
    assert min(dpo.cosine, flash.cosine) > higgs.cosine + 0.2
    assert min(dpo.value, flash.value) > 5 * higgs.value
    assert dpo.section == "Section IV: Finetuning Methods for LLMs"
    assert dpo.chapter == "Direct Preference Optimization Methods"
    assert flash.chapter == "FlashAttention"
    assert dpo.explanation == ("close to: Section IV: Finetuning Methods for LLMs / "
                               "Direct Preference Optimization Methods")
    assert dpo.terms and 0 < higgs.value < 1


def test_scores_never_clip_so_no_ties(ranker: SemanticRanker) -> None:
    """Distinct cosines give distinct scores, even far outside the useful range."""
    values = [r.value for r in ranker.score_many([DPO, FLASH, HIGGS, MED_DPO, ("", "")])]
    assert len(set(values)) == len(values) and all(0 < v < 1 for v in values)
    low, high = (CENTRE_COSINE - 0.3, CENTRE_COSINE + 0.3)
    assert ranker_value(low) < 0.01 < 0.99 < ranker_value(high)
    assert ranker_value(low - 0.5) < ranker_value(low) and ranker_value(high) < ranker_value(1.0)


def ranker_value(cosine: float) -> float:
    from monitor.watch.semantic import SCALE_COSINE, _logistic

    return _logistic((cosine - CENTRE_COSINE) / SCALE_COSINE)


def test_rejection_pushes_near_neighbours_down_from_the_first(ranker: SemanticRanker) -> None:
    before_med, before_dpo = ranker.score_many([MED_DPO_2, DPO])
    ranker.set_decisions([Decision(*MED_DPO, accepted=False)])
    try:
        after_med, after_dpo = ranker.score_many([MED_DPO_2, DPO])
    finally:
        ranker.set_decisions([])
    assert after_med.value < before_med.value and after_med.penalty > 0
    assert before_dpo.value - after_dpo.value < before_med.value - after_med.value
    assert "near rejected: Preference optimization of a clinical" in after_med.explanation


def test_accepted_paper_joins_the_profile(ranker: SemanticRanker) -> None:
    before = ranker.score(*MED_DPO_2)
    ranker.set_decisions([Decision(*MED_DPO, accepted=True,
                                   section="Section IV: Finetuning Methods for LLMs")])
    try:
        after = ranker.score(*MED_DPO_2)
    finally:
        ranker.set_decisions([])
    assert after.value > before.value
    assert after.close_to == f"accepted: {MED_DPO[0]}"
    assert after.explanation.endswith(f"/ accepted: {MED_DPO[0]}")


def test_chunk_cache_round_trip(encoder: Encoder, small_chunks: list[Chunk],
                                ranker: SemanticRanker) -> None:
    blob = pack_vectors(ranker.chunk_vectors)
    assert len(blob) == len(small_chunks) * 384 * 4
    cached = unpack_vectors(blob, 384)
    again = SemanticRanker(encoder, small_chunks, chunk_vectors=cached)
    assert again.key == ranker.key == chunk_key(small_chunks, encoder.cache_id)
    assert np.array_equal(again.chunk_vectors, ranker.chunk_vectors)
    with pytest.raises(ValueError, match="not rows of 384"):
        unpack_vectors(blob[:-4], 384)
    with pytest.raises(ValueError, match="expected"):
        SemanticRanker(encoder, small_chunks, chunk_vectors=cached[:-1])


def test_chunk_key_changes_with_text_order_and_model() -> None:
    chunks = load_chunks()[:5]
    key = chunk_key(chunks, "m@1/256")
    assert key == chunk_key(list(chunks), "m@1/256") and len(key) == 64
    edited = [*chunks[:-1], Chunk(chunks[-1].section, chunks[-1].chapter, chunks[-1].kind,
                                  chunks[-1].text + " More.")]
    assert len({key, chunk_key(edited, "m@1/256"), chunk_key(chunks[::-1], "m@1/256"),
                chunk_key(chunks, "m@2/256")}) == 4


def test_no_model_falls_back_with_a_note(tmp_path: Path) -> None:
    ranker, note = load_ranker("sentence-transformers/all-MiniLM-L6-v2",
                               cache_dir=tmp_path / "hub")
    assert ranker is None
    assert note.startswith("ranking: lexical (no embedding model: model sentence-transformers/"
                           "all-MiniLM-L6-v2 is not in the Hugging Face cache")
    ranker, note = load_ranker(model_path=str(tmp_path / "missing"))
    assert ranker is None and "does not exist" in note


class DictCache:
    """A VectorCache in memory, counting writes."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, int, bytes]] = {}
        self.puts = 0

    def get(self, key: str) -> bytes | None:
        return self.rows[key][2] if key in self.rows else None

    def put(self, key: str, model: str, dim: int, blob: bytes) -> None:
        self.rows[key] = (model, dim, blob)
        self.puts += 1


def test_load_ranker_caches_chunk_vectors(encoder: Encoder, small_chunks: list[Chunk]) -> None:
    cache = DictCache()
    ranker, note = load_ranker(model_path=str(encoder.folder), chunks=small_chunks, cache=cache)
    assert ranker is not None
    assert note == "ranking: semantic (sentence-transformers/all-MiniLM-L6-v2)"
    assert list(cache.rows) == [ranker.key] and cache.puts == 1
    model, dim, _blob = cache.rows[ranker.key]
    assert model.startswith("sentence-transformers/all-MiniLM-L6-v2@") and dim == 384
    again, _ = load_ranker(model_path=str(encoder.folder), chunks=small_chunks, cache=cache)
    assert again is not None and cache.puts == 1
    assert np.array_equal(again.chunk_vectors, ranker.chunk_vectors)
    cache.rows[ranker.key] = (model, dim, b"broken")
    load_ranker(model_path=str(encoder.folder), chunks=small_chunks, cache=cache)
    assert cache.puts == 2


def test_empty_model_setting_switches_semantic_ranking_off() -> None:
    assert load_ranker("") == (None, "ranking: lexical (arxiv.model is empty)")


def test_paper_text() -> None:
    assert paper_text("  A  title. ", " The\nabstract ") == "A title. The abstract"


def test_papers_are_ranked_against_chapters_and_lone_sections() -> None:
    chunks = [Chunk("A", "", "section", "A. goal"), Chunk("A", "One", "chapter", "One. text"),
              Chunk("A", "One", "paragraph", "One. a paragraph of text"),
              Chunk("B", "", "section", "B. goal"), Chunk("B", "", "paragraph", "B. text")]
    assert ranking_chunks(chunks) == [chunks[1], chunks[3]]  # B has no chapter: its goal
    assert ranking_chunks(chunks, ("section", "chapter", "paragraph")) == chunks
    packaged = ranking_chunks(load_chunks())
    assert len(packaged) == 52 and {c.kind for c in packaged} == {"chapter"}

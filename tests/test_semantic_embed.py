"""The numpy sentence encoder against sentence-transformers' own numbers, and model location."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from monitor.watch.embed import Encoder, ModelUnavailable, locate_model
from tests.semantic_helpers import model_folder

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json")
                       .read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return Encoder(model_folder(tmp_path_factory.mktemp("model")))


def test_matches_sentence_transformers(encoder: Encoder) -> None:
    """Cosines and leading dimensions as computed by sentence-transformers + torch, to 1e-4;
    the set covers an empty text, non-ASCII text and one truncated at 256 word pieces."""
    vectors = encoder.encode(REFERENCE["sentences"])
    assert vectors.dtype == np.float32 and vectors.shape == (len(REFERENCE["sentences"]), 384)
    assert np.abs(vectors @ vectors.T - np.array(REFERENCE["cosine"])).max() < 1e-4
    assert np.abs(vectors[:, :8] - np.array(REFERENCE["first_dims"])).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.token_counts(REFERENCE["sentences"])[-1] == REFERENCE["max_seq_length"]


def test_matches_published_similarities(encoder: Encoder) -> None:
    """The similarity matrix printed in the sentence-transformers documentation (4 decimals)."""
    published = REFERENCE["published"]
    vectors = encoder.encode(published["sentences"])
    assert np.abs(vectors @ vectors.T - np.array(published["cosine"])).max() < 1e-4


def test_batching_and_order_do_not_change_vectors(encoder: Encoder) -> None:
    texts = REFERENCE["sentences"][:6]
    alone = np.stack([encoder.encode([t])[0] for t in texts])
    encoder_small = Encoder(encoder.folder, batch_size=2)
    together = encoder_small.encode(list(reversed(texts)))[::-1]
    assert np.abs(alone - together).max() < 1e-5
    assert encoder.encode([]).shape == (0, 384)


def test_model_path_is_used_alone(encoder: Encoder, tmp_path: Path) -> None:
    assert locate_model(model_path=encoder.folder) == encoder.folder
    with pytest.raises(ModelUnavailable, match="does not exist"):
        locate_model(model_path=tmp_path / "nowhere")
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(encoder.folder / "config.json", partial / "config.json")
    with pytest.raises(ModelUnavailable, match="lacks tokenizer.json, model.safetensors"):
        locate_model(model_path=partial)


def test_empty_cache_is_model_unavailable(tmp_path: Path) -> None:
    """No model_path and nothing cached: a clear error, and no network (local files only)."""
    with pytest.raises(ModelUnavailable, match="not in the Hugging Face cache"):
        locate_model("sentence-transformers/all-MiniLM-L6-v2", cache_dir=tmp_path / "hub")


def test_hugging_face_cache_layout_is_found(encoder: Encoder, tmp_path: Path) -> None:
    """A model laid out as huggingface_hub caches it is found offline."""
    repo = tmp_path / "hub" / "models--sentence-transformers--all-MiniLM-L6-v2"
    snapshot = repo / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    snapshot.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        (snapshot / name).symlink_to(encoder.folder / name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(snapshot.name)
    found = locate_model("sentence-transformers/all-MiniLM-L6-v2", cache_dir=tmp_path / "hub")
    assert found == snapshot


def test_unsupported_model_is_refused(encoder: Encoder, tmp_path: Path) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    for name in ("tokenizer.json", "model.safetensors"):
        (folder / name).symlink_to(encoder.folder / name)
    config = json.loads((encoder.folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "gpt2"}))
    with pytest.raises(ModelUnavailable, match="unsupported model type 'gpt2'"):
        Encoder(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelUnavailable, match="unreadable"):
        Encoder(folder)

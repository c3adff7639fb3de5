"""arXiv suggestion quality: the relevance scorer vs a keyword-count baseline.

Usage (from the project root, in the virtualenv)::

    python bench/arxiv_quality.py [bench/arxiv_labels.json]

Ranks the labelled papers (``bench/arxiv_labels.json``: title, abstract, relevant, reason) by
(a) :class:`monitor.watch.score.Scorer` over the packaged section profiles, no extra keywords,
and (b) the baseline: the number of occurrences of :data:`BASELINE_KEYWORDS` in title + abstract.
Prints precision@10 and average precision (AP, the mean of precision@k over the ranks k of the
relevant papers) for both, plus how many relevant papers clear the default ``min_score`` 0.1.
Ties are broken by arXiv id, so neither ranking gets lucky ordering from the file.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from monitor.watch.score import Scorer

BASELINE_KEYWORDS = (
    "language model", "llm", "transformer", "attention", "generative", "generation", "diffusion",
    "gpt", "fine-tun", "finetun", "prompt", "token", "pretrain", "pre-train", "rlhf",
    "human feedback", "instruction", "alignment", "lora", "multimodal", "chatbot", "agent",
    "reasoning", "embedding", "decoder", "encoder", "adversarial", "autoencoder", "quantiz",
    "inference", "neural", "deep learning",
)


def keyword_score(title: str, abstract: str) -> float:
    """Baseline: occurrences of the GenAI keywords (word-prefix match) in title and abstract."""
    text = f"{title} {abstract}".lower()
    return float(sum(len(re.findall(rf"\b{re.escape(k)}", text)) for k in BASELINE_KEYWORDS))


def rank(papers: Sequence[dict], score: Callable[[str, str], float]) -> list[bool]:
    """Relevance labels in ranked order (best score first, ties by arXiv id)."""
    scored = [(-score(p["title"], p["abstract"]), p["arxiv_id"], p["relevant"]) for p in papers]
    return [relevant for _, _, relevant in sorted(scored)]


def precision_at(labels: Sequence[bool], k: int) -> float:
    """Share of relevant papers among the first ``k``."""
    return sum(labels[:k]) / k


def average_precision(labels: Sequence[bool]) -> float:
    """Mean of precision@k over the ranks k (1-based) of the relevant papers."""
    hits, total = 0, 0.0
    for k, relevant in enumerate(labels, start=1):
        if relevant:
            hits += 1
            total += hits / k
    return total / hits if hits else 0.0


def main(argv: list[str]) -> int:
    """Print the figures; returns 0 when the scorer beats the baseline on both measures."""
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("arxiv_labels.json")
    papers = json.loads(path.read_text(encoding="utf-8"))["papers"]
    scorer = Scorer.default()
    ranked = {
        "scorer (TF-IDF x section profiles)": rank(papers, lambda t, a: scorer.score(t, a).value),
        "baseline (GenAI keyword count)": rank(papers, keyword_score),
    }
    relevant = sum(p["relevant"] for p in papers)
    print(f"{len(papers)} labelled papers, {relevant} relevant")
    figures = {}
    for name, labels in ranked.items():
        figures[name] = (precision_at(labels, 10), average_precision(labels))
        print(f"{name:<36} precision@10 {figures[name][0]:.2f}   AP {figures[name][1]:.3f}")
    kept = [p for p in papers if scorer.score(p["title"], p["abstract"]).value >= 0.1]
    print(f"scorer >= 0.1 (default min_score): {len(kept)} papers, "
          f"{sum(p['relevant'] for p in kept)} relevant")
    ours, base = figures.values()
    return 0 if ours[0] >= base[0] and ours[1] > base[1] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

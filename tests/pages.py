"""HTML pages for the freshness tests: a noisy page whose only churn is noise, an article and
its rewrite, a listing. Deterministic (no randomness): ``noisy(n)`` is night ``n``."""

from __future__ import annotations

ARTICLE = [
    "Scaling laws describe how the loss of a language model falls as a power law in the number "
    "of parameters, the size of the dataset and the amount of compute used for training.",
    "The original study trained hundreds of transformer models and found that performance "
    "depends strongly on scale and only weakly on the shape of the network.",
    "A later study argued that most large models were undertrained and that data should grow "
    "in proportion with parameters, which changed how laboratories spend their budgets.",
    "These results guide the choice of model size for a fixed budget and explain why small "
    "models trained on much more data can match larger ones on many benchmarks.",
    "Critics note that the laws are fitted on validation loss, which does not always predict "
    "the abilities that users care about, such as reasoning or following instructions.",
    "Emergent abilities appear abruptly at some scales, although part of the effect comes from "
    "the metrics chosen to measure them rather than from the models themselves.",
]

REWRITE = [
    "Retrieval augmented generation combines a search index with a generator so that answers "
    "can cite documents that were never part of the training corpus of the model.",
    "The retriever embeds the question and returns passages whose vectors are closest, and the "
    "generator conditions on those passages when it writes the final answer.",
    "Keeping the index fresh is cheaper than retraining, which makes the approach popular for "
    "enterprise assistants that must answer questions about private documents.",
    "Failure modes include retrieving irrelevant passages, ignoring the retrieved evidence and "
    "mixing facts from several sources into a confident but wrong statement.",
    "Evaluation therefore measures both the quality of retrieval and the faithfulness of the "
    "generated text to the passages that were actually provided as context.",
    "Hybrid systems add keyword search to dense vectors and rerank the candidates with a cross "
    "encoder before the generator ever sees them.",
]

ADS = ["Buy the new NeuralPhone today and save 20 percent",
       "Cloud GPUs by the hour from our friendly sponsor",
       "Learn Rust in a weekend with our interactive course",
       "Discount hiking boots for the whole family this spring",
       "Try our meal kit subscription with free delivery"]


def noisy(n: int, paragraphs: list[str] | None = None) -> bytes:
    """Night ``n`` of a blog post: only the date, counters, tokens, ad, cache-busters, "ago",
    "generated in" footer and the order of a listing change."""
    paras = "".join(f"<p>{p}</p>" for p in (paragraphs or ARTICLE))
    items = [f"<li><a href='/t/{t}'>{t} posts</a></li>" for t in ("scaling", "data", "compute",
                                                                   "evaluation", "agents")]
    listing = "".join(items[n % 5:] + items[:n % 5])
    day = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"][n % 6]
    token = f"{n}f9a8b7c6d5e4f3a2b1c0d9e8f7a6b{n}c5"
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Scaling laws, explained | The Gradient Blog</title>
<meta name="csrf-token" content="{token}">
<link rel="stylesheet" href="/static/site.css?ver=5.{n}.1">
<script src="/static/app.js?ver={n}"></script></head>
<body><header><a href="/">The Gradient Blog</a> <span>{n * 17 + 3} readers online</span></header>
<nav><a href="/archive">Archive</a> <a href="/about">About</a></nav>
<main><article><h1>Scaling laws, explained</h1>
<p class="byline">By Ada · {day}, March {n + 3}, 2026 at {n + 9}:{n * 7 % 60:02d} ·
updated {n + 2} minutes ago · {1200 + n * 311} views · {n + 1} comments</p>
{paras}
<h2>Related topics</h2><ul class="tags">{listing}</ul>
<div class="ad-slot">{ADS[n % len(ADS)]}</div>
<p>Session {token} · page generated in 0.{n + 1}{n} s</p>
</article></main>
<aside class="sidebar"><h3>Popular</h3><p>{ADS[(n + 2) % len(ADS)]}</p></aside>
<form action="/subscribe"><input type="hidden" name="csrf" value="{token}">
<button>Subscribe</button></form>
<footer>© 2026 · rendered {n} ms ago · build {token}</footer></body></html>""".encode()


def article(paragraphs: list[str], n: int = 0) -> bytes:
    """The blog post with other paragraphs (the noise of night ``n`` too)."""
    return noisy(n, paragraphs)

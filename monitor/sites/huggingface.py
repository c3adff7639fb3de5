"""Hugging Face (``huggingface.co``): model, dataset and space pages answer a 200 page titled
"404 – Hugging Face" for what does not exist (evidence:
``../shared/fixtures/soft404/MARKERS_EVIDENCE.md``). Pages are fetched and fingerprinted like any
other; no probe yet.
"""

from __future__ import annotations

from monitor.sites.base import Site, title_marker

MARKERS = (
    title_marker("huggingface_404", "soft_404", r"^\s*404\s*[–-]\s*hugging face",
                 "huggingface.co"),
)

SITE = Site("huggingface", ("huggingface.co",), markers=MARKERS)

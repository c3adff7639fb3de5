"""The arXiv watch (SPEC §8): fetch new papers per category, dedupe, score, store suggestions.

Public API:

- :func:`watch` runs one watch and returns a :class:`WatchResult` (``.line()`` for the log);
- triage lives in :mod:`monitor.watch.store` (``list_suggestions``, ``suggestion_object``,
  ``accept``, ``reject``), re-exported here; CLI commands in :mod:`monitor.watch.cli`.

Incremental: per category, papers are read newest first back to the newest paper seen in an
earlier run (table ``arxiv_cursors``) or ``arxiv.lookback_days`` before today, whichever is
later. A category given up part way keeps its old cursor, so the next run reads it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.watch.store import accept, list_suggestions, reject, suggestion_object
    from monitor.watch.watcher import ArxivUnavailable, WatchResult, watch

__all__ = [
    "ArxivUnavailable", "WatchResult", "accept", "list_suggestions", "reject",
    "suggestion_object", "watch",
]
_HOME = {"accept": "store", "list_suggestions": "store", "reject": "store",
         "suggestion_object": "store"}


def __getattr__(name: str) -> Any:
    """Load on first use: the watcher imports the ``arxiv`` package (and ``requests``), which
    every other command would otherwise pay for at start."""
    if name not in __all__:
        raise AttributeError(f"module 'monitor.watch' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"monitor.watch.{_HOME.get(name, 'watcher')}"), name)

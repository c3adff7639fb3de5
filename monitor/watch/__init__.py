"""The arXiv watch (SPEC §8): fetch new papers per category, dedupe, score, store suggestions.

- :mod:`monitor.watch.watcher`: :func:`watch` runs one watch and returns a ``WatchResult``
  (``.line()`` for the log);
- :mod:`monitor.watch.feed`: the category listings; :mod:`monitor.watch.score` and
  :mod:`monitor.watch.profiles`: the ranking against the handbook's sections;
- :mod:`monitor.watch.triage`: the dedupe rules, accept and reject.

Incremental: per category, papers are read newest first back to the newest paper seen in an
earlier run (table ``arxiv_cursors``) or ``arxiv.lookback_days`` before today, whichever is
later. A category given up part way keeps its old cursor, so the next run reads it again.

The watcher imports the ``arxiv`` package (and ``requests``): commands that do not watch do
not import it.
"""

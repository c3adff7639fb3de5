"""The orchestration of runs: the stages in order, and the processes that run them.

- :mod:`monitor.pipeline.run`: :func:`~monitor.pipeline.run.run_once`, one run from catalog to
  report (the one place that knows the order of the stages);
- :mod:`monitor.pipeline.crawl`: every target checked once, results written as they arrive
  (``check_resources``: one host batch of a distributed run);
- :mod:`monitor.pipeline.fleet`: a distributed run's check stage on the coordinator (queue the
  host batches, wait for the workers); :mod:`monitor.pipeline.worker`: ``monitor worker``;
- :mod:`monitor.pipeline.pool`: the process pool that fingerprints pages on every core;
- :mod:`monitor.pipeline.outputs`: the report files a run writes;
- :mod:`monitor.pipeline.schedule`: the nightly job on a cron (APScheduler);
- :mod:`monitor.pipeline.signals`: SIGTERM and Ctrl-C as clean stops.

This package's ``__init__`` imports nothing, so that a command that only needs the signals does
not load the crawl.
"""

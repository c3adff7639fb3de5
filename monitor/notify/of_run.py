"""Notify about a stored run: its report data made a :class:`~monitor.notify.digest.Digest`,
delivered, and what each channel answered stored (SPEC §13).

Called by the nightly run after the reports are written, by ``monitor notify [--run ID]`` and by
``monitor notify --test``. A channel that fails is noted on the run (``runs --json`` ``note``,
the report's header) and never raises.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from monitor.notify import deliver
from monitor.notify.config import ChannelOutcome, Delivery, NotifyConfig
from monitor.notify.digest import digest_from_report
from monitor.report import ReportData, render_markdown
from monitor.report.model import suggestion_object
from monitor.store import notifications, queries
from monitor.store.db import Database
from monitor.store.suggestions import list_suggestions


def notify_run(db: Database, settings: object, data: ReportData,
               env: Mapping[str, str] | None = None, *, when: str | None = None) -> Delivery:
    """Deliver the notification of the run in ``data`` (``when`` overrides ``notify.when``, for
    a re-send), store the outcomes, note a failure on the run. Returns the delivery."""
    config = NotifyConfig.from_settings(settings, os.environ if env is None else env)
    if when is not None:
        config = dataclasses.replace(config, when=when)
    if data.run is None or not config.configured:
        return Delivery(None)
    run_id = int(data.run["id"])
    new = [suggestion_object(s) for s in list_suggestions(db, "new", run_id=run_id)]
    digest = digest_from_report(data.run, data.previous, data.resources, data.events, new,
                                base_url=settings["report.base_url"],  # type: ignore[index]
                                report_markdown=render_markdown(data))
    delivery = deliver(config, digest)
    _record(db, run_id, delivery.outcomes)
    if delivery.note():
        queries.add_run_note(db, run_id, delivery.note())
    return delivery


def notify_test(db: Database, settings: object,
                env: Mapping[str, str] | None = None) -> Delivery:
    """A test message to every channel (and a read-only check of the GitHub token); the
    outcomes are stored without a run."""
    config = NotifyConfig.from_settings(settings, os.environ if env is None else env)
    delivery = deliver(config, None, test=True)
    _record(db, None, delivery.outcomes)
    return delivery


def _record(db: Database, run_id: int | None, outcomes: tuple[ChannelOutcome, ...]) -> None:
    notifications.record(db, run_id, ({"channel": o.channel, "ok": o.ok, "detail": o.detail,
                                       "error": o.error, "url": o.url, "attempts": o.attempts}
                                      for o in outcomes))

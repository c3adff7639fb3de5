"""What the notification channels answered (SPEC §13): one row per channel and run."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from monitor.store.db import Database
from monitor.store.models import Notification, utcnow


def record(db: Database, run_id: int | None, outcomes: Iterable[dict[str, Any]]) -> None:
    """Store one row per channel outcome (dicts with ``channel ok detail error url attempts``;
    ``channel`` must already be safe to show: scheme and host, never a credential)."""
    rows = [Notification(run_id=run_id, at=utcnow(), **o) for o in outcomes]
    if rows:
        with db.session() as s:
            s.add_all(rows)


def latest_per_channel(db: Database) -> list[Notification]:
    """The newest row of each channel, channels in name order."""
    newest = select(func.max(Notification.id)).group_by(Notification.channel).scalar_subquery()
    with db.session() as s:
        return list(s.scalars(select(Notification).where(Notification.id.in_(newest))
                              .order_by(Notification.channel)))

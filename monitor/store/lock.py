"""The database-level run lock: at most one ``check``/``run`` at a time, across processes.

The lock is a row in ``locks`` (primary key ``name``), so taking it is one atomic INSERT on any
database. A holder is ``hostname:pid``; a lock left by a process that no longer exists on this
host (SIGKILL, power loss), or whose heartbeat is older than ``stale_after`` seconds, is taken over.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from monitor.errors import RunLocked
from monitor.store.db import Database
from monitor.store.models import Lock, utcnow

RUN_LOCK = "run"


def holder_id() -> str:
    """This process as a lock holder: ``hostname:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(lock: Lock, stale_after: float) -> bool:
    host, _, pid = lock.holder.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return not _pid_alive(int(pid)) or int(pid) == os.getpid()
    return utcnow() - lock.heartbeat_at > timedelta(seconds=stale_after)


def acquire(db: Database, name: str = RUN_LOCK, stale_after: float = 1800.0) -> None:
    """Take lock ``name`` or raise RunLocked saying since when and by whom it is held."""
    for _ in range(3):
        try:
            with db.session() as s:
                s.add(Lock(name=name, holder=holder_id()))
            return
        except IntegrityError:
            pass
        with db.session() as s:
            lock = s.get(Lock, name)
            if lock is None:
                continue
            if not _is_stale(lock, stale_after):
                raise RunLocked(f"a run is in progress since {lock.acquired_at.isoformat()} "
                                f"(held by {lock.holder})")
            s.execute(delete(Lock).where(Lock.name == name, Lock.holder == lock.holder))
    raise RunLocked(f"could not take the {name!r} lock")


def heartbeat(db: Database, name: str = RUN_LOCK) -> None:
    """Refresh the heartbeat of a lock this process holds."""
    with db.session() as s:
        s.execute(update(Lock).where(Lock.name == name, Lock.holder == holder_id())
                  .values(heartbeat_at=utcnow()))


def release(db: Database, name: str = RUN_LOCK) -> None:
    """Release lock ``name`` if this process holds it."""
    with db.session() as s:
        s.execute(delete(Lock).where(Lock.name == name, Lock.holder == holder_id()))


def held_by(db: Database, name: str = RUN_LOCK) -> str | None:
    """The holder of lock ``name``, or None."""
    with db.session() as s:
        return s.scalar(select(Lock.holder).where(Lock.name == name))

"""Typed keys of the values the application carries (``app[DB]``, ...)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from monitor.config import Settings
from monitor.store.db import Database
from monitor.web.security import Guard

DB = web.AppKey("db", Database)
SETTINGS = web.AppKey("settings", Settings)
GUARD = web.AppKey("guard", Guard)
TRIAGE_LOCK = web.AppKey("triage_lock", asyncio.Lock)

"""Shared pytest fixtures: the simulated web (tests/simweb.py, SPEC §11) and the database
(tests/dbutil.py: SQLite, or PostgreSQL when MONITOR_TEST_DATABASE_URL is set)."""

from tests.browser import browser
from tests.dbutil import db, db_url
from tests.simweb import fake_sleep, fetch_options, simweb, simweb_server

__all__ = ["browser", "db", "db_url", "fake_sleep", "fetch_options", "simweb", "simweb_server"]

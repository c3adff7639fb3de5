"""Shared pytest fixtures. The simulated web lives in tests/simweb.py (SPEC §11)."""

from tests.simweb import fake_sleep, fetch_options, simweb, simweb_server

__all__ = ["fake_sleep", "fetch_options", "simweb", "simweb_server"]

"""Exceptions and exit codes.

Exception tree::

    MonitorError                 base of every error the CLI turns into a message (exit 1)
    ├── ConfigError              bad monitor.toml, option or environment value (exit 3)
    ├── CatalogError             a catalog file that cannot be read as CSV at all (exit 3)
    │                            (defined in monitor.catalog, registered here as a subclass)
    ├── DatabaseError            database unreachable or migrations failed (exit 1)
    ├── RunLocked                another process holds the run lock (exit 75)
    ├── ArxivUnavailable         the arXiv API could not be used at all (exit 1)
    ├── ArxivQueryError          the arXiv API answered with an error entry (exit 1)
    └── SuggestionError          a triage request that cannot be done (exit 1)
        ├── UnknownSuggestion    no suggestion has this id or arXiv identifier
        └── AlreadyDecided       the suggestion was already accepted or rejected

Outcomes of checks (dead links, timeouts, ...) are values, never exceptions.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_FAIL_ON = 2
EXIT_CONFIG = 3
EXIT_LOCKED = 75


class MonitorError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_FAILED


class ConfigError(MonitorError):
    """Bad configuration: the message names the file, key or option."""

    exit_code = EXIT_CONFIG


class DatabaseError(MonitorError):
    """The database could not be reached or migrated."""

    exit_code = EXIT_FAILED


class RunLocked(MonitorError):
    """Another run holds the run lock; the message says since when."""

    exit_code = EXIT_LOCKED


class ArxivUnavailable(MonitorError):
    """The arXiv API could not be used (unreachable, failing after retries); the message says
    how it failed."""


class ArxivQueryError(MonitorError):
    """The arXiv API answered with an error entry (``<title>Error</title>``); the message is
    its text."""


class SuggestionError(MonitorError):
    """A triage request that cannot be done; the message says why (exit 1)."""


class UnknownSuggestion(SuggestionError):
    """No suggestion has this database id or arXiv identifier."""


class AlreadyDecided(SuggestionError):
    """The suggestion was already accepted or rejected."""

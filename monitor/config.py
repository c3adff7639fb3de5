"""Configuration: one table of settings drives monitor.toml, the CLI and the docs.

Precedence (SPEC §4): command-line options > ``monitor.toml`` > built-in defaults.
``load_settings`` raises :class:`~monitor.errors.ConfigError` naming the key for an unknown key
or a value of the wrong type.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor import __version__
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

PROJECT_URL = "https://github.com/genai-handbook/monitor"
DEFAULT_DB_URL = "sqlite:///monitor.db"


@dataclass(frozen=True)
class Setting:
    """One configuration key: ``section.name``, its default, type and help text."""

    section: str
    name: str
    default: Any
    help: str
    low: float | None = 0  # smallest allowed number (inclusive); None = no bound
    high: float | None = None  # largest allowed number (inclusive)
    choices: tuple[str, ...] = ()  # the allowed strings, when only some are

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


SETTINGS: tuple[Setting, ...] = (
    Setting("catalog", "path", "catalog.csv", "catalog CSV to sync and check"),
    Setting("database", "url", DEFAULT_DB_URL, "SQLAlchemy URL of the database"),
    Setting("http", "concurrency", 32, "requests in flight, all hosts", 1),
    Setting("http", "per_host", 2, "requests in flight to one host", 1),
    Setting("http", "timeout", 30.0, "seconds for a whole request", 0.001, 86_400),
    Setting("http", "connect_timeout", 10.0, "seconds to connect", 0.001, 86_400),
    Setting("http", "max_redirects", 10, "redirects followed before too_many_redirects"),
    Setting("http", "retries", 2, "extra tries for transient failures (timeouts, 5xx, 429)",
            0, 20),
    Setting("http", "backoff_base", 1.0, "seconds before the first retry; doubles each retry",
            0, 600),
    Setting("http", "retry_after_cap", 60.0,
            "seconds; a longer Retry-After counts as a failure for this run", 0, 86_400),
    Setting("http", "max_body_bytes", 5_000_000, "bytes of body read at most", 1),
    Setting("http", "user_agent", f"monitor/{__version__} (+{PROJECT_URL})", "User-Agent header"),
    Setting("http", "connect_to", [], "curl --connect-to strings HOST1:PORT1:HOST2:PORT2"),
    Setting("http", "ca_bundle", "", "PEM file of extra trusted CAs"),
    Setting("health", "dead_after_runs", 3, "consecutive failing non-degraded runs before dead", 1),
    Setting("health", "dead_after_hours", 48.0, "hours the failing streak must span before dead"),
    Setting("health", "degraded_threshold", 0.8,
            "share of hosts failing with dns/connect/timeout that marks a run degraded", 0, 1),
    Setting("health", "change_threshold", 0.90, "text similarity below this is a change", 0, 1),
    Setting("arxiv", "api_url", "https://export.arxiv.org/api/query", "arXiv API endpoint"),
    Setting("arxiv", "categories", ["cs.CL", "cs.LG", "cs.AI"], "watched arXiv categories"),
    Setting("arxiv", "max_results", 200, "papers fetched at most per category and run", 1),
    Setting("arxiv", "lookback_days", 7, "days back on the first watch"),
    Setting("arxiv", "delay_seconds", 3.0, "seconds between arXiv API requests"),
    Setting("arxiv", "min_score", 0.1, "suggestions below this score are dropped", 0, 1),
    Setting("arxiv", "max_suggestions", 30, "suggestions kept per watch"),
    Setting("arxiv", "keywords", [], "extra terms that raise a paper's score"),
    Setting("arxiv", "model", "sentence-transformers/all-MiniLM-L6-v2",
            "embedding model for ranking (a Hugging Face id; empty: rank lexically)"),
    Setting("arxiv", "model_path", "",
            "a local copy of the model (a folder); empty: the Hugging Face cache"),
    Setting("report", "dir", "reports", "directory of rendered reports"),
    Setting("report", "history_runs", 30, "runs shown in the trend", 1),
    Setting("report", "base_url", "", "where the reports are served, for links in notifications"),
    Setting("notify", "urls", [],
            "apprise URLs of the channels (mailto://, slack://, json://, ...)"),
    Setting("notify", "urls_env", "",
            "environment variable holding more apprise URLs, space-separated"),
    Setting("notify", "when", "action", "when to send: action, always or never",
            choices=("action", "always", "never")),
    Setting("notify", "min_suggestions", 1,
            "new suggestions that make a night worth a message (0: never on their own)", 0),
    Setting("notify.github", "repo", "",
            "owner/name of the rolling GitHub issue (token from GITHUB_TOKEN)"),
    Setting("notify.github", "api_url", "https://api.github.com",
            "GitHub REST API root (GitHub Enterprise: https://HOST/api/v3)"),
    Setting("notify.github", "label", "monitor", "label that marks the rolling issue"),
    Setting("schedule", "cron", "0 3 * * *", "crontab expression of the nightly run"),
    Setting("schedule", "timezone", "UTC", "time zone of the cron expression"),
    Setting("serve", "host", "127.0.0.1", "address the web UI binds to"),
    Setting("serve", "port", 8080, "port of the web UI", 0, 65535),
    Setting("serve", "token", "", "bearer token for the web UI (env MONITOR_TOKEN)"),
)

_BY_KEY = {s.key: s for s in SETTINGS}
_SECTIONS = frozenset(s.section for s in SETTINGS)
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def default(key: str) -> Any:
    """The built-in default of setting ``key`` (``section.name``); KeyError if unknown."""
    return _BY_KEY[key].default
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Settings:
    """Resolved settings: ``values`` maps ``section.name`` to a typed value."""

    values: dict[str, Any] = field(default_factory=lambda: {s.key: s.default for s in SETTINGS})
    source: str = "defaults"

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def set(self, key: str, value: Any) -> None:
        """Override one key (from a command-line option); validates the type."""
        self.values[key] = _coerce(_BY_KEY[key], value, "command line")


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            list: "list of strings"}[type(value)]


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    """Check ``value`` against the default's type; ints are accepted for floats."""
    default = setting.default
    if isinstance(default, bool) or isinstance(value, bool) != isinstance(default, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float)
        value = float(value) if ok else value
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{where}: {setting.key} must be a {_type_name(default)}, "
                          f"got {value!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        _check_bounds(setting, value, where)
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"{where}: {setting.key} must be one of "
                          f"{', '.join(setting.choices)}, got {value!r}")
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str) and _CONTROL.search(text):
            raise ConfigError(f"{where}: {setting.key} must not hold control characters "
                              f"(a line break?), got {text[:80]!r}")
    return value


def _check_bounds(setting: Setting, value: float, where: str) -> None:
    low, high = setting.low, setting.high
    if not math.isfinite(value):
        raise ConfigError(f"{where}: {setting.key} must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            bound = "must not be negative" if low == 0 else f"must be at least {low:g}"
        else:
            bound = f"must be between {low:g} and {high:g}"
        raise ConfigError(f"{where}: {setting.key} {bound}, got {value!r}")


def parse_toml(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Flatten and validate a parsed TOML document into ``{"section.name": value}``.

    Raises ConfigError naming the unknown section or key, or the key with a wrong type.
    """
    out: dict[str, Any] = {}
    sections = {s.section for s in SETTINGS}
    for section, table in data.items():
        if section not in sections:
            raise ConfigError(f"{where}: unknown section [{section}]")
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        for name, value in table.items():
            setting = _BY_KEY.get(f"{section}.{name}")
            if setting is None:
                raise ConfigError(f"{where}: unknown key {section}.{name}")
            out[setting.key] = _coerce(setting, value, where)
    return out


def _flatten_tables(data: Mapping[str, Any]) -> dict[str, Any]:
    """``[a.b]`` tables (TOML nests them in ``[a]``) as top-level sections named ``a.b``, for
    the sections the settings table has (``notify.github``)."""
    out: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            out[section] = table
            continue
        flat = {}
        for name, value in table.items():
            if isinstance(value, dict) and f"{section}.{name}" in _SECTIONS:
                out[f"{section}.{name}"] = value
            else:
                flat[name] = value
        if flat or section in _SECTIONS:
            out[section] = flat
    return out


def load_settings(path: str | None = None) -> Settings:
    """Read ``path`` (or ``$MONITOR_CONFIG``, or ``./monitor.toml`` if present) over defaults.

    Raises ConfigError when the named file is missing, is not valid TOML, or has a bad key.
    """
    explicit = path or os.environ.get("MONITOR_CONFIG")
    candidate = Path(explicit) if explicit else Path("monitor.toml")
    settings = Settings()
    if not candidate.exists():
        if explicit:
            raise ConfigError(f"config file not found: {candidate}")
        return settings
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{candidate}: {exc}") from exc
    settings.values.update(parse_toml(_flatten_tables(data), str(candidate)))
    settings.source = str(candidate)
    _check_schedule(settings)
    return settings


def _check_schedule(settings: Settings) -> None:
    """Validate ``schedule.cron``/``schedule.timezone`` when the file sets them (ConfigError)."""
    defaults = {s.key: s.default for s in SETTINGS}
    if any(settings[k] != defaults[k] for k in ("schedule.cron", "schedule.timezone")):
        cron_trigger(settings["schedule.cron"], settings["schedule.timezone"])


def schedule_timezone(name: str) -> tzinfo:
    """The ``schedule.timezone`` zone; ConfigError naming the key when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(f"schedule.timezone: unknown time zone {name!r} "
                          "(use an IANA name such as 'UTC' or 'Europe/Paris')") from err


def _weekday_numbers(part: str) -> list[int]:
    """Crontab days (0-7, 0 and 7 Sunday) of one comma-separated item: ``*``, ``N``, ``A-B``,
    each optionally ``/STEP``."""
    base, _, step = part.partition("/")
    if base == "*":
        first, last = 0, 6
    elif "-" in base:
        first, last = (int(x) for x in base.split("-", 1))
    else:
        first = int(base)
        last = 6 if step else first
    if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last):
        raise ValueError(f"day of week {part!r} out of range 0-7")
    return list(range(first, last + 1, int(step) if step else 1))


def crontab_weekdays(field: str) -> str:
    """The day-of-week field of a crontab in APScheduler 3 terms (names, so 0 means Sunday).

    Fields with names (``mon-fri``) or ``*`` / ``?`` are returned unchanged.
    """
    if field in ("*", "?") or any(c.isalpha() for c in field):
        return field
    days = sorted({n % 7 for part in field.split(",") for n in _weekday_numbers(part)})
    return ",".join(_CRON_DAYS[n] for n in days)


def cron_trigger(cron: str, timezone: str) -> CronTrigger:
    """A trigger for crontab ``cron`` in ``timezone``; ConfigError naming the key when bad."""
    zone = schedule_timezone(timezone)
    fields = cron.split()
    if len(fields) != 5:
        raise ConfigError(f"schedule.cron: {cron!r} must have 5 fields "
                          "(minute hour day-of-month month day-of-week)")
    from apscheduler.triggers.cron import CronTrigger

    try:
        return CronTrigger(minute=fields[0], hour=fields[1], day=fields[2], month=fields[3],
                           day_of_week=crontab_weekdays(fields[4]), timezone=zone)
    except ValueError as err:
        raise ConfigError(f"schedule.cron: {cron!r}: {err}") from err


def database_url(option: str | None, settings: Settings) -> str:
    """The database URL: ``--db``, else ``$MONITOR_DB``, else ``database.url``."""
    return option or os.environ.get("MONITOR_DB") or settings["database.url"]

"""Configuration: one table of settings drives monitor.toml, the CLI and the docs.

Precedence (SPEC §4): command-line options > ``monitor.toml`` > built-in defaults.
``load_settings`` raises one :class:`~monitor.errors.ConfigError` listing every problem of the
file (unknown keys with the nearest known one, wrong types, values out of bounds, a bad
schedule), each as ``file:line: key ...``.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor import __version__
from monitor.errors import ConfigError
from monitor.files import MAX_CONFIG_BYTES, MAX_FILE_BYTES, check_path, read_regular_file
from monitor.toml_lines import key_lines

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
    secret: bool = False  # never shown in messages (tokens, URLs with credentials)
    path: str = ""  # "file" or "dir": a path checked when set (see check_path)

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


SETTINGS: tuple[Setting, ...] = (
    Setting("catalog", "path", "catalog.csv", "catalog CSV to sync and check", path="file"),
    Setting("catalog", "sources", [],
            "Markdown/HTML files or globs, relative to the config file: when set, every run "
            "re-extracts the catalog from them and catalog.path becomes a derived snapshot"),
    Setting("database", "url", DEFAULT_DB_URL, "SQLAlchemy URL of the database"),
    Setting("http", "concurrency", 32, "requests in flight, all hosts", 1, 1024),
    Setting("http", "per_host", 2, "requests in flight to one host", 1, 256),
    Setting("http", "timeout", 30.0, "seconds for a whole request", 0.001, 86_400),
    Setting("http", "connect_timeout", 10.0, "seconds to connect", 0.001, 86_400),
    Setting("http", "max_redirects", 10, "redirects followed before too_many_redirects", 0, 100),
    Setting("http", "retries", 2, "extra tries for transient failures (timeouts, 5xx, 429)",
            0, 20),
    Setting("http", "backoff_base", 1.0, "seconds before the first retry; doubles each retry",
            0, 600),
    Setting("http", "retry_after_cap", 60.0,
            "seconds; a longer Retry-After counts as a failure for this run", 0, 86_400),
    Setting("http", "max_body_bytes", 5_000_000, "bytes of body read at most", 1, 1_000_000_000),
    Setting("http", "user_agent", f"monitor/{__version__} (+{PROJECT_URL})", "User-Agent header"),
    Setting("http", "connect_to", [], "curl --connect-to strings HOST1:PORT1:HOST2:PORT2"),
    Setting("http", "ca_bundle", "", "PEM file of extra trusted CAs", path="file"),
    Setting("http", "proxy", "", "http(s) proxy URL; empty: HTTPS_PROXY/HTTP_PROXY/NO_PROXY "
            "from the environment", secret=True),
    Setting("health", "dead_after_runs", 3, "consecutive failing non-degraded runs before dead",
            1, 1000),
    Setting("health", "dead_after_hours", 48.0, "hours the failing streak must span before dead",
            0, 87_600),
    Setting("health", "degraded_threshold", 0.8,
            "share of hosts failing with dns/connect/timeout that marks a run degraded", 0, 1),
    Setting("health", "change_threshold", 0.90, "text similarity below this is a change", 0, 1),
    Setting("arxiv", "api_url", "https://export.arxiv.org/api/query", "arXiv API endpoint"),
    Setting("arxiv", "categories", ["cs.CL", "cs.LG", "cs.AI"], "watched arXiv categories"),
    Setting("arxiv", "max_results", 200, "papers fetched at most per category and run",
            1, 30_000),
    Setting("arxiv", "lookback_days", 7, "days back on the first watch", 0, 3650),
    Setting("arxiv", "delay_seconds", 3.0, "seconds between arXiv API requests", 0, 600),
    Setting("arxiv", "min_score", 0.1, "suggestions below this score are dropped", 0, 1),
    Setting("arxiv", "max_suggestions", 30, "suggestions kept per watch", 0, 10_000),
    Setting("arxiv", "keywords", [], "extra terms that raise a paper's score"),
    Setting("arxiv", "model", "sentence-transformers/all-MiniLM-L6-v2",
            "embedding model for ranking (a Hugging Face id; empty: rank lexically)"),
    Setting("arxiv", "model_path", "",
            "a local copy of the model (a folder); empty: the Hugging Face cache"),
    Setting("report", "dir", "reports", "directory of rendered reports", path="dir"),
    Setting("report", "history_runs", 30, "runs shown in the trend", 1, 10_000),
    Setting("report", "base_url", "", "where the reports are served, for links in notifications"),
    Setting("notify", "urls", [],
            "apprise URLs of the channels (mailto://, slack://, json://, ...)"),
    Setting("notify", "urls_env", "",
            "environment variable holding more apprise URLs, space-separated"),
    Setting("notify", "when", "action", "when to send: action, always or never",
            choices=("action", "always", "never")),
    Setting("notify", "min_suggestions", 1,
            "new suggestions that make a night worth a message (0: never on their own)",
            0, 10_000),
    Setting("notify.github", "repo", "",
            "owner/name of the rolling GitHub issue (token from GITHUB_TOKEN)"),
    Setting("notify.github", "api_url", "https://api.github.com",
            "GitHub REST API root (GitHub Enterprise: https://HOST/api/v3)"),
    Setting("notify.github", "label", "monitor", "label that marks the rolling issue"),
    Setting("distributed", "batch_size", 150,
            "resources per host batch of a distributed run (run --distributed)", 1, 100_000),
    Setting("schedule", "cron", "0 3 * * *", "crontab expression of the nightly run"),
    Setting("schedule", "timezone", "UTC", "time zone of the cron expression"),
    Setting("serve", "host", "127.0.0.1", "address the web UI binds to"),
    Setting("serve", "port", 8080, "port of the web UI", 0, 65535),
    Setting("serve", "token", "", "bearer token for the web UI (env MONITOR_TOKEN)",
            secret=True),
)
"""Every number has both bounds (``low``, ``high``): extremes are a clear error, never an
overflow or a run that exhausts the machine (issue 16)."""

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

    @property
    def folder(self) -> Path:
        """The configuration file's folder: ``catalog.sources`` are relative to it (SPEC §4);
        the working directory when the settings come from the defaults."""
        return Path(self.source).parent if self.source != "defaults" else Path(".")


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            list: "list of strings"}[type(value)]


class _Invalid(ValueError):
    """A bad value; the message names the key, never the file or line."""


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    """``value`` checked for ``setting`` (see :func:`_validated`); ConfigError prefixed with
    ``where`` when it is bad."""
    try:
        return _validated(setting, value)
    except _Invalid as err:
        raise ConfigError(f"{where}: {err}") from None


def _validated(setting: Setting, value: Any) -> Any:
    """Check ``value`` against the default's type (ints are accepted for floats), the bounds,
    the choices, control characters and the key's own rule; _Invalid naming the key."""
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
        raise _Invalid(f"{setting.key} must be a {_type_name(default)}, "
                       f"got {_shown(setting, value)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        _check_bounds(setting, value)
    if setting.choices and value not in setting.choices:
        raise _Invalid(f"{setting.key} must be one of {', '.join(setting.choices)}, "
                       f"got {value!r}")
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str) and _CONTROL.search(text):
            raise _Invalid(f"{setting.key} must not hold control characters "
                           f"(a line break?), got {_shown(setting, text[:80])}")
    if setting.key == "http.proxy" and value:
        _check_proxy(value)
    if setting.path and value:
        problem = check_path(value, setting.path, MAX_FILE_BYTES.get(setting.key))
        if problem:
            raise _Invalid(f"{setting.key}: {problem}")
    return value


def _shown(setting: Setting, value: Any) -> str:
    """``value`` for a message: hidden for secret settings."""
    return "(hidden)" if setting.secret else repr(value)


def _check_proxy(url: str) -> None:
    """An http:// or https:// URL with a host (aiohttp supports no other proxy); the URL,
    which may hold credentials, is never part of the message."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Invalid("http.proxy must be an http:// or https:// URL with a host "
                       "(the value is not shown: it may hold credentials)")


def _check_bounds(setting: Setting, value: float) -> None:
    low, high = setting.low, setting.high
    if not math.isfinite(value):
        raise _Invalid(f"{setting.key} must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            bound = "must not be negative" if low == 0 else f"must be at least {low:g}"
        else:
            bound = f"must be between {low:g} and {high:g}"
        raise _Invalid(f"{setting.key} {bound}, got {value!r}")


Problem = tuple[int | None, str]
"""One problem of a configuration file: its line (None when unknown) and what is wrong."""


def parse_toml(data: Mapping[str, Any], where: str, text: str = "") -> dict[str, Any]:
    """Flatten and validate a parsed TOML document into ``{"section.name": value}``.

    ``text`` is the document's source, for line numbers. Raises one ConfigError listing every
    problem (unknown sections and keys, with the nearest known name; bad values), each with the
    file, the line and the key.
    """
    out, problems = _parse(_flatten_tables(data), key_lines(text) if text else {})
    if problems:
        raise ConfigError(_listing(where, problems))
    return out


def _parse(data: Mapping[str, Any], lines: dict[tuple[str, ...], int]
           ) -> tuple[dict[str, Any], list[Problem]]:
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for section, table in data.items():
        where = tuple(section.split("."))
        if not isinstance(table, dict):
            kind = "a top-level key" if section not in _SECTIONS else f"[{section}]"
            problems.append((lines.get(where), f"{kind} {section!r}: settings go in a table "
                             f"such as [http]{_suggestion(section, section)}"))
            continue
        if section not in _SECTIONS:
            problems.append((lines.get(where), f"unknown section [{section}]"
                             f"{_suggestion(section, None)}"))
            continue
        for name, value in table.items():
            line = lines.get((*where, name)) or lines.get(where)
            setting = _BY_KEY.get(f"{section}.{name}")
            if setting is None:
                problems.append((line, f"unknown key {section}.{name}"
                                 f"{_suggestion(section, name)}"))
                continue
            try:
                out[setting.key] = _validated(setting, value)
            except _Invalid as err:
                problems.append((line, str(err)))
    return out, problems


def _suggestion(section: str, name: str | None) -> str:
    """" (did you mean http.per_host?)" for the nearest known key (or section), else ""."""
    if name is None:
        close = difflib.get_close_matches(section, sorted(_SECTIONS), n=1, cutoff=0.6)
        return f" (did you mean [{close[0]}]?)" if close else ""
    same_name = [s.key for s in SETTINGS if s.name == name]
    close = same_name or difflib.get_close_matches(f"{section}.{name}", list(_BY_KEY), n=1,
                                                   cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _listing(where: str, problems: list[Problem]) -> str:
    """Every problem on its own line, ``file:line: what``, in file order."""
    ordered = sorted(problems, key=lambda p: p[0] or 0)
    shown = [f"{where}:{line}: {what}" if line else f"{where}: {what}" for line, what in ordered]
    if len(shown) == 1:
        return shown[0]
    return f"{where}: {len(shown)} problems\n" + "\n".join(f"  {item}" for item in shown)


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

    Raises ConfigError when the named file is missing or unreadable, is not valid TOML, or has
    problems: all of them at once, each with file, line and key (see :func:`parse_toml`).
    """
    explicit = path or os.environ.get("MONITOR_CONFIG")
    candidate = Path(explicit) if explicit else Path("monitor.toml")
    settings = Settings()
    try:
        raw = read_regular_file(candidate, MAX_CONFIG_BYTES)
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError as exc:
        if explicit:
            raise ConfigError(f"config file not found: {candidate}") from exc
        return settings
    except OSError as exc:
        raise ConfigError(f"{candidate}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{candidate}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x})") from exc
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{candidate}: {exc}") from exc
    lines = key_lines(text)
    values, problems = _parse(_flatten_tables(data), lines)
    problems += _schedule_problems(values, lines)
    if problems:
        raise ConfigError(_listing(str(candidate), problems))
    settings.values.update(values)
    settings.source = str(candidate)
    return settings


def _schedule_problems(values: dict[str, Any], lines: dict[tuple[str, ...], int]
                       ) -> list[Problem]:
    """The problem of ``schedule.cron``/``schedule.timezone`` when the file sets them."""
    keys = ("schedule.cron", "schedule.timezone")
    if not any(k in values for k in keys):
        return []
    try:
        cron_trigger(values.get(keys[0], default(keys[0])), values.get(keys[1], default(keys[1])))
    except ConfigError as err:
        key = next((k for k in keys if str(err).startswith(k)), keys[0])
        return [(lines.get(tuple(key.split("."))), str(err))]
    return []


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

"""What every command gets (:class:`Context`) and the option groups the run commands share."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from monitor.config import Settings, database_url, load_settings
from monitor.errors import EXIT_FAIL_ON, ConfigError
from monitor.store.db import Database, open_database
from monitor.vocabulary import STATES


@dataclass
class Context:
    """What every command gets: settings and the database, each made on first use (so
    ``--help`` works whatever the configuration holds)."""

    config: str | None  # --config
    db_option: str | None  # --db
    _settings: Settings | None = None
    _db: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    @property
    def db_url(self) -> str:
        return database_url(self.db_option, self.settings)

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = open_database(self.db_url)
        return self._db


pass_ctx = click.make_pass_decorator(Context)


def fail_on_states(value: str | None) -> set[str]:
    states = {s.strip() for s in (value or "").split(",") if s.strip()}
    unknown = states - set(STATES)
    if unknown:
        raise click.BadParameter(f"unknown state(s) {', '.join(sorted(unknown))}; "
                                 f"choose from {', '.join(STATES)}", param_hint="--fail-on")
    return states


def http_options(f: Any) -> Any:
    options = [
        click.option("--catalog", "catalog", metavar="PATH", help="Catalog CSV [catalog.path]."),
        click.option("--connect-to", "connect_to", multiple=True, metavar="H1:P1:H2:P2",
                     help="Send requests for H1:P1 to H2:P2, keeping URL, Host, SNI and "
                          "certificate checks (curl's meaning; repeatable) [http.connect_to]."),
        click.option("--ca-bundle", "ca_bundle", metavar="PATH",
                     help="PEM file of extra trusted CAs [http.ca_bundle]."),
        click.option("--concurrency", type=click.IntRange(1),
                     help="Requests in flight [http.concurrency]."),
        click.option("--per-host", "per_host", type=click.IntRange(1),
                     help="Requests in flight to one host [http.per_host]."),
        click.option("--fail-on", "fail_on", metavar="STATE[,STATE]",
                     help="Exit 2 when any resource ends in one of these states "
                          f"({', '.join(STATES)}; comma-separated)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def apply_http(settings: Settings, catalog: str | None, connect_to: tuple[str, ...],
                ca_bundle: str | None, concurrency: int | None, per_host: int | None) -> None:
    if catalog:
        settings.set("catalog.path", catalog)
    if connect_to:
        settings.set("http.connect_to", list(connect_to))
    if ca_bundle:
        settings.set("http.ca_bundle", ca_bundle)
    if concurrency:
        settings.set("http.concurrency", concurrency)
    if per_host:
        settings.set("http.per_host", per_host)
    from monitor.fetch.resolver import make_ssl_context, parse_connect_to

    try:
        for spec in settings["http.connect_to"]:
            parse_connect_to(spec)
    except ValueError as err:
        raise ConfigError(f"--connect-to / http.connect_to: {err}") from err
    bundle = settings["http.ca_bundle"]
    if bundle and not Path(bundle).is_file():
        raise ConfigError(f"--ca-bundle / http.ca_bundle: no such file {bundle}")
    try:
        make_ssl_context(bundle)
    except ValueError as err:
        raise ConfigError(f"--ca-bundle / http.ca_bundle: {err}") from err


def exit_fail_on(ctx: Context, states: set[str]) -> None:
    if not states:
        return
    from monitor.store import queries

    with ctx.db.session() as s:
        counts = queries.state_counts(s)
    matched = {s: counts.get(s, 0) for s in states if counts.get(s, 0)}
    if matched:
        click.echo("fail-on: " + ", ".join(f"{n} {s}" for s, n in sorted(matched.items())),
                   err=True)
        sys.exit(EXIT_FAIL_ON)



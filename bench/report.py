"""Report benchmark (issue 7): time ``monitor report`` on a large, realistic database.

The database is built directly with the project's storage code (``monitor.store``: the Alembic
migrations through :func:`~monitor.store.db.open_database`, the models' tables, bulk Core
INSERTs; a later run's results that repeat the first run's are copied by ``INSERT ... SELECT``),
without crawling, deterministically from ``--seed``, in a child process (about 20 s of CPU for
100,000 resources):

- ``--size`` resources (default 100,000) over 12 sections, with realistic URLs (arXiv papers,
  YouTube videos, GitHub repositories, blogs and docs on ``size / 20`` hosts), titles (some
  with ``&``, ``<``, quotes or non-ASCII), chapters and sources;
- ``--runs`` completed nightly runs (default 3, 24 h apart), one ``check_results`` row per
  checked resource per run (redirect chain, timings, headers);
- fates: about 94% ok, 2% moved (a 301 chain to the replacement), 2% failing (4xx, 5xx, DNS,
  timeouts, soft 404s), 0.5% dead (half newly dead in the last run), 0.7% blocked, 0.3%
  unknown (added after the last run), 1% recovered in the last run; states and the events
  ``went_failing went_dead recovered moved blocked`` come from the project's own state machine
  (:func:`monitor.health.transition`), so they agree with the results;
- fingerprints (256-value signatures, excerpts) for pages, some pages changed (event
  ``changed`` in the last run, similarity below the threshold) or pending, ``updated`` events
  (new arXiv versions, archived repositories), Wayback suggestions for most dead links, and 30
  open arXiv suggestions.

Then ``python -m monitor --db sqlite:///DB --config TOML report --out FILE`` runs as a child
process (``--repeat`` times) through ``crawl.run_child``; its wall time, CPU seconds (user +
system, ``os.wait4``) and its own peak RSS (``VmHWM``) are printed (with ``--repeat``: the lowest
wall and CPU, the highest RSS). The database is built in another child, so that the benchmark
process stays small. ``--save PATH`` keeps the output of the last run;
``--compare PATH`` checks that it is byte for byte equal to an earlier output, except for the
footer's ``generated <time>``.

``--tree DIR`` times the ``monitor`` package of another source tree on the same database
(before/after figures).

Usage: ``python bench/report.py [--size 100000] [--runs 3] [--seed 7] [--db PATH [--rebuild]]
[--format html|md|json] [--run ID] [--repeat N] [--save PATH] [--compare PATH] [--tree DIR]
[--json PATH]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
REPORT_TIMEOUT = 3600.0  # seconds a timed ``monitor report`` may take
sys.path.insert(0, str(Path(__file__).resolve().parent))

from crawl import Child, run_child  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from monitor.health import Health
    from monitor.vocabulary import Outcome

FIRST_RUN = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
RUN_GAP = timedelta(hours=24)
CHUNK = 20_000  # rows per executemany
EMPTY: dict[str, Any] = {}  # one shared (never changed) empty JSON object: bound once per insert
SECTIONS = (
    "Section I: Foundations of Sequential Prediction",
    "Section II: Neural Sequential Prediction",
    "Section III: Foundations for Modern Language Modeling",
    "Section IV: Finetuning Methods for LLMs",
    "Section V: LLM Evaluations and Applications",
    "Section VI: Performance Optimizations for Efficient Inference",
    "Section VII: Sub-Quadratic Context Scaling",
    "Section VIII: Generative Modeling Beyond Sequences",
    "Section IX: Multimodal Models",
    "Section X: Agents & Tool Use",
    "Section XI: Safety, Alignment <and> Interpretability",
    "Section XII: Systems — Serving at Scale",
)
WORDS = ("attention", "transformer", "scaling", "laws", "retrieval", "augmented", "generation",
         "low-rank", "adapters", "diffusion", "tokenizer", "sparse", "mixture", "experts",
         "quantization", "inference", "kernels", "speculative", "decoding", "alignment",
         "preference", "optimization", "state", "space", "models", "long", "context",
         "evaluation", "benchmarks", "agents", "tools", "vision", "language", "audio")
TITLE_FLAVOURS = ("", "", "", "", " & friends", " <revisited>", ' "explained"', " — notes",
                  " (Über-Guide)", " 注意力")
# (weight, kind, page: fingerprinted)
KIND_MIX = ((25, "paper", False), (8, "video", False), (12, "repo", False), (25, "blog", True),
            (15, "docs", True), (5, "course", True), (3, "book", True), (7, "site", True))
FAIL_MODES = (("http_4xx", 404, None), ("http_4xx", 410, None), ("http_5xx", 503, None),
              ("http_5xx", 500, None), ("dns", None, None), ("timeout", None, None),
              ("connect", None, None), ("tls", None, None),
              ("soft_404", 200, "GitHub: Page not found"), ("soft_404", 200, "redirect to /"),
              ("too_many_redirects", 301, None))
# MinHash-like signatures (256 sorted 32-bit values), a pool shared by the fingerprint rows
SIGNATURES = [sorted(struct.unpack("256I", random.Random(n).randbytes(1024))) for n in range(61)]
BLOCK_MODES = ((403, "cloudflare challenge"), (429, None), (999, None), (401, None),
               (403, None))


@dataclass
class Plan:
    """One resource: catalog fields, fate and what the generator decided for it."""

    i: int
    url: str
    kind: str
    page: bool
    section: str
    fate: str  # ok moved moved_late failing failing2 dead old_dead blocked unknown recovered
    fail: tuple[str, int | None, str | None] = ("http_4xx", 404, None)
    block: tuple[int, str | None] = (403, None)
    moved_to: str = ""
    change: str = ""  # "", "changed", "pending"
    updated: dict[str, Any] | None = None
    wayback: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _fate(rng: random.Random) -> str:
    x = rng.random()
    for share, fate in ((0.003, "unknown"), (0.007, "blocked"), (0.0025, "dead"),
                        (0.0025, "old_dead"), (0.013, "moved"), (0.007, "moved_late"),
                        (0.012, "failing"), (0.008, "failing2"), (0.01, "recovered")):
        if x < share:
            return fate
        x -= share
    return "ok"


def _url(rng: random.Random, i: int, kind: str, hosts: int) -> str:
    host = f"{rng.choice(WORDS)}{i % hosts}.example.org"
    slug = "-".join(rng.sample(WORDS, 3))
    if kind == "paper":
        return f"https://arxiv.org/abs/{23 + i % 4}{1 + i % 12:02d}.{10000 + i:05d}"
    if kind == "video":  # a third as short links (canonical: the watch URL)
        return (f"https://youtu.be/v{i:010d}" if i % 3 == 0
                else f"https://www.youtube.com/watch?v=v{i:010d}")
    if kind == "repo":
        return f"https://github.com/{rng.choice(WORDS)}-lab/{slug}-{i}"
    if kind == "docs":
        return f"https://docs.{host}/en/latest/{slug}/{i}.html"
    if kind == "blog":  # a tenth with a tracking parameter (dropped from the canonical URL)
        return (f"https://{host}/posts/{2020 + i % 6}/{slug}-{i}/"
                + ("?utm_source=newsletter" if i % 10 == 0 else ""))
    return f"https://{host}/{kind}/{slug}-{i}?ref=list&page={i % 7}"


def plan(size: int, seed: int) -> list[Plan]:
    """The resources, deterministic from ``seed``."""
    rng = random.Random(seed)
    hosts = max(1, size // 20)
    weights = [w for w, _, _ in KIND_MIX]
    out = []
    for i in range(size):
        _, kind, page = rng.choices(KIND_MIX, weights)[0]
        p = Plan(i, _url(rng, i, kind, hosts), kind, page, SECTIONS[rng.randrange(12)],
                 _fate(rng))
        p.fail = rng.choice(FAIL_MODES)
        p.block = rng.choice(BLOCK_MODES)
        if p.fate in ("moved", "moved_late"):
            p.moved_to = p.url.replace("https://", "https://new-", 1).rstrip("/") + "/v2"
        if p.fate in ("dead", "old_dead", "failing", "failing2"):
            p.wayback = rng.random() < 0.7
        if p.fate == "ok" and page:
            x = rng.random()
            p.change = "changed" if x < 0.006 else ("pending" if x < 0.009 else "")
        if p.fate == "ok" and kind == "paper" and rng.random() < 0.004:
            p.updated = {"what": "version", "old": 1, "new": 2}
        if p.fate == "ok" and kind == "repo" and rng.random() < 0.008:
            p.updated = {"what": "archived"}
        out.append(p)
    return out


def _outcome(p: Plan, run: int, runs: int, outcome: type[Outcome]) -> Outcome | None:
    """What run ``run`` (0-based) saw for ``p``; None when it was not checked."""
    last = run == runs - 1
    fate = p.fate
    if fate == "unknown":
        return None
    if fate == "blocked":
        return outcome("blocked", "blocked", p.block[0], None, p.block[1])
    if fate in ("dead", "old_dead") or (fate == "failing" and last) or (
            fate == "failing2" and run >= runs - 2) or (fate == "recovered" and run == runs - 2):
        return outcome("failing", p.fail[0], p.fail[1], None, p.fail[2])
    if fate == "moved" or (fate == "moved_late" and last):
        return outcome("moved", None, 301, p.moved_to)
    return outcome("ok", None, 200)


def _result(p: Plan, out: Outcome, run_id: int, at: datetime, rng: random.Random
            ) -> dict[str, Any]:
    chain: list[dict[str, Any]] = [{"url": p.url, "status": out.http_status, "location": None}]
    final = None
    if out.outcome == "moved":
        chain = [{"url": p.url, "status": 301, "location": p.moved_to},
                 {"url": p.moved_to, "status": 200, "location": None}]
        final = p.moved_to
    elif out.http_status is None:
        chain = []
    ok = out.outcome == "ok"
    return {"run_id": run_id, "resource_id": p.i + 1, "checked_at": at, "url": p.url,
            "final_url": final, "http_status": out.http_status, "outcome": out.outcome,
            "error": out.error, "detail": out.detail, "redirect_chain": chain,
            "elapsed_ms": 20 + int(rng.random() * 880), "attempts": 1 if ok else 3,
            "bytes_received": 20_000 + int(rng.random() * 80_000) if ok else 0,
            "content_type": "text/html; charset=utf-8" if ok else None,
            "etag": f'"{p.i:x}"' if ok and p.page else None,
            "last_modified": None, "probe": EMPTY}


def _print_row(rng: random.Random, p: Plan, run_id: int, at: datetime, version: int,
               baseline: bool) -> dict[str, Any]:
    words = " ".join(rng.choices(WORDS, k=80))
    return {"resource_id": p.i + 1, "run_id": run_id, "at": at, "extractor_version": "lxml-1",
            "raw_hash": f"{p.i:032x}{version:032x}", "text_hash": f"{version:032x}{p.i:032x}",
            "signature": SIGNATURES[(p.i * 7 + version) % len(SIGNATURES)],
            "text_excerpt": f"Version {version}. {words}", "page_title": f"Page {p.i}",
            "content_type": "text/html; charset=utf-8", "is_baseline": baseline}


def _title(rng: random.Random, p: Plan) -> str:
    words = " ".join(w.capitalize() for w in rng.sample(WORDS, rng.randrange(2, 6)))
    return f"{words} {p.i}{rng.choice(TITLE_FLAVOURS)}"


def build_database(url: str, size: int, runs: int, seed: int) -> dict[str, int]:
    """Create the SQLite database at ``url`` (migrations to head) and fill it; returns row
    counts per table.

    Every row goes through SQLAlchemy Core bulk INSERTs of the models' tables, except that a
    later run's result that repeats the first run's (most of them) is copied from it by one
    ``INSERT ... SELECT`` per run (``_copy_results``).
    """
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert, update

    from monitor.catalog import canonical_url
    from monitor.health import STATES, Health, HealthPolicy, transition
    from monitor.store.db import open_database
    from monitor.store.models import (
        CheckResult,
        Event,
        Fingerprint,
        Resource,
        ResourceState,
        Run,
        Suggestion,
    )
    from monitor.vocabulary import Outcome

    db = open_database(url)
    rng = random.Random(seed + 1)
    plans = plan(size, seed)
    policy = HealthPolicy()
    starts = [FIRST_RUN + k * RUN_GAP for k in range(runs)]
    duration = timedelta(seconds=max(60, size // 200))
    assert duration < timedelta(hours=20), "a run must end on the day it started"
    added = FIRST_RUN - timedelta(days=30)
    counts: Counter[str] = Counter()
    states: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    prints: list[dict[str, Any]] = []
    run_counts: list[Counter[str]] = [Counter() for _ in range(runs)]
    differ: list[list[int]] = [[] for _ in range(runs)]  # resources whose result is new
    late = starts[-1] + duration
    resources = [{
        "id": p.i + 1, "url": p.url,
        # the other generated URLs are canonical already (canonical_url() is slow-ish)
        "canonical_url": canonical_url(p.url) if "youtu.be" in p.url or "utm_" in p.url
        else p.url,
        "title": _title(rng, p), "section": p.section,
        "chapter": f"Chapter {p.i % 7 + 1}: {rng.choice(WORDS).capitalize()}",
        "kind": p.kind, "source": f"_includes/section{p.i % 12 + 1}.md:{p.i % 400 + 1}",
        "added": "2026-10-29", "notes": "", "extra": EMPTY, "position": p.i, "active": True,
        "first_seen_at": late if p.fate == "unknown" else added,
        "updated_at": late if p.fate == "unknown" else added} for p in plans]
    with db.engine.begin() as conn:
        _insert(conn, Resource, resources)
        counts["resources"] = len(resources)
        del resources
        conn.execute(insert(Run), [
            {"id": k + 1, "command": "run", "started_at": starts[k],
             "finished_at": starts[k] + duration, "status": "complete", "hosts": size // 20 + 3,
             "hosts_unreachable": 0, "pid": 4242 + k, "note": ""} for k in range(runs)])
        results: list[dict[str, Any]] = []
        for p in plans:
            rid = p.i + 1
            health = (Health("dead", 5, FIRST_RUN - timedelta(days=5), added)
                      if p.fate == "old_dead" else Health())
            last: dict[str, Any] | None = None
            state_since: datetime | None = None
            first = None
            for k in range(runs):
                out = _outcome(p, k, runs, Outcome)
                if out is None:
                    continue
                at = starts[k] + duration * (p.i / size)
                if k == 0 or out != first[0]:
                    row = _result(p, out, k + 1, at, rng)
                    results.append(row)
                    if k:
                        differ[k].append(rid)
                else:  # copied from the first run by _copy_results
                    row = first[1] | {"run_id": k + 1, "checked_at": at}
                if k == 0:
                    first = (out, row)
                new, drafts = transition(health, out, at, policy)
                if new.state != health.state:
                    state_since = at
                health, last = new, row
                events += [{"run_id": k + 1, "resource_id": rid, "at": at, "kind": d.kind,
                            "detail": d.detail} for d in drafts]
                run_counts[k][health.state] += 1
            if p.fate == "unknown":
                for k in range(1, runs):
                    differ[k].append(rid)
            if len(results) >= CHUNK:
                _insert(conn, CheckResult, results)
                results = []
            states.append(_state(p, health, last, state_since, runs, rng, events, prints))
        _insert(conn, CheckResult, results)
        for k in range(1, runs):
            _copy_results(conn, CheckResult, k, starts, differ[k])
        for k in range(runs):
            run_counts[k]["unknown"] += size - sum(run_counts[k].values())
            conn.execute(update(Run).where(Run.id == k + 1).values(
                checked=size - run_counts[k]["unknown"],
                **{s: run_counts[k][s] for s in STATES}))
            counts["check_results"] += size - run_counts[k]["unknown"]
        events.sort(key=lambda e: (e["run_id"], e["at"]))
        for model, rows in ((ResourceState, states), (Event, events), (Fingerprint, prints)):
            _insert(conn, model, rows)
            counts[model.__tablename__] = len(rows)
        conn.execute(insert(Suggestion), _suggestions(rng, runs))
        counts["suggestions"] = 30
    db.dispose()
    return dict(counts)


def _copy_results(conn: Connection, table: Any, k: int, starts: list[datetime],
                  skip: list[int]) -> None:
    """Copy the first run's results as run ``k`` (0-based) for every resource not in ``skip``,
    in one ``INSERT ... SELECT`` (the ids to skip in a temporary table).

    The copy's ``checked_at`` is the first run's moved to run ``k``'s day (a run never spans
    midnight here); ``elapsed_ms`` is varied."""
    from sqlalchemy import (
        Column,
        Integer,
        MetaData,
        String,
        Table,
        func,
        insert,
        literal,
        select,
        type_coerce,
    )

    skipped = Table("bench_skip", MetaData(), Column("resource_id", Integer, primary_key=True),
                    prefixes=["TEMPORARY"])
    skipped.drop(conn, checkfirst=True)
    skipped.create(conn)
    if skip:
        conn.execute(insert(skipped), [{"resource_id": rid} for rid in skip])
    columns = [c for c in table.__table__.columns if c.key != "id"]
    values = {"run_id": literal(k + 1),
              "checked_at": func.replace(type_coerce(table.checked_at, String()),
                                         literal(starts[0].strftime("%Y-%m-%d "), String()),
                                         literal(starts[k].strftime("%Y-%m-%d "), String())),
              "elapsed_ms": (table.elapsed_ms * 7 + 131 * k) % 880 + 20}
    source = (select(*(values.get(c.key, c) for c in columns))
              .where(table.run_id == 1,
                     table.resource_id.not_in(select(skipped.c.resource_id)))
              .order_by(table.resource_id))
    conn.execute(insert(table).from_select([c.key for c in columns], source))
    skipped.drop(conn)


def _insert(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk INSERT ``rows`` (dicts with the same keys) into ``model``'s table.

    The statement is SQLAlchemy Core's ``insert(table)`` compiled once for the connection's
    dialect, and every value goes through its column type's own bind processor (the models'
    ``UTCDateTime``, ``JSON``, ...), exactly what ``conn.execute(insert(table), rows)`` does;
    only the per-row bookkeeping of ``execute`` is skipped (it took most of the build time).
    Raises ValueError when a column with a Python-side default is left out (it would not be
    applied here).
    """
    from sqlalchemy import insert

    if not rows:
        return
    table, dialect = model.__table__, conn.dialect
    keys = list(rows[0])
    skipped = [c.key for c in table.columns if c.key not in keys and c.default is not None]
    if skipped:
        raise ValueError(f"{table.name}: no value for {skipped} (their defaults)")
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    names = list(compiled.positiontup or keys)
    get = itemgetter(*names)
    processors = [(i, _memo(proc)) for i, name in enumerate(names)
                  if (proc := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                  is not None]
    for start in range(0, len(rows), CHUNK):
        params = []
        for row in rows[start:start + CHUNK]:
            values = list(get(row)) if len(names) > 1 else [get(row)]
            for i, proc in processors:
                values[i] = proc(values[i])
            params.append(tuple(values))
        conn.exec_driver_sql(compiled.string, params)


def _memo(process: Any) -> Any:
    """``process`` (a pure bind processor) remembering its answers: by value for datetimes
    (two equal aware datetimes are stored alike), by identity for anything else (a JSON object
    shared by many rows), each kept alive with its answer so that its ``id`` is not reused."""
    answers: dict[Any, tuple[Any, Any]] = {}

    def run(value: Any) -> Any:
        key = value if type(value) is datetime else id(value)
        hit = answers.get(key)
        if hit is None:
            hit = answers[key] = (value, process(value))
        return hit[1]

    return run


def _state(p: Plan, health: Health, last: dict[str, Any] | None, since: datetime | None,
           runs: int, rng: random.Random, events: list[dict[str, Any]],
           prints: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``resource_states`` row of ``p`` after the last run; adds its freshness events and
    fingerprint rows."""
    rid = p.i + 1
    state: dict[str, Any] = {
        "resource_id": rid, "state": health.state, "http_status": None, "error": None,
        "detail": None, "final_url": health.final_url,
        "consecutive_failures": health.consecutive_failures,
        "failing_since": health.failing_since, "last_ok_at": health.last_ok_at,
        "last_checked_at": None, "changed_at": None, "similarity": None, "suggested_url": None,
        "etag": None, "last_modified": None, "state_since": since, "last_run_id": None,
        "probe": EMPTY}
    if last is None:
        return state
    at = last["checked_at"]
    state |= {"http_status": last["http_status"], "error": last["error"],
              "detail": last["detail"], "last_checked_at": at, "etag": last["etag"],
              "last_run_id": runs}
    if p.kind == "paper":
        state["probe"] = {"arxiv": {"version": 2 if p.updated else 1, "withdrawn": False}}
    if p.wayback:
        stamp = f"2024{p.i % 12 + 1:02d}15000000"
        state["suggested_url"] = f"https://web.archive.org/web/{stamp}/{p.url}"
        state["probe"] = state["probe"] | {"wayback": {"asked_at": at.isoformat(),
                                                        "timestamp": stamp}}
    if p.updated:
        events.append({"run_id": runs, "resource_id": rid, "at": at, "kind": "updated",
                       "detail": p.updated})
    if p.page and health.last_ok_at is not None:
        first_run = 1
        prints.append(_print_row(rng, p, first_run, FIRST_RUN + (at - FIRST_RUN) % RUN_GAP, 1,
                                 True))
        state["similarity"] = 1.0 if runs > 1 else None
        if p.change == "changed" and runs >= 3:
            prints.append(_print_row(rng, p, runs - 1, at - RUN_GAP, 2, False))
            sim = round(0.35 + rng.random() * 0.5, 4)
            state |= {"similarity": sim, "changed_at": at}
            events.append({"run_id": runs, "resource_id": rid, "at": at, "kind": "changed",
                           "detail": {"similarity": sim,
                                      "removed": " ".join(rng.sample(WORDS, 8)),
                                      "added": " ".join(rng.sample(WORDS, 8)) + " & <more>",
                                      "baseline_at": FIRST_RUN.isoformat(),
                                      "title": f"Page {p.i}"}})
        elif p.change == "pending" and runs >= 2:
            prints.append(_print_row(rng, p, runs, at, 2, False))
            state["similarity"] = round(0.4 + rng.random() * 0.45, 4)
    return state


def _suggestions(rng: random.Random, runs: int) -> list[dict[str, Any]]:
    out = []
    for i in range(30):
        terms = rng.sample(WORDS, 3)
        out.append({
            "arxiv_id": f"2611.{20000 + i}", "version": 1 + i % 3,
            "title": f"{' '.join(t.capitalize() for t in terms)}: a study ({i})",
            "authors": [f"Author {j} {rng.choice(WORDS).capitalize()}" for j in range(2 + i % 7)],
            "abstract": ("We study " + " ".join(rng.sample(WORDS, 12)) + ". ") * 4,
            "published": FIRST_RUN - timedelta(hours=10 + i),
            "categories": ["cs.CL", "cs.LG"], "score": round(0.95 - i * 0.02, 3),
            "section": SECTIONS[i % 12], "matched_terms": terms, "status": "new",
            "reason": "", "created_at": FIRST_RUN + (runs - 1) * RUN_GAP, "run_id": runs})
    return out


def run_report(db_path: Path, config: Path, out: Path, fmt: str, run_id: int | None,
               tree: Path = ROOT) -> Child:
    """Run ``monitor report`` as a child process and measure it (:func:`crawl.run_child`:
    wall, CPU, the child's own peak RSS); ``python -m monitor`` runs in ``tree``, so it finds
    the ``monitor`` package there first."""
    argv = [sys.executable, "-m", "monitor", "--db", f"sqlite:///{db_path}", "--config",
            str(config), "report", "--format", fmt, "--out", str(out)]
    if run_id is not None:
        argv += ["--run", str(run_id)]
    return run_child(argv, REPORT_TIMEOUT, cwd=tree)


GENERATED = re.compile(r"(generated |\"generated_at\": \")[0-9T:+-]+")


def same_output(a: str, b: str) -> bool:
    """True when two reports are equal except for the time they were generated at."""
    return GENERATED.sub(r"\1-", a) == GENERATED.sub(r"\1-", b)


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1")
    return value


def _resources_in(db_path: Path) -> int:
    """How many resources the SQLite database at ``db_path`` holds (0 when it has none)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as con:
        try:
            return int(con.execute("SELECT count(*) FROM resources").fetchone()[0])
        except sqlite3.Error:
            return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--size", type=_positive, default=100_000,
                        help="resources (default 100000)")
    parser.add_argument("--runs", type=_positive, default=3, help="completed runs (default 3)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--db", type=Path, help="SQLite file to build (or reuse when it "
                        "exists); default: a temporary file, deleted at the end")
    parser.add_argument("--rebuild", action="store_true", help="rebuild an existing --db")
    parser.add_argument("--format", default="html", choices=("html", "md", "json"),
                        help="the report format to time (default html)")
    parser.add_argument("--run", type=_positive, dest="run_id",
                        help="time `monitor report --run ID`: the replay of an earlier run "
                             "(1 .. --runs)")
    parser.add_argument("--repeat", type=_positive, default=1,
                        help="report runs to time (default 1)")
    parser.add_argument("--save", type=Path, help="keep the report output at this path")
    parser.add_argument("--compare", type=Path, help="check the output equals this earlier "
                        "output (except the generated-at time); exit 1 when not")
    parser.add_argument("--tree", type=Path, default=ROOT, help="run the monitor package of this "
                        "source tree (e.g. `git archive HEAD monitor migrations` unpacked "
                        "somewhere) instead of this checkout's, for before/after figures")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--build-only", action="store_true", help="only build --db (no timing; "
                        "what the benchmark runs in a child process, so that the timed "
                        "children are not started from a process holding the whole build)")
    args = parser.parse_args(argv)
    if args.compare is not None and not args.compare.is_file():
        parser.error(f"--compare {args.compare}: no such file")
    if not (args.tree / "monitor" / "__init__.py").is_file():
        parser.error(f"--tree {args.tree}: not a source tree (no monitor/__init__.py in it)")
    if args.build_only:
        if args.db is None:
            parser.error("--build-only needs --db")
        print(json.dumps(build_database(f"sqlite:///{args.db.resolve()}", args.size, args.runs,
                                        args.seed)))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = Path(tmp)
        db_path = (args.db or folder / "report.db").resolve()
        figures: dict[str, Any] = {"size": args.size, "runs": args.runs, "seed": args.seed,
                                   "format": args.format, "tree": str(args.tree),
                                   "python": platform.python_version(),
                                   "load": os.getloadavg()[0]}
        if args.rebuild or not db_path.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
            started = time.monotonic()
            built = subprocess.run(
                [sys.executable, __file__, "--build-only", "--size", str(args.size), "--runs",
                 str(args.runs), "--seed", str(args.seed), "--db", str(db_path)],
                stdout=subprocess.PIPE, text=True, check=True)
            rows = json.loads(built.stdout.splitlines()[-1])
            figures["build_s"] = round(time.monotonic() - started, 1)
            print(f"built {db_path} in {figures['build_s']} s: "
                  + ", ".join(f"{k} {v:,}" for k, v in rows.items()), flush=True)
        else:
            stored = _resources_in(db_path)
            if stored != args.size:
                print(f"error: {db_path} holds {stored:,} resources, not --size {args.size:,}:"
                      " pass --rebuild (or the size it was built with)", file=sys.stderr)
                return 2
            print(f"reusing {db_path}", flush=True)
        config = folder / "monitor.toml"
        config.write_text(f'[report]\ndir = "{folder}"\n', encoding="utf-8")
        out = folder / f"report.{args.format}"
        children = []
        for _ in range(max(1, args.repeat)):
            child = run_report(db_path, config, out, args.format, args.run_id,
                               args.tree.resolve())
            children.append(child)
            print(f"monitor report --format {args.format} ({args.size:,} resources): "
                  f"wall {child.wall:.2f} s, CPU {child.cpu:.2f} s, peak RSS "
                  f"{child.rss_mb:.0f} MB, exit {child.code}, load {os.getloadavg()[0]:.1f}",
                  flush=True)
            if child.code != 0:
                print(child.out, file=sys.stderr)
                return 1
        figures |= {"wall_s": round(min(c.wall for c in children), 2),
                    "cpu_s": round(min(c.cpu for c in children), 2),
                    "rss_mb": round(max(c.rss_mb for c in children)),
                    "output_bytes": out.stat().st_size,
                    "walls": [round(c.wall, 2) for c in children],
                    "cpus": [round(c.cpu, 2) for c in children]}
        text = out.read_text(encoding="utf-8")
        if args.save:
            args.save.write_text(text, encoding="utf-8")
        status = 0
        if args.compare:
            figures["identical"] = same_output(text, args.compare.read_text(encoding="utf-8"))
            verdict = "identical to" if figures["identical"] else "DIFFERENT from"
            print(f"output {verdict} {args.compare} (ignoring the generated-at time)")
            status = 0 if figures["identical"] else 1
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(figures))
        return status


if __name__ == "__main__":
    sys.exit(main())

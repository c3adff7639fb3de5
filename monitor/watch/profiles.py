"""Section profiles: the handbook's own text per section, shipped as ``monitor/data/sections.json``.

A profile is what the relevance scorer (:mod:`monitor.watch.score`) compares papers with: the
section's name, its one-line goal, its chapter headings, the titles of its resources and its
prose (Markdown and HTML stripped). Profiles are generated once from the handbook sources and
committed, so the watcher never reads ``../shared`` at run time::

    python -m monitor.watch.profiles ../shared/handbook -o monitor/data/sections.json

Sections come from :func:`monitor.catalog.extract.extract` (the same section names as the catalog);
a section's prose is the text of the source files its links were found in. Sections named in
``skip`` (default: the handbook's "Introduction") get no profile.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from monitor.catalog.extract import extract

__all__ = ["PROFILE_FORMAT", "build_profiles", "main", "plain_text"]

PROFILE_FORMAT = 1
DEFAULT_SKIP = ("Introduction",)
_LIQUID_RE = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_URL_RE = re.compile(r"https?://\S+")


def plain_text(markdown: str) -> str:
    """Markdown (with inline HTML and Liquid tags) to plain text, one space between words."""
    html = MarkdownIt("commonmark").render(_LIQUID_RE.sub(" ", markdown))
    text = BeautifulSoup(html, "html.parser").get_text(" ")
    return " ".join(_URL_RE.sub(" ", text).split())


def _goals(index: Path) -> dict[str, str]:
    """Section name -> its "Goal:" summary, from ``<h1>`` + ``section-summary`` pairs."""
    if not index.is_file():
        return {}
    soup = BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser")
    goals: dict[str, str] = {}
    for h1 in soup.find_all("h1"):
        summary = h1.find_next(class_="section-summary")
        if summary is not None:
            text = " ".join(summary.get_text(" ").split())
            goals[" ".join(h1.get_text(" ").split())] = re.sub(r"^Goal:\s*", "", text)
    return goals


def build_profiles(handbook_dir: str | Path, *, index: str = "index.md",
                   skip: tuple[str, ...] = DEFAULT_SKIP) -> dict[str, Any]:
    """Build the profiles document for the handbook at ``handbook_dir``.

    Returns ``{"format": 1, "source": str, "sections": [{"name", "goal", "chapters",
    "resources", "text"}, ...]}`` in handbook order. Raises ``monitor.catalog.CatalogError`` when
    the sources cannot be read.
    """
    base = Path(handbook_dir)
    rows, _problems = extract([str(base / index)])
    files: dict[str, Counter[str]] = defaultdict(Counter)
    chapters: dict[str, list[str]] = defaultdict(list)
    resources: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row.section in skip:
            continue
        files[row.section][row.source.rsplit(":", 1)[0]] += 1
        if row.chapter and row.chapter not in chapters[row.section]:
            chapters[row.section].append(row.chapter)
        if row.title and row.title not in resources[row.section]:
            resources[row.section].append(row.title)
    goals = _goals(base / index)
    sections = []
    for name, counts in files.items():
        own = [f for f, _ in counts.most_common() if f != index]
        prose = " ".join(plain_text((base / f).read_text(encoding="utf-8")) for f in own)
        sections.append({"name": name, "goal": goals.get(name, ""), "chapters": chapters[name],
                         "resources": resources[name], "text": prose})
    return {"format": PROFILE_FORMAT, "source": base.name, "sections": sections}


def main(argv: list[str] | None = None) -> int:
    """``python -m monitor.watch.profiles HANDBOOK_DIR [-o OUT]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m monitor.watch.profiles",
                                     description="Build section profiles for the arXiv scorer.")
    parser.add_argument("handbook_dir")
    parser.add_argument("-o", "--output", default="-", help="JSON file ('-' = stdout)")
    args = parser.parse_args(argv)
    doc = json.dumps(build_profiles(args.handbook_dir), indent=1, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(doc)
    else:
        Path(args.output).write_text(doc, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

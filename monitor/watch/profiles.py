"""Section profiles: the handbook's own text per section, shipped as ``monitor/data/sections.json``.

A profile is what the relevance scorer (:mod:`monitor.watch.score`) compares papers with: the
section's name, its one-line goal, its chapter headings, the titles of its resources and its
prose (Markdown and HTML stripped). Profiles are generated once from the handbook sources and
committed, so the watcher never reads ``../shared`` at run time::

    python -m monitor.watch.profiles ../shared/handbook -o monitor/data/sections.json

Sections come from :func:`monitor.catalog.extract.extract` (the same section names as the catalog);
a section's prose is the text of the source files its links were found in. Sections named in
``skip`` (default: the handbook's "Introduction") get no profile.

Chapter profiles (``monitor/data/chapters.json``, :func:`build_chapters`) split each section
the same way by its headings (the catalog's ``chapter``): a chapter's name, the titles of its
resources and its own prose. The scorer picks a suggestion's chapter with them::

    python -m monitor.watch.profiles ../shared/handbook --chapters -o monitor/data/chapters.json
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

from monitor.catalog.extract import extract, headings

__all__ = ["PROFILE_FORMAT", "build_chapters", "build_profiles", "main", "plain_text"]

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


def _chapter_prose(text: str) -> dict[str, str]:
    """Each heading's (below h1) own prose in one Markdown file: the lines up to the next
    heading, as plain text."""
    lines = text.split("\n")
    marks = [(line, name) for level, name, line in headings(text) if level > 1]
    out: dict[str, str] = {}
    for index, (line, name) in enumerate(marks):
        end = marks[index + 1][0] - 1 if index + 1 < len(marks) else len(lines)
        out[name] = " ".join(filter(None, [out.get(name, ""),
                                           plain_text("\n".join(lines[line:end]))]))
    return out


def build_chapters(handbook_dir: str | Path, *, index: str = "index.md",
                   skip: tuple[str, ...] = DEFAULT_SKIP) -> dict[str, Any]:
    """The chapter profiles of the handbook at ``handbook_dir``: ``{"format": 1, "source":
    str, "sections": {section: [{"name", "resources", "text"}, ...]}}``, chapters in handbook
    order. Raises ``monitor.catalog.CatalogError`` when the sources cannot be read."""
    base = Path(handbook_dir)
    rows, _problems = extract([str(base / index)])
    chapters: dict[str, dict[str, list[str]]] = defaultdict(dict)
    files: dict[str, dict[str, None]] = defaultdict(dict)
    for row in rows:
        if row.section in skip or not row.chapter:
            continue
        chapters[row.section].setdefault(row.chapter, [])
        if row.title and row.title not in chapters[row.section][row.chapter]:
            chapters[row.section][row.chapter].append(row.title)
        files[row.section][row.source.rsplit(":", 1)[0]] = None
    sections: dict[str, list[dict[str, Any]]] = {}
    for name, by_chapter in chapters.items():
        prose: dict[str, str] = {}
        for file in files[name]:
            if file != index:
                prose |= _chapter_prose((base / file).read_text(encoding="utf-8"))
        sections[name] = [{"name": chapter, "resources": titles,
                           "text": prose.get(chapter, "")}
                          for chapter, titles in by_chapter.items()]
    return {"format": PROFILE_FORMAT, "source": base.name, "sections": sections}


def main(argv: list[str] | None = None) -> int:
    """``python -m monitor.watch.profiles HANDBOOK_DIR [--chapters] [-o OUT]``; returns the
    exit status."""
    parser = argparse.ArgumentParser(prog="python -m monitor.watch.profiles",
                                     description="Build section profiles for the arXiv scorer.")
    parser.add_argument("handbook_dir")
    parser.add_argument("--chapters", action="store_true",
                        help="build the chapter profiles (chapters.json) instead")
    parser.add_argument("-o", "--output", default="-", help="JSON file ('-' = stdout)")
    args = parser.parse_args(argv)
    build = build_chapters if args.chapters else build_profiles
    doc = json.dumps(build(args.handbook_dir), indent=1, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(doc)
    else:
        Path(args.output).write_text(doc, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Handbook chunks: the texts that new papers are compared with by the semantic ranker (SPEC §8).

A chunk is one piece of a handbook section, as plain text (Markdown, HTML, Liquid tags and URLs
removed):

- ``section``: the section's name and its one-line goal (one per section);
- ``chapter``: a heading inside a section (``<h2>``-``<h6>`` or ``##``) and all the text under
  it up to the next heading, e.g. "Low-Rank Adapters (LoRA). While pre-training ...";
- ``paragraph``: a heading and one paragraph (or one list) under it; text before a section's
  first heading is headed by the section's name.

Sections and the files they come from are found exactly as the catalog finds them
(:func:`monitor.extract.extract`: the ``<h1>`` of the block that includes a file); goals come
from the ``section-summary`` beside each ``<h1>``. Sections named in ``skip`` (default: the
handbook's "Introduction") and the files that only hold their links get no chunk.

Chunks are generated once from the handbook sources and committed, as the section profiles are,
so the nightly job never reads ``../shared``::

    python -m monitor.watch.chunks ../shared/handbook -o monitor/data/chunks.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

__all__ = ["CHUNKS_FORMAT", "KINDS", "Chunk", "build_chunks", "load_chunks", "main"]

CHUNKS_FORMAT = 1
KINDS = ("section", "chapter", "paragraph")
DEFAULT_SKIP = ("Introduction",)
MIN_PARAGRAPH_WORDS = 8
"""Shorter paragraphs ("Resources:", a lone link) are no chunk of their own."""
_LIQUID_RE = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_URL_RE = re.compile(r"https?://\S+")
_HEADING_RE = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1\s*>", re.S | re.I)
_MD = MarkdownIt("commonmark", {"html": True}).enable("table")


@dataclass(frozen=True)
class Chunk:
    """One handbook text to compare papers with; ``chapter`` is "" for a section chunk."""

    section: str
    chapter: str
    kind: str
    text: str


def build_chunks(handbook_dir: str | Path, *, index: str = "index.md",
                 skip: Sequence[str] = DEFAULT_SKIP) -> list[Chunk]:
    """Chunks of the handbook at ``handbook_dir``, in handbook order.

    Raises ``monitor.catalog.CatalogError`` when a source cannot be read as UTF-8.
    """
    from monitor.catalog.extract import extract

    base = Path(handbook_dir)
    rows, _problems = extract([str(base / index)])
    files: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row.section not in skip:
            files[row.section][row.source.rsplit(":", 1)[0]] += 1
    goals = section_goals(base / index)
    chunks: list[Chunk] = []
    for section, counts in files.items():
        goal = goals.get(section, "")
        chunks.append(Chunk(section, "", "section", f"{section}. {goal}".strip()))
        for name, _count in counts.most_common():
            if name != index:
                text = (base / name).read_text(encoding="utf-8")
                chunks += file_chunks(section, text)
    return chunks


def section_goals(index: Path) -> dict[str, str]:
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


def file_chunks(section: str, markdown: str) -> list[Chunk]:
    """Chapter and paragraph chunks of one section file (Markdown with inline HTML)."""
    chunks: list[Chunk] = []
    for heading, paragraphs in _blocks(markdown):
        head = heading or section
        kept = [p for p in paragraphs if len(p.split()) >= MIN_PARAGRAPH_WORDS]
        if heading and paragraphs:
            chunks.append(Chunk(section, heading, "chapter", _join(head, paragraphs)))
        chunks += [Chunk(section, heading, "paragraph", _join(head, [p])) for p in kept]
    return chunks


def _join(head: str, paragraphs: Iterable[str]) -> str:
    head = head.rstrip()
    sep = " " if head.endswith((".", ":", "?", "!")) else ". "
    return head + sep + " ".join(paragraphs)


def _blocks(markdown: str) -> list[tuple[str, list[str]]]:
    """``[(heading, [paragraph, ...]), ...]``; the first heading is "" (text before any)."""
    blocks: list[tuple[str, list[str]]] = [("", [])]
    tokens = _MD.parse(_LIQUID_RE.sub(" ", markdown))
    depth = 0  # inside a list: the whole list is one paragraph
    list_text: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
            if depth == 0 and list_text:
                blocks[-1][1].append(" ".join(list_text))
                list_text = []
        elif tok.type == "heading_open":
            blocks.append((_plain(tokens[i + 1].content), []))
        elif tok.type == "html_block":
            _html_block(tok.content, blocks)
        elif tok.type == "inline" and tokens[i - 1].type == "paragraph_open":
            text = _plain(_MD.renderInline(tok.content))
            if text:
                (list_text if depth else blocks[-1][1]).append(text)
    return [(h, ps) for h, ps in blocks if h or ps]


def _html_block(html: str, blocks: list[tuple[str, list[str]]]) -> None:
    """Headings in a raw HTML block open chapters; other text is a paragraph."""
    last = 0
    for match in _HEADING_RE.finditer(html):
        before = _plain(html[last:match.start()])
        if before:
            blocks[-1][1].append(before)
        blocks.append((_plain(match.group(2)), []))
        last = match.end()
    rest = _plain(html[last:])
    if rest:
        blocks[-1][1].append(rest)


def _plain(html: str) -> str:
    text = BeautifulSoup(html, "html.parser").get_text(" ")
    return " ".join(_URL_RE.sub(" ", text).split())


def load_chunks(data: dict[str, Any] | None = None) -> list[Chunk]:
    """Chunks from a chunks document, by default the packaged ``monitor/data/chunks.json``.

    Raises FileNotFoundError if the packaged file is missing, ValueError if it is malformed.
    """
    if data is None:
        raw = resources.files("monitor").joinpath("data/chunks.json").read_text("utf-8")
        data = json.loads(raw)
    try:
        chunks = [Chunk(c["section"], c["chapter"], c["kind"], c["text"]) for c in data["chunks"]]
    except (KeyError, TypeError) as err:
        raise ValueError(f"malformed chunks document: {err!r}") from err
    if not chunks or any(c.kind not in KINDS or not c.text for c in chunks):
        raise ValueError("malformed chunks document: empty, or a chunk of unknown kind")
    return chunks


def main(argv: list[str] | None = None) -> int:
    """``python -m monitor.watch.chunks HANDBOOK_DIR [-o OUT]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m monitor.watch.chunks",
                                     description="Build the handbook chunks for the ranker.")
    parser.add_argument("handbook_dir")
    parser.add_argument("-o", "--output", default="-", help="JSON file ('-' = stdout)")
    args = parser.parse_args(argv)
    chunks = build_chunks(args.handbook_dir)
    doc = {"format": CHUNKS_FORMAT, "source": Path(args.handbook_dir).name,
           "chunks": [asdict(c) for c in chunks]}
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({len(chunks)} chunks)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

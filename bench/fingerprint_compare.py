"""Fingerprint extractors compared (issue 15 item 2): same text? how much CPU per page?

Runs ``monitor.fingerprint.fingerprint`` as it is in the work tree ("current") against the
same module as it was at a git revision ("reference": ``--reference REV``, default ``main``;
``lxml-2`` before the switch to lexbor), loaded from ``git show`` into its own module, over
four corpora: the benchmark's pages (``bench/webgen.py``), the freshness test pages
(``tests/pages.py`` and the bodies of ``tests/test_fingerprint.py``), real HTML found on this
machine (documentation trees: rustdoc, mdBook, DocBook, Sphinx, pandoc ...; ``--real-dir``)
and generated hostile pages (:func:`hostile_pages`: control characters, line endings,
misnesting, charsets, huge attribute counts, deep nesting, NFKC expansion ...).

For every page it compares the title, the text hash, the MinHash signature and the excerpt,
prints how many pages are identical per corpus and the first differing lines of each page
that is not, and the CPU per page (``time.process_time``, best of ``--repeat`` passes) of
each extractor per corpus. ``--callgrind`` also counts instructions per page under valgrind
(steadier than time on a shared machine; about 50 times slower).

Usage: ``python bench/fingerprint_compare.py [--reference REV] [--real-dir DIR]...
[--real-limit N] [--repeat N] [--callgrind] [--show N]``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from webgen import ARTICLES, article, page_head  # noqa: E402

from monitor import fingerprint as current  # noqa: E402

Page = tuple[str, bytes, str | None]  # name, body, Content-Type
Extractor = Callable[[bytes, str | None, str], object]

REAL_DIRS = (
    "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/book",
    "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/std",
    "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/src",
    "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/reference",
    "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/rust-by-example",
    "/usr/share/doc/nodejs",
    "/usr/share/doc/libxslt1-dev",
    "/usr/share/doc/valgrind",
    "/usr/lib/node_modules/npm",
    "/usr/lib/google-cloud-sdk",
    "/root/.pyenv/versions/3.11.7/lib/python3.11",
    "/usr/share/doc",
)


# ---------------------------------------------------------------- corpora


def bench_pages(count: int = 2 * ARTICLES) -> list[Page]:
    """The simulated web's pages: every article twice, with its URL-specific head."""
    return [(f"bench/{i}", page_head(i) + article(i % ARTICLES, 7), "text/html")
            for i in range(count)]


def test_pages() -> list[Page]:
    """``tests/pages.py`` (six noisy nights, the article and its rewrite) and the inline
    bodies of ``tests/test_fingerprint.py``."""
    from tests.pages import ARTICLE, REWRITE, noisy
    from tests.pages import article as blog

    pages: list[Page] = [(f"tests/noisy-{n}", noisy(n), "text/html; charset=utf-8")
                         for n in range(6)]
    pages += [("tests/article", blog(ARTICLE), "text/html; charset=utf-8"),
              ("tests/rewrite", blog(REWRITE, 3), "text/html; charset=utf-8"),
              ("tests/edited", blog(ARTICLE[:5] + [REWRITE[0]], 1), "text/html")]
    source = (ROOT / "tests" / "test_fingerprint.py").read_text(encoding="utf-8")
    for n, literal in enumerate(re.findall(r'\bb"(<[^"\n]*)"', source)):
        body = literal.encode("latin-1").decode("unicode_escape").encode("latin-1")
        pages.append((f"tests/inline-{n}", body, "text/html"))
    return pages


def real_pages(dirs: list[str], limit: int) -> list[Page]:
    """Up to ``limit`` HTML files of 1 KB-2 MB from each folder (every n-th, sorted)."""
    pages: list[Page] = []
    seen: set[Path] = set()
    for folder in dirs:
        found = sorted(p for p in Path(folder).rglob("*.htm*") if p.is_file()
                       and p.resolve() not in seen and 1000 < p.stat().st_size < 2_000_000)
        step = max(1, len(found) // limit)
        for path in found[::step][:limit]:
            seen.add(path.resolve())
            pages.append((f"real/{path}", path.read_bytes(), None))
    return pages


def hostile_pages() -> list[Page]:
    """Pages that break parsers or normalisers: each one a case of the module's guarantees."""
    p = "<p>Plain words of a paragraph that is long enough to count.</p>"
    cases: dict[str, tuple[bytes, str | None]] = {
        "control-chars": (b"<p>one</p>\x1c two<div>three\x0b \x08four</div><span>fi\x01ve</span>",
                          "text/html"),
        "nul-bytes": (b"<p>nu\x00ll</p><p>x\x00</p>", "text/html"),
        "cr-line-endings": (b"<p>line one\rline two</p>\r\n<p>three\r\nfour</p>", "text/html"),
        "entities": (b"<p>caf&eacute; &amp; cr&egrave;me &nbsp;&#8203; &#x1F600; &bogus; "
                     b"&#0; &#xD800;</p>", "text/html"),
        "misnested": (b"<p><b>bold <i>both</b> italic</i> after</p><p>a<p>b</p>", "text/html"),
        "table-foster": (b"<table><tr><td>cell</td>stray text<tr><td>two</td></table>",
                         "text/html"),
        "p-in-table": (b"<table><p>para in table</p><tr><td>cell</td></tr></table>",
                       "text/html"),
        "unclosed": (b"<div><p>one<li>two<li>three<div>four", "text/html"),
        "text-before-html": (b"stray <html><body><p>inside</p></body></html> after", "text/html"),
        "two-bodies": (b"<body><p>one</p></body><body class=x><p>two</p></body>", "text/html"),
        "title-in-body": (b"<body><p>text</p><title>Late title</title></body>", "text/html"),
        "svg-title": (b"<body><svg><title>icon</title></svg><p>words here</p></body>",
                      "text/html"),
        "two-titles": (b"<title>First</title><title>Second</title><p>x y z</p>", "text/html"),
        "empty-title": (b"<title>  \n </title><p>x y z</p>", "text/html"),
        "noscript-head": (b"<head><noscript><img src=x></noscript><title>T</title></head>"
                          b"<body><p>body text</p></body>", "text/html"),
        "template": (b"<body><template><p>hidden tpl</p></template><p>shown</p></body>",
                     "text/html"),
        "xmp-plaintext": (b"<body><p>a</p><xmp><b>raw</b></xmp><plaintext><p>rest",
                          "text/html"),
        "comments": (b"<p>a<!-- c --> b<!--> c <!--x--!> d <![CDATA[e]]> <?pi f?></p>",
                     "text/html"),
        "conditional": (b"<!--[if IE]><p>ie</p><![endif]--><p>all</p>", "text/html"),
        "br-chain": (b"<p>one<br>two<br/>three<br><br>four</p>", "text/html"),
        "pre-newlines": (b"<pre>a\n  b\n\n\tc</pre>", "text/html"),
        "role-main": (b'<body><div>out</div><div role="main"><p>in</p></div></body>',
                      "text/html"),
        "role-main-case": (b'<body><div>out</div><div role="MAIN"><p>in</p></div></body>',
                           "text/html"),
        "main-after-role": (b'<body><div role=main>first</div><main>second</main></body>',
                            "text/html"),
        "nested-main": (b"<main><p>a</p><main><p>b</p></main></main>", "text/html"),
        "two-articles": (b"<article><p>one</p></article><article><p>two</p></article>",
                         "text/html"),
        "hidden-variants": (b'<p hidden>h1</p><p aria-hidden="TRUE">h2</p><p style="DISPLAY:'
                            b'NONE">h3</p><p class="Sidebar">h4</p><p id="x_ad_y">h5</p>'
                            b"<p>kept</p>", "text/html"),
        "dup-attributes": (b'<p class="content" class="ad">dup one</p><p id=a id=ad>dup two'
                           b"</p>", "text/html"),
        "uppercase": (b"<HTML><BODY><P CLASS=AD>ad</P><P>Kept</P></BODY></HTML>", "text/html"),
        "xhtml": (b'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html><html xmlns="http://'
                  b'www.w3.org/1999/xhtml"><head><title>X</title></head><body><p>xhtml text</p>'
                  b"</body></html>", "application/xhtml+xml"),
        "latin1-header": ("<title>Caf\u00e9</title><p>cr\u00e8me br\u00fbl\u00e9e</p>"
                          .encode("latin-1"), "text/html; charset=iso-8859-1"),
        "latin1-meta": ('<meta charset="iso-8859-1"><title>Caf\u00e9</title><p>cr\u00e8me</p>'
                        .encode("latin-1"), "text/html"),
        "latin1-undeclared": ("<p>cr\u00e8me br\u00fbl\u00e9e</p>".encode("latin-1"),
                              "text/html"),
        "utf8-undeclared": ("<p>cr\u00e8me br\u00fbl\u00e9e \u4e2d\u6587</p>".encode(),
                            "text/html"),
        "utf8-bom": (b"\xef\xbb\xbf<p>bom text</p>", "text/html"),
        "utf16-bom": ("\ufeff<p>sixteen</p>".encode("utf-16-le"), "text/html"),
        "cp1251-meta": ('<meta charset="windows-1251"><p>\u041f\u0440\u0438\u0432\u0435\u0442'
                        "</p>".encode("cp1251"), "text/html"),
        "lying-charset": ("<p>caf\u00e9</p>".encode(), "text/html; charset=ascii"),
        "unknown-charset": ("<p>caf\u00e9</p>".encode(), "text/html; charset=x-nope"),
        "broken-utf8": (b"<p>\xff\xfe broken \xc3</p>", "text/html; charset=utf-8"),
        "nfkc-expansion": (b"<p>" + "\ufdfa".encode() * 2000 + b"</p>", "text/html"),
        "ligatures": ("<p>\ufb01ne \u2460 \uff21\uff22 \u00bd</p>".encode(), "text/html"),
        "rtl-and-marks": ("<p>\u05e9\u05dc\u05d5\u05dd \u200f\u200e \u0301e</p>".encode(),
                          "text/html"),
        "huge-title": (b"<title>" + b"T " * 50_000 + b"</title><p>x y z</p>", "text/html"),
        "many-siblings": (b"<body><p>" + b"<i class=ad>x</i>tail text " * 5000 + b"</p>",
                          "text/html"),
        "many-blocks": (b"<body>" + b"<div>w</div>" * 20_000 + b"</body>", "text/html"),
        "attrs-10k": (b"<div " + b"".join(b'a%d="v" ' % i for i in range(10_000)) + b">x</div>"
                      + p.encode(), "text/html"),
        "deep-300": (b"<div>" * 300 + b"deep text" + b"</div>" * 300 + p.encode(),
                     "text/html"),
        "deep-5000": (b"<div>" * 5000 + b"deep text" + b"</div>" * 5000 + p.encode(),
                      "text/html"),
        "deep-inline-5000": (b"<b>" * 5000 + b"bold text" + b"</b>" * 5000 + p.encode(),
                             "text/html"),
        "long-token": (b"<p>session 8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c end</p>", "text/html"),
        "numbers-dates": (b"<p>Posted Monday, March 3, 2026 at 10:32 pm; 1.2k views</p>",
                          "text/html"),
        "only-script": (b"<html><body><script>x()</script></body></html>", "text/html"),
        "empty": (b"", "text/html"),
        "not-markup": (b"plain text body, no tags", None),
        "frameset": (b"<frameset><frame src=a></frameset><noframes><p>nf</p></noframes>",
                     "text/html"),
    }
    return [(f"hostile/{name}", body, ctype) for name, (body, ctype) in cases.items()]


# ---------------------------------------------------------------- extractors


def load_reference(rev: str) -> types.ModuleType:
    """``monitor/fingerprint.py`` as it was at git revision ``rev``, as its own module."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:monitor/fingerprint.py"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("fingerprint_reference")
    module.__file__ = f"<{rev}:monitor/fingerprint.py>"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
    return module


# ---------------------------------------------------------------- comparison


def fields(print_: object) -> tuple[object, ...]:
    """What must be equal: title, text hash, signature, excerpt (None: no fingerprint)."""
    if print_ is None:
        return (None, None, None, None)
    return (print_.title, print_.text_hash, tuple(print_.signature), print_.excerpt)


def differences(a: object, b: object) -> list[str]:
    """Human lines on what differs between two fingerprints."""
    fa, fb = fields(a), fields(b)
    out = []
    for name, x, y in zip(("title", "text_hash", "signature", "excerpt"), fa, fb, strict=True):
        if x == y:
            continue
        if name == "excerpt" and isinstance(x, str) and isinstance(y, str):
            la, lb = x.split("\n"), y.split("\n")
            first = next((i for i, (u, v) in enumerate(zip(la, lb, strict=False)) if u != v),
                         min(len(la), len(lb)))
            out.append(f"excerpt line {first}: {la[first:first + 1]!r:.120} -> "
                       f"{lb[first:first + 1]!r:.120} ({len(la)} -> {len(lb)} lines)")
        elif name == "signature":
            sa, sb = set(x or ()), set(y or ())
            out.append(f"signature: {len(sa & sb)} of {max(len(sa), len(sb))} hashes shared")
        else:
            out.append(f"{name}: {str(x)[:80]!r} -> {str(y)[:80]!r}")
    return out


def cpu_per_page(extract: Extractor, pages: list[Page], repeat: int) -> float:
    """Milliseconds of process CPU per page, best of ``repeat`` passes."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _, body, ctype in pages:
            extract(body, ctype, "https://example.test/")
        best = min(best, time.process_time() - started)
    return best / max(1, len(pages)) * 1000


def compare(corpora: dict[str, list[Page]], extractors: dict[str, types.ModuleType],
            show: int) -> Iterator[str]:
    """Lines of the identity table and of the differences, each extractor against the first."""
    names = list(extractors)
    base = extractors[names[0]]
    yield "| corpus | pages | " + " | ".join(f"{n} = {names[0]}" for n in names[1:]) + " |"
    yield "|---|---|" + "---|" * (len(names) - 1)
    detail: list[str] = []
    for corpus, pages in corpora.items():
        same = dict.fromkeys(names[1:], 0)
        for name, body, ctype in pages:
            ref = base.fingerprint(body, ctype, "https://example.test/")
            for other in names[1:]:
                got = extractors[other].fingerprint(body, ctype, "https://example.test/")
                diff = differences(ref, got)
                if not diff:
                    same[other] += 1
                elif sum(d.startswith(f"{other} ") for d in detail) < show:
                    detail.append(f"{other} {name}: " + "; ".join(diff))
        yield (f"| {corpus} | {len(pages)} | "
               + " | ".join(f"{same[n]}" for n in names[1:]) + " |")
    yield ""
    yield from detail


def callgrind_per_page(module: str, corpus: str, args: argparse.Namespace) -> float:
    """Instructions per page of ``module``'s fingerprint over ``corpus`` (valgrind)."""
    counts = []
    for n in (0, 1):
        argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                sys.executable, __file__, "--_work", module, corpus, str(n),
                "--reference", args.reference, "--real-limit", str(args.real_limit)]
        for folder in args.real_dir or ():
            argv += ["--real-dir", folder]
        err = subprocess.run(argv, capture_output=True, text=True, check=True).stderr
        counts.append(int(re.findall(r"Collected : (\d+)", err)[-1]))
    pages = len(corpora_of(args, corpus)[corpus])
    return (counts[1] - counts[0]) / max(1, pages)


def corpora_of(args: argparse.Namespace, only: str | None = None) -> dict[str, list[Page]]:
    """The corpora by name (``only``: just that one)."""
    makers: dict[str, Callable[[], list[Page]]] = {
        "bench": bench_pages, "tests": test_pages,
        "real": lambda: real_pages(args.real_dir or list(REAL_DIRS), args.real_limit),
        "hostile": hostile_pages}
    return {name: make() for name, make in makers.items() if only in (None, name)}


def extractors_of(args: argparse.Namespace) -> dict[str, types.ModuleType]:
    return {"reference": load_reference(args.reference), "current": current}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="main", help="git revision (default main)")
    parser.add_argument("--real-dir", action="append", help="folders of real HTML pages")
    parser.add_argument("--real-limit", type=int, default=40, help="pages per folder")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--show", type=int, default=25, help="differing pages shown")
    parser.add_argument("--callgrind", action="store_true", help="instructions per page too")
    parser.add_argument("--_work", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._work:  # a child under valgrind: fingerprint the corpus n times (0 or 1)
        module, corpus, n = args._work
        corpora = corpora_of(args, corpus)
        extractors = ({"reference": load_reference(args.reference)} if module == "reference"
                      else {"current": current})
        for _ in range(int(n)):
            for _, body, ctype in corpora[corpus]:
                extractors[module].fingerprint(body, ctype, "https://example.test/")
        return 0
    corpora, extractors = corpora_of(args), extractors_of(args)
    for line in compare(corpora, extractors, args.show):
        print(line)
    print()
    print("| corpus | pages | mean KB | " + " | ".join(f"{n} ms/page" for n in extractors)
          + " |")
    print("|---|---|---|" + "---|" * len(extractors))
    for corpus, pages in corpora.items():
        if corpus == "hostile":  # a few huge cases dominate; shown per case below
            continue
        kb = sum(len(b) for _, b, _ in pages) / max(1, len(pages)) / 1000
        times = [cpu_per_page(m.fingerprint, pages, args.repeat) for m in extractors.values()]
        print(f"| {corpus} | {len(pages)} | {kb:.1f} | "
              + " | ".join(f"{t:.3f}" for t in times) + " |")
    if args.callgrind:
        print()
        for corpus in ("bench", "real"):
            counts = {n: callgrind_per_page(n, corpus, args) for n in extractors}
            print(f"instructions per page, {corpus}: "
                  + ", ".join(f"{n} {c / 1e6:.2f} M" for n, c in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Content fingerprints (SPEC §7): main text, normalisation, a similarity sketch, raw hash.

``fingerprint(body, content_type, url)`` is a pure function (no I/O, no clock, no globals that
change), so it can run in a process pool; it takes about 2 ms of CPU (16 M instructions;
lxml-2: 17 M) for a 40 KB HTML page on a 2-core EPYC (0.3 ms extraction, 0.7 ms normalisation,
0.7 ms the sketch), and 46 M instructions for an average real documentation page of
``bench/fingerprint_compare.py`` (lxml-2: 58 M, and 5.1 s for one 866 KB page with 37,000 tags
that lexbor-1 reads in 0.34 s).

**Extraction** (HTML and XHTML) uses selectolax's binding of lexbor, an HTML5 parser: the tree
is built as browsers build it (misnested tags, stray table text, a second ``<body>``, any
nesting depth), the charset is found as browsers find it (:func:`utf8`), and it is cheaper than
lxml on real pages (no Python object per element). lxml-2 read undeclared UTF-8 as Latin-1 and
gave no fingerprint past 256 levels of nesting; ``bench/fingerprint_compare.py`` lists every
difference between the two. BeautifulSoup costs 5-10 times more per page, and trafilatura (more
thorough, heavier) takes 20-60 ms a page, too slow for 100,000 pages a night.

**Budget**: a page whose parse would cost more than linear time is not parsed
(:func:`too_costly`: a start tag with more than ``MAX_ATTRIBUTES`` attributes, more than
``MAX_DEPTH`` elements open at once); it gets the byte hash and a note as its excerpt.
Otherwise the cost is linear in the body, which ``http.max_body_bytes`` bounds (5 MB: about
1-2 s for 500,000 elements, the worst case). Control characters are read as spaces. The rules,
in order:

1. the ``<title>`` is read, then these elements are removed with their content: ``head script
   style noscript template svg canvas iframe object embed nav header footer aside form button
   select textarea input label dialog menu`` (navigation, chrome, forms and their CSRF tokens);
2. elements hidden from readers are removed: ``hidden``, ``aria-hidden="true"``, an inline
   ``display:none``/``visibility:hidden``, ``role`` navigation/banner/contentinfo/complementary/
   search/dialog/alert, and elements whose ``class`` or ``id`` names boilerplate (ads, sponsored,
   promo, cookie/consent banners, newsletter, share/social, sidebar, related, comments,
   breadcrumbs, pagination, popups) as a whole word; never ``<html>``, ``<body>``, ``<main>`` or
   ``role="main"`` (themes put classes like ``has-sidebar`` on them);
3. the main content is the first ``<main>`` (or ``role="main"``), else the only ``<article>``,
   else ``<body>``;
4. the text is cut into blocks at block-level elements (``p li h1-h6 td pre blockquote div``...);
   the title is kept to ``MAX_TITLE_CHARS``, the text to ``MAX_TEXT_CHARS`` (and to
   ``MAX_NORMALISED_CHARS`` after normalisation).

**Normalisation** of each block: Unicode NFKC and case folding; "N minutes ago" and "just now",
clock times, dates with month names and weekday names removed; random-looking tokens (16+ letters
and digits mixed: CSRF tokens, hashes, session ids) removed; every number (counters, years, sizes,
"generated in 0.12 s") becomes ``0``, and the word after a number loses a plural ``s`` ("1 view" =
"2 views"). Whitespace is collapsed.

**Signature**: a bottom-k MinHash sketch (Broder 1997, "On the resemblance and containment of
documents"): the ``SKETCH_SIZE`` smallest 32-bit hashes of the set of word 3-shingles, shingles
taken *inside* blocks (a block shorter than 3 words is one shingle), hashed with array arithmetic
over the text's bytes (:func:`shingle_hashes`; lxml-1 hashed each shingle with CRC-32). Because it
is a *set* of block-local shingles, a listing whose items only change order gives the same set
(similarity 1.0), and a rotating ad or a counter changes only a few shingles. The estimate is the
Jaccard similarity of the two shingle sets: exact while a page has at most ``SKETCH_SIZE``
shingles, with a standard error of about 0.02 near 0.9 above that. A stored excerpt + diff ratio
was not chosen: it needs the whole text of every version and is order-sensitive; SimHash gives a
bit-distance that does not map to "share of text kept".

Every non-HTML body (PDF, image, plain text, JSON) gets the byte hash only: similarity 1.0 or 0.0.

``EXTRACTOR_VERSION`` changes whenever any rule above changes; fingerprints of different
versions are never compared (the freshness stage re-baselines silently).
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from heapq import nsmallest
from typing import TYPE_CHECKING

from selectolax.lexbor import LexborHTMLParser, LexborNode

if TYPE_CHECKING:
    import numpy as np

EXTRACTOR_VERSION = "lexbor-1"
_MULTIPLIER = 0x100000001B3  # odd (FNV-1 64-bit prime), so invertible modulo 2**64
SKETCH_SIZE = 256
SHINGLE = 3
EXCERPT_CHARS = 4000
MAX_TEXT_CHARS = 400_000  # of the main text, as extracted
MAX_NORMALISED_CHARS = 2 * MAX_TEXT_CHARS  # after NFKC, which can expand a character 18-fold
MAX_TITLE_CHARS = 1000
MAX_SKETCH_BYTES = 1 << 20  # of normalised UTF-8 hashed into shingles (~30 B of arrays a byte)
MAX_ATTRIBUTES = 200  # in one start tag (real pages: at most 74 in 444; parse cost ~ n**2)
MAX_DEPTH = 2000  # elements open at once (real pages: at most 269; parse cost ~ n**2)

_CONTAINERS = frozenset({"html", "body", "main"})  # rule 2 never removes the whole page
_DROP_TAGS = ("head", "script", "style", "noscript", "template", "svg", "canvas", "iframe",
              "object", "embed", "nav", "header", "footer", "aside", "form", "button", "select",
              "textarea", "input", "label", "dialog", "menu")
_BLOCK_TAGS = ("p", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "tr",
               "pre", "blockquote", "div", "section", "article", "main", "figcaption", "caption",
               "ul", "ol", "dl", "table", "br", "hr", "address", "summary", "details", "body")
_BOILERPLATE = (
    r"(^|[\s_-])(ads?|adsbygoogle|advert\w*|sponsor\w*|promo\w*|banner|cookies?|consent|gdpr"
    r"|newsletter|subscribe|share|sharing|social|sidebar|related|recommended|comments?"
    r"|breadcrumbs?|pagination|pager|popup|modal|navbar|menu|skip-link)([\s_-]|$)"
)
_BOILERPLATE_RE = re.compile(_BOILERPLATE, re.I)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_HIDDEN_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search",
                           "dialog", "alert"})
_WITH_ATTRIBUTES = "[class],[id],[style],[role],[hidden],[aria-hidden]"  # rule 2's candidates
_MAIN = "main,[role=main]"
_BLOCKS = ",".join(_BLOCK_TAGS)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_ATTRIBUTE = rb"""[\s/]*+[^\s/>][^\s/>=]*+(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s>]*+))?+"""
_MANY_ATTRIBUTES = re.compile(rb"<[A-Za-z][^\s/>]*+(?:%s){%d}" % (_ATTRIBUTE, MAX_ATTRIBUTES + 1))
_TAG = re.compile(rb"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_START_NAME = re.compile(rb"<([A-Za-z][A-Za-z0-9-]*)")
_STACK_WALKERS = frozenset(  # start tags whose tree-building step may walk every open element
    b"address article aside blockquote center details dialog dir div dl fieldset figcaption "
    b"figure footer header hgroup main menu nav ol p search section summary ul h1 h2 h3 h4 h5 "
    b"h6 pre listing form li dd dt plaintext table button a nobr".split())
_FLAT_TAGS = frozenset(  # void elements, and those the next sibling closes (or never nested)
    b"area base br col embed hr img input link meta source track wbr param keygen frame "
    b"basefont bgsound image p li dt dd option optgroup tr td th rb rp rt rtc tbody thead "
    b"tfoot colgroup caption html head body".split())
_NOT_TEXT_CODECS = frozenset({"base64", "bz2_codec", "hex", "quopri", "rot-13", "uu", "zlib",
                              "utf-16", "utf-32", "utf-16-le", "utf-16-be", "utf-32-le",
                              "utf-32-be"})  # an ASCII-compatible page cannot declare these

_MONTHS = frozenset({
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june",
    "jul", "july", "aug", "august", "sep", "sept", "september", "oct", "october", "nov",
    "november", "dec", "december"})
_WEEKDAYS = frozenset({
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
_AGO_UNITS = frozenset({
    "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "hr", "hrs", "hour",
    "hours", "day", "days", "week", "weeks", "month", "months", "year", "years"})
_AGO_COUNTS = frozenset({"0", "a", "an", "one", "few", "several"})
_SPECIAL = _MONTHS | _WEEKDAYS | {"ago", "now", "0k", "0m", "0b"}
_NOISE_WORDS = _SPECIAL | {"0"}  # a block holding none of these (nor a 16+ letter token) is kept
_NUMBER = re.compile(r"\d[\d.,]*")
_CLOCK = re.compile(r"0:0(?::0)?(?: ?[ap]\.?m\b\.?)?")  # runs after numbers became 0
_NON_WORD = re.compile(r"[^\w\n]+")
_SPACE = re.compile(r"\s+")
_CONTROL_TO_SPACE = bytes.maketrans(bytes(range(32)), b" " * 9 + b"\t\n" + b" " * 2 + b"\r"
                                     + b" " * 18)  # all but tab, newline, carriage return
# The ASCII fast path of normalise_all: the same rules as _NUMBER, _CLOCK and _NON_WORD.
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_ZERO_RUN = re.compile(rb"0[0.,]+")
_CLOCK_BYTES = re.compile(_CLOCK.pattern.encode())
_NON_WORD_TO_SPACE = bytes(
    c if chr(c).isalnum() or c in b"_\n" else ord(" ") for c in range(128)) + bytes(128)
_TEXT_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class Fingerprint:
    """The fingerprint of one response body.

    ``raw_hash``: sha256 hex of the body bytes. ``text_hash``: sha256 hex of the normalised
    block set (None for binaries). ``signature``: the bottom-k sketch, ascending 32-bit ints
    (empty for binaries). ``excerpt``: the readable main text, one block a line, at most
    ``EXCERPT_CHARS`` characters. ``title``: the ``<title>`` text or None.
    """

    raw_hash: str
    text_hash: str | None
    signature: list[int] = field(default_factory=list)
    excerpt: str = ""
    title: str | None = None
    content_type: str | None = None
    extractor_version: str = EXTRACTOR_VERSION

    @property
    def is_binary(self) -> bool:
        return self.text_hash is None


def is_html(content_type: str | None, body: bytes) -> bool:
    """True for an HTML/XHTML content type, or no type and a body that starts like markup."""
    if content_type:
        return content_type.split(";")[0].strip().lower() in _TEXT_TYPES
    return body[:512].lstrip()[:1] == b"<"


def fingerprint(body: bytes, content_type: str | None, url: str) -> Fingerprint | None:
    """Fingerprint one response body; None when an HTML page has no main text at all.

    ``content_type`` is the Content-Type header (charset honoured); ``url`` is the base URL of
    the page (reserved for site rules; the result does not depend on it today). Never raises:
    a page that breaks the extractor anyway (a bug) gets no fingerprint (None).
    """
    try:
        return _fingerprint(body, content_type)
    except Exception:  # noqa: BLE001 - one odd page must never stop a crawl
        return None


def _fingerprint(body: bytes, content_type: str | None) -> Fingerprint | None:
    raw_hash = hashlib.sha256(body).hexdigest()
    if not is_html(content_type, body):
        return Fingerprint(raw_hash, None, content_type=content_type,
                           extractor_version=EXTRACTOR_VERSION)
    source = utf8(body, _charset(content_type))
    why = too_costly(source)
    if why is not None:  # the byte hash only, and a note where the text would be
        return Fingerprint(raw_hash, None, excerpt=f"not parsed: {why}; fingerprinted on its "
                           "bytes", content_type=content_type, extractor_version=EXTRACTOR_VERSION)
    title, text = _main_text(source)
    # normalisation collapses whitespace itself: raw lines give the keys of their blocks
    lines = [line for line in text.split("\n") if line and not line.isspace()]
    keys = [k for k in normalise_all(lines) if k]
    if not keys:
        return None
    text_hash = hashlib.sha256("\n".join(sorted(set(keys))).encode()).hexdigest()
    return Fingerprint(raw_hash, text_hash, sketch(keys), excerpt_of(_blocks(lines, EXCERPT_CHARS)),
                       title, content_type, EXTRACTOR_VERSION)


def _charset(content_type: str | None) -> str | None:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.I)
    return match.group(1) if match else None


def extract(body: bytes, charset: str | None = None) -> tuple[str | None, list[str]] | None:
    """``(title, readable blocks)`` of an HTML body by the module's rules; None when the page
    is over the parse budget (:func:`too_costly`).

    A block is one line of the main text with its whitespace collapsed; empty ones are left out.
    """
    source = utf8(body, charset)
    if too_costly(source) is not None:
        return None
    title, text = _main_text(source)
    return title, _blocks(text.split("\n"))


def too_costly(source: bytes) -> str | None:
    """Why parsing ``source`` (UTF-8 HTML) would cost more CPU than a page may, or None.

    HTML parsers (lexbor as lxml) check each new attribute against the element's earlier ones,
    and at the start of a block element (``div ul li p h1 table``...) walk the stack of open
    elements, so an element with 200,000 attributes, or elements nested 100,000 deep, cost
    minutes (issue 16). Two bounds keep every page's parse near linear in its size (which
    ``http.max_body_bytes`` bounds): ``MAX_ATTRIBUTES`` attributes in one start tag (a regular
    expression with possessive quantifiers: linear, about 0.1 ms for a 40 KB page) and
    ``MAX_DEPTH`` open elements, counted (:func:`_deeper_than`) only when the page has enough
    block start tags and nesting tags for that walk to matter (a count of tag names).
    """
    if _MANY_ATTRIBUTES.search(source):
        return f"a start tag with more than {MAX_ATTRIBUTES} attributes"
    if source.count(b"<") > MAX_DEPTH:
        counts: dict[bytes, int] = {}
        for name, count in Counter(_START_NAME.findall(source)).items():
            counts[name.lower()] = counts.get(name.lower(), 0) + count
        walkers = sum(counts.get(name, 0) for name in _STACK_WALKERS)
        opens = sum(n for name, n in counts.items() if name not in _FLAT_TAGS)
        if walkers * opens > MAX_DEPTH * MAX_DEPTH and _deeper_than(source, MAX_DEPTH):
            return f"elements nested more than {MAX_DEPTH} deep"
    return None


def _deeper_than(source: bytes, limit: int) -> bool:
    """True when the tags of ``source`` open more than ``limit`` elements at once.

    An upper bound of the parser's stack: every start tag opens an element except the void
    ones and those a sibling closes implicitly (``p li td``...); an end tag closes one.
    """
    depth = 0
    for match in _TAG.finditer(source):
        if match.group(1):
            depth = depth - 1 if depth else 0
        elif match.group(2).lower() not in _FLAT_TAGS:
            depth += 1
            if depth > limit:
                return True
    return False


def _blocks(lines: list[str], limit: int | None = None) -> list[str]:
    """The non-empty lines with whitespace collapsed; with ``limit``, only the first ones
    until their length passes ``limit`` characters."""
    out: list[str] = []
    length = 0
    for line in lines:
        block = " ".join(line.split())
        if block:
            out.append(block)
            length += len(block) + 1
            if limit is not None and length > limit:
                break
    return out


def _main_text(source: bytes) -> tuple[str | None, str]:
    """``(title, main text)`` of UTF-8 HTML: the text has a newline at every block element's
    start and end (rules 1-4 of the module docstring). Scripts count as enabled, so a
    ``<noscript>`` is one text node (dropped by rule 1), as in a browser."""
    # control characters read as spaces (as lxml-2 did in most places): one C-level pass
    tree = LexborHTMLParser(source.translate(_CONTROL_TO_SPACE), scripting=True)
    found = tree.css_first("title")
    title = _SPACE.sub(" ", found.text()).strip() or None if found is not None else None
    title = title[:MAX_TITLE_CHARS] if title else title
    tree.strip_tags(list(_DROP_TAGS), recursive=True)
    for node in tree.css(_WITH_ATTRIBUTES):
        attrs = node.attrs
        if node.tag not in _CONTAINERS and attrs.get("role") != "main" \
                and _is_boilerplate(attrs):
            node.decompose()  # unlinked with its subtree (freed with the document)
    main = _main(tree)
    for element in main.css(_BLOCKS):
        element.insert_before("\n")
        element.insert_after("\n")
    return title, main.text()[:MAX_TEXT_CHARS]


def utf8(body: bytes, charset: str | None) -> bytes:
    """``body`` as UTF-8 (itself when it is UTF-8 already: no copy).

    As browsers do (HTML Standard, "determining the character encoding"): a byte-order mark
    wins; then ``charset`` (from the Content-Type) if Python knows it; then a ``<meta>``
    charset in the first 1024 bytes; then UTF-8 when the bytes are valid UTF-8, else
    windows-1252. Undecodable bytes become U+FFFD. (lxml-2 read undeclared pages as
    Latin-1, so UTF-8 pages served as plain ``text/html`` came out garbled.)
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            rest = body[len(bom):]
            return rest if codec == "utf-8" else rest.decode(codec, "replace").encode()
    declared = charset or _meta_charset(body[:1024])
    if declared:
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            codec = ""
        if codec == "utf-8":
            return body
        if codec and codec not in _NOT_TEXT_CODECS:
            return body.decode(codec, "replace").encode("utf-8", "replace")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", "replace").encode()
    return body


def _meta_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def _is_boilerplate(attrs: Mapping[str, str | None]) -> bool:
    """True for an element hidden from readers or named as boilerplate (rule 2)."""
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    if attrs.get("role") in _HIDDEN_ROLES:
        return True
    style = attrs.get("style")
    if style and _HIDDEN_STYLE_RE.search(style):
        return True
    return any(_BOILERPLATE_RE.search(attrs.get(name) or "") for name in ("class", "id"))


def _main(tree: LexborHTMLParser) -> LexborNode:
    mains = tree.css(_MAIN)
    if mains:
        return mains[0]
    articles = tree.css("article")
    if len(articles) == 1:
        return articles[0]
    body = tree.body
    return body if body is not None else tree.root


def normalise(block: str) -> str:
    """The comparison key of one block: see the module docstring. May be empty."""
    return normalise_all([block])[0]


def normalise_all(blocks: list[str]) -> list[str]:
    """Comparison keys of blocks (one per block, possibly empty), in one pass over the text.

    ASCII text (the common case) takes a byte-level path with the same result: digits become
    ``0`` and non-word bytes spaces by ``bytes.translate``, and the number regex only has to
    collapse runs that start with a literal ``0`` (which the regex engine finds quickly).
    """
    text = unicodedata.normalize("NFKC", "\n".join(blocks)).casefold()[:MAX_NORMALISED_CHARS]
    if text.isascii():
        data = _ZERO_RUN.sub(b"0", text.encode().translate(_DIGITS_TO_ZERO))
        text = _CLOCK_BYTES.sub(b" ", data).translate(_NON_WORD_TO_SPACE).decode()
    else:
        text = _CLOCK.sub(" ", _NUMBER.sub("0", text))
        text = _NON_WORD.sub(" ", text)
    keys = []
    for line in text.split("\n"):
        words = line.split()
        if _NOISE_WORDS.isdisjoint(words) and (len(line) < 16
                                               or max(map(len, words), default=0) < 16):
            keys.append(" ".join(words))  # the common case: nothing to drop (C-level checks)
        else:
            keys.append(" ".join(_words(words)))
    return keys + [""] * (len(blocks) - len(keys))  # blocks cut off by MAX_NORMALISED_CHARS


def _words(words: list[str]) -> list[str]:
    """Drop noise words of one block (see the module docstring); ``words`` are normalised."""
    out: list[str] = []
    prev = ""
    for i, word in enumerate(words):
        if len(word) < 16 and word not in _SPECIAL and prev != "0":
            out.append(word)
            prev = word
            continue
        word = _special(word, i, words, out)
        if word:
            out.append(word)
        prev = out[-1] if out else ""
    return out


def _special(word: str, i: int, words: list[str], out: list[str]) -> str:
    """The slow path of :func:`_words`: the word to keep ("" to drop); may pop from ``out``."""
    prev = out[-1] if out else ""
    if len(word) >= 16 and not word.isalpha():
        return ""  # a token: hash, session id, CSRF value
    following = words[i + 1] if i + 1 < len(words) else ""
    if word in _WEEKDAYS or (word in _MONTHS and "0" in (prev, following)):
        return ""
    if word == "ago" and prev in _AGO_UNITS:
        out.pop()
        while out and out[-1] in _AGO_COUNTS:  # "a few", "an", "0"
            out.pop()
        return ""
    if word == "now" and prev == "just":
        out.pop()
        return ""
    if word in ("0k", "0m", "0b"):  # 1.2k views
        return "0"
    if prev == "0" and len(word) > 2 and word[-1] == "s":
        return word[:-1]  # "1 view" = "2 views"
    return word


def shingle_hashes(keys: list[str]) -> np.ndarray:
    """32-bit hashes (as ``uint64``, unsorted, with repeats) of the word ``SHINGLE``-grams
    inside each normalised block; a block of fewer words is one shingle.

    A shingle's hash is a 64-bit polynomial hash of its UTF-8 bytes (words joined by one
    space; multiplier ``_MULTIPLIER``, byte values + 1, modulo 2**64) put through the
    splitmix64 finaliser (Steele, Lea and Flood 2014, "Fast splittable pseudorandom number
    generators"), top 32 bits. All of it is array arithmetic over the text's bytes: prefix
    sums give every substring's hash without a Python-level step per word or shingle.
    """
    import numpy as np  # imported on first use: the CLI starts 0.2 s sooner
    data = "\n".join(keys).encode()[:MAX_SKETCH_BYTES]
    size = len(data)
    if not size:
        return np.empty(0, dtype=np.uint64)
    raw = np.frombuffer(data, dtype=np.uint8)
    newline = raw == 10
    in_word = np.concatenate(([0], (~(newline | (raw == 32))).view(np.int8), [0]))
    step = np.diff(in_word)
    starts, ends = np.flatnonzero(step == 1), np.flatnonzero(step == -1)  # [start, end)
    if not len(starts):
        return np.empty(0, dtype=np.uint64)
    block = np.searchsorted(np.flatnonzero(newline), starts)  # block number of every word
    powers, inverses = _powers(size)
    prefix = np.zeros(size + 1, dtype=np.uint64)
    np.cumsum((raw + np.uint64(1)) * powers, out=prefix[1:])
    last = SHINGLE - 1
    whole = block[:-last] == block[last:] if len(starts) > last else np.zeros(0, dtype=bool)
    first_word, last_word = np.flatnonzero(whole), np.flatnonzero(whole) + last
    counts = np.bincount(block)
    short = np.flatnonzero((counts > 0) & (counts < SHINGLE))
    if len(short):  # a block of 1 or 2 words: the whole block is one shingle
        offsets = np.concatenate(([0], np.cumsum(counts)))
        first_word = np.concatenate((first_word, offsets[short]))
        last_word = np.concatenate((last_word, offsets[short] + counts[short] - 1))
    begin = starts[first_word]
    value = (prefix[ends[last_word]] - prefix[begin]) * inverses[begin]
    value ^= value >> np.uint64(30)
    value *= np.uint64(0xBF58476D1CE4E5B9)
    value ^= value >> np.uint64(27)
    value *= np.uint64(0x94D049BB133111EB)
    value ^= value >> np.uint64(31)
    return value >> np.uint64(32)


def shingles(keys: list[str]) -> set[int]:
    """The set of shingle hashes of ``keys`` (see :func:`shingle_hashes`)."""
    return set(shingle_hashes(keys).tolist())


def sketch(keys: list[str]) -> list[int]:
    """The bottom-``SKETCH_SIZE`` sketch (ascending 32-bit ints) of the shingle set of
    ``keys``."""
    import numpy as np  # imported on first use: the CLI starts 0.2 s sooner
    hashes = np.sort(shingle_hashes(keys))
    if len(hashes) > 1:
        hashes = hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))]
    return hashes[:SKETCH_SIZE].tolist()


_POWERS: list[np.ndarray] = []  # [m**i, m**-i] modulo 2**64
_POWERS_KEPT = 1 << 18  # entries (2 x 2 MB) the cache may hold


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(m**i, m**-i)`` modulo 2**64 for i < ``size`` (m = ``_MULTIPLIER``), cached and
    grown by doubling."""
    import numpy as np  # imported on first use: the CLI starts 0.2 s sooner
    if _POWERS and len(_POWERS[0]) >= size:
        return _POWERS[0][:size], _POWERS[1][:size]
    length = max(size, min(2 * len(_POWERS[0]), _POWERS_KEPT) if _POWERS else 1 << 16)
    ups = np.full(length, _MULTIPLIER, dtype=np.uint64)
    downs = np.full(length, pow(_MULTIPLIER, -1, 1 << 64), dtype=np.uint64)
    ups[0] = downs[0] = 1
    powers = [np.cumprod(ups), np.cumprod(downs)]
    if length <= _POWERS_KEPT:  # a rare huge page does not pin its arrays for the process
        _POWERS[:] = powers
    return powers[0][:size], powers[1][:size]


def sketch_similarity(a: list[int], b: list[int], size: int = SKETCH_SIZE) -> float:
    """Estimated Jaccard similarity in [0, 1] of the sets behind two bottom-k sketches.

    Exact when both sets had fewer than ``size`` shingles. Two empty sketches are identical.
    """
    if not a and not b:
        return 1.0
    sa, sb = set(a), set(b)
    union = nsmallest(size, sa | sb)
    both = sum(1 for h in union if h in sa and h in sb)
    return both / len(union)


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Similarity in [0, 1] of two fingerprints of the same extractor version.

    Binaries (and a binary against text) compare by byte hash: 1.0 or 0.0. Equal normalised
    text is 1.0; otherwise the sketch estimate, rounded to 3 decimals.
    """
    if a.is_binary or b.is_binary:
        return 1.0 if a.raw_hash == b.raw_hash else 0.0
    if a.text_hash == b.text_hash:
        return 1.0
    return round(sketch_similarity(a.signature, b.signature), 3)


def excerpt_of(blocks: list[str], limit: int = EXCERPT_CHARS) -> str:
    """The first blocks, one a line, cut to ``limit`` characters."""
    return "\n".join(blocks)[:limit]


def text_diff(old: str, new: str, limit: int = 300) -> tuple[str, str]:
    """``(removed, added)``: excerpt lines of ``old`` missing from ``new`` and the reverse.

    Lines are compared by their normalised key (so a changed date does not count); each side
    is joined with " / " and cut to ``limit`` characters ("…" appended when cut).
    """
    def keys(text: str) -> set[str]:
        return {normalise(line) for line in text.splitlines()}

    def pick(text: str, other: set[str]) -> str:
        lines = [ln for ln in text.splitlines() if ln.strip() and normalise(ln) not in other]
        joined = " / ".join(lines)
        return joined if len(joined) <= limit else joined[:limit - 1].rstrip() + "…"

    return pick(old, keys(new)), pick(new, keys(old))

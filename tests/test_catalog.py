"""Tests for monitor.catalog: loading, writing, appending, kinds and Markdown extraction."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.catalog import (
    KINDS,
    KNOWN_COLUMNS,
    CatalogError,
    CatalogProblem,
    CatalogRow,
    append_row,
    guess_kind,
    load_catalog,
    read_catalog_text,
    write_catalog,
)
from monitor.catalog.extract import extract
from monitor.errors import EXIT_CONFIG, MonitorError

HEADER = "url,title,section,chapter,kind,source,added,notes\n"


def _write(tmp_path: Path, data: bytes | str, name: str = "catalog.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# ---------------------------------------------------------------- load


def test_load_good_rows(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER
                  + "https://youtu.be/dA-NhCtrrVE?si=x,LoRA,Section IV,LoRA,video,s.md:1,,\n"
                  + "https://arxiv.org/pdf/1706.03762,Attention,,,,,2024-06-05,read\n")
    rows, problems = load_catalog(path)
    assert problems == []
    assert [r.canonical_url for r in rows] == [
        "https://www.youtube.com/watch?v=dA-NhCtrrVE", "https://arxiv.org/abs/1706.03762"]
    assert rows[0].url == "https://youtu.be/dA-NhCtrrVE?si=x"
    assert (rows[0].title, rows[0].section, rows[0].kind, rows[0].line) == (
        "LoRA", "Section IV", "video", 2)
    assert rows[1].kind == "paper", "empty kind is guessed"
    assert (rows[1].added, rows[1].notes, rows[1].line) == ("2024-06-05", "read", 3)


def test_bad_rows_are_problems_with_line_numbers(tmp_path: Path) -> None:
    text = (HEADER
            + "https://ok.example/1,one\n"        # 2
            + ",no url\n"                         # 3
            + "ftp://x,ftp\n"                     # 4
            + "this is garbage\n"                 # 5
            + "\n"                                # 6 blank: ignored
            + "https://OK.example/1#frag,dup\n"   # 7
            + "https://ok.example/2,a,b,c,d,e,f,g,h,i\n"  # 8 too many fields
            + "https://ok.example/3,three,,,weird\n")     # 9 unknown kind: kept
    rows, problems = load_catalog(_write(tmp_path, text))
    assert [r.line for r in rows] == [2, 9]
    assert rows[1].kind == "site"
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'catalog.csv'}:3: empty url",
        f"{tmp_path / 'catalog.csv'}:4: not http/https: ftp://x",
        f"{tmp_path / 'catalog.csv'}:5: not a URL: this is garbage",
        f"{tmp_path / 'catalog.csv'}:7: duplicate of line 2",
        f"{tmp_path / 'catalog.csv'}:8: 10 fields, header has 8",
        f"{tmp_path / 'catalog.csv'}:9: unknown kind 'weird', using 'site'",
    ]


def test_problem_str() -> None:
    assert str(CatalogProblem("catalog.csv", 12, "not http/https: ftp://x")) == (
        "catalog.csv:12: not http/https: ftp://x")


def test_multiline_quoted_fields_keep_physical_line_numbers() -> None:
    text = ('url,notes\n'
            'https://a.example/,"line one\nline two\nline three"\n'   # lines 2-4
            'ftp://bad,x\n'                                          # line 5
            'https://b.example/,"x\r\ny"\n'                          # lines 6-7
            'https://a.example/#again,\n')                           # line 8
    rows, problems = read_catalog_text(text, "c.csv")
    assert [(r.line, r.notes) for r in rows] == [
        (2, "line one\nline two\nline three"), (6, "x\r\ny")]
    assert [str(p) for p in problems] == [
        "c.csv:5: not http/https: ftp://bad", "c.csv:8: duplicate of line 2"]


def test_bom_and_crlf_tolerated(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbfurl,Title\r\nhttps://a.example/,A\r\n")
    rows, problems = load_catalog(path)
    assert problems == [] and rows[0].title == "A" and rows[0].line == 2


def test_extra_columns_kept_in_order() -> None:
    rows, _ = read_catalog_text("rating,url,Owner\n5,https://a.example/,me\n")
    assert rows[0].extra == (("rating", "5"), ("Owner", "me"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"title,notes\nx,y\n", "no 'url' column"),
        (b"", "empty file"),
        (b"\n\n", "empty file"),
        (b"url\nhttps://a.example/\xff\n", "catalog.csv:2: not UTF-8"),
        (b"url\nhttps://a.\x00example/\n", "catalog.csv:2: NUL byte"),
        (b"url,URL\nhttps://a.example/,x\n", "duplicate column"),
    ],
)
def test_unusable_file_raises_catalog_error(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        load_catalog(_write(tmp_path, data))


def test_missing_file_raises_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.csv")


def test_catalog_error_exit_code() -> None:
    assert issubclass(CatalogError, MonitorError) and CatalogError.exit_code == EXIT_CONFIG == 3


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from([b"url", b",", b"\"", b"\n", b"\r", b"https://a.example/x",
                              b"ftp://x", b"kind", b"paper", b"\xef\xbb\xbf", b"\xff", b" "]),
             max_size=30).map(b"".join),
))
def test_any_bytes_give_rows_or_catalog_error(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, data)
    try:
        rows, problems = load_catalog(path)
    except CatalogError:
        return
    assert all(isinstance(r, CatalogRow) and r.line >= 2 for r in rows)
    assert all(isinstance(p, CatalogProblem) for p in problems)


_CSV_BYTES = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from([b"url", b",", b"\"", b"\n", b"\r\n", b"https://a.example/x",
                              b"http://[bad", b"title", b"\xef\xbb\xbf", b"\xff", b"\x00"]),
             max_size=25).map(b"".join),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_CSV_BYTES)
def test_any_bytes_give_a_clear_answer_on_the_command_line(tmp_path: Path, data: bytes) -> None:
    """``catalog validate`` on any bytes: a count, problems naming file:line, or exit 3 with an
    error naming the file; never a traceback."""
    from click.testing import CliRunner

    from monitor.cli import main

    path = _write(tmp_path, data)
    result = CliRunner().invoke(main, ["catalog", "validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 3) and "Traceback" not in result.output
    if result.exit_code == 0:
        assert f"{path}: " in result.output
    else:
        assert "catalog.csv" in result.output


# ---------------------------------------------------------------- write / append


def test_write_read_round_trip(tmp_path: Path) -> None:
    rows = [
        CatalogRow("https://a.example/", "https://a.example/", title='A "quoted", title',
                   section="S", kind="site", extra=(("rating", "5"),)),
        CatalogRow("https://youtu.be/dA-NhCtrrVE", "https://www.youtube.com/watch?v=dA-NhCtrrVE",
                   notes="multi\nline", kind="video", extra=(("owner", "me"), ("rating", "1"))),
    ]
    path = tmp_path / "out.csv"
    write_catalog(rows, path)
    text = path.read_text("utf-8")
    assert text.splitlines()[0] == ",".join(KNOWN_COLUMNS) + ",rating,owner"
    assert "\r" not in text
    loaded, problems = load_catalog(path)
    assert problems == []
    assert [(r.url, r.title, r.notes, r.kind) for r in loaded] == [
        (r.url, r.title, r.notes, r.kind) for r in rows]
    assert loaded[0].extra == (("rating", "5"), ("owner", ""))
    assert loaded[1].extra == (("rating", "1"), ("owner", "me"))
    stream = io.StringIO()
    write_catalog(rows, stream)
    assert stream.getvalue() == text, "deterministic, same bytes to a stream"


@pytest.mark.parametrize("ending", [b"\n", b"", b"\r\n"])
def test_append_row_keeps_other_bytes(tmp_path: Path, ending: bytes) -> None:
    newline = b"\r\n" if ending == b"\r\n" else b"\n"
    original = (b"\xef\xbb\xbfnotes,url,custom" + newline
                + b'"odd ""quoted""\nnote",https://a.example/,x' + newline
                + b"  spaced  ,https://b.example/,  y  " + ending)
    path = _write(tmp_path, original)
    append_row(path, {"url": "https://c.example/", "custom": "v,1", "notes": "n"})
    data = path.read_bytes()
    prefix = original + (b"" if ending else b"\n")
    assert data[: len(prefix)] == prefix
    assert data[len(prefix):] == b'n,https://c.example/,"v,1"' + newline
    rows, problems = load_catalog(path)
    assert problems == [] and rows[-1].extra == (("custom", "v,1"),)


def test_append_row_rejects_unknown_column(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER)
    with pytest.raises(CatalogError, match="unknown columns"):
        append_row(path, {"url": "https://a.example/", "nope": "x"})
    assert path.read_text() == HEADER


# ---------------------------------------------------------------- kinds


@pytest.mark.parametrize(
    ("url", "title", "kind"),
    [
        ("https://arxiv.org/pdf/1909.05207.pdf", "", "paper"),
        ("https://youtu.be/dA-NhCtrrVE", "", "video"),
        ("https://www.youtube.com/playlist?list=PLzvYlJMoZ02", "", "playlist"),
        ("https://www.youtube.com/@statquest/playlists", "", "channel"),
        ("https://www.youtube.com/c/3blue1brown", "", "channel"),
        ("https://github.com/mlabonne/llm-course", "", "repo"),
        ("https://web.stanford.edu/~boyd/cvxbook/bv_cvxbook.pdf", "a textbook", "book"),
        ("https://links.uwaterloo.ca/math227docs/set4.pdf", "notes", "paper"),
        ("https://lilianweng.github.io/posts/2018-02-19-rl-overview/", "", "blog"),
        ("https://cameronrwolfe.substack.com/p/decoder-only", "", "blog"),
        ("https://medium.com/@someone/post", "", "blog"),
        ("https://docs.vllm.ai/en/stable/", "", "docs"),
        ("https://transformers.readthedocs.io/", "", "docs"),
        ("https://pytorch.org/docs/stable/index.html", "", "docs"),
        ("https://www.coursera.org/learn/machine-learning", "", "course"),
        ("https://web.stanford.edu/class/cs224n/", "", "course"),
        ("https://www.deeplearningbook.org/", "", "book"),
        ("https://www.anthropic.com/", "", "site"),
        ("ftp://x", "", "other"),
    ],
)
def test_guess_kind(url: str, title: str, kind: str) -> None:
    assert guess_kind(url, title) == kind
    assert kind in KINDS


# ---------------------------------------------------------------- extract (synthetic)


def test_extract_includes_sections_titles_and_sources(tmp_path: Path) -> None:
    inc = tmp_path / "_includes"
    inc.mkdir()
    (inc / "intro.md").write_text(
        '<h1 id="intro">Introduction</h1>\n\nSee [Foo](https://foo.example/a?utm_source=x).\n')
    (inc / "one.md").write_text(
        "Intro text with a [link](https://one.example/)\n\n<h2>Chapter A</h2>\n"
        "Kramdown text right after the heading: [Inner](https://inner.example/)\n\n"
        '## Chapter B\n\nRaw <a href="https://raw.example/">raw anchor</a> and\n'
        "this great [video](https://youtu.be/abcdefghijk?si=1) on things.\n"
        "Again [Foo again](https://foo.example/a#x) and [rel](other.html) [anchor](#top)\n")
    (inc / "credits.md").write_text("Thanks to [Bob](https://bob.example/).\n")
    index = tmp_path / "index.md"
    index.write_text(
        "---\nlayout: default\n---\n\n[Top](https://top.example/)\n\n{% include intro.md %}\n\n"
        '<div class="section">\n  <h1>Section One</h1>\n  <div markdown="1">\n'
        "    {% include one.md %}\n  </div>\n</div>\n\n{% include credits.md %}\n"
        "{% include missing.md %}\n")
    rows, problems = extract([index, inc / "one.md", inc / "intro.md", inc / "credits.md"])
    got = [(r.canonical_url, r.section, r.chapter, r.title, r.source) for r in rows]
    assert got == [
        ("https://top.example/", "Introduction", "", "Top", "index.md:5"),
        ("https://foo.example/a", "Introduction", "", "Foo", "_includes/intro.md:3"),
        ("https://one.example/", "Section One", "", "Intro text with a link",
         "_includes/one.md:1"),
        ("https://inner.example/", "Section One", "Chapter A", "Inner", "_includes/one.md:4"),
        ("https://raw.example/", "Section One", "Chapter B", "raw anchor", "_includes/one.md:8"),
        ("https://www.youtube.com/watch?v=abcdefghijk", "Section One", "Chapter B",
         "Raw raw anchor and this great video on things.", "_includes/one.md:9"),
        ("https://bob.example/", "Credits", "", "Bob", "_includes/credits.md:1"),
    ]
    assert [str(p) for p in problems] == ["index.md:17: include not found: missing.md"]


def test_extract_standalone_file_uses_first_h1_or_stem(tmp_path: Path) -> None:
    (tmp_path / "awesome-list.md").write_text("* [A](https://a.example/)\n\n# Big List\n")
    (tmp_path / "reading_notes.md").write_text("[B](https://b.example/) [B2](http://b.example)\n")
    rows, _ = extract([tmp_path / "awesome-list.md", tmp_path / "reading_notes.md"])
    assert [(r.canonical_url, r.section) for r in rows] == [
        ("https://a.example/", "Big List"), ("https://b.example/", "Reading Notes"),
        ("http://b.example/", "Reading Notes")]


# ---------------------------------------------------------------- extract (the real handbook)

HANDBOOK = Path(__file__).resolve().parents[2] / "shared" / "handbook"
HANDBOOK_LINKS = 271


@pytest.fixture(scope="module")
def handbook() -> dict[str, CatalogRow]:
    if not (HANDBOOK / "index.md").is_file():
        pytest.skip(f"handbook not found at {HANDBOOK} (../shared/handbook beside the repo)")
    paths = [HANDBOOK / "index.md", *sorted((HANDBOOK / "_includes").glob("*.md"))]
    rows, problems = extract(paths)
    assert problems == []
    return {row.canonical_url: row for row in rows}


def test_handbook_distinct_links(handbook: dict[str, CatalogRow]) -> None:
    assert len(handbook) == HANDBOOK_LINKS


def test_handbook_spellings_merge(handbook: dict[str, CatalogRow]) -> None:
    lora = handbook["https://www.youtube.com/watch?v=dA-NhCtrrVE"]
    assert lora.url == "https://youtu.be/dA-NhCtrrVE?si=TpJkPfYxngQQ0iGj"
    assert handbook["https://github.com/mlabonne/llm-course"].url == (
        "https://github.com/mlabonne/llm-course")
    assert not any("tab=" in url or "si=" in url or "list=" in url for url in handbook
                   if "playlist" not in url)
    karpathy = handbook["https://www.youtube.com/watch?v=VMj-3S1tku0"]
    assert "&list=" in karpathy.url, "first spelling (with &list=) wins, the bare one merged"


def test_handbook_sections_chapters_sources(handbook: dict[str, CatalogRow]) -> None:
    clt = handbook["https://www.youtube.com/watch?v=zeJD6dqJ5lo"]
    assert clt.section == "Section I: Foundations of Sequential Prediction"
    assert clt.chapter == "Statistical Prediction and Supervised Learning"
    assert clt.source == "_includes/section1.md:15"
    assert clt.kind == "video"
    assert clt.title.startswith("This beautifully-animated 3Blue1Brown video is a great")
    top = handbook["https://willcb.com/"]
    assert (top.section, top.source) == ("Introduction", "index.md:7")
    assert handbook["https://openai.com/"].section == "Introduction"
    longformer = handbook["https://arxiv.org/abs/2004.05150"]
    assert longformer.section == "Section VII: Sub-Quadratic Context Scaling"
    assert longformer.chapter == "Sliding Window Attention"
    assert handbook["https://arxiv.org/abs/1909.05207"].kind == "paper"
    gans = handbook["https://blog.paperspace.com/conditional-generative-adversarial-networks/"]
    assert gans.chapter == "Conditional GANs"
    assert handbook["https://www.youtube.com/watch?v=dA-NhCtrrVE"].title == (
        "LoRA paper walkthrough (video, part 1)")


def test_handbook_extract_is_deterministic(tmp_path: Path) -> None:
    if not (HANDBOOK / "index.md").is_file():
        pytest.skip(f"handbook not found at {HANDBOOK}")
    paths = [HANDBOOK / "index.md", *sorted((HANDBOOK / "_includes").glob("*.md"))]
    outputs = []
    for name in ("a.csv", "b.csv"):
        write_catalog(extract(list(reversed(paths[1:])) + paths[:1] if name == "b.csv"
                              else paths)[0], tmp_path / name)
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    rows = list(csv.DictReader(io.StringIO(outputs[0].decode())))
    assert len(rows) == HANDBOOK_LINKS


def test_extract_html_blocks(tmp_path: Path) -> None:
    (tmp_path / "_includes").mkdir()
    (tmp_path / "_includes" / "nested.md").write_text("[N](https://nested.example/)\n")
    (tmp_path / "_includes" / "part.md").write_text(
        "<!--\n[Hidden](https://hidden.example/)\n-->\n\n<pre>\n<a href=\"https://pre.example/\">"
        "</a>\n</pre>\n\n<div>\n    Indented [Kept](https://kept.example/)\n</div>\n\n"
        "{% include nested.md %}\n")
    (tmp_path / "index.md").write_text(
        '<div class="section">\n<h1>Part</h1>\n{% include part.md %}\n</div>\n')
    rows, problems = extract([tmp_path / "index.md"])
    assert problems == []
    assert [(r.canonical_url, r.section, r.source) for r in rows] == [
        ("https://pre.example/", "Part", "_includes/part.md:6"),
        ("https://kept.example/", "Part", "_includes/part.md:10"),
        ("https://nested.example/", "Part", "_includes/nested.md:1"),
    ]


def test_extract_reproduces_the_committed_catalog_byte_for_byte(tmp_path: Path) -> None:
    """`monitor catalog extract index.md _includes/*.md -o catalog.csv` == the committed file."""
    from click.testing import CliRunner

    from monitor.cli import main

    repo = Path(__file__).resolve().parents[1]
    handbook = repo.parent / "shared" / "handbook"
    if not handbook.is_dir():
        pytest.skip(f"handbook sources not found at {handbook}")
    out = tmp_path / "catalog.csv"
    paths = [str(handbook / "index.md"), *sorted(str(p) for p in handbook.glob("_includes/*.md"))]
    result = CliRunner().invoke(main, ["catalog", "extract", *paths, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (repo / "catalog.csv").read_bytes()


def test_an_unterminated_quote_is_a_file_error_not_a_swallowed_rest(tmp_path: Path) -> None:
    """Otherwise the rows after the quote would vanish and be deactivated by the next sync."""
    path = _write(tmp_path, 'url,title\nhttps://a.test/,"A\nhttps://b.test/x,B\n'
                            "https://c.test/,C\n")
    with pytest.raises(CatalogError, match=r"catalog.csv:2: not CSV: .*never closed"):
        load_catalog(path)


def test_a_url_field_spanning_lines_is_a_bad_row(tmp_path: Path) -> None:
    path = _write(tmp_path, 'url,title\nhttps://a.test/,A\n"https://b.test/x\ny",B\n')
    rows, problems = load_catalog(path)
    assert [r.url for r in rows] == ["https://a.test/"]
    assert problems[0].line == 3 and "spans lines" in problems[0].message


def test_long_urls_and_bad_dates_are_reported(tmp_path: Path) -> None:
    long_url = "https://a.test/" + "x" * 3000
    path = _write(tmp_path, f"url,added\n{long_url},\nhttps://b.test/,2024-01-01 (by me)\n")
    rows, problems = load_catalog(path)
    assert [r.url for r in rows] == ["https://b.test/"] and rows[0].added == ""
    assert [p.line for p in problems] == [2, 3]


# ---------------------------------------------------------------- extract (hostile sources)


def test_extract_skips_a_file_that_is_not_utf8_and_names_its_line(tmp_path: Path) -> None:
    from monitor.catalog.extract import extract_sources

    (tmp_path / "_includes").mkdir()
    (tmp_path / "_includes" / "bad.md").write_bytes(b"ok\r\n[a](https://a.example/)\nbad \xe0 x\n")
    (tmp_path / "_includes" / "good.md").write_text("[b](https://b.example/)\n")
    (tmp_path / "index.md").write_text("{% include bad.md %}\n{% include good.md %}\n")
    found = extract_sources([tmp_path / "index.md"])
    assert [r.canonical_url for r in found.rows] == ["https://b.example/"]
    assert [str(p) for p in found.problems] == [
        "_includes/bad.md:3: not UTF-8 (byte 32); file skipped"]
    assert found.skipped == ("_includes/bad.md",) and found.base == tmp_path


def test_extract_an_html_block_in_a_list_item_does_not_recurse(tmp_path: Path) -> None:
    path = tmp_path / "list.md"
    path.write_text('- <br>\n- <a href="https://a.example/">a</a>\n- [b](https://b.example/)\n')
    rows, problems = extract([path])
    assert [(r.canonical_url, r.source) for r in rows] == [
        ("https://a.example/", "list.md:2"), ("https://b.example/", "list.md:3")]
    assert problems == []


def test_extract_reads_an_href_without_surrounding_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text('<a href=" https://a.example/x ">a</a> and <a href="\thttps://b.example/">b</a>\n')
    rows, _ = extract([path])
    assert [(r.url, r.source) for r in rows] == [("https://a.example/x", "a.md:1"),
                                                 ("https://b.example/", "a.md:1")]


def test_extract_names_a_symlinked_source_by_its_own_path(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "real.md").write_text("# Part\n\n[a](https://a.example/)\n")
    site = tmp_path / "site"
    (site / "_includes").mkdir(parents=True)
    (site / "_includes" / "part.md").symlink_to(elsewhere / "real.md")
    (site / "index.md").write_text("{% include part.md %}\n")
    rows, _ = extract([site / "index.md", site / "_includes" / "part.md"])
    assert [(r.source, r.section) for r in rows] == [("_includes/part.md:3", "Part")]

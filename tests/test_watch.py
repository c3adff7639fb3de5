"""The arXiv watch and triage (SPEC §8, §10) against a fake arXiv API on the simulated web."""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from monitor.cli import main
from monitor.cli.watch import arxiv as arxiv_command
from monitor.cli.watch import suggestions as suggestions_group
from monitor.config import Settings
from monitor.errors import AlreadyDecided, ArxivUnavailable, UnknownSuggestion
from monitor.fetch.arxiv_api import ArxivClient as WatchClient
from monitor.fetch.arxiv_api import error_entry_message
from monitor.report.model import suggestion_object
from monitor.sites.arxiv import parse_arxiv_id, versionless
from monitor.store.db import Database
from monitor.store.models import ArxivCursor, Suggestion
from monitor.store.suggestions import list_suggestions
from monitor.watch.profiles import build_chapters, build_profiles
from monitor.watch.score import Scorer, SectionProfile, best_chapter, load_chapters
from monitor.watch.triage import accept, reject
from monitor.watch.watcher import WatchResult, watch
from tests.cli_helpers import monitor, write_config
from tests.feeds import FakeArxiv, FeedPaper
from tests.simweb import SimWeb

main.add_command(arxiv_command)
main.add_command(suggestions_group)

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "arxiv"
TODAY = date(2026, 7, 9)
NOW = datetime(2026, 7, 8, 18, 0, tzinfo=UTC)
SPEC_KEYS = {"id", "arxiv_id", "version", "title", "authors", "published", "categories", "score",
             "section", "chapter", "matched_terms", "status", "url"}

TEXTS = {
    "lora": ("LoRA: Low-Rank Adaptation of Large Language Models",
             "We propose Low-Rank Adaptation, or LoRA, which freezes the pre-trained model weights "
             "and injects trainable rank decomposition matrices into each layer of the Transformer "
             "architecture, greatly reducing the number of trainable parameters for finetuning."),
    "dpo": ("Direct Preference Optimization: Your Language Model is Secretly a Reward Model",
            "RLHF is a complex and often unstable procedure, first fitting a reward model that "
            "reflects the human preferences, and then fine-tuning the large unsupervised LM using "
            "reinforcement learning. We introduce direct preference optimization (DPO)."),
    "flash": ("FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
              "Transformers are slow and memory-hungry on long sequences, since the time and "
              "memory complexity of self-attention are quadratic in sequence length. We make "
              "attention IO-aware, accounting for reads and writes between levels of GPU memory."),
    "mamba": ("Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
              "Many subquadratic-time architectures such as linear attention, gated convolution "
              "and recurrent models, and structured state space models (SSMs) have been developed "
              "to address Transformers' computational inefficiency on long sequences."),
    "diffusion": ("Denoising Diffusion Probabilistic Models",
                  "We present high quality image synthesis results using diffusion probabilistic "
                  "models, a class of latent variable models, trained on a weighted variational "
                  "bound with denoising score matching."),
    "astro": ("Frequency of Hot Jupiters and Very Hot Jupiters from the OGLE-III Transit Surveys",
              "We derive the frequencies of hot Jupiters with 3--5 day periods and very hot "
              "Jupiters with 1-3 day periods by comparing the planets actually detected in the "
              "OGLE-III survey with those predicted by our models."),
}


def paper(arxiv_id: str, kind: str, hours_ago: float, *cats: str, version: int = 1,
          now: datetime = NOW, title: str | None = None) -> FeedPaper:
    """A listed paper with the text of ``TEXTS[kind]``, ``hours_ago`` before ``now``."""
    default_title, abstract = TEXTS[kind]
    return FeedPaper(arxiv_id, title or default_title, abstract, now - timedelta(hours=hours_ago),
                     cats or ("cs.CL",), version)


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def watch_db(db: Database) -> Database:
    """The shared migrated test database (tests/dbutil.py)."""
    return db


@pytest.fixture
def api(simweb: SimWeb) -> FakeArxiv:
    """The fake arXiv API at ``api_url(simweb)``."""
    fake = FakeArxiv()
    simweb.route("127.0.0.1", "/api/query", fake)
    return fake


def api_url(simweb: SimWeb) -> str:
    return f"http://127.0.0.1:{simweb.http_port}/api/query"


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """A catalog with one non-arXiv row, CRLF line endings and a quoted field."""
    path = tmp_path / "catalog.csv"
    path.write_bytes(b"url,title,section,kind,added,notes\r\n"
                     b'https://example.org/a,"A, quoted",Section I,blog,2024-01-01,keep me\r\n')
    return path


@pytest.fixture
def settings(simweb: SimWeb, catalog: Path) -> Settings:
    s = Settings()
    s.set("arxiv.api_url", api_url(simweb))
    s.set("arxiv.delay_seconds", 0.0)
    s.set("arxiv.categories", ["cs.CL"])
    s.set("catalog.path", str(catalog))
    s.set("http.timeout", 5.0)
    return s


class Sleeps(list[float]):
    """Records backoff waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(simweb: SimWeb, page_size: int = 2, retries: int = 2) -> WatchClient:
    return WatchClient(api_url(simweb), page_size=page_size, delay_seconds=0.0, retries=retries,
                       timeout=5.0, sleep=Sleeps())


def run(db: Database, settings: Settings, simweb: SimWeb, **kw: object) -> WatchResult:
    return watch(db, settings, client=client(simweb, **kw), today=TODAY)  # type: ignore[arg-type]


def stored(db: Database) -> dict[str, Suggestion]:
    return {s.arxiv_id: s for s in list_suggestions(db)}


# ---------------------------------------------------------------- identity and scoring


@pytest.mark.parametrize(("text", "expected"), [
    ("http://arxiv.org/abs/2401.12345v2", ("2401.12345", 2)),
    ("https://arxiv.org/pdf/2401.12345v3.pdf", ("2401.12345", 3)),
    ("http://arxiv.org/abs/hep-th/9901001v1", ("hep-th/9901001", 1)),
    ("http://arxiv.org/abs/math.GT/0309136", ("math.GT/0309136", None)),
    ("arXiv:1706.03762", ("1706.03762", None)),
    ("astro-ph/0601001v1", ("astro-ph/0601001", 1)),
    ("https://example.org/abs/2401.12345", None),
    ("12", None),
])
def test_arxiv_identity(text: str, expected: tuple[str, int | None] | None) -> None:
    assert parse_arxiv_id(text) == expected
    assert versionless(text) == (expected[0] if expected else None)


def test_scorer_ranks_and_explains() -> None:
    scorer = Scorer.default()
    lora = scorer.score(*TEXTS["lora"])
    astro = scorer.score(*TEXTS["astro"])
    assert 0 <= astro.value < 0.1 < lora.value <= 1
    assert lora.section == "Section IV: Finetuning Methods for LLMs"
    assert "LoRA" in lora.terms
    assert lora.explanation.startswith("matches Section IV: Finetuning Methods for LLMs: ")


def test_keyword_boost_capped() -> None:
    plain = Scorer.default().score(*TEXTS["astro"])
    boosted = Scorer.default(["Jupiters", "OGLE-III", "planets", "transit"]).score(*TEXTS["astro"])
    assert boosted.value == pytest.approx(min(1.0, plain.value + 0.3), abs=1e-3)
    assert boosted.terms[:2] == ("Jupiters", "OGLE-III")


def test_profiles_from_a_handbook(tmp_path: Path) -> None:
    (tmp_path / "_includes").mkdir()
    (tmp_path / "index.md").write_text(  # the structure of the handbook's index.md
        '<div class="section" id="section1">\n  <div class="section-header-content">\n'
        '    <h1 id="s1">Section I: Adapters</h1>\n    <div class="section-summary"><b>Goal:</b>'
        ' Learn adapters.</div>\n  </div>\n  <div class="section-content" markdown="1">\n'
        "    {% include s1.md %}\n  </div>\n</div>\n", encoding="utf-8")
    (tmp_path / "_includes" / "s1.md").write_text(
        "<h2>LoRA</h2>\n\nLow-rank adapters freeze the base model. See "
        "[LoRA explained](https://example.org/lora).\n", encoding="utf-8")
    doc = build_profiles(tmp_path)
    [section] = doc["sections"]
    assert section["name"] == "Section I: Adapters"
    assert section["goal"] == "Learn adapters."
    assert section["chapters"] == ["LoRA"]
    assert section["resources"] == ["LoRA explained"]
    assert "Low-rank adapters freeze the base model" in section["text"]
    assert "https://" not in section["text"]
    scorer = Scorer([SectionProfile("A", "lora adapters", "lora adapters low-rank"),
                     SectionProfile("B", "diffusion", "diffusion images")])
    assert scorer.score("LoRA", "adapters for everyone").section == "A"


def test_chapter_profiles_and_the_chapter_of_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "_includes").mkdir()
    (tmp_path / "index.md").write_text(
        '<div class="section">\n<h1>Section I: Adapters</h1>\n<div markdown="1">\n'
        "{% include s1.md %}\n</div>\n</div>\n", encoding="utf-8")
    (tmp_path / "_includes" / "s1.md").write_text(
        "<h2>LoRA</h2>\n\nLow-rank adapters freeze the base model. See "
        "[LoRA explained](https://example.org/lora).\n\n## Prefix tuning\n\nSoft prompts are "
        "learned vectors. [Prefix-Tuning](https://example.org/prefix).\n", encoding="utf-8")
    doc = build_chapters(tmp_path)
    [(name, chapters)] = doc["sections"].items()
    assert name == "Section I: Adapters"
    assert [(c["name"], c["resources"]) for c in chapters] == [
        ("LoRA", ["LoRA explained"]), ("Prefix tuning", ["Prefix-Tuning"])]
    assert "Soft prompts are learned vectors" in chapters[1]["text"]
    assert "Soft prompts" not in chapters[0]["text"]
    profiles = [SectionProfile("Section I: Adapters", "lora adapters prefix tuning soft prompts",
                               "lora adapters prefix tuning soft prompts")]
    scorer = Scorer(profiles, chapters=load_chapters(doc))
    assert scorer.score("Soft prompts", "prefix tuning with soft prompts").chapter == \
        "Prefix tuning"
    assert scorer.score("LoRA", "low-rank adapters").chapter == "LoRA"
    assert best_chapter([]) == "" and best_chapter([("A", 0.0)]) == ""


def test_the_packaged_chapters_match_the_handbook() -> None:
    handbook = Path(__file__).resolve().parents[2] / "shared" / "handbook"
    if not handbook.is_dir():
        pytest.skip("handbook not found")
    packaged = json.loads((Path(__file__).resolve().parents[1] / "monitor" / "data" /
                           "chapters.json").read_text("utf-8"))
    assert packaged == json.loads(json.dumps(build_chapters(handbook)))
    scorer = Scorer.default()
    assert scorer.score(*TEXTS["lora"]).chapter == "Low-Rank Adapters (LoRA)"


# ---------------------------------------------------------------- fetching


def test_paging_honours_start_and_max_results(watch_db, settings, simweb, api) -> None:
    api.add(*(paper(f"2607.1000{i}", "lora", i) for i in range(5)))
    result = run(watch_db, settings, simweb, page_size=2)
    assert [(r.start, r.size) for r in api.served()] == [(0, 2), (2, 2), (4, 2)]
    assert result.fetched == 5 and not result.failures
    assert result.new == 5 and result.already_suggested == 0


def test_max_results_bounds_a_category(watch_db, settings, simweb, api) -> None:
    settings.set("arxiv.max_results", 3)
    api.add(*(paper(f"2607.1000{i}", "lora", i) for i in range(5)))
    result = run(watch_db, settings, simweb, page_size=2)
    assert result.fetched == 3
    assert sum(r.entries for r in api.served()) == 4  # two pages; the 4th entry is not read


def test_empty_page_in_the_middle_is_retried(watch_db, settings, simweb, api) -> None:
    api.add(*(paper(f"2607.1000{i}", k, i) for i, k in enumerate(["lora", "dpo", "flash", "mamba",
                                                                   "diffusion"])))
    api.fail_next("empty", start=2)
    result = run(watch_db, settings, simweb, page_size=2)
    assert [r.start for r in api.served()] == [0, 2, 2, 4]
    assert result.fetched == 5 and not result.failures
    assert len(stored(watch_db)) == 5


def test_503_then_success(watch_db, settings, simweb, api) -> None:
    api.add(paper("2607.10001", "lora", 1))
    api.fail_next(503)  # with Retry-After: 2
    sleeps = Sleeps()
    c = WatchClient(api_url(simweb), page_size=2, delay_seconds=0.0, retries=2, sleep=sleeps)
    result = watch(watch_db, settings, client=c, today=TODAY)
    assert [r.status for r in api.served()] == [503, 200]
    assert result.fetched == 1 and not result.failures
    assert sleeps == [2.0]


def test_backoff_doubles_from_delay_seconds() -> None:
    c = WatchClient("http://127.0.0.1:9/api/query", delay_seconds=3.0)
    assert [c._backoff(n) for n in range(3)] == [3.0, 6.0, 12.0]
    assert c.query_url_format == "http://127.0.0.1:9/api/query?{}"


def test_503_forever_keeps_what_was_fetched(watch_db, settings, simweb, api) -> None:
    api.add(*(paper(f"2607.1000{i}", k, i) for i, k in enumerate(["lora", "dpo", "flash"])))
    api.fail_next(503, start=2, times=3)
    result = run(watch_db, settings, simweb, page_size=2, retries=2)
    assert result.fetched == 2
    assert "cs.CL: gave up after HTTP 503 (retries exhausted); kept 2 papers read before" in (
        result.line())
    assert set(stored(watch_db)) == {"2607.10000", "2607.10001"}
    with watch_db.session() as s:  # the cursor stays: the next run reads the category again
        assert s.get(ArxivCursor, "cs.CL") is None


def test_error_entry_is_reported(watch_db, settings, simweb, api) -> None:
    settings.set("arxiv.categories", ["cs.CL", "cs.LG"])
    api.add(paper("2607.10001", "lora", 1, "cs.LG"))
    api.fail_next("error", category="cs.CL")
    result = run(watch_db, settings, simweb)
    assert "cs.CL: arXiv API error (HTTP 400): incorrect id format for abc" in result.line()
    assert len(api.served("cs.CL")) == 1  # a client error is not retried
    assert set(stored(watch_db)) == {"2607.10001"}


def test_error_entry_in_the_recorded_fixture() -> None:
    body = (FIXTURES / "arxiv_py_recorded/extracted_bodies/"
            "id_abc_s0_m100_b79c8dcf6bc3.atom.xml").read_bytes()
    assert error_entry_message(body) == "incorrect id format for abc"


def test_unreachable_api_is_a_total_failure(watch_db, settings, simweb) -> None:
    settings.set("arxiv.categories", ["cs.CL", "cs.LG"])
    closed = f"http://127.0.0.1:{simweb.closed_port}/api/query"
    c = WatchClient(closed, delay_seconds=0.0, retries=1, sleep=Sleeps())
    with pytest.raises(ArxivUnavailable, match="arXiv API unusable at http://127.0.0.1:.*connect"):
        watch(watch_db, settings, client=c, today=TODAY)
    assert list_suggestions(watch_db) == []


def test_real_2026_feed(watch_db, settings, simweb) -> None:
    body = (FIXTURES / "api_2026_cat_cs.AI_sortBy_submittedDate_max12.xml").read_bytes()
    simweb.route("127.0.0.1", "/api/query", body=body, content_type="application/atom+xml")
    settings.set("arxiv.categories", ["cs.AI"])
    settings.set("arxiv.max_results", 12)
    settings.set("arxiv.min_score", 0.0)
    result = run(watch_db, settings, simweb, page_size=12)
    assert result.fetched == 12 and result.new == 12
    co = stored(watch_db)["2607.07707"]
    assert (co.version, co.categories) == (1, ["cs.CL", "cs.AI", "cs.LG"])
    assert co.title == "Co-LMLM: Continuous-Query Limited Memory Language Models"
    assert co.published == datetime(2026, 7, 8, 17, 59, 45, tzinfo=UTC)
    assert stored(watch_db)["2607.07634"].categories[0] == "quant-ph"


# ---------------------------------------------------------------- dedupe and ranking


def test_cross_listed_and_versions_are_one_suggestion(watch_db, settings, simweb, api) -> None:
    settings.set("arxiv.categories", ["cs.CL", "cs.LG"])
    api.add(paper("2607.10001", "lora", 1, "cs.CL", "cs.LG"))
    api.add(paper("2607.10002", "dpo", 2, "cs.CL"),
            paper("2607.10002", "dpo", 2, "cs.LG", version=2))  # a newer version in cs.LG
    result = run(watch_db, settings, simweb)
    assert result.fetched == 4 and result.papers == 2 and result.new == 2
    rows = stored(watch_db)
    assert rows["2607.10001"].categories == ["cs.CL", "cs.LG"]
    assert (rows["2607.10002"].version, sorted(rows["2607.10002"].categories)) == (
        2, ["cs.CL", "cs.LG"])


def test_cataloged_papers_are_not_suggested(watch_db, settings, simweb, api, catalog) -> None:
    with catalog.open("ab") as f:
        f.write(b"https://arxiv.org/abs/2607.10001v1,LoRA,Section IV,paper,,\r\n"
                b"http://arxiv.org/pdf/2607.10002.pdf,DPO,Section IV,paper,,\r\n"
                b"https://arxiv.org/pdf/hep-th/9901001v2,Old,Section I,paper,,\r\n")
    api.add(paper("2607.10001", "lora", 1, version=2), paper("2607.10002", "dpo", 2),
            paper("hep-th/9901001", "mamba", 3), paper("2607.10004", "flash", 4))
    result = run(watch_db, settings, simweb)
    assert set(stored(watch_db)) == {"2607.10004"}
    assert result.cataloged == 3
    assert "3 already cataloged" in result.line()


def test_reject_then_rerun_never_suggests_again(watch_db, settings, simweb, api) -> None:
    api.add(paper("2607.10001", "lora", 1), paper("2607.10002", "dpo", 2))
    run(watch_db, settings, simweb)
    reject(watch_db, "2607.10001v1", reason="not for beginners")
    _clean_cursors(watch_db)  # force a full re-read
    api.add(paper("2607.10001", "lora", 1, version=2))
    result = run(watch_db, settings, simweb)
    assert result.new == 0 and result.already_suggested == 2
    rows = stored(watch_db)
    assert (rows["2607.10001"].status, rows["2607.10001"].reason) == ("rejected",
                                                                     "not for beginners")
    assert len(rows) == 2


def _clean_cursors(db: Database) -> None:
    with db.session() as s:
        s.execute(text("DELETE FROM arxiv_cursors"))


def test_min_score_and_max_suggestions(watch_db, settings, simweb, api) -> None:
    settings.set("arxiv.max_suggestions", 2)
    api.add(*(paper(f"2607.1000{i}", k, i) for i, k in enumerate(
        ["astro", "lora", "dpo", "flash"])))
    result = run(watch_db, settings, simweb, page_size=10)
    assert result.below_min_score == 1 and result.over_limit == 1 and result.new == 2
    rows = list_suggestions(watch_db)
    assert [r.score for r in rows] == sorted((r.score for r in rows), reverse=True)
    assert result.best == rows[0].score
    assert "2607.10000" not in stored(watch_db)


def test_lookback_limits_the_first_run(watch_db, settings, simweb, api) -> None:
    settings.set("arxiv.lookback_days", 2)
    api.add(paper("2607.10001", "lora", 1), paper("2607.10002", "dpo", 24 * 5))
    result = run(watch_db, settings, simweb, page_size=1)
    assert result.fetched == 1
    assert len(api.served()) == 2  # stopped at the first paper older than the lookback


def test_two_runs_fetch_nothing_twice(watch_db, settings, simweb, api) -> None:
    settings.set("arxiv.categories", ["cs.CL", "cs.LG"])
    api.add(*(paper(f"2607.1000{i}", "lora", i, "cs.CL", "cs.LG") for i in range(4)))
    first = run(watch_db, settings, simweb, page_size=2)
    assert first.fetched == 8
    api.requests.clear()
    second = run(watch_db, settings, simweb, page_size=2)
    assert second.fetched == 0 and second.new == 0
    assert [(r.category, r.start) for r in api.served()] == [("cs.CL", 0), ("cs.LG", 0)]
    api.add(paper("2607.10009", "dpo", -1, "cs.CL"))  # submitted after the first run
    third = run(watch_db, settings, simweb, page_size=2)
    assert (third.fetched, third.new) == (1, 1)
    with watch_db.session() as s:
        cursors = {c.category: c.last_published for c in s.scalars(select(ArxivCursor))}
    assert cursors == {"cs.CL": NOW + timedelta(hours=1), "cs.LG": NOW}


# ---------------------------------------------------------------- triage


def test_suggestion_object_shape_and_raw_html(watch_db, settings, simweb, api) -> None:
    title = 'LoRA <script>alert("x")</script> & <b>adapters</b>'
    api.add(paper("2607.10001", "lora", 1, title=title))
    run(watch_db, settings, simweb)
    [s] = list_suggestions(watch_db)
    obj = suggestion_object(s)
    assert set(obj) >= SPEC_KEYS
    assert obj["title"] == title  # raw: escaping is the renderer's job
    assert "&lt;script&gt;" in html.escape(obj["title"])
    assert obj["url"] == "https://arxiv.org/abs/2607.10001"
    assert obj["published"] == "2026-07-08T17:00:00+00:00"
    assert obj["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert 0 <= obj["score"] <= 1 and obj["section"] and obj["matched_terms"]
    assert obj["chapter"] == "Low-Rank Adapters (LoRA)"  # the heading inside the section
    assert obj["explanation"].startswith(f"matches {obj['section']}: ")
    assert not any("&lt;" in str(v) or "&amp;" in str(v) for v in obj.values())
    json.dumps(obj)


def test_accept_appends_a_row_and_keeps_other_bytes(watch_db, settings, simweb, api,
                                                    catalog) -> None:
    api.add(paper("2607.10001", "lora", 1, title='LoRA, "quoted" <b>title</b>'))
    run(watch_db, settings, simweb)
    before = catalog.read_bytes()
    s = accept(watch_db, "arXiv:2607.10001v1", catalog, today=date(2026, 7, 9))
    after = catalog.read_bytes()
    assert after.startswith(before)
    assert after[len(before):] == (
        b'https://arxiv.org/abs/2607.10001,"LoRA, ""quoted"" <b>title</b>",'
        + s.section.encode() + b",paper,2026-07-09,\r\n")
    assert stored(watch_db)["2607.10001"].status == "accepted"
    with pytest.raises(AlreadyDecided, match="already accepted"):
        reject(watch_db, "2607.10001")
    with pytest.raises(UnknownSuggestion):
        accept(watch_db, "2607.99999", catalog)


def test_accept_with_section_into_a_minimal_catalog(watch_db, settings, simweb, api,
                                                    tmp_path) -> None:
    api.add(paper("2607.10001", "lora", 1))
    run(watch_db, settings, simweb)
    minimal = tmp_path / "minimal.csv"
    minimal.write_bytes(b"url,title\nhttps://example.org/x,X")  # no final newline
    [s] = list_suggestions(watch_db)
    accept(watch_db, str(s.id), minimal, section="Section IX: Multimodal Models")
    assert minimal.read_bytes() == (b"url,title\nhttps://example.org/x,X\n"
                                    b"https://arxiv.org/abs/2607.10001," + s.title.encode()
                                    + b"\n")
    assert stored(watch_db)["2607.10001"].section == "Section IX: Multimodal Models"


# ---------------------------------------------------------------- command line


def _config(tmp_path: Path, simweb: SimWeb, catalog: Path, **arxiv: object) -> Path:
    values = {"api_url": api_url(simweb), "delay_seconds": 0, "categories": ["cs.CL"]} | arxiv
    return write_config(tmp_path / "monitor.toml", None, arxiv=values,
                        catalog={"path": str(catalog)}, http={"retries": 0})


def test_cli_arxiv_and_triage(tmp_path, simweb, api, catalog) -> None:
    now = datetime.now(UTC)
    api.add(paper("2607.10001", "lora", 1, now=now), paper("2607.10002", "dpo", 2, now=now),
            paper("2607.10003", "astro", 3, now=now))
    db_url = f"sqlite:///{tmp_path / 'x.db'}"
    config = _config(tmp_path, simweb, catalog)
    first = monitor(db_url, config, "arxiv")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("arxiv: 3 fetched over 1 category, 2 new suggestions (best ")
    assert "1 below min_score" in first.output
    second = monitor(db_url, config, "arxiv")
    assert second.output.startswith("arxiv: 0 fetched over 1 category, 0 new suggestions")
    assert [r.start for r in api.served()] == [0, 0]

    listed = monitor(db_url, config, "suggestions", "list", "--json")
    rows = json.loads(listed.stdout)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert all(set(r) >= SPEC_KEYS for r in rows)

    ok = monitor(db_url, config, "suggestions", "accept", "2607.10001", "--section", "Section IV")
    assert ok.exit_code == 0 and "accepted 2607.10001" in ok.output
    assert catalog.read_text().splitlines()[-1] == (
        f"https://arxiv.org/abs/2607.10001,{TEXTS['lora'][0]},Section IV,paper,"
        f"{date.today().isoformat()},")
    other = next(r for r in rows if r["arxiv_id"] != "2607.10001")
    no = monitor(db_url, config, "suggestions", "reject", str(other["id"]), "--reason", "dup")
    assert no.exit_code == 0 and no.output.strip() == f"rejected {other['arxiv_id']} (dup)"
    again = monitor(db_url, config, "suggestions", "reject", "2607.10001")
    assert again.exit_code == 1 and "already accepted" in again.output
    unknown = monitor(db_url, config, "suggestions", "accept", "9999")
    assert unknown.exit_code == 1 and "no suggestion '9999'" in unknown.output

    rejected = monitor(db_url, config, "suggestions", "list", "--status", "rejected")
    assert rejected.exit_code == 0 and other["arxiv_id"] in rejected.output
    assert "2607.10001" not in rejected.output
    text_list = monitor(db_url, config, "suggestions", "list")
    assert "matches Section" in text_list.output and "https://arxiv.org/abs/" in text_list.output


def test_cli_options_override_config(tmp_path, simweb, api, catalog) -> None:
    now = datetime.now(UTC)
    api.add(paper("2607.10001", "lora", 1, "cs.LG", now=now))
    db_url = f"sqlite:///{tmp_path / 'x.db'}"
    config = _config(tmp_path, simweb, catalog, api_url="http://127.0.0.1:9/nowhere")
    result = monitor(db_url, config, "arxiv", "--api-url", api_url(simweb), "--category", "cs.LG")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("arxiv: 1 fetched over 1 category, 1 new suggestion (best ")
    assert [r.category for r in api.served()] == ["cs.LG"]


def test_cli_unreachable_api_exits_1(tmp_path, simweb, catalog) -> None:
    closed = f"http://127.0.0.1:{simweb.closed_port}/api/query"
    config = _config(tmp_path, simweb, catalog, api_url=closed)
    result = monitor(f"sqlite:///{tmp_path / 'x.db'}", config, "arxiv")
    assert result.exit_code == 1
    assert "error: arXiv API unusable at http://127.0.0.1:" in result.output

"""Relevance of a paper to the handbook: TF-IDF + cosine similarity per section (SPEC §8).

Each handbook section has a profile (:mod:`monitor.watch.profiles`, shipped as
``monitor/data/sections.json``). The scorer fits a scikit-learn ``TfidfVectorizer`` on the
section profiles: word 1- and 2-grams, sublinear tf, English stop words plus academic
boilerplate and the words every ML paper uses (``GENERIC_ML_WORDS``). The vocabulary is the
terms of the sections' names, goals, chapter headings and resource titles (the handbook's own
topic words); the prose only weights them. A paper's title (counted twice) and abstract are
embedded in the same space and compared with each section by cosine similarity.

Calibration, so that the score is a number in [0, 1] a maintainer can threshold:

- ``relevance cosine`` = the mean of the two best section cosines: papers that belong in the
  handbook touch more than one section (an LLM finetuning paper also matches the language
  modelling section), while an off-topic paper matches at most one by accident of vocabulary;
- ``base = (relevance_cosine - FLOOR_COSINE) / (FULL_MATCH_COSINE - FLOOR_COSINE)`` clipped to
  [0, 1]: :data:`FLOOR_COSINE` is about what an unrelated abstract (astrophysics, number theory)
  reaches through common words alone, :data:`FULL_MATCH_COSINE` what a paper squarely on a
  section's topic reaches (DPO against Section IV); both measured on ``bench/arxiv_labels.json``;
- every configured keyword (``arxiv.keywords``) found in the title or abstract as a whole word
  adds :data:`KEYWORD_BOOST`, at most :data:`MAX_KEYWORD_BOOST` in all; the sum is capped at 1.

The best section is the one with the highest cosine. The matched terms are the terms shared by
the paper and its best section, ranked by the product of their TF-IDF weights, spelled as they
appear in the paper (configured keywords that matched come first).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = [
    "FLOOR_COSINE", "FULL_MATCH_COSINE", "KEYWORD_BOOST", "MAX_KEYWORD_BOOST", "Score", "Scorer",
    "SectionProfile", "load_profiles",
]

FLOOR_COSINE = 0.06
FULL_MATCH_COSINE = 0.22
KEYWORD_BOOST = 0.1
MAX_KEYWORD_BOOST = 0.3
MAX_TERMS = 5



def _words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


ACADEMIC_STOP_WORDS = _words("""
    paper papers propose proposed proposes present presents introduce introduces work works
    approach approaches method methods result results show shows shown demonstrate demonstrates
    novel new existing prior previous recent recently study studies use used using based achieve
    achieves achieving significantly significant state art performance improve improves improved
    improvement improvements experiments experimental evaluate evaluation extensive outperforms
    framework problem problems task tasks different various however furthermore moreover key
    large small high low also well like just one two three first second way ways make makes made
    important particular particularly general generally specific case cases help good great
    really lot things thing look looking see post blog video videos talk course lecture resource
    resources section chapter intro overview guide tutorial article read reading https http www
    com org html pdf
""")
"""Words of academic abstracts and of the handbook's prose that say nothing about the topic."""
GENERIC_ML_WORDS = _words("""
    deep learning neural network networks model models data training trained train learn learned
    machine
""")
"""Words every ML paper uses: they cannot tell a GenAI paper from another ML paper."""


def stop_words() -> list[str]:
    """scikit-learn's English stop words plus the two lists above."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS | ACADEMIC_STOP_WORDS | GENERIC_ML_WORDS)

_TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]\b"


@dataclass(frozen=True)
class SectionProfile:
    """One handbook section: ``heads`` (name, goal, chapter headings, resource titles) carry its
    vocabulary; ``text`` (heads plus prose) gives the weights."""

    name: str
    heads: str
    text: str


@dataclass(frozen=True)
class Score:
    """A paper's relevance: ``value`` in [0, 1], best ``section``, ``terms`` that matched, and
    the best ``chapter`` inside the section ("" when none fits)."""

    value: float
    section: str
    terms: tuple[str, ...]
    cosine: float
    chapter: str = ""

    @property
    def explanation(self) -> str:
        """E.g. ``"matches Section IV: Finetuning Methods for LLMs: LoRA, adapters"``."""
        if not self.section:
            return "matches no section"
        terms = ", ".join(self.terms)
        return f"matches {self.section}: {terms}" if terms else f"matches {self.section}"


def load_profiles(data: dict[str, Any] | None = None) -> list[SectionProfile]:
    """Profiles from a profiles document, by default the packaged ``monitor/data/sections.json``.

    Raises FileNotFoundError if the packaged file is missing, ValueError if it is malformed.
    """
    if data is None:
        raw = resources.files("monitor").joinpath("data/sections.json").read_text("utf-8")
        data = json.loads(raw)
    try:
        return [SectionProfile(s["name"], _heads(s), _heads(s) + " . " + s.get("text", ""))
                for s in data["sections"]]
    except (KeyError, TypeError) as err:
        raise ValueError(f"malformed section profiles: {err!r}") from err


def _heads(section: dict[str, Any]) -> str:
    """Name, goal and chapters (twice: they name the section's topics), then resource titles."""
    heads = " . ".join([section["name"], section.get("goal", ""), *section.get("chapters", [])])
    return " . ".join([heads, heads, *section.get("resources", [])])


class Scorer:
    """Scores papers against section profiles; ``keywords`` are ``arxiv.keywords`` boosts.

    Raises ValueError when ``profiles`` is empty.
    """

    def __init__(self, profiles: Sequence[SectionProfile], keywords: Iterable[str] = ()) -> None:
        if not profiles:
            raise ValueError("no section profiles to score against")
        self.sections = [p.name for p in profiles]
        # imported here: scikit-learn takes about 2 s to import, every CLI command would pay it
        from sklearn.feature_extraction.text import TfidfVectorizer

        options: dict[str, Any] = {"ngram_range": (1, 2), "stop_words": stop_words(),
                                   "token_pattern": _TOKEN_PATTERN}
        vocabulary = TfidfVectorizer(**options).fit([p.heads for p in profiles]).vocabulary_
        self.vectorizer = TfidfVectorizer(sublinear_tf=True, vocabulary=vocabulary, **options)
        self.matrix = self.vectorizer.fit_transform([p.text for p in profiles])
        self.features = self.vectorizer.get_feature_names_out()
        self.keywords = [k.strip() for k in keywords if k.strip()]

    @classmethod
    def default(cls, keywords: Iterable[str] = ()) -> Scorer:
        """A scorer over the packaged profiles."""
        return cls(load_profiles(), keywords)

    def score(self, title: str, abstract: str) -> Score:
        """Score one paper (title and abstract as plain text)."""
        text = f"{title}. {title}. {abstract}"
        vector = self.vectorizer.transform([text])
        sims = (self.matrix @ vector.T).toarray().ravel()
        best = int(sims.argmax())
        top_two = sorted(sims.tolist())[-2:]
        cosine = sum(top_two) / len(top_two)
        found = [k for k in self.keywords if _contains_word(text, k)]
        boost = min(MAX_KEYWORD_BOOST, KEYWORD_BOOST * len(found))
        base = (cosine - FLOOR_COSINE) / (FULL_MATCH_COSINE - FLOOR_COSINE)
        value = min(1.0, max(0.0, base) + boost)
        if cosine <= 0 and not found:
            return Score(0.0, "", (), 0.0)
        terms = _dedupe([*found, *self._terms(vector, best, text)])[:MAX_TERMS]
        return Score(round(value, 4), self.sections[best], tuple(terms), cosine)

    def _terms(self, vector: Any, section: int, text: str) -> list[str]:
        """Shared terms ranked by paper weight x section weight, spelled as in ``text``."""
        row = self.matrix[section]
        weights = vector.multiply(row).tocoo()
        ranked = sorted(zip(weights.col, weights.data, strict=True), key=lambda cw: -cw[1])
        chosen: list[str] = []
        for col, _weight in ranked:
            term = str(self.features[col])
            if any(term in c.lower() or c.lower() in term for c in chosen):
                continue
            chosen.append(_spelling(term, text))
            if len(chosen) == MAX_TERMS:
                break
        return chosen


def _contains_word(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I) is not None


def _spelling(term: str, text: str) -> str:
    """``term`` (lower-case, words joined by spaces) as first written in ``text``."""
    pattern = r"[\s\W]+".join(re.escape(w) for w in term.split())
    match = re.search(rf"(?<!\w){pattern}(?!\w)", text, re.I)
    return " ".join(match.group(0).split()) if match else term


def _dedupe(terms: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for term in terms:
        if term.lower() not in seen:
            seen.add(term.lower())
            out.append(term)
    return out

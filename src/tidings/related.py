"""Related articles: the nearest originals by meaning, never the article itself or its copies;
chosen so that the list is not one report many times over, and each saying what it shares
with the article; those in the same story are marked."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import NamedTuple

import numpy as np

from .models import Article, Hit
from .search import check_limit, hits
from .stories import COMMON_CAPITALS, NAME

POOL = 3  # nearest neighbours looked at per related article shown (at least MIN_POOL)
MIN_POOL = 20
# Maximal marginal relevance: a candidate's similarity to the article, less REDUNDANCY × its
# similarity to the closest article already chosen (two rewrites of one wire report are
# not two related articles), less SAME_OUTLET for each chosen article from its outlet
REDUNDANCY = 0.3
SAME_OUTLET = 0.05
# ... and less RECENCY × log2(1 + days apart / RECENCY_DAYS): news readers look for what
# surrounds an event, so a report from a year before gives way to one a little less close
# from the same weeks (−0.075 at a year, −0.02 at a month, nothing measurable within days),
# while a much closer one still comes first
RECENCY = 0.02
RECENCY_DAYS = 30.0
SHARED_SHOWN = 3
OPENING = 1500  # the names to share come from the headline and this much of the text


class Candidate(NamedTuple):
    id: int
    score: float  # similarity to the article
    outlet: str  # normalised source name ("" when unknown)
    published: datetime | None = None


class Related:
    def __init__(self, store, vectors, default_limit: int):
        self.store = store
        self.vectors = vectors
        self.default_limit = default_limit

    def related(self, article_id: int, limit: int | None = None) -> list[Hit]:
        limit = check_limit(limit, self.default_limit)
        # with its text: most pages are originals, and the text gives the names to share
        article = (
            self.store.articles([article_id], opening=OPENING).get(article_id)
            if isinstance(article_id, int)
            else None
        )
        if article is None:
            raise KeyError(article_id)
        self.vectors.sync()
        if article.duplicate_of is None:
            original_id, original = article.id, article
        else:
            original_id = self.store.root_of(article.id)
            original = self.store.articles([original_id], opening=OPENING).get(original_id)
        if original is None or limit == 0:
            return []
        # the neighbours with what choosing needs: outlet, date and vector (not 30 rows)
        found = self.vectors.neighbours(original_id, max(MIN_POOL, POOL * limit))
        if not found:
            return []
        candidates = [
            Candidate(n.id, n.score, _outlet(n.outline.source), n.outline.published)
            for n in found
            if n.outline.duplicate_of is None
        ]
        chosen = diverse(
            candidates,
            {n.id: n.vector for n in found if n.vector is not None},
            limit,
            at=original.published,
        )
        # only what is shown is read in full: its copies' outlets and its opening (names)
        out = hits(self.store, [(c.id, c.score) for c in chosen], text=True, opening=OPENING)
        names = proper_names(original.title, original.text)
        phrases = name_phrases(original.title, original.text)
        for hit in out:
            hit.same_story = (
                original.story_id is not None and hit.article.story_id == original.story_id
            )
            hit.shared = shared_names(names, hit.article, phrases)
            hit.article.text = ""  # a related item is a summary
        return out


def diverse(
    candidates: list[Candidate],
    vectors: dict[int, np.ndarray],
    limit: int,
    at: datetime | None = None,
) -> list[Candidate]:
    """Up to `limit` candidates, greedily by maximal marginal relevance (see REDUNDANCY,
    SAME_OUTLET, RECENCY: days apart from `at`, the article's date); each keeps its own
    similarity as its score. A candidate without a vector is scored by its similarity,
    outlet and date alone; without a date, by the other two."""
    if not candidates:
        return []
    dim = len(next(iter(vectors.values()))) if vectors else 1
    unit = np.zeros((len(candidates), dim), dtype=np.float32)
    for row, candidate in enumerate(candidates):
        v = vectors.get(candidate.id)
        if v is not None and float(np.linalg.norm(v)):
            unit[row] = v / np.linalg.norm(v)
    score = np.array([c.score for c in candidates], dtype=np.float64)
    if at is not None:
        apart = np.array(
            [
                abs((c.published - at).total_seconds()) / 86400 if c.published else 0.0
                for c in candidates
            ]
        )
        score = score - RECENCY * np.log2(1 + apart / RECENCY_DAYS)
    outlets = [c.outlet for c in candidates]
    closest = np.zeros(len(candidates))  # similarity to the closest chosen candidate
    repeats = np.zeros(len(candidates))  # chosen candidates of the same outlet
    open_ = np.ones(len(candidates), dtype=bool)
    chosen: list[Candidate] = []
    while open_.any() and len(chosen) < limit:
        value = np.where(open_, score - REDUNDANCY * closest - SAME_OUTLET * repeats, -np.inf)
        best = int(np.argmax(value))  # the first of equals: deterministic
        open_[best] = False
        chosen.append(candidates[best])
        closest = np.maximum(closest, unit @ unit[best])
        if outlets[best]:
            repeats += np.array([o == outlets[best] for o in outlets])
    return chosen


def _outlet(source: str | None) -> str:
    return (source or "").strip().lower()


# a run of capitalised words ("Selkie Dawn", "Greenmarket Foods"): one name, shown as one
_POSSESSIVE = re.compile(r"['’]s$")
_PHRASE = re.compile(r"\b[A-Z][\w'’-]+(?: [A-Z][\w'’-]+)+")


_LOWER_WORD = re.compile(r"\b[a-z][\w'’-]{2,}")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# the longer words a title-case headline may leave in lower case (AP and Chicago styles)
_TITLE_CASE_LOWER = frozenset("with from into onto over upon amid than that via".split())


def proper_names(title: str, text: str, chars: int = OPENING) -> Counter[str]:
    """The names of the headline and the opening a reader would call names, with their
    counts: capitalised words (as the story clustering's `salient_names`) less those the
    text gives reason to believe are not names. A word the text also writes in lower case is
    a common word ("Fire investigators …" over "…house fires…"). A title-case headline
    ("Ferry Runs Aground Off Skarra") capitalises every word, so with a body to go by its
    words count only where the body capitalises them too; a headline alone keeps all its
    capitalised words. (A word capitalised only where a sentence starts, "Several", stays:
    so does a place that opens the text, and telling the two apart needs more than this.)"""
    opening = text[:chars]
    heading = [w for w in NAME.findall(title) if w not in COMMON_CAPITALS]
    if not opening.strip():
        return Counter(heading)
    body = [w for w in NAME.findall(opening) if w not in COMMON_CAPITALS]
    if _title_case(title):
        confirmed = {_POSSESSIVE.sub("", w) for w in body}
        heading = [w for w in heading if _POSSESSIVE.sub("", w) in confirmed]
    lower = set(_LOWER_WORD.findall(f"{title}\n{opening}"))

    def common(word: str) -> bool:  # "Fires" over "fire", "Bank's" over "banks"
        bare = _POSSESSIVE.sub("", word).lower()
        return bool({bare, bare + "s", bare + "es", bare[:-1] if bare.endswith("s") else bare}
                    & lower)

    return Counter(w for w in heading + body if not common(w))


def _title_case(title: str) -> bool:
    """Whether a headline capitalises every longer word ("Ferry Runs Aground Off Skarra")."""
    words = [w for w in _WORD.findall(title) if len(w) > 3]
    return bool(words) and all(w[0].isupper() or w in _TITLE_CASE_LOWER for w in words)


def name_phrases(title: str, text: str, chars: int = OPENING) -> Counter[str]:
    """The multi-word names of the headline and the opening (runs of capitalised words,
    without a leading "The", "After" … that only starts a sentence), with their counts; of
    a title-case headline over a body, the body's only."""
    found: Counter[str] = Counter()
    opening = text[:chars]
    # a title-case headline's run of capitals is its wording, not a name (see proper_names)
    lines = (opening,) if opening.strip() and _title_case(title) else (title, opening)
    for line in lines:
        for match in _PHRASE.finditer(line):
            words = match.group().split()
            while words and words[0] in COMMON_CAPITALS:
                words.pop(0)
            if len(words) > 1:
                found[" ".join(words)] += 1
    return found


def shared_names(
    names: Counter[str], other: Article, phrases: Counter[str] | None = None
) -> list[str]:
    """The names of `names` (an article's, with their counts) that `other` mentions in its
    headline or opening, most mentioned first; a multi-word name of `phrases` that `other`
    mentions as a whole is shown whole, instead of its words one by one."""
    opening = other.text or other.excerpt or ""
    theirs = proper_names(other.title, opening)
    text = f"{other.title}\n{opening[:OPENING]}"
    whole = [p for p in (phrases or {}) if re.search(rf"\b{re.escape(p)}\b", text)]
    inside = {word for p in whole for word in p.split()}
    both = [(name, names[name]) for name in names if name in theirs and name not in inside]
    both += [(p, phrases[p]) for p in whole]
    both.sort(key=lambda item: (-item[1], -item[0].count(" "), item[0]))
    shown: list[str] = []
    for name, _ in both:
        bare = _POSSESSIVE.sub("", name)  # "Greenmarket's" is Greenmarket
        if bare not in shown and (bare == name or bare not in inside):
            shown.append(bare)
    return shown[:SHARED_SHOWN]

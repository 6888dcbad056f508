"""Related articles: the nearest originals by meaning, never the article itself or its copies;
chosen so that the list is not one report many times over, and each saying what it shares
with the article; those in the same story are marked."""

from __future__ import annotations

from collections import Counter

import numpy as np

from .models import Article, Hit
from .search import check_limit, hits
from .stories import salient_names

POOL = 3  # nearest neighbours looked at per related article shown (at least MIN_POOL)
MIN_POOL = 20
# Maximal marginal relevance: a candidate's similarity to the article, less REDUNDANCY × its
# similarity to the closest article already chosen (two rewrites of one wire report are
# not two related articles), less SAME_OUTLET for each chosen article from its outlet
REDUNDANCY = 0.3
SAME_OUTLET = 0.05
SHARED_SHOWN = 3


class Related:
    def __init__(self, store, vectors, default_limit: int):
        self.store = store
        self.vectors = vectors
        self.default_limit = default_limit

    def related(self, article_id: int, limit: int | None = None) -> list[Hit]:
        limit = check_limit(limit, self.default_limit)
        article = (
            self.store.articles([article_id], text=False).get(article_id)
            if isinstance(article_id, int)
            else None
        )
        if article is None:
            raise KeyError(article_id)
        self.vectors.sync()
        if article.duplicate_of is None:
            original_id = article.id
        else:
            original_id = self.store.root_of(article.id)
        original = self.store.articles([original_id]).get(original_id)
        vector = self.store.embeddings([original_id]).get(original_id)
        if original is None or vector is None or self.vectors.index is None or limit == 0:
            return []
        pool = max(MIN_POOL, POOL * limit) + 1
        found = [(i, s) for i, s in self.vectors.search(vector, pool) if i != original_id]
        candidates = hits(self.store, found)
        chosen = diverse(candidates, self.vectors.vectors([h.article.id for h in candidates]),
                         limit)
        names = salient_names(original.title, original.text)
        texts = self.store.articles([h.article.id for h in chosen])  # the openings, for names
        return [
            Hit(
                hit.article,
                hit.score,
                same_story=original.story_id is not None
                and hit.article.story_id == original.story_id,
                also_published_by=hit.also_published_by,
                shared=shared_names(names, texts.get(hit.article.id, hit.article)),
            )
            for hit in chosen
        ]


def diverse(candidates: list[Hit], vectors: dict[int, np.ndarray], limit: int) -> list[Hit]:
    """Up to `limit` candidates, greedily by maximal marginal relevance (see REDUNDANCY,
    SAME_OUTLET); each keeps its own similarity as its score."""
    left = list(candidates)
    unit = {}
    for i, v in vectors.items():
        norm = float(np.linalg.norm(v))
        unit[i] = v / norm if norm else v
    chosen: list[Hit] = []
    chosen_vectors: list[np.ndarray] = []
    outlets: Counter[str] = Counter()
    while left and len(chosen) < limit:
        def value(hit: Hit) -> float:
            v = unit.get(hit.article.id)
            closest = 0.0
            if v is not None and chosen_vectors:
                closest = max(float(v @ c) for c in chosen_vectors)
            repeats = outlets[_outlet(hit.article)] if _outlet(hit.article) else 0
            return hit.score - REDUNDANCY * closest - SAME_OUTLET * repeats

        best = max(left, key=value)  # the first of equals: deterministic
        left.remove(best)
        chosen.append(best)
        if best.article.id in unit:
            chosen_vectors.append(unit[best.article.id])
        outlets[_outlet(best.article)] += 1
    return chosen


def _outlet(article: Article) -> str:
    return (article.source or "").strip().lower()


def shared_names(names: Counter[str], other: Article) -> list[str]:
    """The names of `names` (an article's, with their counts) that `other` mentions in its
    headline or opening, most mentioned first."""
    theirs = salient_names(other.title, other.text or other.excerpt or "")
    both = [name for name in names if name in theirs]
    both.sort(key=lambda name: (-names[name], name))
    return both[:SHARED_SHOWN]

"""Search: keyword (BM25), semantic (embedding) or hybrid (reciprocal-rank fusion of both),
over originals only; each hit lists the other outlets that published it."""

from __future__ import annotations

from .index import reciprocal_rank_fusion
from .models import Hit

SEARCH_MODES = ("hybrid", "keyword", "semantic")
MAX_LIMIT = 1000


def check_limit(limit: int | None, default: int) -> int:
    limit = default if limit is None else limit
    if not isinstance(limit, int) or limit < 1 or limit > MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit!r}")
    return limit


class Searcher:
    def __init__(self, store, vectors, model, default_limit: int):
        self.store = store
        self.vectors = vectors  # index.keeper.VectorKeeper
        self.model = model  # embed.binding.ModelBinding
        self.default_limit = default_limit

    def search(self, query: str, mode: str = "hybrid", limit: int | None = None) -> list[Hit]:
        if mode not in SEARCH_MODES:
            raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(SEARCH_MODES)}")
        limit = check_limit(limit, self.default_limit)
        query = query.strip()
        if not query:
            return []
        self.vectors.sync()
        depth = max(limit * 3, 50)
        vector = None
        if mode in ("semantic", "hybrid") and self.vectors.index is not None:
            self.model.check()  # another process may have re-embedded with another model
            vector = self.model.embedder.embed_query(query)
            if mode == "hybrid" and hasattr(self.vectors, "hybrid"):  # fused in the database
                return hits(self.store, self.vectors.hybrid(query, vector, depth, limit))
        keyword = self.store.keyword_search(query, depth) if mode != "semantic" else []
        semantic = self.vectors.search(vector, depth) if vector is not None else []
        if mode == "keyword":
            ranked = keyword
        elif mode == "semantic":
            ranked = semantic
        else:
            ranked = reciprocal_rank_fusion([[i for i, _ in keyword], [i for i, _ in semantic]])
        return hits(self.store, ranked[:limit])


def hits(store, ranked: list[tuple[int, float]]) -> list[Hit]:
    """Hits for ranked (id, score) pairs: originals only, with their copies' outlets."""
    ids = [i for i, _ in ranked]
    articles = store.articles(ids, text=False)
    copies = store.copies(ids)
    out = []
    for article_id, score in ranked:
        article = articles.get(article_id)
        if article is None or article.duplicate_of is not None:
            continue
        publishers = [c.source for c in copies.get(article_id, []) if c.source]
        out.append(Hit(article, score, also_published_by=list(dict.fromkeys(publishers))))
    return out

"""Search: keyword (BM25), semantic (embedding) or hybrid (both fused by score), over
originals only; each hit lists the other outlets that published it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .models import Hit

SEARCH_MODES = ("hybrid", "keyword", "semantic")
MAX_LIMIT = 1000
# query vectors kept (a search page's next page, a popular query, a saved search asks the
# model again only when the text is new: the model is most of a semantic query's time)
QUERY_VECTORS_KEPT = 512
HELPERS = 4  # threads for the keyword half of hybrid searches (one per search in flight)


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
        self._query_vectors: OrderedDict[str, tuple[object, np.ndarray]] = OrderedDict()
        self._query_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._free = threading.BoundedSemaphore(HELPERS)  # helpers not running a half now
        self._closed = False

    def _helper(self, call, *args) -> Future | None:
        """`call(*args)` on a helper thread (the threads made on first use), or None when
        every helper is busy: under load the caller runs it itself rather than queue
        behind other searches' halves."""
        if not self._free.acquire(blocking=False):
            return None
        with self._query_lock:
            if self._closed:  # a search still running as the engine closes: no new threads
                self._free.release()
                return None
            if self._pool is None:
                self._pool = ThreadPoolExecutor(HELPERS, thread_name_prefix="tidings-search")
            try:
                pending = self._pool.submit(call, *args)
            except RuntimeError:  # the interpreter is shutting down
                self._free.release()
                return None
        pending.add_done_callback(lambda _: self._free.release())
        return pending

    def close(self) -> None:
        with self._query_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding by the current model, reused while that model is the
        one bound (a re-embed with another model binds a new embedder)."""
        embedder = self.model.embedder
        with self._query_lock:
            kept = self._query_vectors.get(query)
            if kept is not None and kept[0] is embedder:
                self._query_vectors.move_to_end(query)
                return kept[1]
        vector = embedder.embed_query(query)
        with self._query_lock:
            self._query_vectors[query] = (embedder, vector)
            self._query_vectors.move_to_end(query)
            while len(self._query_vectors) > QUERY_VECTORS_KEPT:
                self._query_vectors.popitem(last=False)
        return vector

    def search(self, query: str, mode: str = "hybrid", limit: int | None = None) -> list[Hit]:
        if mode not in SEARCH_MODES:
            raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(SEARCH_MODES)}")
        limit = check_limit(limit, self.default_limit)
        query = query.strip()
        if not query:
            return []
        self.vectors.sync()
        depth = max(limit * 3, 50)
        keyword = semantic = []
        query_vector = None
        semantic_wanted = mode in ("semantic", "hybrid") and self.vectors.index is not None
        if semantic_wanted:
            self.model.check()  # another process may have re-embedded with another model
            query_vector = self.query_vector(query)
        # hybrid: the keyword statement on another thread while this one walks the vector
        # index: both wait on the database (or on C code that lets go of the GIL) most of
        # the time. Not while the model embeds the query: it keeps both cores busy.
        pending = None
        if mode == "hybrid" and semantic_wanted:
            pending = self._helper(self.store.keyword_search, query, depth)
        if semantic_wanted:
            semantic = self.vectors.search(query_vector, depth)
        if mode in ("keyword", "hybrid"):
            keyword = pending.result() if pending else self.store.keyword_search(query, depth)
        if mode == "keyword":
            ranked = keyword
        elif mode == "semantic":
            ranked = semantic
        elif not semantic:
            ranked = keyword
        else:
            ranked = fuse(keyword, semantic, self._cosines(query_vector, keyword, semantic))
        return hits(self.store, ranked[:limit])

    def _cosines(self, query_vector, keyword, semantic) -> dict[int, float]:
        """Cosine to the query of every candidate: the semantic list's own, and for keyword
        hits the semantic search did not reach, from their vectors in the index (in memory:
        reading 50 embeddings from the database cost 7-10 ms at a million articles)."""
        cosines = dict(semantic)
        missing = [i for i, _ in keyword if i not in cosines]
        if missing:
            q = np.asarray(query_vector, dtype=np.float32)
            q = q / max(float(np.linalg.norm(q)), 1e-9)
            for i, vector in self.vectors.vectors(missing).items():
                v = np.asarray(vector, dtype=np.float32)
                cosines[i] = float(v @ q) / max(float(np.linalg.norm(v)), 1e-9)
        return cosines


# The keyword score's weight next to the cosine (dev figures, eval/search.py: 0.1–0.4 keep
# hybrid P@10 at or above both parts on the headlines and the demo; 0.3 is best on both)
KEYWORD_WEIGHT = 0.3


def fuse(
    keyword: list[tuple[int, float]],
    semantic: list[tuple[int, float]],
    cosines: dict[int, float],
    weight: float = KEYWORD_WEIGHT,
) -> list[tuple[int, float]]:
    """Hybrid ranking: cosine similarity plus a weighted keyword score, the BM25 score
    divided by the best one of this query (so 1 for the top keyword hit, whatever the
    query's length or the archive's statistics). The cosine is already on one scale for
    every query; rank fusion (RRF) throws that away, and with it the semantic side's sense
    of how far a candidate is from the query, which is why it trailed semantic search on
    headline queries. A candidate only one list found gets 0 from the other."""
    best = keyword[0][1] if keyword else 0.0
    lexical = {i: s / best for i, s in keyword} if best > 0 else {}
    ids = dict.fromkeys([i for i, _ in semantic] + [i for i, _ in keyword])
    scored = [(i, cosines.get(i, 0.0) + weight * lexical.get(i, 0.0)) for i in ids]
    return sorted(scored, key=lambda item: (-item[1], item[0]))


def hits(
    store, ranked: list[tuple[int, float]], text: bool = False, opening: int | None = None
) -> list[Hit]:
    """Hits for ranked (id, score) pairs: originals only, with their copies' outlets (and
    their text, or its `opening` characters, when asked)."""
    ids = [i for i, _ in ranked]
    articles = store.articles(ids, text=text, opening=opening)
    copies = store.copies(ids)
    out = []
    for article_id, score in ranked:
        article = articles.get(article_id)
        if article is None or article.duplicate_of is not None:
            continue
        publishers = [c.source for c in copies.get(article_id, []) if c.source]
        out.append(Hit(article, score, also_published_by=list(dict.fromkeys(publishers))))
    return out

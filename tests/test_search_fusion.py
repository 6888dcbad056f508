"""Hybrid fusion: cosine plus a weighted, per-query normalised keyword score."""

from tidings.search import KEYWORD_WEIGHT, fuse


def test_without_keyword_hits_the_semantic_order_stands():
    semantic = [(3, 0.9), (1, 0.8), (2, 0.7)]
    assert [i for i, _ in fuse([], semantic, dict(semantic))] == [3, 1, 2]


def test_a_keyword_match_lifts_a_close_candidate_but_not_a_far_one():
    semantic = [(1, 0.80), (2, 0.70), (3, 0.20)]
    keyword = [(2, 12.0), (3, 11.0)]  # BM25: 2 is the best lexical match, 3 close behind
    cosines = dict(semantic)
    ranked = [i for i, _ in fuse(keyword, semantic, cosines)]
    assert ranked[0] == 2  # 0.70 + 0.3 beats 0.80
    assert ranked.index(3) == 2  # 0.20 + 0.275 does not reach 0.80
    assert KEYWORD_WEIGHT == 0.3


def test_keyword_only_candidates_are_scored_by_their_cosine():
    ranked = fuse([(9, 5.0)], [(1, 0.5)], {1: 0.5, 9: 0.1})
    assert ranked == [(1, 0.5), (9, 0.1 + KEYWORD_WEIGHT)]


# -- the two halves of a hybrid search at once ---------------------------------------------


def test_a_hybrid_search_runs_its_keyword_half_while_the_vector_index_is_searched(make_engine):
    import threading

    from .site_corpus import demo_articles

    engine = make_engine()
    assert not engine.ingest_items(demo_articles(("northsea-ferry-grounding",))).failed
    both = threading.Barrier(2, timeout=10)  # broken, and the search fails, if run in turn
    seen = {}

    def meeting(name, call):
        def wrapped(*args, **kwargs):
            seen[name] = threading.current_thread().name
            both.wait()
            return call(*args, **kwargs)
        return wrapped

    engine.store.keyword_search = meeting("keyword", engine.store.keyword_search)
    engine.vectors.search = meeting("vectors", engine.vectors.search)
    hits = engine.search("ferry aground", mode="hybrid", limit=5)
    assert hits and "ferry" in hits[0].article.title.lower()
    assert seen["vectors"] == threading.current_thread().name
    assert seen["keyword"].startswith("tidings-search")
    # every helper busy (other searches' halves): the caller runs the keyword half itself,
    # rather than wait in a queue
    from tidings.search import HELPERS

    for _ in range(HELPERS):  # (the last search's helper gives its place back just after)
        assert engine.searcher._free.acquire(timeout=5)
    engine.store.keyword_search = meeting("keyword", type(engine.store).keyword_search.__get__(
        engine.store))
    both = threading.Barrier(1)
    assert engine.search("ferry aground", mode="hybrid", limit=5) == hits
    assert seen["keyword"] == threading.current_thread().name
    for _ in range(HELPERS):
        engine.searcher._free.release()
    del engine.store.keyword_search, engine.vectors.search  # the methods themselves again
    assert engine.search("ferry aground", mode="keyword", limit=5)
    helpers = list(engine.searcher._pool._threads)
    assert helpers
    engine.close()  # and the helper threads end with the engine, for good
    assert not [t for t in helpers if t.is_alive()]
    assert engine.searcher._helper(len, ()) is None

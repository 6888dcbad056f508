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

"""Related articles: chosen for relevance without repeating one report or one outlet, and
each says which names it shares with the article."""

from __future__ import annotations

import numpy as np

from tidings.related import Candidate, diverse

from .test_engine import sample_articles


def hit(n: int, score: float, source: str = "") -> Candidate:
    return Candidate(n, score, source.strip().lower())


def test_a_rewrite_of_a_chosen_report_gives_way_to_another_report():
    a, rewrite, other = hit(1, 0.90), hit(2, 0.89), hit(3, 0.70)
    vectors = {
        1: np.array([1.0, 0.0, 0.0]),
        2: np.array([0.99, 0.1, 0.0]),
        3: np.array([0.0, 1.0, 0.0]),
    }
    chosen = diverse([a, rewrite, other], vectors, 3)
    assert [c.id for c in chosen] == [1, 3, 2]
    assert [c.score for c in chosen] == [0.90, 0.70, 0.89]  # each keeps its own similarity
    assert [c.id for c in diverse([a, rewrite, other], vectors, 2)] == [1, 3]


def test_a_second_article_of_one_outlet_gives_way_to_a_close_one_from_another():
    first, same, elsewhere = hit(1, 0.80, "Daily"), hit(2, 0.79, " daily "), hit(3, 0.78, "Post")
    vectors = {i: np.eye(3)[i - 1] for i in (1, 2, 3)}  # unrelated to each other
    assert [c.id for c in diverse([first, same, elsewhere], vectors, 3)] == [1, 3, 2]
    # far enough apart, relevance still wins
    weaker = hit(3, 0.60, "Post")
    assert [c.id for c in diverse([first, same, weaker], vectors, 3)] == [1, 2, 3]


def test_related_articles_say_which_names_they_share(make_engine):
    engine = make_engine()
    engine.ingest_articles(sample_articles())
    rows = {a.url: a for a in engine.store.latest(50)}
    ferry = rows["https://wire.example/ferry-aground"].id
    found = engine.related(ferry, limit=3)
    by_url = {h.article.url: h for h in found}
    followup = by_url["https://wire.example/ferry-refloated"]
    assert {"Selkie", "Skarra"} <= set(followup.shared)
    assert found[0] is followup  # the same event's follow-up comes first
    bank = by_url.get("https://wire.example/estova-rates")
    assert bank is None or bank.shared == []

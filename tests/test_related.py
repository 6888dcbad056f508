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
    vectors = {1: np.array([1.0, 0.0, 0.0]), 2: np.array([0.99, 0.1, 0.0]),
               3: np.array([0.0, 1.0, 0.0])}
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


def test_a_report_from_a_year_before_gives_way_to_a_slightly_weaker_one_of_the_same_weeks():
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 2, tzinfo=UTC)
    old = Candidate(1, 0.70, "a", now - timedelta(days=365))
    recent = Candidate(2, 0.66, "b", now - timedelta(days=3))
    vectors = {i: np.eye(2)[i - 1] for i in (1, 2)}
    assert [c.id for c in diverse([old, recent], vectors, 2, at=now)] == [2, 1]
    assert [c.id for c in diverse([old, recent], vectors, 2)] == [1, 2]  # no date: no say
    # a much closer report still comes first, and a week apart changes nothing
    closer = old._replace(score=0.80)
    assert [c.id for c in diverse([closer, recent], vectors, 2, at=now)] == [1, 2]
    last_week = old._replace(published=now - timedelta(days=7))
    assert [c.id for c in diverse([last_week, recent], vectors, 2, at=now)] == [1, 2]


def test_related_articles_say_which_names_they_share(make_engine):
    engine = make_engine()
    engine.ingest_articles(sample_articles())
    rows = {a.url: a for a in engine.store.latest(50)}
    ferry = rows["https://wire.example/ferry-aground"].id
    found = engine.related(ferry, limit=3)
    by_url = {h.article.url: h for h in found}
    followup = by_url["https://wire.example/ferry-refloated"]
    # a name of several words is shown whole, not word by word
    assert {"Selkie Dawn", "Skarra"} <= set(followup.shared)
    assert "Selkie" not in followup.shared and "Dawn" not in followup.shared
    assert found[0] is followup  # the same event's follow-up comes first
    bank = by_url.get("https://wire.example/estova-rates")
    assert bank is None or bank.shared == []


def test_a_capitalised_word_the_text_also_writes_in_lower_case_is_not_a_name():
    from tidings.related import proper_names

    names = proper_names(
        "Ferry Runs Aground Off Skarra",
        "Storm winds pushed the ferry onto rocks off Skarra; the storm eased by noon. "
        "Passengers were taken off by lifeboat.",
    )
    # not Ferry, Storm (ferry, storm below) nor Runs, Aground (a title-case headline's words
    # the body never capitalises); Passengers, capitalised where a sentence starts, stays
    assert names == {"Skarra": 2, "Passengers": 1}
    # a sentence-case headline's capitals are names even when the body does not repeat them
    names = proper_names(
        "How GreyTide got into Quillon: a password and no second factor",
        "Nineteen days passed before the hospital group noticed. Investigators at Quillon "
        "said a contractor's account was used.",
    )
    assert set(names) == {"GreyTide", "Quillon", "Nineteen", "Investigators"}
    # plurals and possessives are the same word: "Fires" over "fire", "Bank's" over "banks"
    names = proper_names("Fires and Bank's losses grow", "A fire at two banks. Fires spread.")
    assert names == {}
    # and a title-case headline's run of capitals is not shown as one name
    from tidings.related import name_phrases

    assert name_phrases("Fire Crews Battle Blaze Near Varnholt", "Crews from Varnholt came.") == {}
    assert name_phrases("Fire crews battle blaze near Kells Hollow", "") == {"Kells Hollow": 1}
    # a headline alone has no lower-case evidence: its capitalised words stay
    assert set(proper_names("Ferry Runs Aground Off Skarra", "")) == {
        "Ferry", "Runs", "Aground", "Off", "Skarra"
    }


def test_shared_names_show_a_name_of_several_words_once_and_a_possessive_as_the_name():
    from tidings.models import Article
    from tidings.related import name_phrases, proper_names, shared_names

    title = "The National Competition Board opens review of Greenmarket deal"
    text = "Greenmarket's shareholders and the National Competition Board met in Varnholt."
    other = Article(
        url="https://x.example/o",
        title="Greenmarket's bid",
        text="The National Competition Board will rule on the Greenmarket bid.",
    )
    shared = shared_names(proper_names(title, text), other, name_phrases(title, text))
    assert shared == ["National Competition Board", "Greenmarket"]
    assert name_phrases(title, text)["National Competition Board"] == 2  # "The" dropped

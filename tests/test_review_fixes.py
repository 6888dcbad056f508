"""Defects found reading the change back: recurring short items, newest-first ingest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tidings.models import Article

T0 = datetime(2026, 1, 1, 7, 0, tzinfo=UTC)


def test_a_recurring_title_only_item_still_folds_after_many_editions(make_engine):
    """Short items only fold with one dated close to them, so the lookup must offer the
    newest candidates, not the 20 oldest."""
    engine = make_engine()
    editions = [
        Article(url=f"https://a.example/briefing/{n}", title="Morning briefing",
                published=T0 + timedelta(days=3 * n), source="A")
        for n in range(25)
    ]
    assert engine.ingest_articles(editions, batch_size=1).new == 25
    repost = Article(url="https://b.example/briefing-today", title="Morning briefing",
                     published=editions[-1].published + timedelta(hours=2), source="B")
    assert engine.ingest_articles([repost]).duplicate == 1


def test_ingesting_newest_first_reads_each_story_once(make_engine, monkeypatch):
    """Feeds and archive crawls arrive newest first: each older batch must load only the
    stories it has not loaded yet, not every story from its date on again."""
    engine = make_engine(story_threshold=2.0)  # every article its own story
    articles = [
        Article(url=f"https://a.example/{n}", title=f"Item {n} about Place{n}",
                text=f"Distinct body number {n} about Place{n} and Person{n}.",
                published=T0 - timedelta(hours=6 * n), source="A")
        for n in range(96)
    ]
    read = []
    original = engine.store.story_states

    def counting(*args, **kwargs):
        states = original(*args, **kwargs)
        read.append(len(states))
        return states

    monkeypatch.setattr(engine.store, "story_states", counting)
    engine.ingest_articles(articles, batch_size=8)
    assert engine.stats()["stories"] == 96
    assert sum(read) <= 96, read

"""A sync-test database: two subscribed feeds, thousands of originals stored straight through
the store (no model needed), syndicated copies from the other feed, a story, accounts with
API passwords; served live by the real app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tidings.models import Article

PASSWORD = "api password 1"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def add_articles(engine, n: int, start: int, feed_id: int | None = None, story_id=None):
    """Store n originals (urls /a/<start..>) with feed entries; returns their ids."""
    store = engine.store
    articles = [
        Article(
            url=f"https://a.example/a/{i}",
            title=f"Harbour report {i}",
            text=f"Paragraph one of report {i}.\nParagraph two <b>not markup</b> {i}.",
            source="Alpha News",
            published=T0 + timedelta(minutes=i),
            content_hash=f"h{i}",
            story_id=story_id,
        )
        for i in range(start, start + n)
    ]
    with store.transaction() as tx:
        ids = [store.insert_article(tx, a, a.url) for a in articles]
    if feed_id:
        store.record_entries(
            feed_id, [{"url": a.url, "guid": a.url, "article_id": i}
                      for a, i in zip(articles, ids, strict=True)]
        )
    return ids


def build(engine, originals: int = 3000) -> dict:
    store = engine.store
    feed_a, _ = store.subscribe("https://a.example/feed.xml", "Alpha News", "World",
                                "https://a.example/")
    feed_b, _ = store.subscribe("https://b.example/rss", "Beta Daily", None,
                                "https://b.example/")
    with store.transaction() as tx:
        story = store.create_story(tx, "Ferry strike", T0)
    ids = add_articles(engine, originals - 20, 0, feed_a)
    story_ids = add_articles(engine, 20, originals - 20, feed_a, story_id=story)
    copies = [
        Article(url=f"https://b.example/copy/{i}", title=f"Harbour report {i}",
                text="same text", source="Beta Daily", content_hash=f"h{i}",
                duplicate_of=ids[i])
        for i in range(5)
    ]
    with store.transaction() as tx:
        copy_ids = [store.insert_article(tx, c, c.url) for c in copies]
    store.record_entries(feed_b, [{"url": c.url, "guid": c.url, "article_id": i}
                                  for c, i in zip(copies, copy_ids, strict=True)])
    accounts = engine.readers.accounts
    admin = accounts.add("ada", "login password 1", admin=True)
    engine.readers.api_passwords.set(admin, PASSWORD)
    return {
        "feed_a": feed_a, "feed_b": feed_b, "story": story, "ids": ids + story_ids,
        "story_ids": story_ids, "copies": copy_ids, "admin": admin,
    }


def new_reader(engine, name: str):
    account = engine.readers.accounts.add(name, "login password 1")
    engine.readers.api_passwords.set(account, PASSWORD)
    return account

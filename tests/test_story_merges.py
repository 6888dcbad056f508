"""Online clustering makes fragments: the first reports of an event can be far apart (two
angles, two headlines), and by the time an article bridges them each has its own story.
When a story grows close enough to another, the two become one; the absorbed story's id
keeps leading to the story that absorbed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from tidings.models import Article
from tidings.store import SQLiteStore
from tidings.stories import StoryClusterer

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def unit(*values: float) -> np.ndarray:
    v = np.zeros(8, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


FIRST = unit(1.0)
SECOND = unit(0.4, 0.9165)  # cosine 0.40 to FIRST: below the join threshold
BRIDGE = unit(1.0, 0.0) + unit(0.4, 0.9165)  # as close to both
BRIDGE = BRIDGE / np.linalg.norm(BRIDGE)
ELSEWHERE = unit(0.0, 0.0, 1.0)


def clusterer(store, merge: float = 0.55) -> StoryClusterer:
    return StoryClusterer(store, threshold=0.45, window_days=30, name_weight=0.0,
                          merge_threshold=merge)


def place(store, clusterer, n: int, vector: np.ndarray) -> int:
    when = T0 + timedelta(minutes=n)
    with store.transaction() as tx:
        clusterer.prepare(tx, [when.timestamp()])
        story = clusterer.assign(tx, vector, when, f"report number {n}")
        store.insert_article(
            tx,
            Article(url=f"https://n.example/{n}", title=f"report {n}", text="t",
                    content_hash=f"h{n}", published=when, story_id=story),
            f"k{n}", [], vector,
        )
    clusterer.committed(tx)
    return story


def test_a_story_that_grows_close_to_another_absorbs_it(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    c = clusterer(store)
    a = place(store, c, 1, FIRST)
    b = place(store, c, 2, SECOND)
    assert a != b
    other = place(store, c, 3, ELSEWHERE)
    kept = place(store, c, 4, BRIDGE)
    assert kept in (a, b)
    gone = b if kept == a else a
    live = store.stories(limit=10)
    assert sorted(s.id for s in live) == sorted([kept, other])
    assert {s.id: s.size for s in live} == {kept: 3, other: 1}
    assert [x.url for x in store.story_articles(kept)] == [
        "https://n.example/1", "https://n.example/2", "https://n.example/4"]
    assert store.story_articles(gone) == []
    assert store.story(gone).id == kept  # an old link to the absorbed story still leads on
    # the merged centroid goes on attracting both angles
    assert place(store, c, 5, SECOND) == kept
    store.close()


def test_no_merge_when_disabled_or_when_stories_stay_apart(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    c = clusterer(store, merge=0.0)
    a, b = place(store, c, 1, FIRST), place(store, c, 2, SECOND)
    place(store, c, 3, BRIDGE)
    assert {s.id for s in store.stories(limit=10)} == {a, b}
    store.close()
    store = SQLiteStore(tmp_path / "t.db")
    c = clusterer(store, merge=0.9)
    a, b = place(store, c, 1, FIRST), place(store, c, 2, SECOND)
    place(store, c, 3, BRIDGE)
    assert {s.id for s in store.stories(limit=10)} == {a, b}
    store.close()


def test_another_writer_learns_of_a_merge_and_never_joins_the_absorbed_story(tmp_path):
    path = tmp_path / "s.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    mine, theirs = clusterer(first), clusterer(second)
    a = place(first, mine, 1, FIRST)
    b = place(first, mine, 2, SECOND)
    place(second, theirs, 3, ELSEWHERE)  # the second writer now holds both in memory
    kept = place(first, mine, 4, BRIDGE)
    gone = b if kept == a else a
    # the second writer places an article like the absorbed story's only member
    joined = place(second, theirs, 5, SECOND if gone == b else FIRST)
    assert joined == kept
    sizes = {s.id: s.size for s in first.stories(limit=10)}
    assert gone not in sizes and sizes[kept] == 4
    assert sizes[kept] == len(first.story_articles(kept))
    first.close()
    second.close()


def test_the_page_of_an_absorbed_story_lists_the_absorbing_story(tmp_path):
    from tidings.listing import Listing

    store = SQLiteStore(tmp_path / "s.db")
    c = clusterer(store)
    a, b = place(store, c, 1, FIRST), place(store, c, 2, SECOND)
    kept = place(store, c, 3, BRIDGE)
    gone = b if kept == a else a
    page = Listing(store, search=None).story_page(gone)
    assert page.story.id == kept
    assert len(page.story.articles) == 3
    store.close()

"""A headline says less than a full report: two headlines of one event share few words and
their embeddings agree less, so a headline alone joins a story at a lower score than a full
text does, and a body of a few dozen words sits in between."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tidings.models import Article
from tidings.store import SQLiteStore
from tidings.stories import FULL_TEXT_WORDS, StoryClusterer

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at_cosine(c: float, axis: int = 1) -> np.ndarray:
    """A unit vector at cosine `c` to the first axis, leaning towards `axis`."""
    v = np.zeros(8, dtype=np.float32)
    v[0], v[axis] = c, math.sqrt(1 - c * c)
    return v


def words(n: int) -> str:
    return " ".join(f"word{i}" for i in range(n))


def place(store, c: StoryClusterer, n: int, vector: np.ndarray, text: str) -> int:
    when = T0 + timedelta(minutes=n)
    with store.transaction() as tx:
        c.prepare(tx, [when.timestamp()])
        story = c.assign(tx, vector, when, f"report {n}", text)
        store.insert_article(
            tx,
            Article(url=f"https://n.example/{n}", title=f"report {n}", text=text or "t",
                    content_hash=f"h{n}", published=when, story_id=story),
            f"k{n}", [], vector,
        )
    c.committed(tx)
    return story


@pytest.mark.parametrize(
    ("cosine", "body_words", "joins"),
    [
        (0.40, 0, True),  # a headline: threshold 0.45 - 0.09 = 0.36
        (0.40, FULL_TEXT_WORDS, False),  # a full text: 0.45
        (0.40, FULL_TEXT_WORDS * 4, False),
        (0.40, FULL_TEXT_WORDS // 2, False),  # half way: 0.405
        (0.42, FULL_TEXT_WORDS // 2, True),
        (0.35, 0, False),  # below even the headline threshold
    ],
)
def test_the_join_threshold_falls_for_short_texts(tmp_path, cosine, body_words, joins):
    store = SQLiteStore(tmp_path / "s.db")
    c = StoryClusterer(store, threshold=0.45, window_days=30, name_weight=0.0,
                       short_text_margin=0.09)
    first = place(store, c, 1, at_cosine(1.0), words(body_words))
    second = place(store, c, 2, at_cosine(cosine), words(body_words))
    assert (second == first) is joins
    store.close()


def test_without_a_margin_every_length_joins_at_the_threshold(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    c = StoryClusterer(store, threshold=0.45, window_days=30, name_weight=0.0)
    first = place(store, c, 1, at_cosine(1.0), "")
    assert place(store, c, 2, at_cosine(0.40), "") != first
    assert place(store, c, 3, at_cosine(0.46, axis=2), "") == first
    store.close()


def test_loading_many_stories_grows_the_state_arrays_geometrically(tmp_path):
    """Opening on a large archive loads every story of the window (30k at a million
    articles) one by one: each array must grow by doubling, not by one row per story (which
    copied every array once per story, quadratic in the window)."""
    from tidings.store import StoryState

    store = SQLiteStore(tmp_path / "s.db")
    c = StoryClusterer(store, threshold=0.45, window_days=30, name_weight=0.0)
    reallocations, last = 0, None
    for i in range(3000):
        c._put(StoryState(i + 1, f"s{i}", T0, T0, 1, at_cosine(1.0), {}, T0))
        if c.first is not last:
            reallocations, last = reallocations + 1, c.first
    assert len(c.ids) == 3000
    assert reallocations <= 12, reallocations
    # and what was put is what is read
    assert c.sizes[:3000].sum() == 3000 and c.first[2999] == T0.timestamp()
    store.close()

"""Work that must not grow with the database: opening reads only the vectors written since
the index file was saved, story clustering reads only the stories in its window, and
numeric arguments outside their range are refused as such. Behaviour, not timings."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from tidings.models import Article

from .test_engine import sample_articles

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
STREETS = ["Elm", "Harbour", "Mill", "Station", "Castle", "Bridge", "Church", "Market"]


def notices(count: int, first: int = 0, step: timedelta = timedelta(hours=1)) -> list[Article]:
    """Short, distinct, title-bearing articles (no two share a hash or a near-duplicate key)."""
    out = []
    for i in range(first, first + count):
        street = STREETS[i % len(STREETS)]
        out.append(
            Article(
                url=f"https://council.example/notices/{i}",
                title=f"Notice {i}: {street} Road works",
                text=f"Notice {i}. Lane {i % 5} of {street} Road closes for works number {i}.",
                source="Council",
                published=START + step * i,
            )
        )
    return out


def count_store_reads(monkeypatch, store_class) -> Counter:
    """Count the vectors the store hands out and the calls listing every vector id."""
    seen: Counter = Counter()
    iter_vectors, vector_ids = store_class.iter_vectors, store_class.vector_ids

    def counted_iter_vectors(self, *args, **kwargs):
        seen["iter_vectors calls"] += 1
        for ids, vectors in iter_vectors(self, *args, **kwargs):
            seen["vectors read"] += len(ids)
            yield ids, vectors

    def counted_vector_ids(self, *args, **kwargs):
        seen["vector_ids calls"] += 1
        return vector_ids(self, *args, **kwargs)

    monkeypatch.setattr(store_class, "iter_vectors", counted_iter_vectors)
    monkeypatch.setattr(store_class, "vector_ids", counted_vector_ids)
    return seen


# -- opening is not a full scan --------------------------------------------------------

N, K = 120, 5


def test_open_reads_no_vectors_and_catching_up_reads_only_the_new_ones(
    make_engine, tmp_path, monkeypatch
):
    data = tmp_path / "db"
    first = make_engine(data)
    first.ingest_articles(notices(N))
    store_class = type(first.store)
    first.close()
    assert (data / "vectors.usearch").exists()
    assert (data / "vectors.usearch.json").exists()

    seen = count_store_reads(monkeypatch, store_class)
    reader = make_engine(data)  # an up-to-date index file: nothing to read
    assert reader.stats()["vectors_indexed"] == N
    assert reader.search("Harbour Road works", mode="semantic")
    assert seen["vectors read"] == 0, seen
    assert seen["vector_ids calls"] == 0, seen

    writer = make_engine(data)  # another engine adds K articles and keeps its index unsaved
    writer.ingest_articles(notices(K, first=N))
    seen.clear()
    late = make_engine(data)  # the file on disk is K vectors behind
    assert late.stats()["vectors_indexed"] == N + K
    assert seen["vectors read"] == K, seen
    assert seen["vector_ids calls"] == 0, seen

    seen.clear()  # the engine opened before the write catches up on its next query
    hits = reader.search(f"Notice {N + K - 1}", mode="semantic", limit=5)
    assert reader.stats()["vectors_indexed"] == N + K
    assert any(h.article.url.endswith(f"/{N + K - 1}") for h in hits)
    assert seen["vectors read"] == K, seen
    assert seen["vector_ids calls"] == 0, seen


def test_usearch_keys_are_every_key_for_thousands_of_keys(tmp_path):
    from tidings.index.vectors import UsearchIndex

    rng = np.random.default_rng(6)
    ids = np.unique(rng.integers(1, 2**40, size=6000, dtype=np.uint64))
    vectors = rng.standard_normal((len(ids), 8)).astype(np.float32)
    index = UsearchIndex(tmp_path / "keys.usearch", 8)
    index.add(ids, vectors)
    keys = index.keys()
    assert len(keys) == len(ids)
    assert set(keys.tolist()) == set(ids.tolist())
    gone = ids[::3]
    index.remove(gone.tolist())
    assert set(index.keys().tolist()) == set(ids.tolist()) - set(gone.tolist())
    index.save()
    reopened = UsearchIndex(tmp_path / "keys.usearch", 8)
    assert set(reopened.keys().tolist()) == set(ids.tolist()) - set(gone.tolist())


# -- story clustering reads only its window --------------------------------------------

STORIES, SPAN_DAYS = 120, 400


def test_clustering_a_new_article_loads_only_the_stories_in_its_window(
    make_engine, tmp_path, monkeypatch
):
    data = tmp_path / "db"
    # a threshold no score reaches: every article is a story of its own
    history = make_engine(data, story_threshold=2.0)
    step = timedelta(days=SPAN_DAYS / STORIES)
    history.ingest_articles(notices(STORIES, step=step))
    window_days = history.settings.story_window_days
    store_class = type(history.store)
    history.close()

    loaded: list = []
    story_states = store_class.story_states

    def counted_story_states(self, *args, **kwargs):
        states = story_states(self, *args, **kwargs)
        loaded.extend(states)
        return states

    monkeypatch.setattr(store_class, "story_states", counted_story_states)
    fresh = make_engine(data, story_threshold=2.0)
    fresh.ingest_articles(notices(1, first=STORIES, step=step))
    assert fresh.stats()["stories"] == STORIES + 1
    in_window = int(window_days / (step / timedelta(days=1))) + 1  # active in the window
    assert 0 < len(loaded) <= in_window + 2, len(loaded)
    newest = START + step * STORIES
    assert all(s.last_seen >= newest - timedelta(days=window_days) for s in loaded)
    # the clusterer holds the window and the story it just made, not every centroid
    assert len(fresh.clusterer.ids) == len({s.id for s in loaded}) + 1


# -- numeric bounds --------------------------------------------------------------------


@pytest.fixture
def small_engine(make_engine):
    engine = make_engine()
    engine.ingest_articles(sample_articles())
    return engine


@pytest.mark.parametrize("limit", [0, -1])
def test_search_and_related_refuse_a_limit_below_one(small_engine, limit):
    with pytest.raises(ValueError, match="limit"):
        small_engine.search("ferry", limit=limit)
    some_id = next(row["id"] for row in small_engine.export())
    with pytest.raises(ValueError, match="limit"):
        small_engine.related(some_id, limit=limit)


def test_ids_beyond_64_bits_are_simply_not_found(small_engine):
    with pytest.raises(KeyError):
        small_engine.related(2**64)
    assert small_engine.article(2**70) is None
    assert small_engine.article(2**63) is None
    assert small_engine.story(2**70) is None


def test_cli_refuses_out_of_range_numbers_with_a_usage_error(tmp_path):
    from tidings.cli import main

    data = str(tmp_path / "data")
    result = CliRunner().invoke(main, ["--data-dir", data, "search", "x", "--limit", "-5"])
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output and "--limit" in result.output
    result = CliRunner().invoke(main, ["--data-dir", data, "related", str(2**64)])
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output

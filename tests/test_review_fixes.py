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


class _Hashed:
    """A deterministic bag-of-words embedder of any size (a stand-in for a second model)."""

    def __new__(cls, dim: int, model_id: str):
        import hashlib

        import numpy as np

        from tidings.embed import Embedder

        class Hashed(Embedder):
            def _encode(self, texts, is_query):
                out = np.zeros((len(texts), self.dim), dtype=np.float32)
                for row, text in enumerate(texts):
                    for word in text.lower().split():
                        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest())
                        out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
                return out + 1e-3

        embedder = Hashed()
        embedder.dim, embedder.model_id = dim, model_id
        return embedder


def test_reembed_to_another_dimension_while_another_engine_is_open(tmp_path):
    import pytest

    from tidings.embed.binding import ModelMismatchError
    from tidings.engine import Engine

    from .conftest import make_settings

    def articles(first: int, n: int) -> list[Article]:
        return [
            Article(url=f"https://a.example/{k}", title=f"Harbour crane strike day {k % 3}",
                    text=f"Dockworkers at Varnholt walked out on day {k % 3} of the strike. "
                         f"Talks resume, report number {k}.",
                    published=T0 + timedelta(hours=k), source="A")
            for k in range(first, first + n)
        ]

    data = tmp_path / "data"
    server = Engine(make_settings(data), embedder=_Hashed(16, "small-16"))
    server.ingest_articles(articles(0, 12))
    some_id = server.latest(1)[0].id
    with Engine(make_settings(data), embedder=_Hashed(32, "big-32"), check_model=False) as other:
        other.reembed()
    # the open engine neither crashes nor mixes models
    assert server.search("strike", mode="keyword")
    server.related(some_id)
    with pytest.raises(ModelMismatchError):
        server.search("strike", mode="semantic")
    server.close()
    with Engine(make_settings(data), embedder=_Hashed(32, "big-32")) as fresh:
        result = fresh.ingest_articles(articles(12, 6))
        assert result.new + result.duplicate == 6
        assert {s.centroid.shape for s in fresh.store.story_states()} == {(32,)}
        assert fresh.related(some_id) is not None


def test_two_articles_of_one_batch_never_both_take_a_stored_originals_place(make_engine):
    """A and B each contain the stored R and were published days before it, but differ from
    each other: the first takes R's place, the second is then a copy, not a second original."""
    words = ("harbour cranes automated union vote strike port varnholt dockworkers pay "
             "talks mediator shifts overtime cargo ships queue berth terminal operator").split()
    body = " ".join(words[(k * 7) % len(words)] + str(k) for k in range(60))
    extra_a = " ".join(f"alpha{k} river flood levee" for k in range(8))
    extra_b = " ".join(f"beta{k} mine rescue shaft" for k in range(8))
    engine = make_engine()
    late = T0 + timedelta(days=10)
    engine.ingest_articles([Article(url="https://r.example/1", title="Dock strike",
                                    text=body, published=late, source="R")])
    batch = [
        Article(url="https://a.example/1", title="Dock strike", text=body + " " + extra_a,
                published=late - timedelta(days=3), source="A"),
        Article(url="https://b.example/1", title="Dock strike", text=body + " " + extra_b,
                published=late - timedelta(days=3), source="B"),
    ]
    engine.ingest_articles(batch)
    originals = [a for a in engine.store.iter_articles() if a.duplicate_of is None]
    assert len(originals) == 1, [(a.url, a.duplicate_of) for a in engine.store.iter_articles()]
    assert engine.stats()["vectors_indexed"] == 1


def test_a_commit_during_catch_up_does_not_force_a_full_reconcile(tmp_path, monkeypatch):
    from tidings.engine import Engine
    from tidings.index import vectors as vectors_module

    from .conftest import make_settings

    def article(k: int) -> Article:
        return Article(url=f"https://a.example/{k}", title=f"Report {k} from Skarra",
                       text=f"Ferry report number {k} from Skarra harbour, day {k}.",
                       published=T0 + timedelta(hours=k), source="A")

    data = tmp_path / "data"
    reader = Engine(make_settings(data), embedder=_Hashed(16, "h16"))
    writer = Engine(make_settings(data), embedder=_Hashed(16, "h16"))
    writer.ingest_articles([article(0), article(1)])
    assert len(reader.vectors) == 2
    writer.ingest_articles([article(2)])
    reconciles = []
    real_reconcile = vectors_module.UsearchIndex._reconcile
    monkeypatch.setattr(vectors_module.UsearchIndex, "_reconcile",
                        lambda self, *a: reconciles.append(1) or real_reconcile(self, *a))
    real_iter = reader.store.iter_vectors

    def iter_then_commit(*args, **kwargs):
        yield from real_iter(*args, **kwargs)
        writer.ingest_articles([article(3)])  # another process commits mid catch-up

    monkeypatch.setattr(reader.store, "iter_vectors", iter_then_commit)
    reader.vectors.sync()
    assert reconciles == []
    monkeypatch.setattr(reader.store, "iter_vectors", real_iter)
    assert len(reader.vectors) == 4  # the next catch-up reads the article committed meanwhile
    reader.close()
    writer.close()

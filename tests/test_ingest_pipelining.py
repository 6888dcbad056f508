"""Ingest overlaps the model with the write path: while one batch is written, the model
embeds the next. The decisions taken before a batch's transaction must still be right when
the batch written just before it holds one of its copies."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest

from tidings.models import Article

from .test_dedupe_rules import CHAIN_TEXTS, WHEN, art, rows_by_url


def story(n: int) -> Article:
    """Unrelated articles: no shared URL, text or near-duplicate band."""
    rng = random.Random(n)
    place = "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3))
    words = [
        "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3))
        for _ in range(150)
    ]
    text = " ".join(words).capitalize() + "."
    return art(f"https://news{n}.example/{place}/{n}", f"{place.title()} news {n}", text,
               when=WHEN + timedelta(hours=n))


def test_the_model_embeds_the_next_batch_while_a_batch_is_written(make_engine):
    engine = make_engine()
    ingestor = engine.ingestor
    embedding_second = threading.Event()
    calls = []
    embed, write = ingestor._embed, ingestor._write

    def recording_embed(articles, decisions, have):
        if not have:  # the first embedding of a batch, not a re-check's reuse
            calls.append([a.url for a in articles])
        if len(calls) == 2:
            embedding_second.set()
        return embed(articles, decisions, have)

    def waiting_write(tx, articles, decisions, vectors):
        if articles[0].url == batches[0][0].url:
            # the first batch's transaction stays open until the model has the second
            assert embedding_second.wait(30), "the second batch was not embedded meanwhile"
        return write(tx, articles, decisions, vectors)

    ingestor._embed, ingestor._write = recording_embed, waiting_write
    items = [story(n) for n in range(6)]
    batches = [items[:3], items[3:]]
    result = engine.ingest_items(items, batch_size=3)
    assert (result.new, result.duplicate, result.failed) == (6, 0, [])
    assert calls == [[a.url for a in b] for b in batches]
    rows = rows_by_url(engine)
    assert all(rows[a.url]["duplicate_of"] is None for a in items)
    assert len(engine.search(items[0].title, mode="semantic", limit=6)) == 6


@pytest.mark.parametrize("texts", sorted(CHAIN_TEXTS))
def test_a_copy_in_the_batch_after_its_original_is_folded_into_it(make_engine, texts):
    """Each batch's first dedupe look is taken before the batch before it is written; a
    copy one batch behind its original must still find it."""
    engine = make_engine()
    body, copy_text, copy_of_copy_text = CHAIN_TEXTS[texts]
    chain = [
        art("https://courier.example/2026/11/08/velmora-dam", "Dam bursts above Velmora",
            body, source="Velmora Courier"),
        art("https://regional.example/velmora-flood", "Velmora evacuated as dam gives way",
            copy_text, source="Regional Times", when=WHEN + timedelta(hours=2)),
        art("https://aggregator.example/a/77123", "4,000 flee Velmora flood",
            copy_of_copy_text, source="FeedHub", when=WHEN + timedelta(hours=5)),
    ]
    result = engine.ingest_items(chain, batch_size=1)
    assert (result.new, result.duplicate) == (1, 2)
    rows = rows_by_url(engine)
    original_id = rows[chain[0].url]["id"]
    assert [rows[a.url]["duplicate_of"] for a in chain] == [None, original_id, original_id]
    assert {c.source for c in engine.article(original_id)[1]} == {"Regional Times", "FeedHub"}


def test_batches_that_share_no_dedupe_key_are_not_classified_twice(make_engine):
    """A batch's first decisions stand when the only write since was this ingest's own
    batch before it and none of its articles could have found that batch's articles."""
    engine = make_engine()
    deduper = engine.ingestor.deduper
    inside = []
    classify = deduper.classify_batch

    def counting(articles, tx=None):
        if tx is not None:
            inside.append(len(articles))
        return classify(articles, tx)

    deduper.classify_batch = counting
    result = engine.ingest_items([story(n) for n in range(8)], batch_size=2)
    assert result.new == 8
    assert inside == []
    # a copy of an article of the batch just before: decided again inside the write
    last = story(9)
    copy = art("https://mirror.example/copy", last.title, last.text, when=last.published)
    result = engine.ingest_items([story(8), last, copy], batch_size=2)
    assert (result.new, result.duplicate) == (2, 1)
    assert inside == [1]
    rows = rows_by_url(engine)
    assert rows[copy.url]["duplicate_of"] == rows[last.url]["id"]

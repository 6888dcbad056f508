"""Engine behaviour on a real SQLite database with the real model: ingest, dedupe, search,
related, stories, bad input, index repair."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from tidings.models import Article

FERRY = (
    "The passenger ferry Selkie Dawn ran aground on a sandbank two miles off Skarra on Tuesday "
    "night with 212 people on board. Coastguard boats and lifeboats from three harbours took "
    "passengers off in calm seas, and nobody was seriously hurt, the coastguard said. The "
    "operator said the ship lost steering shortly after leaving port and drifted onto the bank "
    "on a falling tide. Divers found a small fuel leak from a damaged tank, and a boom was "
    "placed around the hull overnight to contain the slick."
)
FERRY_FOLLOWUP = (
    "Salvage crews refloated the stranded ferry Selkie Dawn off Skarra on Thursday on the "
    "morning high tide and towed her to the mainland yard for inspection. Investigators from "
    "the marine accident board boarded the vessel to recover the voyage data recorder and "
    "question the crew about the steering failure that left 212 passengers waiting for rescue "
    "boats. Islanders said the ferry is their only link to the hospital and schools."
)
BANK = (
    "The central bank of Estova held its benchmark interest rate at 4.25 percent on Wednesday, "
    "citing stubborn services inflation and a weaker currency. Governor Lena Orsk told "
    "reporters that the board saw no case for cutting rates before the spring and that wage "
    "growth was still too fast. Markets trimmed their bets on an early cut, and mortgage "
    "lenders said fixed rates would stay near their highest level in a decade."
)
BANK_FOLLOWUP = (
    "Estova's mortgage holders face another winter of high repayments after the central bank "
    "kept rates on hold, housing charities warned on Thursday. About 180,000 fixed-rate deals "
    "expire in the next six months, and borrowers moving onto new loans will pay hundreds more "
    "each month, lenders said. The opposition finance spokesman called the decision a blow "
    "to families already squeezed by food and energy prices."
)


def art(url: str, title: str, text: str, day: int, source: str = "Test Wire") -> Article:
    return Article(
        url=url,
        title=title,
        text=text,
        source=source,
        published=datetime(2026, 11, day, 9, 0, tzinfo=UTC),
    )


def sample_articles() -> list[Article]:
    return [
        art("https://wire.example/ferry-aground", "Ferry runs aground off Skarra", FERRY, 3),
        art("https://wire.example/ferry-refloated", "Stranded ferry refloated", FERRY_FOLLOWUP, 5),
        art("https://wire.example/estova-rates", "Estova holds rates at 4.25%", BANK, 4),
        art(
            "https://wire.example/estova-mortgages",
            "Mortgage pain as rates stay high",
            BANK_FOLLOWUP,
            5,
        ),
        # a syndicated copy: other outlet, other headline, a prefixed line, last sentence cut
        art(
            "https://aggregator.example/2026/11/03/ferry",
            "Island ferry grounded, 212 rescued",
            "Updated at 10:00. " + FERRY.rsplit(". ", 1)[0],
            3,
            source="FeedHub",
        ),
        # same text, different spacing and case: exact duplicate by content hash
        art(
            "https://other.example/ferry",
            "FERRY RUNS AGROUND",
            FERRY.upper().replace(" ", "  "),
            3,
            source="Other Daily",
        ),
    ]


def test_ingest_folds_copies_and_is_idempotent(make_engine):
    engine = make_engine()
    result = engine.ingest_articles(sample_articles())
    assert (result.new, result.duplicate, result.failed) == (4, 2, [])
    again = engine.ingest_articles(sample_articles())
    assert (again.new, again.duplicate, again.unchanged) == (0, 0, 6)
    stats = engine.stats()
    assert (stats["originals"], stats["duplicates"], stats["vectors_indexed"]) == (4, 2, 4)
    rows = list(engine.export())
    original = next(r for r in rows if r["url"] == "https://wire.example/ferry-aground")
    copies = [r for r in rows if r["duplicate_of"] == original["id"]]
    assert {c["source"] for c in copies} == {"FeedHub", "Other Daily"}
    assert all(c["story_id"] == original["story_id"] for c in copies)


def test_search_modes_and_duplicates_never_listed(make_engine):
    engine = make_engine()
    engine.ingest_articles(sample_articles())
    for mode in ("keyword", "semantic", "hybrid"):
        hits = engine.search("ferry aground Skarra", mode=mode)
        urls = [h.article.url for h in hits]
        assert urls[0] == "https://wire.example/ferry-aground", mode
        assert not any("aggregator" in u or "other.example" in u for u in urls), mode
        assert set(hits[0].also_published_by) == {"FeedHub", "Other Daily"}
    # semantic search finds meaning without shared words
    top = engine.search("ship stuck on a sandbar near an island", mode="semantic")[0]
    assert "ferry" in top.article.title.lower()
    assert engine.search("borrowers monetary policy", mode="semantic")[0].article.url in {
        "https://wire.example/estova-rates",
        "https://wire.example/estova-mortgages",
    }
    # odd user input is never an FTS syntax error
    assert engine.search('"zebra* NOT (', mode="keyword") == []
    assert "ferry" in engine.search('ferry" OR (', mode="keyword")[0].article.title.lower()
    with pytest.raises(ValueError, match="unknown search mode"):
        engine.search("ferry", mode="fuzzy")


def test_related_excludes_copies_and_marks_story_siblings(make_engine):
    engine = make_engine()
    engine.ingest_articles(sample_articles())
    ids = {r["url"]: r["id"] for r in engine.export()}
    copy_id = ids["https://aggregator.example/2026/11/03/ferry"]
    hits = engine.related(copy_id)  # asking from a copy means asking from its original
    urls = [h.article.url for h in hits]
    assert urls[0] == "https://wire.example/ferry-refloated"
    assert hits[0].same_story
    assert "https://wire.example/ferry-aground" not in urls
    assert not any("aggregator" in u or "other.example" in u for u in urls)
    bank = {h.article.url: h for h in hits if "estova" in h.article.url}
    assert bank and not any(h.same_story for h in bank.values())
    with pytest.raises(KeyError):
        engine.related(10_000)


def test_stories_group_events(make_engine):
    engine = make_engine()
    engine.ingest_articles(sample_articles())
    stories = engine.stories()
    by_label = {s.label: s for s in stories}
    assert by_label["Ferry runs aground off Skarra"].size == 2
    assert by_label["Estova holds rates at 4.25%"].size == 2
    story = engine.story(by_label["Ferry runs aground off Skarra"].id)
    assert [a.url for a in story.articles] == [
        "https://wire.example/ferry-aground",
        "https://wire.example/ferry-refloated",
    ]
    assert story.first_seen < story.last_seen


def test_bad_inputs_are_reported_and_the_rest_ingested(make_engine, tmp_path):
    engine = make_engine(fetch_allow_private=True)
    good = tmp_path / "good.html"
    good.write_text(
        f"<html><head><title>Ferry runs aground</title></head><body><article>"
        f"<h1>Ferry runs aground</h1><p>{FERRY}</p><p>{FERRY_FOLLOWUP}</p>"
        f"</article></body></html>"
    )
    (tmp_path / "binary.html").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "empty.html").write_bytes(b"")
    (tmp_path / "latin1.html").write_bytes(
        (
            "<html><head><meta charset='utf-8'><title>Caf\xe9 owners count losses</title></head>"
            f"<body><article><p>Caf\xe9 owners in the valley said \xabwe lost everything\xbb. "
            f"{BANK}</p></article></body></html>"
        ).encode("latin-1")
    )  # lies about its charset
    (tmp_path / "page.html.gz").write_bytes(
        gzip.compress(
            f"<html><body><article><h1>Estova rates</h1><p>{BANK_FOLLOWUP}</p></article>"
            f"</body></html>".encode()
        )
    )
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "id": 1,
                        "title": "Rates on hold in Estova",
                        "published": 1794300000000,
                        "source": "Ledger",
                    }
                ),
                "{not json",
                json.dumps({"id": 2, "published": "2026-11-04T10:00:00Z"}),  # no title
                json.dumps(
                    {
                        "url": "https://example.com/x",
                        "title": "Mine rescue ends",
                        "published": "2026-11-04T10:00:00+01:00",
                        "text": "All four miners trapped at Copper Ridge walked out on Thursday.",
                    }
                ),
            ]
        )
    )
    result = engine.ingest(
        [
            str(good),
            str(tmp_path / "binary.html"),
            str(tmp_path / "empty.html"),
            str(tmp_path / "latin1.html"),
            str(tmp_path / "page.html.gz"),
            str(jsonl),
            str(tmp_path / "missing.html"),
            "http://127.0.0.1:9/unreachable",
        ]
    )
    reasons = dict(result.failed)
    assert result.new == 5, result.to_dict()
    assert any("binary.html" in k for k in reasons)
    assert any("empty.html" in k for k in reasons)
    assert any("items.jsonl:2" in k or "items.jsonl:2" in v for k, v in reasons.items())
    assert any("missing.html" in k for k in reasons)
    assert "Connection refused" in reasons["http://127.0.0.1:9/unreachable"]
    titles = {r["title"] for r in engine.export()}
    assert {"Rates on hold in Estova", "Mine rescue ends"} <= titles
    cafe = [r for r in engine.export() if "Caf" in (r["title"] or "")]
    assert cafe and "\ufffd" not in cafe[0]["title"]


def test_index_behind_the_database_is_repaired_on_open(make_engine, tmp_path):
    data = tmp_path / "db"
    engine = make_engine(data)
    articles = sample_articles()
    engine.ingest_articles(articles[:2])
    engine.close()
    stale = tmp_path / "stale.usearch"
    shutil.copy(data / "vectors.usearch", stale)
    engine = make_engine(data)
    engine.ingest_articles(articles[2:4])
    engine.close()
    # as if the process died after the commit but before the index file was written
    shutil.copy(stale, data / "vectors.usearch")
    engine = make_engine(data)
    assert engine.stats()["vectors_indexed"] == 4
    assert engine.search("Estova mortgage", mode="semantic")[0].article.url.startswith(
        "https://wire.example/estova"
    )
    # a deleted index is rebuilt too, and reindex agrees with the database
    engine.close()
    (data / "vectors.usearch").unlink()
    engine = make_engine(data)
    assert engine.stats()["vectors_indexed"] == 4
    assert engine.reindex() == {"vectors": 4, "keyword": 4}


def test_a_copy_that_arrived_first_gives_way_to_the_original(make_engine):
    engine = make_engine()
    wire, _, _, _, aggregator, _ = sample_articles()
    aggregator.published = wire.published + timedelta(days=2)
    engine.ingest_articles([aggregator])  # the aggregator's repost is seen first
    engine.ingest_articles([wire])  # then the wire original, published earlier
    rows = {r["url"]: r for r in engine.export()}
    original, copy = rows[wire.url], rows[aggregator.url]
    assert original["duplicate_of"] is None and copy["duplicate_of"] == original["id"]
    assert original["story_id"] == copy["story_id"]
    hits = engine.search("ferry Skarra", mode="hybrid")
    assert [h.article.url for h in hits] == [wire.url]
    assert hits[0].also_published_by == ["FeedHub"]
    assert engine.stats()["vectors_indexed"] == 1
    engine.close()
    reopened = make_engine(engine.data_dir)
    assert reopened.stats()["vectors_indexed"] == 1
    assert reopened.search("ferry Skarra", mode="semantic")[0].article.url == wire.url


def test_a_page_naming_a_later_page_as_canonical_gives_way(make_engine):
    engine = make_engine()
    first = art("https://mirror.example/story", "Ferry aground", FERRY, 3, source="Mirror")
    first.canonical_url = "https://wire.example/ferry-aground"
    first.published = None
    engine.ingest_articles([first])
    later = art("https://wire.example/ferry-aground", "Ferry runs aground off Skarra", FERRY, 3)
    later.published = None
    engine.ingest_articles([later])
    rows = {r["url"]: r for r in engine.export()}
    assert rows[later.url]["duplicate_of"] is None
    assert rows[first.url]["duplicate_of"] == rows[later.url]["id"]


class _CountingQueries:
    """The session's model, counting the queries it embeds."""

    def __init__(self, inner):
        self._inner, self.queries = inner, []

    def embed_query(self, text):
        self.queries.append(text)
        return self._inner.embed_query(text)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_a_repeated_query_is_embedded_once_per_model(make_engine, embedder):
    engine = make_engine()
    engine.ingest_articles(sample_articles())
    counting = _CountingQueries(embedder)
    engine.model.replace(counting)
    first = engine.search("ferry aground", mode="semantic", limit=3)
    engine.search("ferry aground", mode="hybrid", limit=10)  # the next page, say
    again = engine.search("ferry aground", mode="semantic", limit=3)
    assert counting.queries == ["ferry aground"]
    assert [h.article.id for h in again] == [h.article.id for h in first]
    other = _CountingQueries(embedder)  # another model bound (as after a re-embed)
    engine.model.replace(other)
    engine.search("ferry aground", mode="semantic")
    assert other.queries == ["ferry aground"]


def test_a_reopened_engine_searches_the_file_in_place_until_warmed(make_engine, tmp_path):
    """A one-shot command reads the saved index file as a view (no copy of ~750 MB at a
    million vectors); `warm()` — what a server calls before it answers — holds it in memory
    and answers the same."""
    engine = make_engine(tmp_path / "w")
    engine.ingest_articles(sample_articles())
    engine.close()
    reopened = make_engine(tmp_path / "w")
    some_id = next(iter(reopened.export()))["id"]
    before = [h.article.id for h in reopened.related(some_id)]
    index = reopened.vectors.index
    assert index.viewed
    reopened.warm()
    assert not reopened.vectors.index.viewed
    assert [h.article.id for h in reopened.related(some_id)] == before

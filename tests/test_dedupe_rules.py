"""Dedupe never merges different articles and still folds true copies: short pages need
their headline and date to agree, a canonical link is a hint the texts must confirm, shared
boilerplate is not a shared article, and a copy of a copy points at the root original."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tidings import dedupe
from tidings.models import Article

from .test_engine import BANK, FERRY

# -- texts -----------------------------------------------------------------------------

LIVE_LINE = "Live updates: follow the latest here."

# a press release: a short subject paragraph, then the company's standard closing blocks
RELEASE_BOILERPLATE = (
    "About Northwind Systems. Northwind Systems designs and builds automation software and "
    "robots for warehouses, ports and distribution centres. Founded in 2004 and based in "
    "Tacoma, Washington, the company serves more than 900 customers in 40 countries and "
    "employs about 3,200 people. Its shares trade on the Nasdaq under the symbol NWSY. For "
    "more information visit the company website.\n\n"
    "Forward-looking statements. This press release contains forward-looking statements within "
    "the meaning of the Private Securities Litigation Reform Act of 1995, including statements "
    "about expected growth, product plans, market conditions and financial results. These "
    "statements are based on current expectations and are subject to risks and uncertainties "
    "that could cause actual results to differ materially, including changes in customer "
    "demand, supply chain disruption, competition and currency movements. Northwind Systems "
    "undertakes no obligation to update any forward-looking statement after the date of this "
    "release, except as required by law. Readers are cautioned not to place undue reliance on "
    "these statements, which speak only as of the date they are made.\n\n"
    "Media contact: Dana Whitfield, Northwind Systems communications, press at northwind "
    "example, telephone 555 0142. Investor relations: Priya Natarajan, investors at northwind "
    "example."
)
RELEASE_CFO = (
    "Northwind Systems today announced the appointment of Maria Kovacs as chief financial "
    "officer, effective January 5. Kovacs joins from Harbor Freight Lines, where she led "
    "finance for six years, and succeeds Tom Reyes, who retires after a decade with the "
    "company.\n\n" + RELEASE_BOILERPLATE
)
RELEASE_RESULTS = (
    "Northwind Systems today reported third-quarter revenue of 212 million dollars, up 14 "
    "percent from a year earlier, as demand for its warehouse robots grew in Europe and "
    "Asia. Operating margin widened to 11 percent and the company raised its outlook.\n\n"
    + RELEASE_BOILERPLATE
)

DAM = (
    "Floodwater broke through the earth dam above the mountain town of Velmora early on "
    "Sunday, forcing about 4,000 residents from their homes before dawn. Sirens sounded at "
    "half past three, and volunteers went door to door in the lower streets, where the water "
    "reached the first floors of houses within an hour, the regional civil protection office "
    "said.\n\n"
    "Nobody was reported missing by Sunday evening, but two elderly people were taken to "
    "hospital with hypothermia after being rescued from a roof by a fire brigade boat. The "
    "mayor, Ilse Brandt, said the town hall and the school gym would stay open as shelters "
    "for as long as needed, and asked residents not to return until engineers had checked "
    "the remaining part of the dam.\n\n"
    "Engineers said five days of heavy rain had raised the reservoir to its highest level "
    "since the dam was built in 1961. A report commissioned by the regional government two "
    "years ago had warned that the spillway was too narrow for an extreme storm, and that "
    "repairs to the crest were overdue.\n\n"
    "The regional governor promised an independent inquiry and emergency funds for families "
    "who lost their homes. Forecasters expect more rain on Tuesday, though lighter than last "
    "week."
)

_FILLERS = ["sharply", "local", "reportedly", "nearby", "overnight", "several", "again", "still"]


def reword(text: str, start: int, every: int) -> str:
    """An outlet's light rewrite: one word in `every` replaced, from word `start` on."""
    tokens = text.split()
    for n, i in enumerate(range(start, len(tokens), every)):
        tokens[i] = _FILLERS[n % len(_FILLERS)]
    return " ".join(tokens)


# a chain of syndication: each outlet re-words the one it copied a little, so the second
# copy has drifted further from the original than the near-duplicate threshold allows,
# while it is plainly a copy of the first copy
DAM_COPY = reword(DAM, start=5, every=25)
DAM_COPY_OF_COPY = reword(DAM_COPY, start=15, every=25)

# -- helpers ---------------------------------------------------------------------------

WHEN = datetime(2026, 11, 8, 9, 0, tzinfo=UTC)


def art(url, title, text, when=WHEN, source="Test Wire", canonical=None) -> Article:
    return Article(
        url=url, title=title, text=text, source=source, published=when, canonical_url=canonical
    )


def ingest(engine, articles: list[Article], together: bool) -> None:
    """One batch, or one batch per article (the stored-candidate path of dedupe)."""
    if together:
        engine.ingest_articles(articles)
    else:
        for article in articles:
            engine.ingest_articles([article])


def rows_by_url(engine) -> dict[str, dict]:
    return {row["url"]: row for row in engine.export()}


BATCHING = pytest.mark.parametrize("together", [True, False], ids=["one-batch", "one-by-one"])


def hashed(article: Article) -> Article:
    article.content_hash = dedupe.content_hash(article.title, article.text)
    return article


# -- 1. one-line live pages ------------------------------------------------------------


@BATCHING
def test_live_pages_sharing_one_line_stay_two_articles(make_engine, together):
    engine = make_engine()
    storm = art(
        "https://news.example/live/storm-ava",
        "Storm Ava live: power cuts across the north",
        LIVE_LINE,
    )
    vote = art(
        "https://news.example/live/election-night",
        "Election night live: results as they come in",
        LIVE_LINE,
    )
    ingest(engine, [storm, vote], together)
    rows = rows_by_url(engine)
    assert len(rows) == 2
    assert all(row["duplicate_of"] is None for row in rows.values()), rows
    assert engine.stats()["originals"] == 2


def test_exact_copy_of_a_short_text_needs_the_same_headline():
    storm = hashed(art("https://a.example/1", "Storm Ava live", LIVE_LINE))
    vote = hashed(art("https://a.example/2", "Election night live", LIVE_LINE))
    assert storm.content_hash == vote.content_hash  # a candidate …
    assert not dedupe.exact_copy(storm, vote)  # … not a verdict
    same = hashed(art("https://b.example/9", "STORM AVA LIVE", LIVE_LINE, source="Other"))
    assert dedupe.exact_copy(storm, same)


# -- 2. title-only items ---------------------------------------------------------------


@BATCHING
def test_title_only_items_weeks_apart_stay_two(make_engine, together):
    engine = make_engine()
    first = art(
        "https://daily.example/briefing/2026-11-01",
        "Morning briefing",
        "",
        when=datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    )
    later = art(
        "https://daily.example/briefing/2026-11-25",
        "Morning briefing",
        "",
        when=datetime(2026, 11, 25, 6, 0, tzinfo=UTC),
    )
    ingest(engine, [first, later], together)
    rows = rows_by_url(engine)
    assert len(rows) == 2
    assert rows[first.url]["duplicate_of"] is None
    assert rows[later.url]["duplicate_of"] is None


@BATCHING
def test_title_only_item_reposted_the_same_day_folds(make_engine, together):
    engine = make_engine()
    first = art(
        "https://daily.example/briefing/2026-11-01",
        "Morning briefing",
        "",
        when=datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
        source="Daily",
    )
    repost = art(
        "https://feedhub.example/daily/morning-briefing",
        "Morning Briefing",
        "",
        when=datetime(2026, 11, 1, 7, 30, tzinfo=UTC),
        source="FeedHub",
    )
    ingest(engine, [first, repost], together)
    rows = rows_by_url(engine)
    assert rows[first.url]["duplicate_of"] is None
    assert rows[repost.url]["duplicate_of"] == rows[first.url]["id"]


def test_exact_copy_of_a_title_only_item_needs_dates_within_two_days():
    first = hashed(art("https://d.example/a", "Morning briefing", "", when=WHEN))
    weeks = hashed(art("https://d.example/b", "Morning briefing", "", when=WHEN + timedelta(24)))
    hour = hashed(
        art("https://e.example/c", "Morning briefing", "", when=WHEN + timedelta(hours=1))
    )
    undated = hashed(art("https://e.example/d", "Morning briefing", "", when=None))
    assert not dedupe.exact_copy(first, weeks)
    assert dedupe.exact_copy(first, hour)
    assert not dedupe.exact_copy(first, undated)


# -- 3. canonical URL is a hint --------------------------------------------------------


@BATCHING
@pytest.mark.parametrize(
    "canonical", ["https://site.example/news/", "https://site.example/index.html"]
)
def test_unrelated_pages_sharing_a_template_canonical_stay_apart(make_engine, together, canonical):
    engine = make_engine()
    ferry = art(
        "https://site.example/news/2026/11/03/ferry-aground",
        "Ferry runs aground off Skarra",
        FERRY,
        canonical=canonical,
    )
    bank = art(
        "https://site.example/news/2026/11/04/estova-rates",
        "Estova holds rates at 4.25%",
        BANK,
        canonical=canonical,
    )
    ingest(engine, [ferry, bank], together)
    rows = rows_by_url(engine)
    assert rows[ferry.url]["duplicate_of"] is None
    assert rows[bank.url]["duplicate_of"] is None


REWRITE = reword(DAM, start=3, every=8)  # too far from DAM to fold on its text alone


def test_rewrite_is_below_the_near_threshold_but_confirms_a_canonical_link():
    score = dedupe.overlap(dedupe.NearDuplicateKey(DAM), dedupe.NearDuplicateKey(REWRITE))
    assert dedupe.CONFIRM_OVERLAP <= score < 0.8


@BATCHING
def test_copy_naming_the_original_as_canonical_folds(make_engine, together):
    engine = make_engine()
    original = art(
        "https://courier.example/2026/11/08/velmora-dam",
        "Dam bursts above Velmora",
        DAM,
        source="Velmora Courier",
    )
    copy = art(
        "https://partner.example/world/velmora",
        "Thousands flee as dam fails",
        REWRITE,
        source="Partner Post",
        canonical=original.url,
    )
    unrelated = art(  # a page template naming one article as every page's canonical
        "https://partner.example/world/skarra",
        "Ferry aground",
        FERRY,
        source="Partner Post",
        canonical=original.url,
    )
    ingest(engine, [original, copy, unrelated], together)
    rows = rows_by_url(engine)
    assert rows[original.url]["duplicate_of"] is None
    assert rows[copy.url]["duplicate_of"] == rows[original.url]["id"]
    assert rows[unrelated.url]["duplicate_of"] is None


# -- 4. press releases sharing boilerplate ---------------------------------------------


def test_shared_boilerplate_is_not_a_near_duplicate():
    cfo = dedupe.NearDuplicateKey(RELEASE_CFO)
    results = dedupe.NearDuplicateKey(RELEASE_RESULTS)
    shorter = min(len(dedupe.words(RELEASE_CFO)), len(dedupe.words(RELEASE_RESULTS)))
    assert len(dedupe.words(RELEASE_BOILERPLATE)) / shorter >= 0.8
    # they meet as LSH candidates and the old whole-text measure calls them one text …
    assert set(cfo.buckets) & set(results.buckets)
    assert dedupe.resemblance(cfo.shingles, results.shingles) > 0.8
    # … but their own paragraphs differ
    assert dedupe.overlap(cfo, results) < 0.8


@BATCHING
def test_press_releases_sharing_boilerplate_stay_two(make_engine, together):
    engine = make_engine()
    cfo = art(
        "https://newswire.example/northwind-names-cfo",
        "Northwind Systems names Maria Kovacs CFO",
        RELEASE_CFO,
        source="Newswire",
    )
    results = art(
        "https://newswire.example/northwind-q3",
        "Northwind Systems reports third-quarter results",
        RELEASE_RESULTS,
        source="Newswire",
        when=WHEN + timedelta(days=1),
    )
    ingest(engine, [cfo, results], together)
    rows = rows_by_url(engine)
    assert rows[cfo.url]["duplicate_of"] is None
    assert rows[results.url]["duplicate_of"] is None


# -- 5. a copy of a copy points at the root original -----------------------------------


def test_the_copy_chain_drifts_past_the_threshold():
    original, copy, copy_of_copy = (
        dedupe.NearDuplicateKey(t) for t in (DAM, DAM_COPY, DAM_COPY_OF_COPY)
    )
    assert dedupe.overlap(original, copy) >= 0.8
    assert dedupe.overlap(copy, copy_of_copy) >= 0.8
    assert dedupe.overlap(original, copy_of_copy) < 0.8
    assert dedupe.resemblance(original.shingles, copy_of_copy.shingles) < 0.8


CHAIN_TEXTS = {
    # every outlet carries the same text, re-spaced and re-cased
    "same-text": (DAM, DAM.upper().replace(" ", "  "), DAM.replace("\n\n", " ")),
    "drifting": (DAM, DAM_COPY, DAM_COPY_OF_COPY),
}


@pytest.mark.parametrize("texts", sorted(CHAIN_TEXTS))
@pytest.mark.parametrize(
    "batches",
    [[[0, 1, 2]], [[0], [1, 2]], [[0], [1], [2]]],
    ids=["one-batch", "original-stored-first", "each-alone"],
)
def test_copy_of_a_copy_points_at_the_original(make_engine, texts, batches):
    engine = make_engine()
    body, copy_text, copy_of_copy_text = CHAIN_TEXTS[texts]
    chain = [
        art(
            "https://courier.example/2026/11/08/velmora-dam",
            "Dam bursts above Velmora",
            body,
            source="Velmora Courier",
        ),
        art(
            "https://regional.example/velmora-flood",
            "Velmora evacuated as dam gives way",
            copy_text,
            source="Regional Times",
            when=WHEN + timedelta(hours=2),
        ),
        art(
            "https://aggregator.example/a/77123",
            "4,000 flee Velmora flood",
            copy_of_copy_text,
            source="FeedHub",
            when=WHEN + timedelta(hours=5),
        ),
    ]
    for batch in batches:
        engine.ingest_articles([chain[i] for i in batch])
    rows = rows_by_url(engine)
    original_id = rows[chain[0].url]["id"]
    assert rows[chain[0].url]["duplicate_of"] is None
    assert [rows[a.url]["duplicate_of"] for a in chain[1:]] == [original_id, original_id]
    found, copies = engine.article(original_id)
    assert found.id == original_id
    assert {c.source for c in copies} == {"Regional Times", "FeedHub"}
    assert engine.article(rows[chain[2].url]["id"])[0].id == original_id
    hits = engine.search("Velmora dam flood", mode="hybrid")
    assert [h.article.id for h in hits] == [original_id]
    assert set(hits[0].also_published_by) == {"Regional Times", "FeedHub"}


# -- 6. true copies still fold ---------------------------------------------------------


@BATCHING
def test_syndicated_copy_with_new_headline_prefix_and_cut_ending_folds(make_engine, together):
    engine = make_engine()
    original = art(
        "https://courier.example/2026/11/08/velmora-dam",
        "Dam bursts above Velmora",
        DAM,
        source="Velmora Courier",
    )
    syndicated = art(
        "https://globe.example/europe/2026/11/08/dam-failure",
        "Thousands flee as mountain dam fails",
        "Updated at 11:40 with the mayor's comments.\n\n" + DAM.rsplit("\n\n", 1)[0],
        source="Globe Daily",
        when=WHEN + timedelta(hours=3),
    )
    ingest(engine, [original, syndicated], together)
    rows = rows_by_url(engine)
    assert rows[original.url]["duplicate_of"] is None
    assert rows[syndicated.url]["duplicate_of"] == rows[original.url]["id"]
    assert rows[syndicated.url]["story_id"] == rows[original.url]["story_id"]

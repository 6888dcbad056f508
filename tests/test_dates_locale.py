"""Numeric dates (02/11/2026) read in the order the page writes them.

Day-first or month-first is settled by, in turn: a component over 12, the URL and feed
dates, the page's declared dates, other numeric dates on the same page, and the page's
locale; a date that contradicts both the URL and the feed loses.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from lxml import html as lxml_html

from tidings.extract import extract
from tidings.extraction.dates import DateClues, date_from_text, locale_day_first
from tidings.metadata import parse_date

PROSE = "<p>Some prose of the story that runs on for a while and ends properly here.</p>" * 8


def page(
    date_line: str,
    *,
    lang: str | None = "en",
    head: str = "",
) -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return (
        f"<!DOCTYPE html><html{lang_attr}><head><title>Harbour story</title>{head}</head>"
        f"<body><article><h1>Harbour story</h1><div class='meta'>{date_line}</div>"
        f"{PROSE}</article></body></html>"
    )


def published_day(
    markup: str, url: str | None = None, date_hint: datetime | None = None
) -> date | None:
    article = extract(markup, url, date_hint=date_hint)
    return article.published.date() if article.published else None


NOV_2 = date(2026, 11, 2)
FEB_11 = date(2026, 2, 11)
DATED_URL = "https://ledger.example/markets/2026/11/02/harbour-story.html"
UNDATED_URL = "https://ledger.example/markets/harbour-story.html"


# -- the reported case -----------------------------------------------------------------------


def test_slash_date_agrees_with_the_url_day() -> None:
    # the page labels its day-first date; the URL says 2 November
    assert published_day(page("Published 02/11/2026 09:30"), DATED_URL) == NOV_2


def test_save_stamp_markup_with_a_day_first_byline_date() -> None:
    # the demo's business paper: JSON-LD published == modified (a save stamp) and a
    # day-first visible date; reading it month-first made it "earlier" and it won
    stamp = "2026-11-02T09:30:00+00:00"
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        f'"headline": "Harbour story", "datePublished": "{stamp}", "dateModified": "{stamp}"}}'
        "</script>"
    )
    markup = page("02/11/2026 09:30", head=head)
    assert published_day(markup, DATED_URL) == NOV_2
    # no URL date, but the feed's date settles it the same way
    assert published_day(markup, UNDATED_URL, datetime(2026, 11, 2, 9, 30, tzinfo=UTC)) == NOV_2


def test_feed_date_settles_the_order() -> None:
    feed = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    assert published_day(page("Published 02/11/2026"), UNDATED_URL, feed) == NOV_2
    feb = datetime(2026, 2, 11, 8, 0, tzinfo=UTC)
    assert published_day(page("Published 02/11/2026", lang="en-GB"), UNDATED_URL, feb) == FEB_11


def test_feed_date_is_the_fallback_when_the_page_has_none() -> None:
    feed = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    article = extract(page("no date here"), UNDATED_URL, date_hint=feed)
    assert article.published == feed


# -- locale ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en-GB", NOV_2),
        ("en-AU", NOV_2),
        ("de", NOV_2),
        ("fr-FR", NOV_2),
        ("en-US", FEB_11),
    ],
)
@pytest.mark.parametrize(
    "date_line",
    ["Published 02/11/2026", "<span class='date'>02/11/2026</span>", "<time>02/11/2026</time>"],
)
def test_locale_settles_the_order(lang: str, expected: date, date_line: str) -> None:
    # labelled or not: an unlabelled date goes through htmldate, which reads day first
    assert published_day(page(date_line, lang=lang), UNDATED_URL) == expected


@pytest.mark.parametrize("lang", ["en", None])
def test_without_a_clue_slashes_read_month_first(lang: str | None) -> None:
    assert published_day(page("Published 02/11/2026", lang=lang), UNDATED_URL) == FEB_11


def test_url_with_a_month_name() -> None:
    url = "https://wine.example/blog/2023/october/03/how-many-styles/"
    assert published_day(page("<span>03/10/2023</span>", lang="en"), url) == date(2023, 10, 3)
    assert published_day(page("Posted 03/10/2023", lang="en-US"), url) == date(2023, 10, 3)


def test_og_locale_counts_when_html_lang_has_no_region() -> None:
    head = '<meta property="og:locale" content="en_GB">'
    assert published_day(page("Published 02/11/2026", head=head), UNDATED_URL) == NOV_2


def test_a_component_over_12_settles_it_whatever_the_locale() -> None:
    assert published_day(page("Published 24/02/2026", lang="en-US"), UNDATED_URL) == date(
        2026, 2, 24
    )
    assert published_day(page("Published 02/24/2026", lang="en-GB"), UNDATED_URL) == date(
        2026, 2, 24
    )


def test_other_dates_on_the_page_show_its_order() -> None:
    # a comment further down written 24/10/2026 shows the site writes day first
    markup = page("Published 02/11/2026", lang="en-US").replace(
        "</article>", "</article><div class='comments'><p>Reply posted 24/10/2026</p></div>"
    )
    assert published_day(markup, UNDATED_URL) == NOV_2


def test_locale_day_first() -> None:
    assert locale_day_first("en-GB") is True
    assert locale_day_first("en_IN") is True
    assert locale_day_first("de-DE") is True
    assert locale_day_first("es") is True
    assert locale_day_first("en-US") is False
    assert locale_day_first("en_us") is False
    assert locale_day_first("en") is None
    assert locale_day_first("ja") is None  # writes year first: a D/M/Y date says nothing
    assert locale_day_first("") is None
    assert locale_day_first(None) is None


# -- markup dates ----------------------------------------------------------------------------


def test_ambiguous_meta_date_follows_the_locale() -> None:
    head = '<meta name="date" content="02/11/2026">'
    assert published_day(page("", lang="en-GB", head=head), UNDATED_URL) == NOV_2
    assert published_day(page("", lang="en-US", head=head), UNDATED_URL) == FEB_11


def test_parse_date_with_clues() -> None:
    assert parse_date("02/11/2026 10:15") == datetime(2026, 2, 11, 10, 15, tzinfo=UTC)
    day_first = DateClues(locale_day_first=True)
    assert parse_date("02/11/2026 10:15", day_first) == datetime(2026, 11, 2, 10, 15, tzinfo=UTC)
    from_url = DateClues(known=(NOV_2,), locale_day_first=False)
    assert parse_date("02/11/2026", from_url) == datetime(2026, 11, 2, tzinfo=UTC)
    assert parse_date("13/11/2026", from_url) == datetime(2026, 11, 13, tzinfo=UTC)
    # dots are day first unless a known date says otherwise
    assert parse_date("02.11.2026") == datetime(2026, 11, 2, tzinfo=UTC)


def test_date_from_text_with_clues() -> None:
    tree = lxml_html.document_fromstring("<html><body><p>Posted 03/04/2025</p></body></html>")
    assert date_from_text(tree).date() == date(2025, 3, 4)
    assert date_from_text(tree, clues=DateClues(locale_day_first=True)).date() == date(2025, 4, 3)
    by_url = DateClues(known=(date(2025, 4, 3),), locale_day_first=False)
    assert date_from_text(tree, clues=by_url).date() == date(2025, 4, 3)
    # a known date a day off still counts (time zones), one further away does not
    near = DateClues(known=(date(2025, 4, 4),))
    assert date_from_text(tree, clues=near).date() == date(2025, 4, 3)
    far = DateClues(known=(date(2025, 4, 9),))
    assert date_from_text(tree, clues=far).date() == date(2025, 3, 4)


# -- a date that contradicts both the URL and the feed ---------------------------------------


def test_a_date_contradicting_url_and_feed_loses() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"headline": "Harbour story", "datePublished": "2026-02-11T09:30:00Z"}</script>'
    )
    feed = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    assert published_day(page("", head=head), DATED_URL, feed) == NOV_2
    # with only one of them against it, the page's own date stands (archives, series)
    assert published_day(page("", head=head), DATED_URL) == FEB_11
    assert published_day(page("", head=head), UNDATED_URL, feed) == FEB_11
    # and a feed that disagrees with the URL settles nothing
    other = datetime(2026, 6, 1, tzinfo=UTC)
    assert published_day(page("", head=head), DATED_URL, other) == FEB_11

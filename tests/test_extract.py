"""Extract stage: junk, metadata, page kinds and bad input, on pages written for the tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tidings.extract import ExtractError, decode_html, extract, extract_many
from tidings.junk import clean_edges, clean_text
from tidings.metadata import clean_byline, fix_mojibake, parse_date
from tidings.models import Article

FIXTURES = Path(__file__).parent / "fixtures" / "extract"


def page(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- aggregator clutter ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def repost() -> Article:
    return extract(page("aggregator_repost.html"), "https://repost.example/news/harbour")


def test_repost_keeps_the_story(repost: Article) -> None:
    assert repost.kind == "article"
    assert repost.text.startswith("The harbour authority on Tuesday approved a plan")
    assert "officer on watch had been alone on the bridge" in repost.text
    assert "speed limit near the spawning grounds" in repost.text
    # paragraphs are separated by blank lines
    assert "\n\n" in repost.text and "\n\n\n" not in repost.text


@pytest.mark.parametrize(
    "junk",
    [
        "Visited 1 times",
        "Share this",
        "Related Articles",
        "Navy exercise draws protest",
        "Icebreaker returns to port",
        "Sign up for our newsletter",
        "Would love your thoughts",
        "Source link",
        "Copyright 2026",
    ],
)
def test_repost_clutter_is_gone(repost: Article, junk: str) -> None:
    assert junk not in repost.text


def test_repost_does_not_repeat_the_headline(repost: Article) -> None:
    assert repost.title == "Harbour authority approves night pilots for ferry route"
    assert repost.title not in repost.text


def test_clean_text_rules() -> None:
    body = "\n\n".join(
        [
            "A real paragraph about the council vote, long enough to be prose.",
            "Visited 12 times, 3 visits today",
            "Share this:",
            "Facebook | Twitter | Email",
            "Related",
            "Teaser headline one",
            "Teaser headline two",
            "A second real paragraph that continues the story after the teasers.",
            "Subscribe to our newsletter for the latest updates.",
            "Source link",
        ]
    )
    assert clean_text(body).split("\n\n") == [
        "A real paragraph about the council vote, long enough to be prose.",
        "A second real paragraph that continues the story after the teasers.",
    ]


def test_clean_text_drops_lone_interface_labels() -> None:
    body = "\n\n".join(
        [
            "AdvertisementAdvertisement",
            "Search...",
            "A real paragraph about the council vote, long enough to be prose.",
            "Sign in",
            "More…",
            "Post Comment (+)",
        ]
    )
    assert clean_text(body) == "A real paragraph about the council vote, long enough to be prose."
    # the same words inside a sentence stay
    assert clean_text("Search the archive for more.") == "Search the archive for more."


def test_clean_text_keeps_prose_that_mentions_junk_words() -> None:
    prose = (
        "Readers who subscribe to the print edition will notice that the newsletter "
        "section has moved, the editor said, and the related coverage of the council "
        "vote will now appear on page three every Tuesday and Thursday from next month."
    )
    assert clean_text(prose) == prose
    # a share prompt is junk on its own line, not inside a sentence
    assert clean_text("Share this story with your neighbours before Friday.").startswith("Share")


def test_clean_edges() -> None:
    paragraphs = [
        "Updated: Nov. 19, 2019 5:45 AM",
        "5 min read",
        "The story begins here with a sentence that is clearly prose, not a stamp.",
        "It goes on for a while and ends properly.",
        "— Jane Doe (@janedoe) November 18, 2019",
        "Jane Doe is a reporter covering transport and the harbour.",
        "Follow us on Twitter and Facebook for more stories.",
    ]
    assert clean_edges(paragraphs, author="Jane Doe") == [
        "The story begins here with a sentence that is clearly prose, not a stamp.",
        "It goes on for a while and ends properly.",
        "— Jane Doe (@janedoe) November 18, 2019",
    ]


# -- metadata --------------------------------------------------------------------------------


def test_jsonld_metadata() -> None:
    art = extract(page("jsonld_article.html"), "https://stadtanzeiger.example/lokales/x?utm=1")
    assert art.kind == "article"
    assert art.title == "Brückensanierung verzögert sich um ein Jahr"
    assert art.author == "Jana Keller, Tom Berger"
    assert art.published == datetime(2026, 2, 11, 6, 30, tzinfo=timezone(timedelta(hours=1)))
    assert art.modified == datetime(2026, 2, 12, 18, 5, tzinfo=timezone(timedelta(hours=1)))
    assert art.language == "de"
    assert art.site_name == "Stadtanzeiger"
    assert art.image == "https://stadtanzeiger.example/img/bruecke.jpg"
    # relative canonical resolved against the page URL
    assert art.canonical_url == "https://stadtanzeiger.example/lokales/brueckensanierung-verzoegert"
    assert art.url == "https://stadtanzeiger.example/lokales/x?utm=1"
    assert art.text.startswith("Die Sanierung der alten Eisenbahnbrücke")
    assert art.excerpt and art.excerpt.startswith("Die Sanierung") and len(art.excerpt) <= 301


def test_meta_tags_byline_and_declared_charset() -> None:
    art = extract(page("meta_only.html"), "https://courier.example/2025/11/cafe-terraces")
    # Windows-1252 bytes, declared in the http-equiv meta
    assert art.title == "Café owners fight new terrace rules"
    assert "Owners of cafés along the river promenade" in art.text
    # visible byline, role removed
    assert art.author == "Léa Moreau"
    # a date without zone is taken as UTC
    assert art.published == datetime(2025, 11, 20, 14, 0, tzinfo=UTC)
    assert art.published.tzinfo is not None


def test_parse_date_forms() -> None:
    assert parse_date("2024-05-06T07:08:09Z") == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert parse_date("2024-05-06T07:08:09+0200") == datetime(
        2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2))
    )
    assert parse_date("Tue, 19 Nov 2019 05:45:00 GMT") == datetime(2019, 11, 19, 5, 45, tzinfo=UTC)
    assert parse_date("not a date") is None
    assert parse_date("1066-10-14") is None  # out of any plausible news range


def test_byline_and_mojibake_repair() -> None:
    assert clean_byline("By Jane Doe, Senior Editor") == "Jane Doe"
    assert clean_byline("Written By") is None
    assert clean_byline("Brett Cruz; Privacy; Digital Security Expert") == "Brett Cruz"
    # the date or label that follows a name in the same line is not part of it
    assert clean_byline("Jordana Cepelewicz December") == "Jordana Cepelewicz"
    assert clean_byline("Cazzy Magennis Last") == "Cazzy Magennis"
    assert clean_byline("Linda Rosencrance Contributing") == "Linda Rosencrance"
    assert clean_byline("Tom May") == "Tom May"  # a month that is also a name stays
    assert clean_byline("Dec") is None
    assert clean_byline("This post was written by Danielle Padula") == "Danielle Padula"
    assert clean_byline("Recipe by PJ Hamel") == "PJ Hamel"
    assert fix_mojibake("Investorâ\x80\x99s guide") == "Investor’s guide"
    assert fix_mojibake("Café déjà vu") == "Café déjà vu"


# -- page kinds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "url", "kind"),
    [
        ("tag_index.html", "https://coastal.example/tag/shipping", "index"),
        ("paywall.html", "https://ledger.example/2026/01/rescue-talks", "paywall"),
        ("not_found.html", "https://coastal.example/news/missing-story", "error"),
        ("aggregator_repost.html", "https://repost.example/news/harbour", "article"),
        ("jsonld_article.html", "https://stadtanzeiger.example/lokales/x", "article"),
    ],
)
def test_page_kinds(name: str, url: str, kind: str) -> None:
    assert extract(page(name), url).kind == kind


def test_empty_page_kinds() -> None:
    assert extract(b"").kind == "empty"
    assert extract("   \n ").kind == "empty"
    assert extract("<html><head><title>x</title></head><body></body></html>").kind == "empty"


# -- bad input -------------------------------------------------------------------------------


def test_binary_garbage_raises_extract_error() -> None:
    garbage = bytes(range(256)) * 64
    with pytest.raises(ExtractError, match="binary"):
        extract(garbage, "https://x.example/file.bin")


def test_batch_error_names_the_page() -> None:
    good = page("jsonld_article.html")
    with pytest.raises(ExtractError) as info:
        extract_many(
            [(good, "https://a.example/1"), (b"\x00\x01\x02" * 500, "https://b.example/2")]
        )
    assert info.value.index == 1
    assert info.value.url == "https://b.example/2"


def test_wrong_type_raises_extract_error() -> None:
    with pytest.raises(ExtractError):
        extract(12345)  # type: ignore[arg-type]


def test_broken_and_wrong_encodings_do_not_raise() -> None:
    html = page("aggregator_repost.html").decode("utf-8")
    # declared UTF-8 but actually Latin-1, with a few bytes cut in the middle of a sequence
    latin = html.replace("harbour", "hårbour").encode("latin-1")
    art = extract(latin, "https://x.example/a")
    assert "hårbour authority" in art.text
    broken = html.encode("utf-8")[:5000] + b"\xe2\x82" + html.encode("utf-8")[5000:]
    assert extract(broken).kind == "article"
    # a charset name nobody knows
    unknown = html.replace('charset="utf-8"', 'charset="x-no-such-charset"').encode("utf-8")
    assert extract(unknown).kind == "article"


def test_decode_html() -> None:
    assert decode_html("<p>é</p>".encode("utf-16")) == "<p>é</p>"
    assert decode_html(b'<meta charset="iso-8859-2"><p>\xb1</p>').endswith("<p>ą</p>")
    assert decode_html("<p>ü</p>".encode()) == "<p>ü</p>"
    assert decode_html(b"<p>\x93quoted\x94</p>") == "<p>“quoted”</p>"


def test_huge_page_is_handled_quickly() -> None:
    sentence = "The council met again and discussed the harbour at length. " * 8
    paragraphs = "".join(f"<p>Session {i}. {sentence}</p>" for i in range(6500))
    html = "<html><body><article>" + paragraphs + "</article></body></html>"
    assert len(html) > 3_000_000
    start = time.perf_counter()
    art = extract(html)
    assert time.perf_counter() - start < 30
    assert art.kind == "article"
    assert len(art.text) > 100_000


def test_plain_text_input() -> None:
    text = (
        "A plain text dispatch about the harbour and its night pilots, written without markup.\n\n"
        "It has two paragraphs, and the second one is long enough to count as prose for sure."
    )
    art = extract(text)
    assert art.kind == "article"
    assert "second one is long enough" in art.text


def test_extract_many_matches_extract_and_keeps_order() -> None:
    names = ["jsonld_article.html", "tag_index.html", "aggregator_repost.html"]
    batch = extract_many((page(n), f"https://x.example/{n}") for n in names)
    assert [a.url for a in batch] == [f"https://x.example/{n}" for n in names]
    single = [extract(page(n), f"https://x.example/{n}") for n in names]
    assert [(a.title, a.text, a.kind) for a in batch] == [(a.title, a.text, a.kind) for a in single]


def test_thorough_mode_returns_an_article() -> None:
    art = extract(page("aggregator_repost.html"), "https://x.example/a", thorough=True)
    assert art.kind == "article"
    assert "Visited 1 times" not in art.text
    assert "officer on watch" in art.text

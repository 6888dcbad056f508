"""Extract stage: table-laid-out pages, data tables, index pages and edge clutter,
on pages written for the tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html as lxml_html

from tidings.extract import extract
from tidings.extraction.layout import is_layout_table, unwrap_layout_tables
from tidings.junk import clean_edges, clean_text, is_byline

FIXTURES = Path(__file__).parent / "fixtures" / "extract"


def page(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- layout tables ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def layout_page():
    return extract(page("layout_table.html"), "http://lakeside.example/2026/03/05/baths.html")


def test_layout_table_page_gives_just_the_story(layout_page) -> None:
    paragraphs = layout_page.text.split("\n\n")
    assert layout_page.kind == "article"
    assert layout_page.title == "Council votes to rebuild the old swimming baths"
    assert paragraphs[0].startswith("The town council voted eight to three")
    assert paragraphs[-1].startswith("The work is expected to cost 6.2 million")
    assert len(paragraphs) == 4
    assert "|" not in layout_page.text


@pytest.mark.parametrize(
    "clutter",
    [
        "Lakeside Weekly",
        "IN THIS ISSUE",
        "Showers, clearing later",
        "LOCAL",
        "By Marta Ellison",
        "Printer-friendly",
        "Ring road leisure centre",
        "Reader responses",
        "grandmother learned to swim",
        "Rowing boat for sale",
        "Privacy policy",
    ],
)
def test_layout_table_clutter_is_gone(layout_page, clutter: str) -> None:
    assert clutter not in layout_page.text


def test_data_table_inside_an_article_stays_a_table() -> None:
    art = extract(page("data_table.html"), "https://courier.example/news/reservoirs")
    assert art.kind == "article"
    assert art.text.startswith("The region's five reservoirs are back above")
    rows = [p for p in art.text.split("\n\n") if p.startswith("|")]
    assert "| Reservoir | 2025 | 2026 | Change |" in rows
    assert "| Millwater | 49 | 95 | +46 |" in rows
    assert art.text.rstrip().endswith('before we call the drought over."')


def _tables(markup: str):
    return list(lxml_html.fromstring(markup).iter("table"))


def test_layout_table_verdicts() -> None:
    grid = "".join(f"<tr><td>row {i}</td><td>{i * 3}</td><td>{i * 7}</td></tr>" for i in range(6))
    (data,) = _tables(f"<div><table>{grid}</table></div>")
    assert not is_layout_table(data)
    prose = "A long paragraph of running text that goes on well past a table datum. " * 8
    columns = (
        f"<table><tr><td><a href='/'>Home</a></td><td><p>{prose}</p><p>{prose}</p></td></tr>"
        "</table>"
    )
    assert is_layout_table(_tables(f"<div>{columns}</div>")[0])
    nested = "<table><tr><td><table><tr><td>inner</td></tr></table></td><td>x</td></tr></table>"
    assert is_layout_table(_tables(f"<div>{nested}</div>")[0])
    # a one-cell callout inside an article is a deliberate box, not page layout
    callout = "<table><tr><td>Tip: book the inspection before you sign.</td></tr></table>"
    assert not is_layout_table(_tables(f"<div>{callout}</div>")[0])
    # a code listing with a line-number gutter is not a page column either
    code = (
        "<table><tr><td>1\n2\n3</td><td><pre>"
        + "x = compute(y)\n" * 40
        + "</pre></td></tr></table>"
    )
    assert not is_layout_table(_tables(f"<div>{code}</div>")[0])


def test_unwrap_keeps_data_tables_inside_layout_cells() -> None:
    grid = "".join(f"<tr><td>item {i}</td><td>{i}</td></tr>" for i in range(5))
    prose = "<p>" + "Story text that reads as prose and fills the column well. " * 10 + "</p>"
    markup = (
        "<html><body><table><tr><td><a href='/'>Home</a></td>"
        f"<td>{prose}{prose}<table class='data'>{grid}</table></td></tr></table></body></html>"
    )
    tree = lxml_html.document_fromstring(markup)
    assert unwrap_layout_tables(tree) == 1
    assert [t.get("class") for t in tree.iter("table")] == ["data"]
    assert tree.find(".//article") is not None  # the story cell is marked as the article


# -- index pages -----------------------------------------------------------------------------


def test_section_front_with_teasers_is_an_index() -> None:
    art = extract(page("section_front.html"), "https://northshore.example/category/transport/")
    assert art.kind == "index"


def test_teaser_front_is_an_index_whatever_its_url() -> None:
    art = extract(page("section_front.html"), "https://northshore.example/latest")
    assert art.kind == "index"


# -- clutter at the body's edges -------------------------------------------------------------


def test_view_counters_and_syndication_notes_are_dropped() -> None:
    body = "\n\n".join(
        [
            "The council approved the plan on Tuesday.",
            "It will cost 6 million.",
            "(This story has not been edited by Example staff and is auto-published from a "
            "syndicated feed.)",
            "This story originally appeared on Meridian Wire and is republished with permission.",
            "via Meridian Wire",
            "5,883 people viewed this article. Views today: 11",
        ]
    )
    assert clean_text(body).split("\n\n") == [
        "The council approved the plan on Tuesday.",
        "It will cost 6 million.",
    ]
    # prose that merely starts like an attribution stays
    prose = "This story was first published in 1999 and tells the tale of a boy and a boat."
    assert clean_text(prose) == prose


def test_bylines_link_rows_and_comment_sections_at_the_edges() -> None:
    story = [f"Paragraph {i} of the story, which is prose and ends properly." for i in range(6)]
    paragraphs = [
        "By Ines Varga, Meridian Wire",
        *story,
        "Printer-friendly version | E-mail this story | Write a letter to the editor",
        "Reader responses",
        "First!",
        "This is why I stopped trusting the official statements.",
    ]
    assert clean_edges(paragraphs) == story
    assert is_byline("Observer Staff")
    assert not is_byline("By the end of the week the river had fallen two metres.")
    # a table row is not a row of links
    row = "| Upper Haldane | 54 | 93 | +39 |"
    assert clean_edges([*story, row]) == [*story, row]


def test_teaser_list_closing_the_body_is_dropped() -> None:
    story = "".join(
        f"<p>Paragraph {i} of the story about the harbour, which is prose and ends properly.</p>"
        for i in range(8)
    )
    teasers = "".join(
        f"<p><a href='/t{i}'>Another headline about the harbour number {i}</a></p>"
        for i in range(4)
    )
    markup = (
        "<html><head><title>Harbour story</title></head><body><article><h1>Harbour story</h1>"
        f"{story}<div class='more'>{teasers}</div></article></body></html>"
    )
    art = extract(markup, "https://example.org/harbour")
    assert art.kind == "article"
    assert "Paragraph 7 of the story" in art.text
    assert "Another headline" not in art.text
    # the same headlines in the middle of the story are content (a reading list)
    middle = markup.replace(f"<div class='more'>{teasers}</div>", f"{teasers}{story}")
    assert "Another headline about the harbour number 2" in extract(middle).text


# -- dates in the visible text ---------------------------------------------------------------


def test_publish_date_from_the_visible_text() -> None:
    from datetime import date

    from tidings.extraction.dates import date_from_text

    def tree(body: str):
        return lxml_html.document_fromstring(f"<html><body>{body}</body></html>")

    labelled = tree(
        "<p>Updated at <b>Dec 10, 2025</b></p><p>Posted on</p><p>Nov 21, 2018</p>"
        "<p>Some text of the article that runs on for a while.</p>"
    )
    found = date_from_text(labelled)
    assert found is not None and found.date() == date(2018, 11, 21)
    # no label: the first complete date; an update stamp only when there is nothing else
    assert date_from_text(tree("<p>3 March 2024</p><p>Updated 5 April 2024</p>")).date() == date(
        2024, 3, 3
    )
    assert date_from_text(tree("<p>Last updated: 5 April 2024</p>")).date() == date(2024, 4, 5)
    assert date_from_text(tree("<p>Publié le 12 mars 2024</p>")).date() == date(2024, 3, 12)
    # numeric dates: dots are day first, slashes month first unless the month would be > 12
    assert date_from_text(tree("<span>17.05.2021</span>")).date() == date(2021, 5, 17)
    assert date_from_text(tree("<span>2/24/2026</span>")).date() == date(2026, 2, 24)
    assert date_from_text(tree("<span>24/2/2026</span>")).date() == date(2026, 2, 24)
    # years alone, impossible days and future dates are not publish dates
    assert date_from_text(tree("<p>© 2024 Example Ltd. Founded 1999.</p>")) is None
    assert date_from_text(tree("<p>February 30, 2024</p>")) is None
    assert date_from_text(tree("<p>June 1, 2024</p>"), today=date(2024, 5, 1)) is None
    # script text is not visible
    assert date_from_text(tree("<script>var d = 'May 5, 2021';</script><p>Hello</p>")) is None


def test_date_fallbacks_in_extract() -> None:
    markup = (
        "<html><head><title>A post</title></head><body><article><h1>A post</h1>"
        "<p>Posted on Nov 21, 2018</p>"
        + "<p>Some prose of the post that runs on for a while and ends properly.</p>" * 6
        + "</article></body></html>"
    )
    assert extract(markup).published.date().isoformat() == "2018-11-21"
    # of two <time> stamps the ISO one wins over an ambiguous day-month order
    timed = markup.replace(
        "<p>Posted on Nov 21, 2018</p>",
        '<time datetime="02-12-2025">2 Dec</time><time datetime="2025-12-02">2 Dec</time>',
    )
    assert extract(timed).published.date().isoformat() == "2025-12-02"


def test_markup_publish_date_settled_against_url_and_visible_dates() -> None:
    from datetime import UTC, date, datetime

    from tidings.extraction.dates import TextDate, settle_published

    def stamp(day: str) -> datetime:
        return datetime.fromisoformat(day).replace(tzinfo=UTC)

    published = stamp("2025-12-19T02:41:00")
    # the URL keeps the local day; the UTC stamp crossed midnight
    url = "https://example.org/2025/12/18/a-post/"
    assert settle_published(published, None, url, []).date() == date(2025, 12, 18)
    # ...but a URL date further away is a different story (an archive path, a series)
    far = "https://example.org/2025/12/10/a-post/"
    assert settle_published(published, None, far, []) == published
    # a date labelled "Published" that opens the page is what the page states
    labelled = [TextDate(200, 0, date(2024, 1, 3)), TextDate(300, 2, date(2025, 9, 15))]
    assert settle_published(stamp("2025-09-15"), None, None, labelled).date() == date(2024, 1, 3)
    # published and modified on one day is a save stamp: the earlier byline date wins
    byline = [TextDate(400, 1, date(2022, 11, 2))]
    saved = stamp("2025-06-12T10:00:00")
    assert settle_published(saved, saved, None, byline).date() == date(2022, 11, 2)
    # not when the markup dates differ, the visible date is a day off, or far down the page
    assert settle_published(saved, stamp("2025-07-01"), None, byline) == saved
    # "modified" before "published" is no real history either
    earlier = stamp("2025-06-10")
    assert settle_published(saved, earlier, None, byline).date() == date(2022, 11, 2)
    assert settle_published(saved, saved, None, [TextDate(400, 1, date(2025, 6, 11))]) == saved
    assert settle_published(saved, saved, None, [TextDate(9000, 1, date(2022, 11, 2))]) == saved


# -- language --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "The council said on Tuesday that the bridge would be closed for the rest of the "
            "year, and that it was working with the contractor on a plan.",
            "en",
        ),
        (
            "Der Stadtrat hat am Dienstag beschlossen, dass die Brücke für den Rest des Jahres "
            "gesperrt wird, und er arbeitet mit der Firma an einem Plan.",
            "de",
        ),
        (
            "Le conseil a annoncé mardi que le pont serait fermé pour le reste de l'année et qu'il "
            "travaillait avec l'entreprise sur un plan.",
            "fr",
        ),
        (
            "El ayuntamiento dijo el martes que el puente estará cerrado durante el resto del año "
            "y que trabaja con la empresa en un plan.",
            "es",
        ),
        (
            "O conselho disse na terça-feira que a ponte vai ficar fechada para o resto do ano e "
            "que está a trabalhar com a empresa num plano.",
            "pt",
        ),
        (
            "Городской совет во вторник заявил, что мост будет закрыт до конца года и что он "
            "работает над планом вместе с подрядчиком.",
            "ru",
        ),
        ("市议会周二表示，这座桥将在今年余下时间关闭。", "zh"),
        ("市議会は火曜日、橋を年内いっぱい閉鎖すると発表した。", "ja"),
        ("Ο δήμος ανακοίνωσε ότι η γέφυρα θα παραμείνει κλειστή.", "el"),
        ("Too short.", None),
    ],
)
def test_language_guess(text: str, lang: str | None) -> None:
    from tidings.extraction.language import guess_language

    assert guess_language(text) == lang


def test_undeclared_language_is_guessed_from_the_body() -> None:
    art = extract(page("data_table.html").replace(b' lang="en"', b""))
    assert art.language == "en"


def test_form_messages_and_sales_prompts_at_the_edges() -> None:
    story = [f"Paragraph {i} of the post, which is prose and ends properly." for i in range(6)]
    paragraphs = [
        "Table of Contents",
        "Written by",
        *story,
        "Back to top",
        "Request a Demo",
        "Free 14-day trial",
        "Thank you! Your submission has been received!",
        "Oops! Something went wrong while submitting the form.",
    ]
    assert clean_edges(clean_text("\n\n".join(paragraphs)).split("\n\n")) == story
    # a question or a sentence that mentions signing up is content
    kept = [*story, "Where can I learn more or sign up?", "Sign up opens on Monday at the library."]
    assert clean_edges(kept) == kept


# -- collapsed and streamed content ----------------------------------------------------------


def test_collapsed_panels_and_streamed_parts_are_read() -> None:
    steps = "".join(
        f"<div class='accordion-item'><button>Step {i}</button>"
        f"<div role='region' aria-labelledby='h{i}' style='display:none'>"
        f"<p>Step {i} of the guide explains in plain words what to do and what it costs.</p>"
        "</div></div>"
        for i in range(4)
    )
    intro = "<p>" + "An introduction to the guide that reads as prose. " * 4 + "</p>"
    markup = (
        "<html><head><title>A guide</title></head><body>"
        "<nav><ul hidden><li>Home</li><li>Shop</li></ul></nav>"
        f"<article><h1>A guide</h1>{intro}{steps}"
        '<template id="B:0"></template></article>'
        '<div hidden id="S:0"><p>The closing words of the guide arrive in a streamed part, '
        "which a script moves into its place.</p></div>"
        "</body></html>"
    )
    text = extract(markup, "https://example.org/guide").text
    assert "Step 3 of the guide explains" in text
    assert text.rstrip().endswith("which a script moves into its place.")


def test_hidden_widgets_stay_hidden() -> None:
    from tidings.extraction.hidden import reveal_panels

    tree = lxml_html.document_fromstring(
        "<html><body><div class='menu' style='display:none'><a href='/'>Home</a> "
        "<a href='/a'>About us and our history</a> <a href='/c'>Contact</a></div>"
        "<div class='modal' hidden><p>Sign up for our newsletter to get the best deals "
        "every week in your inbox.</p></div></body></html>"
    )
    assert reveal_panels(tree) == 0


# -- broken markup ---------------------------------------------------------------------------


def test_story_after_a_premature_body_end_is_read() -> None:
    story = "".join(
        f"<p>Paragraph {i} of a story that the template printed after closing the page.</p>"
        for i in range(6)
    )
    markup = (
        "<html><head><title>Late story</title></head><body><header><a href='/'>Home</a>"
        f"</header></body></html><div class='post'><h1>Late story</h1>{story}</div>"
    )
    assert "Paragraph 5 of a story" in extract(markup).text


def test_story_inside_a_nav_that_wraps_the_page_is_read() -> None:
    story = "".join(
        f"<p>Paragraph {i} of a story that sits inside a navigation element by mistake, "
        "as some templates never close their menu before the content starts.</p>"
        for i in range(20)
    )
    markup = (
        "<html><head><title>Wrapped</title></head><body><nav><ul><li><a href='/'>Home</a></li>"
        f"</ul><main><h1>Wrapped</h1>{story}</main></nav></body></html>"
    )
    assert "Paragraph 19 of a story" in extract(markup).text


def test_pull_quotes_in_figures_are_read_embedded_posts_are_not() -> None:
    story = "".join(
        f"<p>Paragraph {i} of the story, which is prose and ends properly.</p>" for i in range(6)
    )
    markup = (
        "<html><head><title>Quotes</title></head><body><article><h1>Quotes</h1>"
        f"{story}<figure class='quote'><blockquote><p>Content is a conversation, not a "
        "broadcast, and the best teams treat it that way.</p></blockquote>"
        "<figcaption>Jane Roe, editor</figcaption></figure>"
        "<figure><blockquote class='twitter-tweet'><p>Look at this thread about the news "
        "of the day and tell me what you think.</p></blockquote></figure>"
        f"{story}</article></body></html>"
    )
    text = extract(markup).text
    assert "Content is a conversation, not a broadcast" in text
    assert "Look at this thread" not in text


def test_story_inside_a_box_named_as_chrome_is_kept() -> None:
    from tidings.extraction.layout import unwrap_giant_chrome

    prose = "".join(
        f"<p>Restaurant number {n} serves a small menu of irresistible dishes to the city.</p>"
        for n in range(40)
    )
    markup = (
        "<html><body><nav><a href='/'>Home</a></nav><div class='page'>"
        "<div class='page-lead'><p>The stars are back in town, in a big way.</p></div>"
        f"<div class='page-footer venues'>{prose}</div></div>"
        "<div class='site-footer'><p>© Example</p></div></body></html>"
    )
    tree = lxml_html.document_fromstring(markup)
    assert unwrap_giant_chrome(tree)
    box = tree.find(".//div[@class='venues']")
    assert box is not None  # the chrome word left, the other name stayed
    assert tree.find(".//div[@class='site-footer']") is not None  # a real footer is untouched
    assert "Restaurant number 39" in extract(markup).text


def test_text_wrapped_in_an_embed_or_icon_class_is_kept() -> None:
    from tidings.extraction.layout import unname_text_furniture

    rows = "".join(f"<tr><td>${n}.00</td><td>${n * 0.15:.2f}</td></tr>" for n in range(10, 40))
    markup = (
        "<html><body><article><h1>Tip chart</h1>"
        + "<p>How much to tip depends on the bill and the service you were given.</p>" * 3
        + f"<div class='w-embed'><table><tr><th>Bill</th><th>Tip</th></tr>{rows}</table></div>"
        "<div class='video-embed'><p>Watch the clip below.</p><iframe src='https://v.example/1'>"
        "</iframe></div></article></body></html>"
    )
    tree = lxml_html.document_fromstring(markup)
    assert unname_text_furniture(tree) == 1
    assert tree.find(".//div[@class='video-embed']") is not None  # real media stays furniture
    assert "$39.00" in extract(markup).text

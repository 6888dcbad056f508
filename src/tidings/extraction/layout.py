"""Layout tables: tables used to place a page's columns, unwrapped into plain blocks.

Old and template-built sites put the whole page in a <table>: masthead in one row, a
sidebar, the story and an ad column in sibling cells. Extractors then treat the page as
one data table and flatten it into rows. A table is read as layout when its cells hold
block content (paragraphs, headings, forms, other tables), when it is a single column or a
single cell, or when one cell of a short table holds nearly all of its text; its rows and
cells then become <div>s so the story cell is scored like any other container. Tables of
data (header cells, many uniform rows of short cells) are left alone.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.etree import _Element

_CELL_TAGS = {"td", "th"}
_BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "form", "blockquote", "ul", "ol", "article"}
# a cell holding this much text (chars) reads as prose, not a datum
LONG_CELL_CHARS = 400
# a short table whose biggest cell holds this share of its text is a frame around that cell
DOMINANT_CELL_SHARE = 0.6
SHORT_TABLE_ROWS = 6
# median cell text (chars) of a grid that reads as data
GRID_CELL_CHARS = 80


def _own(element: _Element, tag: str, table: _Element) -> list[_Element]:
    """Descendants of `element` with `tag` whose nearest enclosing table is `table`."""
    return [
        node
        for node in element.iter(tag)
        if next(node.iterancestors("table"), None) is table and node is not table
    ]


def _text_length(element: _Element) -> int:
    return len(" ".join("".join(element.itertext()).split()))


def _has_block_content(cell: _Element) -> bool:
    """Paragraphs, headings, forms or tables inside a cell: page furniture, not a datum."""
    paragraphs = 0
    for node in cell.iterdescendants():
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == "table":
            return True
        if tag in _BLOCK_TAGS:
            if tag in {"p", "ul", "ol"}:
                paragraphs += 1
                if paragraphs >= 2:
                    return True
            else:
                return True
    return False


def is_layout_table(table: _Element) -> bool:
    """True when `table` lays out page blocks rather than tabulating data."""
    rows = _own(table, "tr", table)
    cells = [cell for row in rows for cell in row if cell.tag in _CELL_TAGS]
    if not cells:
        return False
    if any(cell.find(".//table") is not None for cell in cells):
        return True  # tables inside cells: a page grid, not a datum per cell
    lengths = [_text_length(cell) for cell in cells]
    widths = [sum(1 for cell in row if cell.tag in _CELL_TAGS) for row in rows]
    grid_rows = sum(1 for width in widths if width >= 2)
    median = sorted(lengths)[len(lengths) // 2]
    if grid_rows >= 3 and median <= GRID_CELL_CHARS:
        return False  # many rows of short cells side by side: data, whatever the cells hold
    if any(_has_block_content(cell) for cell in cells):
        return True
    if any(cell.find(".//pre") is not None or cell.find(".//code") is not None for cell in cells):
        return False  # code listings with a line-number gutter
    total = sum(lengths) or 1
    has_header = any(cell.tag == "th" for cell in cells) or table.find("thead") is not None
    if len(rows) <= SHORT_TABLE_ROWS and not has_header and max(widths) >= 2:
        biggest = max(lengths)
        if biggest >= LONG_CELL_CHARS and biggest >= DOMINANT_CELL_SHARE * total:
            return True  # a short grid around one long cell: columns of a page
    return False


def unwrap_layout_tables(tree: _Element) -> int:
    """Turn every layout table of `tree` into nested <div>s, in place; returns how many.

    All decisions are made on the original structure before anything is rewritten, so a
    data table inside a layout cell keeps its own verdict. When the page has no
    <article> or <main> of its own, the cell holding the story's prose becomes the
    <article>, as the page would have marked it with a modern layout.
    """
    layout: list[_Element] = []
    for table in tree.iter("table"):
        if is_layout_table(table) or (_single_column(table) and _inside(table, layout)):
            layout.append(table)
    if not layout:
        return 0
    story = None
    if tree.find(".//article") is None and tree.find(".//main") is None:
        story = _story_cell(layout, tree)
    for table in layout:
        for node in list(table.iter()):
            if node is not table and next(node.iterancestors("table"), None) is not table:
                continue
            if node.tag in {"td", "th"} and not _has_blocks(node):
                _to_block(node, "p")  # a cell of running text reads as a paragraph
            elif node.tag in {"tr", "td", "th", "tbody", "thead", "tfoot", "caption"}:
                _to_block(node, "div")
        _to_block(table, "div")
    if story is not None:
        story.tag = "article"
    return len(layout)


# text runs this long (chars) are prose; shorter ones are labels, links, furniture
PROSE_RUN_CHARS = 60
# the story cell holds at least this much prose (chars) ...
STORY_MIN_PROSE = 400
# ... and the innermost cell with this share of the richest cell's prose is chosen
STORY_INNER_SHARE = 0.9
STORY_PAGE_SHARE = 0.5


def _prose(element: _Element) -> int:
    return sum(
        len(run)
        for run in (" ".join(t.split()) for t in element.itertext())
        if len(run) >= PROSE_RUN_CHARS
    )


def _story_cell(layout: list[_Element], tree: _Element) -> _Element | None:
    """The innermost layout cell holding (nearly) all of the richest cell's prose.

    Only on pages laid out by tables: the cell must hold most of the page's prose, not
    be a box inside a story that lives elsewhere.
    """
    cells = [
        cell
        for table in layout
        for row in _own(table, "tr", table)
        for cell in row
        if cell.tag in _CELL_TAGS
    ]
    scored = [(cell, _prose(cell)) for cell in cells]
    if not scored:
        return None
    best = max(prose for _, prose in scored)
    if best < STORY_MIN_PROSE or best < STORY_PAGE_SHARE * _prose(tree):
        return None
    rich = [cell for cell, prose in scored if prose >= STORY_INNER_SHARE * best]
    # the deepest of them: wrappers around the story cell hold the same prose
    return max(rich, key=lambda cell: sum(1 for _ in cell.iterancestors()))


_ANY_BLOCK = _BLOCK_TAGS | {"div", "table", "section", "li", "dl", "pre", "figure", "aside"}


def _has_blocks(cell: _Element) -> bool:
    return any(
        isinstance(node.tag, str) and node.tag in _ANY_BLOCK for node in cell.iterdescendants()
    )


def _single_column(table: _Element) -> bool:
    """A table of one column and no header: a box or a stack of boxes."""
    rows = _own(table, "tr", table)
    if any(cell.tag == "th" for row in rows for cell in row):
        return False
    return all(sum(1 for cell in row if cell.tag in _CELL_TAGS) <= 1 for row in rows)


def _inside(table: _Element, layout: list[_Element]) -> bool:
    """True when `table` sits in a cell of one of the `layout` tables.

    Pages laid out with tables draw their boxes (comments, related links, ads) with
    one-column tables too; elsewhere a one-cell table is usually a deliberate callout.
    """
    ancestors = set(table.iterancestors("table"))
    return any(outer in ancestors for outer in layout)


def _to_block(node: _Element, tag: str) -> None:
    kept = {key: node.get(key) for key in ("class", "id") if node.get(key)}
    node.tag = tag
    node.attrib.clear()
    node.attrib.update(kept)


_CHROME_TAGS = ("nav", "header", "footer", "aside")
# a page-chrome element holding more than this share of the page's text wraps the story
CHROME_MAX_SHARE = 0.5
CHROME_MIN_CHARS = 2000


def _chars(node: _Element) -> int:
    return int(node.xpath("string-length(normalize-space(.))"))


def unwrap_giant_chrome(tree: _Element) -> int:
    """Un-chrome the elements that wrap most of the page's text.

    Some templates open a <nav> (or never close a <header>) around the whole page, or
    name the box that holds the story "page-footer" or "comments-area"; the extractor
    discards chrome elements with everything inside, story included. <nav>, <header>,
    <footer> and <aside> become <div>; chrome words leave the class and id, the other
    names ("post-content") stay to guide the extractor.
    """
    body = tree.find(".//body")
    if body is None:
        return 0
    total = _chars(body)
    if total < CHROME_MIN_CHARS:
        return 0
    renamed = 0
    for node in _majority_chain(body, total):
        if node.tag in _CHROME_TAGS:
            node.tag = "div"
            renamed += 1
        for key in ("class", "id"):
            value = node.get(key)
            if value and _CHROME_WORD.search(value):
                kept = [token for token in value.split() if not _CHROME_WORD.search(token)]
                node.set(key, " ".join(kept))
                renamed += 1
    return renamed


_CHROME_WORD = re.compile(r"footer|menu|banner|sidebar|comment", re.I)


def _majority_chain(body: _Element, total: int) -> list[_Element]:
    """The nested elements that each hold more than half of the page's text."""
    chain: list[_Element] = []
    node = body
    while True:
        for child in node:
            if isinstance(child.tag, str) and _chars(child) > CHROME_MAX_SHARE * total:
                chain.append(child)
                node = child
                break
        else:
            return chain


# class words that name furniture (an embedded widget, an icon) but also appear on the
# wrappers of real text: "w-embed" around a data table, "accordion-icon" around a panel
_FURNITURE_WORD = re.compile(r"embed|icon", re.I)
_FURNITURE_NAMED = etree.XPath(".//*[contains(@class, 'embed') or contains(@class, 'icon')]")
_FURNITURE_MEDIA = ("iframe", "video", "audio", "object", "embed", "blockquote", "svg", "img")
FURNITURE_MIN_CHARS = 200


def unname_text_furniture(tree: _Element) -> int:
    """Drop "embed"/"icon" class words from elements that hold text rather than media.

    The extractor discards such elements as widgets; a wrapper with paragraphs or a table
    and no embedded media inside is part of the article.
    """
    body = tree.find(".//body")
    if body is None:
        return 0
    renamed = 0
    for node in _FURNITURE_NAMED(body):
        if node.tag in ("iframe", "svg", "i", "img", "span", "a", "button"):
            continue
        if (
            node.find(".//p") is None
            and node.find(".//table") is None
            and node.find(".//li") is None
        ):
            continue
        if any(node.find(f".//{tag}") is not None for tag in _FURNITURE_MEDIA):
            continue
        if _chars(node) < FURNITURE_MIN_CHARS:
            continue
        kept = [
            token for token in node.get("class", "").split() if not _FURNITURE_WORD.search(token)
        ]
        node.set("class", " ".join(kept))
        renamed += 1
    return renamed


_SOCIAL_EMBED = re.compile(r"twitter|tweet|instagram|tiktok|facebook|embed|reddit|bluesky", re.I)


def unwrap_text_figures(tree: _Element) -> int:
    """Rename <figure> elements that hold a quotation or paragraphs to <div>.

    Figures are dropped as image furniture, but templates also wrap pull quotes and
    testimonials (a <blockquote> with its attribution) in a <figure>.
    """
    renamed = 0
    for figure in tree.iter("figure"):
        quotes = figure.findall(".//blockquote")
        if any(_SOCIAL_EMBED.search(quote.get("class") or "") for quote in quotes):
            continue  # an embedded post stays furniture
        if quotes or len(figure.findall(".//p")) >= 2:
            figure.tag = "div"
            for caption in figure.iter("figcaption"):
                caption.tag = "p"  # the quote's attribution
            renamed += 1
    return renamed

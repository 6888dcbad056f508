"""HTML → Article: main text, metadata, page kind and aggregator-junk cleanup."""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import islice
from urllib.parse import urlparse

from lxml import etree
from lxml import html as lxml_html

from tidings.extraction.compressed import DEFAULT_MAX_BYTES, GZIP_MAGIC, GzipError, gunzip_capped
from tidings.junk import clean_edges, clean_text
from tidings.metadata import PageMeta, read_metadata
from tidings.models import Article

__all__ = ["ExtractError", "decode_html", "extract", "extract_many"]

LOGGER = logging.getLogger(__name__)

MAX_HTML_CHARS = 6_000_000  # larger pages are truncated: no article needs more
EXCERPT_CHARS = 300


class ExtractError(ValueError):
    """The input cannot be treated as a web page at all (binary data, not text).

    `url` and `index` (position in the batch) say which page it was.
    """

    def __init__(self, message: str, url: str | None = None, index: int | None = None):
        super().__init__(message)
        self.url = url
        self.index = index


# -- decoding --------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'").lower()).name
    except LookupError:
        return None


def decode_html(
    data: bytes, content_type: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> str:
    """Decode page bytes: BOM, then UTF-8, then the declared charset, then a lenient fallback.

    Bytes still gzipped (a page served without Content-Encoding, a saved .html file) are
    inflated first, to at most `max_bytes` (the fetcher's cap): past it, or when the gzip
    data is corrupt or truncated, ExtractError says so.
    """
    if data[:2] == GZIP_MAGIC:
        try:
            data = gunzip_capped(data, max_bytes)
        except GzipError as exc:
            raise ExtractError(str(exc)) from exc
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace")
    declared = None
    if content_type and "charset=" in content_type.lower():
        declared = _codec(content_type.lower().split("charset=", 1)[1].split(";")[0])
    if declared is None:
        match = _META_CHARSET.search(data[:8192])
        if match:
            declared = _codec(match.group(1).decode("ascii", "ignore"))
    # strict UTF-8 success is a very reliable signal, more than a (often stale) declaration
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared and declared not in {"utf-8", "utf-16", "utf-16-le", "utf-16-be"}:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    # bytes that are not UTF-8 whatever the page claims: almost always Windows-1252 / Latin-1
    if declared in (None, "utf-8"):
        return data.decode("cp1252", errors="replace")
    return data.decode(declared, errors="replace")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def _check_text(text: str) -> None:
    sample = text[:20000]
    if not sample.strip():
        return
    bad = len(_CONTROL.findall(sample))
    if bad > 0.05 * len(sample):
        raise ExtractError(
            f"input looks like binary data, not HTML ({bad} control characters in the first "
            f"{len(sample)})"
        )


# -- parsing ---------------------------------------------------------------------------------

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
# browsers keep reading after a premature </body> or </html>; libxml2 drops what follows
_DOCUMENT_END = re.compile(r"</(?:body|html)\s*>", re.I)


def _parse(text: str) -> etree._Element | None:
    text = _XML_DECL.sub("", text[:MAX_HTML_CHARS]).replace("\x00", "")
    text = _DOCUMENT_END.sub("", text)
    if "<" not in text[:5000]:
        # plain text: treat blank-line separated blocks as paragraphs
        blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
        body = "".join(f"<p>{_escape(b)}</p>" for b in blocks)
        text = f"<html><body>{body}</body></html>"
    from trafilatura.utils import load_html

    try:
        tree = load_html(text)
    except (etree.ParserError, ValueError, TypeError):
        tree = None
    if tree is None:
        try:
            tree = lxml_html.document_fromstring(text)
        except (etree.ParserError, ValueError):
            return None
    return tree


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- main text -------------------------------------------------------------------------------


def _main_text(tree: etree._Element, url: str | None, thorough: bool = False) -> str:
    """The article text of `tree` (which is modified on the way)."""
    from tidings.extraction.candidates import candidates
    from tidings.extraction.hidden import reveal_panels
    from tidings.extraction.layout import (
        unname_text_furniture,
        unwrap_giant_chrome,
        unwrap_layout_tables,
        unwrap_text_figures,
    )

    reveal_panels(tree)
    unwrap_giant_chrome(tree)
    unwrap_text_figures(tree)
    unname_text_furniture(tree)
    unwrap_layout_tables(tree)
    found = candidates(tree, url, thorough=thorough)
    return found.best()


def _paragraphs(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    return "\n\n".join(line for line in lines if line)


_WORD = re.compile(r"\w+")


def _drop_leading_title(
    text: str,
    title: str,
    description: str | None = None,
    apart: Callable[[], bool] | None = None,
) -> str:
    """The headline is its own field: do not repeat it as the first paragraph.

    Short labels above it (a section kicker such as "NATIONAL") go with it, and a
    standfirst right below it that repeats the page's declared description goes too
    when `apart()` (asked only then, it searches the page) says it is shown apart from the
    body: many pages declare their first body paragraph as the description.
    """
    paragraphs = text.split("\n\n")
    title_words = _WORD.findall(title.casefold())
    for index, paragraph in enumerate(paragraphs[:HEADLINE_SEARCH]):
        if title_words and _WORD.findall(paragraph.casefold()) == title_words:
            if all(_is_kicker(p) for p in paragraphs[:index]):
                paragraphs = paragraphs[index + 1 :]
                if description and paragraphs:
                    first = _WORD.findall(paragraphs[0].casefold())
                    if first == _WORD.findall(description.casefold()) and (
                        apart is None or apart()
                    ):
                        paragraphs = paragraphs[1:]
            break
    return "\n\n".join(paragraphs)


HEADLINE_SEARCH = 3  # the headline sits in the first paragraphs or not at all


def _is_kicker(paragraph: str) -> bool:
    """A section label or rubric above a headline: a few words, no sentence."""
    return len(paragraph.split()) <= 4 and not _SENTENCE_END.search(paragraph.rstrip())


def _standfirst(tree: etree._Element, description: str | None) -> str | None:
    """The description when the page shows it as a standfirst apart from the body.

    Many pages declare their first paragraph as the description; that paragraph sits
    among the body's other paragraphs and is part of the story. A standfirst sits in
    the header, with no body paragraphs beside it.
    """
    if not description:
        return None
    key = _key(description)
    if not key:
        return None
    head = key.split()[0]
    for element in tree.iter("p", "h2", "h3", "div", "span"):
        if head not in "".join(islice(element.itertext(), 3)).casefold() or (
            element.tag in {"div", "span"} and len(element)
        ):
            continue  # a standfirst starts with its own text; container divs are not one
        if _key(" ".join(element.itertext())) != key:
            continue
        parent = element.getparent()
        if parent is None:
            continue
        siblings = sum(
            1
            for other in parent
            if other is not element
            and other.tag == "p"
            and len("".join(other.itertext()).split()) >= BODY_PARAGRAPH_WORDS
        )
        if siblings >= 2:
            return None
    return description


BODY_PARAGRAPH_WORDS = 10


def _guess_language(text: str) -> str | None:
    """The body's language when the page does not declare one."""
    from tidings.extraction.language import guess_language

    return guess_language(text) if text else None


def _excerpt(text: str) -> str | None:
    if not text:
        return None
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT_CHARS:
        return flat
    cut = flat[:EXCERPT_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:-–—") + "…"


# -- page kind -------------------------------------------------------------------------------

_ERROR_TITLE = re.compile(
    r"\b(?:404|410|500|503)\b|page\s+(?:not\s+found|does\s*n[o']t\s+exist|unavailable)"
    r"|\bnot\s+found\b|\berror\b|access\s+denied|forbidden|service\s+unavailable",
    re.I,
)
_ERROR_TEXT = re.compile(
    r"page\s+(?:you\s+(?:are|were|'re)\s+looking\s+for|you\s+requested)|"
    r"(?:could|can)\s*(?:no|n')t\s+(?:be\s+)?(?:find|found|locate)|does\s*(?:no|n')t\s+exist|"
    r"no\s+longer\s+(?:available|exists)|error\s+404|404\s+error|page\s+not\s+found|"
    r"(?:has\s+been|was)\s+(?:removed|moved|deleted)",
    re.I,
)
_PAYWALL_TEXT = re.compile(
    r"subscribe\s+(?:now\s+)?to\s+(?:continue|keep|read|unlock)|"
    r"(?:already\s+(?:a\s+)?(?:subscriber|member)|have\s+an\s+account)\??\s*(?:sign|log)\s*in|"
    r"this\s+(?:article|content|story)\s+is\s+(?:only\s+)?(?:available|reserved|exclusive)\s+"
    r"(?:to|for)\s+(?:subscribers|members|premium)|"
    r"to\s+(?:continue\s+)?read(?:ing)?\s+(?:this|the\s+full|the\s+rest)|"
    r"(?:unlock|get)\s+(?:unlimited|full)\s+(?:digital\s+)?access|"
    r"subscribers?\s+only|premium\s+(?:content|article)|"
    r"you(?:'ve|\s+have)\s+(?:reached|used)\s+(?:your|all)\s+(?:free\s+)?(?:article|limit)",
    re.I,
)
_INDEX_PATH = re.compile(
    r"/(?:tags?|categor(?:y|ies)|topics?|sections?|archives?|authors?|labels?)(?:/|$)"
    r"|/page/\d+/?$|^/?$",
    re.I,
)


@dataclass
class PageLinks:
    """Teaser-like links of a page: how many, the words they hold, and their texts."""

    count: int = 0
    words: int = 0
    texts: set[str] = field(default_factory=set)


def _headline_links(tree: etree._Element) -> PageLinks:
    """Collect links that look like article teasers (5-30 words) and all link texts."""
    links = PageLinks()
    body = tree.find(".//body")
    if body is None:
        return links
    for anchor in body.iter("a"):
        words = "".join(anchor.itertext()).split()
        n = len(words)
        if 5 <= n <= 30:
            links.count += 1
            links.words += n
        if n >= HEADLINE_MIN_WORDS:
            links.texts.add(_key(" ".join(words)))
    return links


HEADLINE_MIN_WORDS = 3
HEADLINE_MAX_WORDS = 40


def _is_link_text(paragraph: str, links: PageLinks) -> bool:
    """True when the paragraph is the whole text of a link on the page (a headline)."""
    words = paragraph.count(" ") + 1
    return (
        HEADLINE_MIN_WORDS <= words <= HEADLINE_MAX_WORDS * 2
        and HEADLINE_MIN_WORDS <= len(paragraph.split()) <= HEADLINE_MAX_WORDS
        and _key(paragraph) in links.texts
    )


@lru_cache(maxsize=8192)
def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


_TRUNCATED = re.compile(r"(?:…|\.\.\.|\[…\]|\[\.\.\.\]|\bread\s+more|continue\s+reading)\W*$", re.I)
_INDEX_TITLE = re.compile(
    r"\barchives?\b|^(?:tag|tagged|category|topic|section|author|posts\s+(?:by|tagged))\s*[:|]"
    r"|\bposts\s+tagged\b|\ball\s+(?:stories|articles|posts|news)\b",
    re.I,
)


TAIL_CHARS = 30  # enough to see how a paragraph ends


@dataclass
class ListShape:
    """How much of a body is a list of headlines with teasers."""

    paragraphs: int
    headlines: int  # paragraphs that are the whole text of a link on the page
    truncated: int  # teaser paragraphs cut off with an ellipsis or "read more"
    longest_share: float  # share of the words in the longest paragraph


def list_shape(text: str, links: PageLinks) -> ListShape:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    headlines = sum(1 for p in paragraphs if _is_link_text(p, links))
    truncated = sum(1 for p in paragraphs if _TRUNCATED.search(p.strip()[-TAIL_CHARS:]))
    words = [len(p.split()) for p in paragraphs]
    longest = max(words) / sum(words) if words and sum(words) else 0.0
    return ListShape(len(paragraphs), headlines, truncated, longest)


def classify(text: str, title: str, meta: PageMeta, url: str | None, links: PageLinks) -> str:
    """Decide what the page is: article, empty, error, paywall or index.

    `links` describes the page's teaser-like links, see `_headline_links`. An index page
    (section front, tag or author archive) is told by the shape of its main text: a run of
    headlines that are links elsewhere on the page, each with a cut-off teaser, and no
    dominant block of prose. Title wording ("… Archives", "Tag: …"), the URL path and the
    declared page type only support that evidence.
    """
    words = len(text.split())
    if words == 0:
        return "empty"
    if words < 150 and (_ERROR_TITLE.search(title or "") and _ERROR_TEXT.search(text)):
        return "error"
    if words < 60 and _ERROR_TEXT.search(title + " " + text):
        return "error"
    if words < 350 and (meta.free is False or _PAYWALL_TEXT.search(text)):
        return "paywall"
    is_article_typed = (
        bool(meta.ld_types & _ARTICLE_LD) or (meta.og_type or "").lower() == "article"
    )
    path = urlparse(url).path if url else ""
    link_count, link_words = links.count, links.words
    # an index page's text is a list of headlines, an article's is prose
    prose = sum(
        len(p.split())
        for p in text.split("\n\n")
        if len(p.split()) >= 10 and _SENTENCE_END.search(p.rstrip()[-1:])
    )
    headline_list = link_count >= 10 and prose < 0.35 * words and link_words > 0.7 * words
    index_path = bool(path and _INDEX_PATH.search(path))
    if headline_list and (not is_article_typed or index_path):
        return "index"
    if _teaser_list(list_shape(text, links), title, index_path, is_article_typed):
        return "index"
    return "article"


def _teaser_list(shape: ListShape, title: str, index_path: bool, is_article_typed: bool) -> bool:
    """A body made of linked headlines with cut-off teasers (or plainly titled as a list)."""
    if shape.headlines < INDEX_MIN_HEADLINES or shape.longest_share > INDEX_MAX_BLOCK_SHARE:
        return False
    listed = (shape.headlines + shape.truncated) / shape.paragraphs
    supported = bool(_INDEX_TITLE.search(title or "")) or index_path
    if shape.truncated >= INDEX_MIN_TRUNCATED and listed >= INDEX_LISTED_SHARE:
        return supported or not is_article_typed
    # complete-sentence teasers: only with the page saying it is a list
    headline_share = shape.headlines / shape.paragraphs
    return supported and not is_article_typed and headline_share >= INDEX_HEADLINE_SHARE


INDEX_MIN_HEADLINES = 5
INDEX_MIN_TRUNCATED = 3
INDEX_LISTED_SHARE = 0.4  # headlines + cut-off teasers, as a share of the paragraphs
INDEX_HEADLINE_SHARE = 0.4
INDEX_MAX_BLOCK_SHARE = 0.25  # an article has a paragraph holding more of its words


_SENTENCE_END = re.compile(r"[.!?…:;\"”’)]$")


_ARTICLE_LD = {"newsarticle", "article", "blogposting", "reportagenewsarticle"}


# -- public API ------------------------------------------------------------------------------


def _extract_one(
    content: str | bytes,
    url: str | None,
    thorough: bool = False,
    date_hint: datetime | None = None,
) -> Article:
    if content is None:
        raise ExtractError("no content")
    if isinstance(content, bytes):
        text = decode_html(content)
    elif isinstance(content, str):
        text = content
    else:
        raise ExtractError(f"expected str or bytes, got {type(content).__name__}")
    _check_text(text)
    article = Article(url=url or "")
    if not text.strip():
        article.kind = "empty"
        return article
    tree = _parse(text)
    if tree is None:
        article.kind = "empty"
        return article
    meta = read_metadata(tree, url, date_hint)
    links = _headline_links(tree)
    try:
        raw = _main_text(tree, url, thorough)
    except Exception as exc:  # trafilatura is robust, but a library bug must not kill a batch
        LOGGER.warning("text extraction failed for %s: %s", url, exc)
        raw = ""
    body = _drop_leading_title(
        clean_text(_paragraphs(raw)),
        meta.title or "",
        meta.description,
        apart=lambda: _standfirst(tree, meta.description) is not None,
    )
    body = "\n\n".join(clean_edges(body.split("\n\n"), meta.author)) if body else body
    kind = classify(body, meta.title or "", meta, url, links)
    if kind == "article":
        body = _drop_link_runs(body, links)
    article.title = meta.title or ""
    article.text = body
    article.author = meta.author
    article.published = meta.published
    article.modified = meta.modified
    article.language = meta.language or _guess_language(body)
    article.canonical_url = meta.canonical_url
    article.site_name = meta.site_name
    article.image = meta.image
    article.excerpt = _excerpt(body)
    article.kind = kind
    return article


# a run of this many linked-headline paragraphs at the body's start or end is a teaser list
LINK_RUN_MIN = 3
LINK_RUN_EDGE = 2  # how close to the start or end (in paragraphs) the run must reach


def _drop_link_runs(body: str, links: PageLinks) -> str:
    """Drop teaser lists at the body's edges: runs of paragraphs that are each the whole
    text of a link on the page ("More from …", related headlines, next/previous posts).

    Inside the body such runs can be the content (a reading list), so only runs that
    open or close the text go.
    """
    if not body:
        return body
    paragraphs = body.split("\n\n")
    is_link = [_is_link_text(p, links) for p in paragraphs]
    n = len(paragraphs)
    drop = [False] * n
    i = 0
    while i < n:
        if not is_link[i]:
            i += 1
            continue
        j = i
        while j < n and is_link[j]:
            j += 1
        if j - i >= LINK_RUN_MIN and (i < LINK_RUN_EDGE or j > n - LINK_RUN_EDGE):
            drop[i:j] = [True] * (j - i)
        i = j
    return "\n\n".join(p for p, dropped in zip(paragraphs, drop, strict=True) if not dropped)


def extract_many(
    pages: Iterable[tuple[str | bytes, str | None]],
    *,
    thorough: bool = False,
    date_hints: Iterable[datetime | None] | None = None,
) -> list[Article]:
    """Extract a batch of (html, url) pairs into Articles, in order.

    Pages that are not articles come back with `kind` set ("empty", "index", "paywall",
    "error"); input that is not a web page at all raises ExtractError naming the page.
    `thorough` also runs precision and recall passes and picks the best text (about half
    the speed). `date_hints` gives, page by page, a date known from elsewhere (the feed
    entry's) or None: with the URL's date it settles numeric dates that read two ways
    (02/11/2026), outvotes a page date that contradicts both, and stands in for a page
    with no date.
    """
    hints = iter(date_hints) if date_hints is not None else None
    articles = []
    for index, (content, url) in enumerate(pages):
        date_hint = next(hints, None) if hints is not None else None
        try:
            articles.append(_extract_one(content, url, thorough, date_hint))
        except ExtractError as exc:
            raise ExtractError(f"{exc} (page {index}: {url or 'no url'})", url, index) from exc
    return articles


def extract(
    html: str | bytes,
    url: str | None = None,
    *,
    thorough: bool = False,
    date_hint: datetime | None = None,
) -> Article:
    """Extract one page; see `extract_many` (`date_hint` is the page's feed date, if any)."""
    return extract_many([(html, url)], thorough=thorough, date_hints=[date_hint])[0]

"""Publish dates written in a page's visible text ("Posted on Nov 21, 2018").

The fallback when neither markup nor htmldate's quick search finds a date. htmldate's
extensive search does the same job through dateparser, which costs seconds to import and
milliseconds per page; a handful of regular expressions over the top of the page recovers
most of those dates in microseconds. Only complete dates (day, month and year) count, and a
date labelled as the publication date wins over an unlabelled one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from lxml.etree import _Element

_MONTHS = {
    # English
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
    # German
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7,
    "oktober": 10, "dezember": 12,
    # French
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
    # Spanish / Portuguese / Italian
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11,
    "diciembre": 12, "janeiro": 1, "fevereiro": 2, "março": 3, "maio": 5, "junho": 6,
    "julho": 7, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "settembre": 9, "ottobre": 10, "dicembre": 12,
    # Dutch
    "januari": 1, "februari": 2, "maart": 3, "augustus": 8,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|º|\.)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_PATTERNS = [
    # Nov 21, 2018 · November 21st 2018
    re.compile(rf"\b(?P<month>{_MONTH})\.?\s+{_DAY},?\s+{_YEAR}\b", re.I),
    # 21 Nov 2018 · 21. März 2018 · 21 de marzo de 2018 · 21 of November, 2018
    re.compile(rf"\b{_DAY}\s+(?:de\s+|of\s+)?(?P<month>{_MONTH})\.?,?\s+(?:de\s+)?{_YEAR}\b", re.I),
    # 2018-11-21 · 2018/11/21
    re.compile(r"\b(?P<year>(?:19|20)\d\d)[-/.](?P<month>[01]?\d)[-/.](?P<day>[0-3]?\d)\b"),
    # 17.05.2021 (dots: day first) · 2/24/2026 (slashes: month first unless it cannot be)
    re.compile(r"\b(?P<day>[0-3]?\d)\.(?P<month>[01]?\d)\.(?P<year>(?:19|20)\d\d)\b"),
    re.compile(r"\b(?P<month>[0-3]?\d)/(?P<day>[0-3]?\d)/(?P<year>(?:19|20)\d\d)\b"),
]
_LABEL = re.compile(
    r"\b(?:published|posted|posted\s+on|written|date|dated|released|publi[ée]|publicado|"
    r"pubblicato|veröffentlicht|gepubliceerd|erschienen)\b[^\w\n]{0,3}(?:on\s+)?$",
    re.I,
)
_UPDATED = re.compile(
    r"\b(?:updated|modified|edited|revised|aktualisiert|mis\s+à\s+jour|actualizado)\b[^\w\n]{0,3}"
    r"(?:on\s+)?$",
    re.I,
)
_YEAR_ONLY = re.compile(r"\b(?:19|20)\d\d\b")
WINDOW_BEFORE_YEAR = 40  # "21st of September, 2018" and "2018-11-21" both fit
WINDOW_AFTER_YEAR = 6
# how much of the page's text is searched: dates further down belong to comments, lists
SEARCH_CHARS = 12_000
_SKIP = {"script", "style", "noscript", "template", "svg", "option", "select"}


def _visible_text(tree: _Element, chars: int = SEARCH_CHARS) -> str:
    body = tree.find(".//body")
    if body is None:
        return ""
    parts: list[str] = []
    size = 0
    for element in body.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in _SKIP:
            continue
        parent = element.getparent()
        for piece in (element.text if tag and tag not in _SKIP else None, element.tail):
            if piece is element.tail and (parent is None or parent.tag in _SKIP):
                continue
            if piece and piece.strip():
                parts.append(" ".join(piece.split()))
                size += len(parts[-1]) + 1
        if size > chars:
            break
    return "\n".join(parts)


def _to_date(match: re.Match[str]) -> date | None:
    month_text = match.group("month")
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text.casefold())
    day = int(match.group("day"))
    if month and month > 12 and day <= 12:
        month, day = day, month  # 24/2/2026: a day-first date written with slashes
    try:
        return date(int(match.group("year")), month or 0, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class TextDate:
    """A complete date written in the page's visible text."""

    position: int  # characters from the top of the visible text
    rank: int  # 0 labelled as published, 1 unlabelled, 2 labelled as updated
    day: date


def text_dates(
    tree: _Element, today: date | None = None, chars: int = SEARCH_CHARS
) -> list[TextDate]:
    """Every complete, non-future date in the first `chars` of visible text, in reading order."""
    text = _visible_text(tree, chars)
    if not text:
        return []
    today = today or datetime.now(UTC).date()
    found: dict[int, TextDate] = {}
    # every complete date holds a year: look only around the years (the month-name
    # patterns are slow to try at every position of a long text)
    for year in _YEAR_ONLY.finditer(text):
        offset = max(0, year.start() - WINDOW_BEFORE_YEAR)
        window = text[offset : year.end() + WINDOW_AFTER_YEAR]
        for pattern in _PATTERNS:
            for match in pattern.finditer(window):
                position = offset + match.start()
                day = _to_date(match)
                if position in found or day is None or day > today:
                    continue
                before = text[max(0, position - 40) : position]
                rank = 0 if _LABEL.search(before) else 2 if _UPDATED.search(before) else 1
                found[position] = TextDate(position, rank, day)
    return [found[position] for position in sorted(found)]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def date_from_text(tree: _Element, today: date | None = None) -> datetime | None:
    """The publication date written near the top of the page, or None.

    A date right after a "Published"/"Posted" label wins; then the first date that is not
    labelled as an update; then an update date. Future dates are ignored.
    """
    return pick_text_date(text_dates(tree, today))


def pick_text_date(found: list[TextDate]) -> datetime | None:
    """The best publication date among visible dates (see `date_from_text`)."""
    if not found:
        return None
    best = min(found, key=lambda found_date: (found_date.rank, found_date.position))
    return _midnight(best.day)


_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-]([01]\d)[/-]([0-3]\d)(?:/|$|[-_])")
# a visible date this far into the text is body or sidebar content, not the byline
BYLINE_CHARS = 3000


def settle_published(
    published: datetime | None,
    modified: datetime | None,
    url: str | None,
    visible: list[TextDate],
) -> datetime | None:
    """Correct a markup publish date with the URL and the dates the reader sees.

    - A URL dated within a day of the markup date holds the local publish day; the markup
      stamp crossed midnight when converted to another zone.
    - A date labelled "Published" that is the first date on the page is what the page
      states; markup often carries a later re-publish stamp.
    - Markup published on the day it was modified (or after it, which no real history
      allows) is a CMS save stamp rather than a publish date: an earlier date in the
      byline area is the original one (more than a day earlier, so a time-zone shift does
      not count).
    """
    if published is None:
        return None
    match = _URL_DATE.search(url or "")
    if match:
        try:
            url_day = date(*(int(part) for part in match.groups()))
        except ValueError:
            url_day = None
        if url_day and abs((published.date() - url_day).days) == 1:
            return _midnight(url_day)
    if not visible:
        return published
    first = visible[0]
    if first.rank == 0 and first.day != published.date():
        return _midnight(first.day)
    if (
        modified is not None
        and modified.date() <= published.date()
        and first.position < BYLINE_CHARS
        and (published.date() - first.day).days > 1
    ):
        return _midnight(first.day)
    return published

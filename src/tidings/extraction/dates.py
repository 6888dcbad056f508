"""Publish dates written in a page's visible text ("Posted on Nov 21, 2018").

The fallback when neither markup nor htmldate's quick search finds a date. htmldate's
extensive search does the same job through dateparser, which costs seconds to import and
milliseconds per page; a handful of regular expressions over the top of the page recovers
most of those dates in microseconds. Only complete dates (day, month and year) count, and a
date labelled as the publication date wins over an unlabelled one.

A numeric date such as 02/11/2026 reads two ways (2 November, February 11): `DateClues`
holds what settles it (the URL and feed dates, the page's declared dates and locale).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
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
    # 17.05.2021 · 2/24/2026 · 02/11/2026: the order is settled by `read_numeric`
    re.compile(
        r"\b(?P<first>[0-3]?\d)(?P<sep>[./])(?P<second>[0-3]?\d)(?P=sep)(?P<year>(?:19|20)\d\d)\b"
    ),
]
_SLASHED = re.compile(r"\b([0-3]?\d)/([0-3]?\d)/(?:19|20)\d\d\b")
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


# a day apart is the same date seen from another time zone
AGREE_DAYS = 1
# regions that write numeric dates month first; other regions and languages write day first
_MONTH_FIRST_REGIONS = {"us", "ph", "fm", "mh", "pw", "as", "gu", "mp", "pr", "um", "vi"}
_MIXED_REGIONS = {("en", "ca")}  # both orders are common
# languages that write year first (2026/11/02): a day-month-year date shows no habit
_YEAR_FIRST_LANGUAGES = {"zh", "ja", "ko", "hu", "lt", "mn", "fa", "eu"}


def locale_day_first(locale: str | None) -> bool | None:
    """Whether pages in `locale` write numeric dates day first.

    en-GB, en-IN, de, fr-FR → True; en-US → False; a bare "en", a year-first language or
    an unreadable value → None (no clue).
    """
    parts = re.split(r"[-_]", (locale or "").strip().lower())
    language = parts[0]
    region = parts[1] if len(parts) > 1 and re.fullmatch(r"[a-z]{2}|\d{3}", parts[1]) else None
    if not re.fullmatch(r"[a-z]{2,3}", language) or language in _YEAR_FIRST_LANGUAGES:
        return None
    if region in _MONTH_FIRST_REGIONS:
        return False
    if (language, region) in _MIXED_REGIONS or (language == "en" and region is None):
        return None
    return True


def _agreeing(day: date, known: tuple[date, ...]) -> int:
    return sum(1 for other in known if abs((day - other).days) <= AGREE_DAYS)


@dataclass(frozen=True)
class DateClues:
    """What settles a numeric date that reads two ways (02/11/2026: 2 Nov or Feb 11).

    In turn: the reading that agrees with the dates `known` from outside the page (its
    URL, its feed); then with the dates the page `declared` in markup; then the order
    the page's other numeric dates show (24/10/2026 can only be day first); then the
    page's locale; then the separator's habit (dots day first, slashes month first).
    """

    known: tuple[date, ...] = ()
    declared: tuple[date, ...] = ()
    page_day_first: bool | None = None
    locale_day_first: bool | None = None

    def prefers_day_first(self, day_first: date, month_first: date, separator: str) -> bool | None:
        """True or False as the clues settle it, None when none does (then: month first)."""
        for dates in (self.known, self.declared):
            votes = _agreeing(day_first, dates) - _agreeing(month_first, dates)
            if votes:
                return votes > 0
        if separator == ".":
            return True  # 17.05.2021: dotted dates are day first wherever they are written
        for order in (self.page_day_first, self.locale_day_first):
            if order is not None:
                return order
        return None


NO_CLUES = DateClues()


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def read_numeric(
    first: int, second: int, year: int, separator: str, clues: DateClues = NO_CLUES
) -> date | None:
    """The date written `first`/`second`/`year`; a component over 12 settles the order."""
    return _readings(first, second, year, separator, clues)[0]


def _readings(
    first: int, second: int, year: int, separator: str, clues: DateClues
) -> tuple[date | None, date | None]:
    """The reading taken, and the other one when a clue ruled it out."""
    day_first = _valid(year, second, first)
    month_first = _valid(year, first, second)
    if day_first is None or month_first is None or day_first == month_first:
        return day_first or month_first, None
    order = clues.prefers_day_first(day_first, month_first, separator)
    if order is None:
        return month_first, None  # 2/11/2026 with nothing to go by: the old US default
    return (day_first, month_first) if order else (month_first, day_first)


def _page_day_first(text: str) -> bool | None:
    """The order the page's slashed dates show: day first when one can only be day first."""
    orders = set()
    for match in _SLASHED.finditer(text):
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 >= second:
            orders.add(True)
        elif second > 12 >= first:
            orders.add(False)
    return orders.pop() if len(orders) == 1 else None


def _to_dates(match: re.Match[str], clues: DateClues) -> tuple[date | None, date | None]:
    """The date a match stands for, and its other reading when it reads two ways."""
    if "first" in match.re.groupindex:
        return _readings(
            int(match.group("first")),
            int(match.group("second")),
            int(match.group("year")),
            match.group("sep"),
            clues,
        )
    month_text = match.group("month")
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text.casefold())
    return _valid(int(match.group("year")), month or 0, int(match.group("day"))), None


@dataclass(frozen=True)
class TextDate:
    """A complete date written in the page's visible text."""

    position: int  # characters from the top of the visible text
    rank: int  # 0 labelled as published, 1 unlabelled, 2 labelled as updated
    day: date
    other: date | None = None  # of a numeric date that reads two ways, the reading ruled out


def text_dates(
    tree: _Element,
    today: date | None = None,
    chars: int = SEARCH_CHARS,
    clues: DateClues = NO_CLUES,
) -> list[TextDate]:
    """Every complete, non-future date in the first `chars` of visible text, in reading order.

    Numeric dates that read two ways are settled by `clues` (see `DateClues`).
    """
    text = _visible_text(tree, chars)
    if not text:
        return []
    today = today or datetime.now(UTC).date()
    if clues.page_day_first is None and "/" in text:
        clues = replace(clues, page_day_first=_page_day_first(text))
    found: dict[int, TextDate] = {}
    # every complete date holds a year: look only around the years (the month-name
    # patterns are slow to try at every position of a long text)
    for year in _YEAR_ONLY.finditer(text):
        offset = max(0, year.start() - WINDOW_BEFORE_YEAR)
        window = text[offset : year.end() + WINDOW_AFTER_YEAR]
        for pattern in _PATTERNS:
            for match in pattern.finditer(window):
                position = offset + match.start()
                day, other = _to_dates(match, clues)
                if position in found or day is None or day > today:
                    continue
                before = text[max(0, position - 40) : position]
                rank = 0 if _LABEL.search(before) else 2 if _UPDATED.search(before) else 1
                found[position] = TextDate(position, rank, day, other)
    return [found[position] for position in sorted(found)]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def date_from_text(
    tree: _Element, today: date | None = None, clues: DateClues = NO_CLUES
) -> datetime | None:
    """The publication date written near the top of the page, or None.

    A date right after a "Published"/"Posted" label wins; then the first date that is not
    labelled as an update; then an update date. Future dates are ignored.
    """
    return pick_text_date(text_dates(tree, today, clues=clues))


def pick_text_date(found: list[TextDate]) -> datetime | None:
    """The best publication date among visible dates (see `date_from_text`)."""
    if not found:
        return None
    best = min(found, key=lambda found_date: (found_date.rank, found_date.position))
    return _midnight(best.day)


_URL_DATE = re.compile(rf"/((?:19|20)\d\d)[/-]([01]\d|{_MONTH})[/-]([0-3]\d)(?:/|$|[-_])", re.I)


def url_day(url: str | None) -> date | None:
    """The day a URL path spells out (/2026/11/02/, /2026-11-02-slug, /2023/october/03/)."""
    match = _URL_DATE.search(url or "")
    if not match:
        return None
    year, month, day = match.groups()
    number = int(month) if month.isdigit() else _MONTHS[month.casefold()]
    return _valid(int(year), number, int(day))


# a visible date this far into the text is body or sidebar content, not the byline
BYLINE_CHARS = 3000


def reread(found: datetime, visible: list[TextDate]) -> datetime:
    """A date found by a reader that takes every numeric date day first (htmldate), read
    again: when it is the reading a clue ruled out for a date on the page, the clue wins."""
    for seen in visible:
        if seen.other == found.date():
            return _midnight(seen.day)
    return found


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
    in_url = url_day(url)
    if in_url and abs((published.date() - in_url).days) == 1:
        return _midnight(in_url)
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


def overruled_by_url_and_feed(
    published: datetime | None, url: str | None, feed: datetime | None
) -> datetime | None:
    """The feed's date when it and the URL agree on a day that `published` contradicts.

    One of them alone against the page's date settles nothing (an archive path, a feed
    that stamps its own time), but the two together outvote it. With no page date at all
    the feed's date stands in.
    """
    if feed is None:
        return published
    if published is None:
        return feed
    in_url = url_day(url)
    if in_url is None or _agreeing(feed.date(), (in_url,)) == 0:
        return published
    if _agreeing(published.date(), (in_url, feed.date())):
        return published
    return feed

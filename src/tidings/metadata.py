"""Page metadata from JSON-LD, meta tags and visible markup: title, byline, dates, language …"""

from __future__ import annotations

import html
import json
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from tidings.extraction.dates import (
    BYLINE_CHARS,
    NO_CLUES,
    DateClues,
    locale_day_first,
    overruled_by_url_and_feed,
    pick_text_date,
    read_numeric,
    reread,
    settle_published,
    text_dates,
    url_day,
)

ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "blogposting",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "reviewnewsarticle",
    "backgroundnewsarticle",
    "techarticle",
    "scholarlyarticle",
    "report",
    "liveblogposting",
    "posting",
    "socialmediaposting",
    "medicalwebpage",
    "howto",
    "recipe",
    "review",
    "satiricalarticle",
    "advertisercontentarticle",
}


@dataclass
class PageMeta:
    """Everything metadata-ish found on a page, before the final choice per field."""

    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    image: str | None = None
    description: str | None = None
    og_type: str | None = None
    free: bool | None = None  # JSON-LD isAccessibleForFree
    ld_types: set[str] = field(default_factory=set)
    ld_body: str | None = None  # JSON-LD articleBody, when the page ships one


_SPACE = re.compile(r"\s+")


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    if "&" in value and ";" in value:
        value = html.unescape(value)  # "Maria &amp; Katerina": markup escaped twice
    value = fix_mojibake(_SPACE.sub(" ", value).strip())
    return value or None


# -- dates -----------------------------------------------------------------------------------

_ISO_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")
# 02/11/2026, 02.11.2026 10:00, 2-11-2026: day or month first, see DateClues
_NUMERIC_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2((?:19|20)\d\d)\b")


def parse_date(value: Any, clues: DateClues = NO_CLUES) -> datetime | None:
    """Parse a date string into a timezone-aware datetime (UTC when the string has no zone).

    A numeric date that reads both ways (02/11/2026) is read in the order `clues` settle
    (see `DateClues`): by default dots are day first, slashes and dashes month first.
    """
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value")
    text = _clean(value)
    if not text or len(text) > 80:
        return None
    parsed: datetime | None = None
    candidate = text.replace("Z", "+00:00") if _ISO_LIKE.match(text) else text
    if _ISO_LIKE.match(candidate):
        # fromisoformat copes with most ISO 8601; fix "+0000" style offsets first
        candidate = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", candidate)
        candidate = (
            candidate.replace(" ", "T", 1)
            if re.match(r"^\d{4}-\d\d-\d\d \d", candidate)
            else candidate
        )
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            parsed = None
    if parsed is None:
        try:
            from dateutil import parser as date_parser

            with warnings.catch_warnings():
                # unknown zone names ("EST") parse as naive: treated as UTC below
                warnings.simplefilter("ignore")
                parsed = date_parser.parse(text, fuzzy=False, dayfirst=_day_first(text, clues))
        except (ValueError, OverflowError, TypeError):
            return None
    if parsed.year < 1990 or parsed.year > 2100:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _day_first(text: str, clues: DateClues) -> bool:
    match = _NUMERIC_DATE.match(text)
    if not match:
        return False
    first, separator, second, year = match.groups()
    read = read_numeric(int(first), int(second), int(year), separator, clues)
    return read is not None and read.day == int(first)


# -- JSON-LD ---------------------------------------------------------------------------------


def _ld_objects(tree: etree._Element) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            try:
                # common breakage: raw control characters inside strings
                data = json.loads(re.sub(r"[\x00-\x1f]", " ", raw))
            except ValueError:
                continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                objects.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
                main = item.get("mainEntity")
                if isinstance(main, (dict, list)):
                    stack.append(main)
    return objects


def _types(obj: dict[str, Any]) -> set[str]:
    value = obj.get("@type")
    if isinstance(value, str):
        return {value.lower()}
    if isinstance(value, list):
        return {v.lower() for v in value if isinstance(v, str)}
    return set()


def _names(value: Any) -> list[str]:
    """Person names from a JSON-LD author value (string, object or list of them)."""
    out: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str):
            name = _clean(item)
        elif isinstance(item, dict):
            name = _clean(item.get("name"))
            if not name and (item.get("givenName") or item.get("familyName")):
                name = _clean(f"{item.get('givenName', '')} {item.get('familyName', '')}")
        else:
            name = None
        if name and not name.startswith("http") and name not in out:
            out.append(name)
    return out


def _image_url(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return _clean(value)


def _read_ld(objects: list[dict[str, Any]], meta: PageMeta, clues: DateClues) -> None:
    articles = [o for o in objects if _types(o) & ARTICLE_TYPES]
    for obj in objects:
        meta.ld_types |= _types(obj)
    for obj in objects:
        if "website" in _types(obj) and not meta.site_name:
            meta.site_name = _clean(obj.get("name"))
    if not articles:
        return
    art = max(articles, key=lambda o: len(o))
    meta.title = meta.title or _clean(art.get("headline")) or _clean(art.get("name"))
    names = _names(art.get("author")) or _names(art.get("creator"))
    if names:
        meta.author = ", ".join(names)
    meta.published = parse_date(art.get("datePublished"), clues) or parse_date(
        art.get("dateCreated"), clues
    )
    meta.modified = parse_date(art.get("dateModified"), clues)
    meta.image = _image_url(art.get("image")) or _image_url(art.get("thumbnailUrl"))
    lang = art.get("inLanguage")
    if isinstance(lang, str):
        meta.language = _clean(lang)
    publisher = art.get("publisher")
    if isinstance(publisher, dict):
        meta.site_name = _clean(publisher.get("name")) or meta.site_name
    free = art.get("isAccessibleForFree")
    if isinstance(free, bool):
        meta.free = free
    elif isinstance(free, str):
        meta.free = free.strip().lower() not in {"false", "no", "0"}
    body = art.get("articleBody")
    if isinstance(body, str) and body.strip():
        meta.ld_body = body.strip()


# -- meta tags -------------------------------------------------------------------------------

_META_TITLE = ("og:title", "twitter:title", "parsely-title", "sailthru.title", "dc.title")
_META_AUTHOR = (
    "author",
    "article:author",
    "parsely-author",
    "sailthru.author",
    "dc.creator",
    "dcterms.creator",
    "byl",
    "citation_author",
    "twitter:creator",
)
_META_PUBLISHED = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "parsely-pub-date",
    "sailthru.date",
    "pubdate",
    "publishdate",
    "published",
    "publish-date",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.date",
    "dcterms.created",
    "citation_publication_date",
    "citation_date",
    "article.published",
    "published_time",
    "og:published_time",
    "release_date",
)
_META_MODIFIED = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
    "lastmod",
)


def _meta_tags(tree: etree._Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv")
        content = el.get("content")
        if not key or content is None:
            continue
        key = key.strip().lower()
        value = _clean(content)
        if value and key not in found:
            found[key] = value
    return found


def _first(tags: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if tags.get(key):
            return tags[key]
    return None


_TEMPLATE_JUNK = re.compile(
    r"[{}<>]|^\w+(?:\.\w+){2,}$|^(?:admin|administrator|editor|staff|guest)$", re.I
)


def _author_from_meta(value: str | None) -> str | None:
    if not value or value.startswith(("http://", "https://", "@")) or "/" in value:
        return None
    if _TEMPLATE_JUNK.search(value):  # unrendered template variables, CMS role names
        return None
    return value


def _visible_byline(tree: etree._Element) -> str | None:
    """A byline in the page markup (author links, 'byline' classes …), via trafilatura."""
    from trafilatura.metadata import extract_author

    try:
        found = extract_author(tree)
    except Exception:  # heuristic helper: failure means no byline
        return None
    return _author_from_meta(clean_byline(_clean(found)))


_BYLINE_PREFIX = re.compile(
    r"^(?:(?:[\w'’]+\s+){0,4}by|author|"
    r"read\s+more\s+about|about\s+the\s+author)\s*:?\s+",
    re.I,
)
_BYLINE_STOP = re.compile(
    r"\s*(?:[;|•·]|\b(?:reviewed|updated|published|posted|fact[- ]checked|edited|medically)\b"
    r"|\b(?:co-?founder|founder|ceo|cto|editor|writer|expert|reviewer|contributor|reporter|"
    r"correspondent|journalist|columnist|staff|head|senior|lead|chief|manager|director|"
    r"specialist|analyst|strategist|consultant|licensed|certified)\b"
    r"|\b(?:last|contributing|former)\b"
    r"|\b(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b\.?\s+\d"
    # a month closing the byline starts its date; not those that are also names ("Tom May")
    r"|\b(?:january|february|september|october|november|december|jan|feb|sept?|oct|nov|dec)"
    r"\b\.?\s*$)",
    re.I,
)


def clean_byline(value: str | None) -> str | None:
    """'By Jane Doe; Senior Editor Updated March 3' → 'Jane Doe'."""
    if not value:
        return None
    text = _BYLINE_PREFIX.sub("", value.strip())
    match = _BYLINE_STOP.search(text)
    if match:
        text = text[: match.start()]
    text = text.strip(" ,;:-–—|")
    words = text.split()
    if not words or len(words) > 12 or text.casefold() in {"written by", "by", "author"}:
        return None
    return text


# -- title -----------------------------------------------------------------------------------

_TITLE_SEPARATORS = re.compile(r"\s+[|–—·•»:-]\s+|\s+::\s+")


def _strip_site_suffix(title: str, site_name: str | None) -> str:
    """'Headline | Site' → 'Headline' (only when a part looks like the site's name)."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    if site_name:
        site = site_name.casefold()
        kept = [p for p in parts if p.strip().casefold() != site]
        if len(kept) < len(parts) and kept:
            return " - ".join(kept) if len(kept) > 1 else kept[0]
    # the longest part is the headline when the others are short (site names, sections)
    longest = max(parts, key=len)
    others = [p for p in parts if p is not longest]
    if all(len(p.split()) <= 4 for p in others) and len(longest.split()) >= 3:
        return longest.strip()
    return title


def _h1_texts(tree: etree._Element) -> list[str]:
    out = []
    for h1 in tree.iter("h1"):
        text = _clean(" ".join(h1.itertext()))
        if text:
            out.append(text)
    return out


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def _similarity(a: str, b: str) -> float:
    ta, tb = _tokens(a), _tokens(b)
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


def _choose_title(tree: etree._Element, tags: dict[str, str], meta: PageMeta) -> str | None:
    """The headline as the reader sees it: the h1 that matches the declared title, if any."""
    html_title = None
    title_el = tree.find(".//title")
    if title_el is not None:
        html_title = _clean(" ".join(title_el.itertext()))
    declared = [t for t in (meta.title, _first(tags, _META_TITLE), html_title) if t]
    h1s = [h for h in _h1_texts(tree) if 2 <= len(h) <= 300][:10]
    if declared and h1s:
        scored = [(max(_similarity(h, d) for d in declared), h) for h in h1s]
        score, best = max(scored, key=lambda pair: pair[0])
        if score >= 0.3:
            return best
    for cand in declared[:2]:
        return _strip_site_suffix(cand, meta.site_name)
    if len(h1s) == 1:
        return h1s[0]
    if html_title:
        return _strip_site_suffix(html_title, meta.site_name)
    return h1s[0] if h1s else None


_MOJIBAKE = re.compile(
    "[ÃÂâ][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as Windows-1252/Latin-1 ('Investorâ€™s' → 'Investor’s')."""
    if not _MOJIBAKE.search(text):
        return text
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


# -- public ----------------------------------------------------------------------------------


def read_metadata(
    tree: etree._Element, url: str | None = None, date_hint: datetime | None = None
) -> PageMeta:
    """Collect metadata from JSON-LD first, then meta tags, then visible markup.

    `date_hint` is the page's date from elsewhere (its feed entry): with the URL's date it
    settles numeric dates that read two ways, outvotes a page date that contradicts both,
    and stands in when the page has no date.
    """
    if date_hint is not None and date_hint.tzinfo is None:
        date_hint = date_hint.replace(tzinfo=UTC)  # as parse_date reads a date with no zone
    meta = PageMeta()
    objects = _ld_objects(tree)
    tags = _meta_tags(tree)
    hint_day = date_hint.date() if date_hint else None
    known = tuple(day for day in (url_day(url), hint_day) if day)
    clues = DateClues(known=known, locale_day_first=_locale_day_first(tree, tags, objects))
    _read_ld(objects, meta, clues)
    meta.og_type = tags.get("og:type")
    meta.site_name = meta.site_name or tags.get("og:site_name") or tags.get("application-name")
    meta.title = _choose_title(tree, tags, meta)
    if not meta.author:
        meta.author = _author_from_meta(_first(tags, _META_AUTHOR))
    if not meta.author:
        meta.author = _visible_byline(tree)
    if not meta.published:
        meta.published = parse_date(_first(tags, _META_PUBLISHED), clues)
    if not meta.published:
        stamps = [el.get("datetime") or "" for el in tree.iter("time")]
        # an ISO stamp first: "02-12-2025" could be either of two days
        for value in sorted(stamps, key=lambda v: not _ISO_LIKE.match(v.strip())):
            stamp = parse_date(value, clues)
            if stamp:
                meta.published = stamp
                break
    if not meta.modified:
        meta.modified = parse_date(_first(tags, _META_MODIFIED), clues)
    declared = tuple(stamp.date() for stamp in (meta.published, meta.modified) if stamp)
    clues = DateClues(known, declared, locale_day_first=clues.locale_day_first)
    from_htmldate = not meta.published
    if from_htmldate:
        meta.published = _date_from_page(tree, url)
    if meta.published:
        # the byline area is enough to check a declared date against
        top = text_dates(tree, chars=BYLINE_CHARS, clues=clues)
        if from_htmldate:
            meta.published = reread(meta.published, top)
        meta.published = settle_published(meta.published, meta.modified, url, top)
    else:
        meta.published = pick_text_date(text_dates(tree, clues=clues))
    meta.published = overruled_by_url_and_feed(meta.published, url, date_hint)
    meta.image = meta.image or tags.get("og:image") or tags.get("twitter:image")
    meta.description = tags.get("og:description") or tags.get("description")
    meta.language = _language(tree, tags) or meta.language
    canonical = None
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" in rel and link.get("href"):
            canonical = link.get("href", "").strip()
            break
    canonical = canonical or tags.get("og:url")
    if canonical and url:
        canonical = urljoin(url, canonical)
    if canonical and not canonical.startswith(("http://", "https://")):
        canonical = None
    meta.canonical_url = canonical
    if meta.image and url:
        meta.image = urljoin(url, meta.image)
    return meta


def _date_from_page(tree: etree._Element, url: str | None) -> datetime | None:
    """Date from the URL and visible page text (htmldate), when no markup declares one."""
    import logging

    from htmldate import find_date

    logging.getLogger("htmldate").setLevel(logging.ERROR)
    try:
        found = find_date(
            tree,
            url=url,
            original_date=True,
            extensive_search=False,
            outputformat="%Y-%m-%d",
            max_date=datetime.now(UTC).strftime("%Y-%m-%d"),
        )
    except Exception:  # htmldate is a heuristic helper; its failure is "no date"
        return None
    return parse_date(found) if found else None


def _locale_day_first(
    tree: etree._Element, tags: dict[str, str], objects: list[dict[str, Any]]
) -> bool | None:
    """Whether the page's declared locale writes numeric dates day first (None: no clue).

    The first declaration that tells wins, so a bare lang="en" defers to og:locale "en_GB".
    """
    root = tree.getroottree().getroot()
    declared = [
        root.get("lang"),
        root.get("{http://www.w3.org/XML/1998/namespace}lang"),
        tags.get("content-language"),
        tags.get("og:locale"),
        tags.get("language"),
        *(obj.get("inLanguage") for obj in objects if _types(obj) & ARTICLE_TYPES),
    ]
    for locale in declared:
        if isinstance(locale, str):
            order = locale_day_first(locale)
            if order is not None:
                return order
    return None


def _language(tree: etree._Element, tags: dict[str, str]) -> str | None:
    root = tree.getroottree().getroot()
    lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    lang = lang or tags.get("content-language") or tags.get("og:locale") or tags.get("language")
    lang = _clean(lang)
    if not lang:
        return None
    code = re.split(r"[-_,;\s]", lang)[0].lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None

"""Jinja2 filters: links only to http(s) URLs, plain text with auto-linked URLs (escaped, no
markup from the text itself), dates for people."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

_UNSAFE = re.compile(r"[\x00-\x20\x7f<>\"'`\\]")
_LINE_BREAK = re.compile(r"\n\s*\n|\n")
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"


def safe_url(value: str | None) -> str | None:
    """The URL when it is an absolute http(s) URL with a host and nothing that could escape an
    attribute; None for every other scheme (javascript:, data:, file:, …) or a malformed one."""
    if not value or len(value) > 4096 or _UNSAFE.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def linkify(text: str | None) -> Markup:
    """Escaped plain text, paragraphs on blank lines, line breaks kept, http(s) URLs as links
    marked nofollow ugc."""
    out = []
    for para in re.split(r"\n\s*\n", text or ""):
        if not para.strip():
            continue
        pieces, last = [], 0
        for match in _URL_IN_TEXT.finditer(para):
            url = match.group(0)
            trail = ""
            while url and url[-1] in _TRAILING:
                trail, url = url[-1] + trail, url[:-1]
            pieces.append(escape(para[last : match.start()]))
            if safe_url(url):
                pieces.append(
                    Markup('<a href="{0}" rel="nofollow ugc noopener">{1}</a>').format(url, url)
                )
            else:
                pieces.append(escape(url))
            pieces.append(escape(trail))
            last = match.end()
        pieces.append(escape(para[last:]))
        joined = Markup("").join(pieces)
        out.append(Markup("<p>{0}</p>").format(Markup("<br>\n").join(joined.split("\n"))))
    return Markup("\n").join(out)


def paragraphs(text: str | None) -> Markup:
    """Article text as escaped paragraphs (no links: extracted text is not trusted markup).
    The text is escaped once, whole: escaping never touches line breaks or spaces, so the
    paragraphs split from it are the escaped paragraphs of the text."""
    escaped = str(escape(text or ""))
    paras = (p.strip() for p in _LINE_BREAK.split(escaped))
    return Markup("\n".join(f"<p>{p}</p>" for p in paras if p))


def when(value: datetime | str | None, with_time: bool = True) -> str:
    if not value:
        return ""
    if isinstance(value, str):  # stored ISO text (feed poll state)
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    day = f"{value.day} {value:%b %Y}"
    return f"{day}, {value:%H:%M} UTC" if with_time else day


def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="minutes")


def host(value: str | None) -> str:
    url = safe_url(value)
    return (urlsplit(url).hostname or "") if url else ""


FILTERS = {
    "safe_url": safe_url,
    "linkify": linkify,
    "paragraphs": paragraphs,
    "when": when,
    "iso": iso,
    "host": host,
}

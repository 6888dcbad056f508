"""Local inputs: HTML files (plain or gzipped) and JSONL article dumps, read defensively."""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import os
import re
import stat
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

from tidings.extraction.compressed import DEFAULT_MAX_BYTES, GZIP_MAGIC, GzipError, gunzip_capped
from tidings.models import Article, Page

log = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
GZ_HTML_SUFFIXES = (".html.gz", ".htm.gz", ".xhtml.gz")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
GZ_JSONL_SUFFIXES = (".jsonl.gz", ".ndjson.gz")
WARC_SUFFIXES = (".warc", ".warc.gz")

_BINARY_MAGIC = (
    b"\x89PNG",
    b"%PDF",
    b"PK\x03\x04",
    b"GIF8",
    b"\xff\xd8\xff",
    b"\x7fELF",
    b"BZh",
    b"\xfd7zXZ",
    b"RIFF",
)
_TEXT_BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)
# bytes that never appear in text: C0 controls other than \t \n \f \r, \b and ESC (ISO-2022)
_CONTROL_BYTES = bytes(set(range(32)) - {8, 9, 10, 12, 13, 27})
_MARKUP = re.compile(rb"<\s*[A-Za-z!?/]")


@dataclass(frozen=True)
class Failure:
    """One input that could not be read, with a short human reason."""

    item: str
    reason: str


@dataclass(frozen=True)
class Note:
    """Something dropped from an input that was still read (a field with an unsafe URL)."""

    item: str
    reason: str


@dataclass(frozen=True)
class Ignored:
    """A readable record that is not a page to ingest (a WARC revisit …); kind names the
    sort, and the summary counts them by kind."""

    item: str
    kind: str


LocalItem: TypeAlias = Page | Article | Failure | Note | Ignored


class _Unreadable(Exception):
    """Internal: a file that yields a single Failure."""


def iter_local(
    paths: Iterable[str | Path], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[LocalItem]:
    """Yield a Page per HTML file and per HTML response of a WARC archive, an Article per
    JSONL line, a Failure per bad input (an Ignored per WARC record that is not a page).

    Directories are walked recursively in sorted order (hidden entries skipped, only known
    suffixes read). An explicitly named file with an unknown suffix is sniffed. Nothing
    raises for bad input: every problem becomes a Failure and the iteration goes on.
    """
    for raw in paths:
        path = Path(raw)
        try:
            if path.is_dir():
                yield from _walk(path, max_bytes, seen=set())
            elif path.exists():
                yield from _read_file(path, max_bytes)
            else:
                yield Failure(str(path), "no such file or directory")
        except OSError as exc:  # e.g. permission denied on stat
            yield Failure(str(path), _os_reason(exc))


def _walk(directory: Path, max_bytes: int, seen: set[str]) -> Iterator[LocalItem]:
    real = os.path.realpath(directory)
    if real in seen:  # symlink loop
        return
    seen.add(real)
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        yield Failure(str(directory), _os_reason(exc))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir():
                yield from _walk(entry, max_bytes, seen)
            elif _kind_by_name(entry) is not None:  # broken links too: they become Failures
                yield from _read_file(entry, max_bytes)
        except OSError as exc:
            yield Failure(str(entry), _os_reason(exc))


def _kind_by_name(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(GZ_HTML_SUFFIXES):
        return "html.gz"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    if name.endswith(GZ_JSONL_SUFFIXES):
        return "jsonl.gz"
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(WARC_SUFFIXES):
        return "warc"
    return None


def _read_file(path: Path, max_bytes: int) -> Iterator[LocalItem]:
    # an explicitly named file with an unknown suffix is read as HTML if it sniffs as such
    kind = _kind_by_name(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        yield Failure(str(path), _os_reason(exc))
        return
    if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
        yield Failure(str(path), "not a regular file")
        return
    if kind in ("jsonl", "jsonl.gz"):
        yield from _read_jsonl(path, gz=kind == "jsonl.gz")
        return
    if kind == "warc":
        from tidings.sources.warc import iter_warc

        yield from iter_warc(path, max_bytes)
        return
    try:
        data = _read_capped(path, max_bytes)
        if data.startswith(GZIP_MAGIC):  # also catches .html files saved still compressed
            try:
                data = gunzip_capped(data, max_bytes)
            except GzipError as exc:
                raise _Unreadable(str(exc)) from None
        elif kind == "html.gz":
            raise _Unreadable("not gzip data")
        _check_html(data)
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except _Unreadable as exc:
        yield Failure(str(path), str(exc))
        return
    except OSError as exc:
        yield Failure(str(path), _os_reason(exc))
        return
    uri = path.resolve().as_uri()
    yield Page(
        url=uri,
        content=data,
        final_url=uri,
        content_type="text/html",
        fetched=mtime,
        hints={"path": str(path)},
    )


def _read_capped(path: Path, max_bytes: int) -> bytes:
    with path.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _Unreadable(f"too large: over {max_bytes} bytes")
    return data


def _check_html(data: bytes) -> None:
    if not data.strip():
        raise _Unreadable("empty file")
    head = data[:8192]
    if head.startswith(_TEXT_BOMS):
        return  # UTF-16/32 text; NUL bytes are expected there
    if head.startswith(_BINARY_MAGIC) or head.startswith(GZIP_MAGIC) or b"\x00" in head:
        raise _Unreadable("not HTML: binary content")
    controls = sum(head.count(bytes([b])) for b in _CONTROL_BYTES)
    if controls > len(head) // 20:
        raise _Unreadable("not HTML: binary content")
    if not _MARKUP.search(head):
        raise _Unreadable("not HTML: no markup found")


# --- JSONL ---------------------------------------------------------------------------

_OPTIONAL_STRINGS = {
    "text": "text",
    "author": "author",
    "language": "language",
    "canonical_url": "canonical_url",
    "excerpt": "excerpt",
    "site_name": "site_name",
    "image": "image",
}


def _read_jsonl(path: Path, *, gz: bool) -> Iterator[LocalItem]:
    stem = path.name
    for suffix in GZ_JSONL_SUFFIXES + JSONL_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    try:
        fh = gzip.open(path, "rb") if gz else path.open("rb")  # noqa: SIM115 - `with fh` below
    except OSError as exc:
        yield Failure(str(path), _os_reason(exc))
        return
    seen_any = False
    lineno = 0
    try:
        with fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                seen_any = True
                where = f"{path}:{lineno}"
                try:
                    article, dropped = _article_from_line(raw, stem)
                except _Unreadable as exc:
                    yield Failure(where, str(exc))
                    continue
                for reason in dropped:
                    yield Note(where, reason)
                yield article
    except (OSError, EOFError, zlib.error) as exc:
        where = f"{path}:{lineno + 1}"
        reason = f"corrupt gzip: {exc}" if gz else _os_reason(exc)
        yield Failure(where, reason)
        return
    if not seen_any:
        yield Failure(str(path), "empty file")


_URL_FIELDS = ("canonical_url", "image")


def _article_from_line(raw: bytes, stem: str) -> tuple[Article, list[str]]:
    """The record's Article and the reasons of any field dropped from it."""
    try:
        obj = json.loads(raw)
    except UnicodeDecodeError:
        raise _Unreadable("invalid JSON: not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise _Unreadable(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise _Unreadable(f"expected a JSON object, got {type(obj).__name__}")

    url = obj.get("url")
    ident = obj.get("id")
    if url is not None and (not isinstance(url, str) or not url.strip()):
        raise _Unreadable("'url' must be a non-empty string")
    if ident is not None and (isinstance(ident, bool) or not isinstance(ident, str | int)):
        raise _Unreadable("'id' must be a string or an integer")
    if url is None:
        if ident is None or str(ident).strip() == "":
            raise _Unreadable("needs 'url' or 'id'")
        url = f"jsonl:{stem}/{str(ident).strip()}"
    elif not _is_http(url):
        scheme = url.strip().split(":", 1)[0].lower() if ":" in url else "(none)"
        raise _Unreadable(f"'url' must be an http(s) URL, not {scheme}:")

    title = obj.get("title")
    if not isinstance(title, str) or not title.strip():
        raise _Unreadable("'title' is required and must be a non-empty string")

    fields: dict[str, Any] = {}
    for key, attr in _OPTIONAL_STRINGS.items():
        fields[attr] = _optional_str(obj, key)
    fields["source"] = _optional_str(obj, "source") or _optional_str(obj, "publisher")
    dropped = []
    for key in _URL_FIELDS:
        if fields[key] is not None and not _is_http(fields[key]):
            fields[key] = None
            dropped.append(f"'{key}' dropped: not an http(s) URL")

    published = obj.get("published")
    date_key = "published"
    if published is None and "timestamp_ms" in obj:
        published, date_key = obj["timestamp_ms"], "timestamp_ms"
    fields["published"] = _parse_date(published, date_key)
    fields["modified"] = _parse_date(obj.get("modified"), "modified")

    article = Article(url=url.strip(), title=title.strip(), **fields)
    article.text = article.text or ""
    return article, dropped


def _is_http(url: str) -> bool:
    """An absolute http(s) URL with a host: nothing else may name an article."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Unreadable(f"'{key}' must be a string")
    return value


def _parse_date(value: Any, key: str) -> datetime | None:
    """ISO 8601 string or epoch milliseconds (number or digit string) → aware UTC."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        if isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"-?\d+(\.\d+)?", text):
                return datetime.fromtimestamp(float(text) / 1000, tz=UTC)
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        raise ValueError
    except (ValueError, OverflowError, OSError):
        raise _Unreadable(f"invalid date in '{key}': {value!r}") from None


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()

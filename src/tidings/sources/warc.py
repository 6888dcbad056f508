"""WARC archives (1.0 and 1.1, plain or gzipped, via warcio): HTML responses become Pages."""

# Each HTML 200 response record becomes a Page with the record's target URI and date.
# Revisit records, non-HTML and non-200 responses are counted as ignored, never failed;
# requests, metadata and warcinfo records are not content and are passed over.

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from ..models import Page
from .files import Failure, Ignored

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def iter_warc(path: Path, max_bytes: int) -> Iterator[Page | Ignored | Failure]:
    """Pages of the HTML responses in a WARC file, in archive order."""
    try:
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("reading WARC files needs warcio: pip install warcio") from exc

    number = 0
    try:
        with path.open("rb") as fh:
            for number, record in enumerate(ArchiveIterator(fh), start=1):
                item = _where(path, number, record)
                kind = record.rec_type
                if kind == "revisit":
                    yield Ignored(item, "WARC revisit records")
                    continue
                if kind != "response":
                    continue
                yield _response(record, item, max_bytes)
    except ArchiveLoadFailed as exc:
        yield Failure(f"{path}#{number + 1}", f"not a readable WARC record: {_short(exc)}")
    except (OSError, EOFError, ValueError) as exc:
        yield Failure(f"{path}#{number + 1}", f"corrupt WARC: {_short(exc)}")


def _response(record, item: str, max_bytes: int) -> Page | Ignored | Failure:
    uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip()
    parts = urlsplit(uri)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return Failure(item, f"target URI is not an http(s) URL: {uri[:100]!r}")
    http = record.http_headers
    if http is None:
        return Ignored(item, "WARC non-HTTP responses")
    status = http.get_statuscode()
    if status != "200":
        return Ignored(item, "WARC non-200 responses")
    content_type = http.get_header("Content-Type") or ""
    if content_type.split(";", 1)[0].strip().lower() not in HTML_TYPES:
        return Ignored(item, "WARC non-HTML responses")
    body = record.content_stream().read(max_bytes + 1)
    if len(body) > max_bytes:
        return Failure(item, f"too large: over {max_bytes} bytes")
    return Page(
        url=uri,
        content=body,
        final_url=uri,
        content_type=content_type,
        fetched=_date(record.rec_headers.get_header("WARC-Date")),
        hints={"warc": item},
    )


def _where(path: Path, number: int, record) -> str:
    uri = record.rec_headers.get_header("WARC-Target-URI")
    return f"{path}#{number}" + (f" {uri}" if uri else "")


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "…"

"""Local file ingestion: HTML, gzipped HTML, directories, JSONL and every bad-input case."""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

from tidings.models import Article, Page
from tidings.sources.files import Failure, iter_local

FIXTURES = Path(__file__).parent / "fixtures" / "files"


def _failures(items):
    return [i for i in items if isinstance(i, Failure)]


def test_single_html_file_becomes_page_with_file_uri_and_mtime(tmp_path):
    path = tmp_path / "story.html"
    path.write_bytes(b"<html><body><p>Hello harbour</p></body></html>")
    os.utime(path, (1_700_000_000, 1_700_000_000))

    (page,) = list(iter_local([path]))

    assert isinstance(page, Page)
    assert page.url == path.resolve().as_uri()
    assert page.url.startswith("file:///")
    assert page.content == b"<html><body><p>Hello harbour</p></body></html>"
    assert page.content_type == "text/html"
    assert page.fetched == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert page.fetched.tzinfo is not None


def test_directory_is_walked_recursively_in_sorted_order():
    items = list(iter_local([FIXTURES / "site"]))

    assert all(isinstance(i, Page) for i in items), items
    names = [Path(i.hints["path"]).name for i in items]
    # hidden files and unknown suffixes (notes.txt) are skipped; order is by name per level
    assert names == ["index.html", "a-compressed.html.gz", "b-story.htm"]


def test_html_gz_is_decompressed():
    path = FIXTURES / "site" / "section" / "a-compressed.html.gz"
    (page,) = list(iter_local([str(path)]))
    assert isinstance(page, Page)
    assert b"lighthouse keeper" in page.content
    assert not page.content.startswith(b"\x1f\x8b")


def test_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    # 64 MB of zeros compresses to ~64 KB; the cap is 1 MB
    bomb = tmp_path / "bomb.html.gz"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"<p>" + b"\0" * (1024 * 1024)
    body = b"".join(compressor.compress(chunk) for _ in range(64)) + compressor.flush()
    bomb.write_bytes(body)
    assert bomb.stat().st_size < 200_000

    (item,) = list(iter_local([bomb], max_bytes=1024 * 1024))

    assert isinstance(item, Failure)
    assert item.item == str(bomb)
    assert "too large" in item.reason


def test_html_over_cap_is_refused(tmp_path):
    path = tmp_path / "huge.html"
    path.write_bytes(b"<html>" + b"a" * 5000)
    (item,) = list(iter_local([path], max_bytes=1000))
    assert isinstance(item, Failure)
    assert item.reason == "too large: over 1000 bytes"


def test_bad_inputs_each_yield_a_failure_and_iteration_continues(tmp_path):
    good = tmp_path / "good.html"
    good.write_text("<html><body>fine</body></html>")
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.html"
    blank.write_bytes(b"  \n\n")
    binary = tmp_path / "image.html"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    nul = tmp_path / "nul.htm"
    nul.write_bytes(b"<html>\x00\x01\x02\x03</html>")
    corrupt_gz = tmp_path / "corrupt.html.gz"
    whole = gzip.compress(b"<html>" + bytes(range(32, 127)) * 50)
    corrupt_gz.write_bytes(whole[: len(whole) // 2])  # truncated mid-stream
    not_gz = tmp_path / "plain.html.gz"
    not_gz.write_bytes(b"<html>not compressed</html>")
    missing = tmp_path / "missing.html"
    broken_link = tmp_path / "link.html"
    broken_link.symlink_to(tmp_path / "nowhere.html")

    items = list(
        iter_local([empty, blank, binary, nul, corrupt_gz, not_gz, missing, broken_link, good])
    )

    assert len(items) == 9
    assert isinstance(items[-1], Page) and items[-1].content.endswith(b"fine</body></html>")
    reasons = {Path(f.item).name: f.reason for f in _failures(items)}
    assert reasons == {
        "empty.html": "empty file",
        "blank.html": "empty file",
        "image.html": "not HTML: binary content",
        "nul.htm": "not HTML: binary content",
        "corrupt.html.gz": reasons["corrupt.html.gz"],
        "plain.html.gz": "not gzip data",
        "missing.html": "no such file or directory",
        "link.html": "no such file or directory",
    }
    assert reasons["corrupt.html.gz"].startswith("corrupt gzip")


def test_permission_denied_is_a_failure():
    folder = Path(tempfile.mkdtemp())  # /tmp itself is traversable by anyone
    folder.chmod(0o755)
    path = folder / "secret.html"
    path.write_text("<html></html>")
    path.chmod(0)
    as_root = os.geteuid() == 0
    try:
        if as_root:  # root reads any file: ask as an unprivileged user for a moment
            os.seteuid(65534)
        (item,) = list(iter_local([path]))
    finally:
        if as_root:
            os.seteuid(0)
        path.chmod(0o644)
        shutil.rmtree(folder)
    assert isinstance(item, Failure)
    assert "permission denied" in item.reason


def test_fifo_is_not_opened(tmp_path):
    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    (item,) = list(iter_local([tmp_path]))  # would block forever if opened
    assert item == Failure(str(fifo), "not a regular file")


def test_unknown_suffix_named_explicitly_is_sniffed(tmp_path):
    html = tmp_path / "article"  # wget-style name without suffix
    html.write_text("<!doctype html><html><p>x</p></html>")
    text = tmp_path / "notes.txt"
    text.write_text("just some notes, no markup at all")
    page, failure = list(iter_local([html, text]))
    assert isinstance(page, Page)
    assert failure == Failure(str(text), "not HTML: no markup found")


def test_utf16_html_is_not_mistaken_for_binary(tmp_path):
    path = tmp_path / "utf16.html"
    path.write_bytes("<html><p>Grüße</p></html>".encode("utf-16"))
    (page,) = list(iter_local([path]))
    assert isinstance(page, Page)


def test_jsonl_fixture_articles():
    items = list(iter_local([FIXTURES / "articles.jsonl"]))

    assert not _failures(items), items
    assert [type(i) for i in items] == [Article] * 4
    ferry, fed, naive, ms = items

    assert ferry.url == "jsonl:articles/ferry-01"
    assert ferry.title == "Ferry route approved"
    assert ferry.text == "The council voted seven to two."
    assert ferry.published == datetime(2026, 11, 3, 6, 40, tzinfo=UTC)  # +01:00 → UTC
    assert ferry.published.utcoffset().total_seconds() == 0
    assert (ferry.source, ferry.author, ferry.language) == ("Meridian Wire", "Ines Varga", "en")

    assert fed.url == "http://example.com/fed"  # url wins over id
    assert fed.source == "Los Angeles Times"  # `publisher` alias
    assert fed.published == datetime(2014, 3, 10, 16, 52, 50, 698000, tzinfo=UTC)
    assert fed.text == ""

    assert naive.published == datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
    assert ms.published == fed.published


def test_jsonl_bad_lines_are_failures_with_file_and_line(tmp_path):
    path = tmp_path / "dump.jsonl"
    lines = [
        '{"id": "a", "title": "Good one", "published": "2026-01-02T03:04:05Z"}',
        '{"id": "b", "title": "Broken',  # invalid JSON
        '["not", "an", "object"]',
        '{"title": "No id or url"}',
        '{"id": "c"}',  # no title
        '{"id": "d", "title": "   "}',  # blank title
        '{"id": "e", "title": "Bad date", "published": "yesterday-ish"}',
        '{"id": "f", "title": "Bad author", "author": 42}',
        '{"id": true, "title": "Bool id"}',
        "",
        '{"id": 7, "title": "Last good one", "timestamp_ms": "1394470370698"}',
    ]
    path.write_text("\n".join(lines) + "\n")

    items = list(iter_local([path]))

    assert [type(i).__name__ for i in items] == ["Article"] + ["Failure"] * 8 + ["Article"]
    assert items[0].published == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert items[-1].url == "jsonl:dump/7"
    assert items[-1].published == datetime(2014, 3, 10, 16, 52, 50, 698000, tzinfo=UTC)
    failures = items[1:-1]
    assert [f.item for f in failures] == [f"{path}:{n}" for n in range(2, 10)]
    for failure in failures:  # the item names file and line; the reason does not repeat it
        assert str(path) not in failure.reason
    assert "invalid JSON" in failures[0].reason
    assert "expected a JSON object" in failures[1].reason
    assert "needs 'url' or 'id'" in failures[2].reason
    assert "'title' is required" in failures[3].reason
    assert "'title' is required" in failures[4].reason
    assert "invalid date in 'published'" in failures[5].reason
    assert "'author' must be a string" in failures[6].reason
    assert "'id' must be" in failures[7].reason


def test_jsonl_invalid_utf8_and_empty_file(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "x", "title": "\xff\xfe"}\n')
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    items = list(iter_local([bad, empty]))
    assert items == [
        Failure(f"{bad}:1", "invalid JSON: not UTF-8"),
        Failure(str(empty), "empty file"),
    ]


def test_jsonl_gz_is_read(tmp_path):
    path = tmp_path / "dump.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"id": 1, "title": "Compressed"}\n'))
    (article,) = list(iter_local([path]))
    assert article.url == "jsonl:dump/1"
    assert article.title == "Compressed"


def test_mixed_paths_keep_given_order(tmp_path):
    html = tmp_path / "x.html"
    html.write_text("<html>x</html>")
    items = list(iter_local([FIXTURES / "articles.jsonl", tmp_path / "nope", html]))
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["Article"] * 4 + ["Failure", "Page"]

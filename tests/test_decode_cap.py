"""Gzip bodies handed to decode_html / extract are inflated under a size cap."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from pathlib import Path

import pytest

from tidings.extract import ExtractError, decode_html, extract
from tidings.sources.files import Failure, iter_local

MiB = 1024 * 1024
DEFAULT_CAP = 10 * MiB


def gzip_bomb(size: int) -> bytes:
    """`size` bytes of zeros, gzipped in chunks (never holding `size` bytes at once)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(MiB)
    parts = [deflater.compress(chunk) for _ in range(size // MiB)]
    parts.append(deflater.flush())
    return b"".join(parts)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = gzip_bomb(200 * MiB)
    assert len(data) < MiB  # a few hundred kilobytes on the wire
    return data


def test_gzip_bomb_is_refused_with_bounded_memory(bomb: bytes) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ExtractError) as caught:
            decode_html(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * MiB, f"peak {peak / MiB:.0f} MiB while refusing a gzip bomb"
    message = str(caught.value)
    assert "too large" in message and str(DEFAULT_CAP) in message


def test_extract_of_gzip_bytes_is_capped_too(bomb: bytes) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ExtractError, match="too large"):
            extract(bomb, "file:///tmp/bomb.html")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * MiB


def test_the_cap_is_a_parameter() -> None:
    page = b"<html><body><p>" + b"word " * 400 + b"</p></body></html>"
    packed = gzip.compress(page)
    assert decode_html(packed, max_bytes=len(page)) == page.decode()
    with pytest.raises(ExtractError, match=f"over {len(page) - 1} bytes"):
        decode_html(packed, max_bytes=len(page) - 1)


def test_multi_member_gzip_is_read_whole() -> None:
    packed = gzip.compress(b"<html><body><p>one ") + gzip.compress(b"two</p></body></html>")
    assert decode_html(packed + b"\0" * 16) == "<html><body><p>one two</p></body></html>"


def test_truncated_and_corrupt_gzip_are_clear_errors() -> None:
    whole = gzip.compress(b"<html>" + bytes(range(32, 127)) * 50 + b"</html>")
    with pytest.raises(ExtractError, match="corrupt gzip: truncated"):
        decode_html(whole[: len(whole) // 2])
    with pytest.raises(ExtractError, match="corrupt gzip"):
        decode_html(whole[:10] + b"\xff" * 40)
    with pytest.raises(ExtractError, match="corrupt gzip"):
        decode_html(b"\x1f\x8b")


def test_local_files_use_the_same_capped_inflater(tmp_path: Path) -> None:
    packed = gzip.compress(b"<html><body>" + b"x" * 5000 + b"</body></html>")
    path = tmp_path / "big.html.gz"
    path.write_bytes(packed)
    (item,) = iter_local([path], max_bytes=1000)
    assert isinstance(item, Failure)
    with pytest.raises(ExtractError) as caught:
        decode_html(packed, max_bytes=1000)
    assert item.reason == str(caught.value)

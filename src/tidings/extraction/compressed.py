"""Gzip page bodies inflated under a size cap: a few hundred kilobytes must not become gigabytes."""

from __future__ import annotations

import zlib

# the fetcher's cap on a decoded response body (settings: fetch_max_bytes)
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class GzipError(ValueError):
    """Gzip data that is corrupt, truncated or inflates past the cap."""


def gunzip_capped(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Inflate gzip data (all members), stopping as soon as the output passes `max_bytes`.

    Never holds more than `max_bytes` + 1 inflated bytes: each step inflates at most what
    is left under the cap, so a gzip bomb costs the cap, not its inflated size.
    """
    out = bytearray()
    pending = data
    while True:
        inflater = zlib.decompressobj(31)
        try:
            while pending and not inflater.eof:
                out += inflater.decompress(pending, max_bytes + 1 - len(out))
                if len(out) > max_bytes:
                    raise GzipError(f"too large: over {max_bytes} bytes decompressed")
                pending = inflater.unconsumed_tail
        except zlib.error as exc:
            raise GzipError(f"corrupt gzip: {exc}") from None
        if not inflater.eof:
            raise GzipError("corrupt gzip: truncated")
        pending = inflater.unused_data
        if not pending.strip(b"\0"):  # zero padding after the last member is common
            return bytes(out)

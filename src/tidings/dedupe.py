"""Exact and near-duplicate detection: URL canonicalisation, content hashes, MinHash LSH."""

from __future__ import annotations

import hashlib
import re
import struct
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

# Query parameters that only track the reader and never select content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "ref",
        "ref_src",
        "cmpid",
        "ncid",
        "ocid",
        "_ga",
        "yclid",
        "track",
        "rss",
        "feed",
        "cmp",
        "spm",
    }
)
_WORD = re.compile(r"\w+", re.UNICODE)

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
_MERSENNE = np.uint64(4294967311)  # smallest prime above 2**32
_rng = np.random.default_rng(20261125)
_PERM_A = _rng.integers(1, 2**32 - 1, size=NUM_PERM, dtype=np.uint64)
_PERM_B = _rng.integers(0, 2**32 - 1, size=NUM_PERM, dtype=np.uint64)


def canonical_url(url: str) -> str:
    """A comparison key for URLs: one spelling for the many ways a link to a page is written."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        return url
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    for suffix in ("/index.html", "/index.htm", "/amp"):
        if path.endswith(suffix) and len(path) > len(suffix):
            path = path[: -len(suffix)]
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    # http and https of the same page are one page
    return urlunsplit(("https", netloc, path, urlencode(sorted(query)), ""))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_hash(title: str, text: str) -> str:
    """Hash of the normalised body (the title when there is no body): case, spacing, punctuation
    and markup differences do not change it."""
    tokens = words(text) or words(title)
    return hashlib.sha1(" ".join(tokens).encode()).hexdigest()


def shingles(text: str, size: int = 3) -> set[int]:
    tokens = words(text)
    if len(tokens) < size:
        return set()
    out = set()
    for i in range(len(tokens) - size + 1):
        digest = hashlib.blake2b(" ".join(tokens[i : i + size]).encode(), digest_size=4).digest()
        out.add(struct.unpack("<I", digest)[0])
    return out


def minhash(shingle_set: set[int]) -> np.ndarray:
    """MinHash signature (NUM_PERM uint64 values) of a set of 32-bit shingle hashes."""
    values = np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))
    hashed = (values[None, :] * _PERM_A[:, None] + _PERM_B[:, None]) % _MERSENNE
    return hashed.min(axis=1)


def lsh_buckets(signature: np.ndarray) -> list[int]:
    """One bucket key per band; two texts share a bucket with high probability when their
    Jaccard similarity is above ~0.4 (32 bands of 4 rows)."""
    keys = []
    for band in range(BANDS):
        chunk = signature[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(struct.unpack("<q", digest)[0])
    return keys


def resemblance(a: set[int], b: set[int]) -> float:
    """Overlap of two shingle sets relative to the smaller one, so a copy that dropped a
    paragraph or gained a line still counts as the same text."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


MIN_WORDS_FOR_NEAR_DUP = 30


class NearDuplicateKey:
    """Shingles, signature and buckets of one text, computed once."""

    __slots__ = ("shingles", "buckets")

    def __init__(self, text: str):
        self.shingles = shingles(text)
        if len(self.shingles) >= MIN_WORDS_FOR_NEAR_DUP:
            self.buckets = lsh_buckets(minhash(self.shingles))
        else:
            self.buckets = []

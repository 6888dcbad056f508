"""Exact and near-duplicate detection: URL canonicalisation, content hashes, MinHash LSH."""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from .models import Article

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


# a run of characters that UTF-8 bytes become when read as Windows-1252 ("â€™", "Ã©")
_MOJIBAKE_RUN = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178"
                           "\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122\ufffd]+")


def _cp1252_byte(char: str) -> bytes:
    try:
        return char.encode("cp1252")
    except UnicodeEncodeError:
        if char == "\ufffd":  # 0x81, 0x8d, 0x8f, 0x90 and 0x9d have no cp1252 character
            return b"\x9d"
        return bytes([ord(char)]) if ord(char) < 256 else b"\xff"


def _unmojibake(match: re.Match) -> str:
    run = match.group(0)
    try:
        return b"".join(_cp1252_byte(c) for c in run).decode("utf-8")
    except UnicodeDecodeError:
        return run


def normalise(text: str) -> str:
    """The text as dedupe compares it: lower case, UTF-8 read as Windows-1252 repaired,
    accents dropped (an ASCII-only republisher writes "cafe" for "café"), compatibility
    forms and decomposed characters composed again."""
    if text.isascii():
        return text.lower()
    text = _MOJIBAKE_RUN.sub(_unmojibake, text).lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


def content_hash(title: str, text: str) -> str:
    """Hash of the normalised body (the title when there is no body): case, spacing, punctuation
    and markup differences do not change it. A shared hash is a candidate, not a verdict:
    `exact_copy` decides (short texts need their headline and date to agree too)."""
    tokens = words(text) or words(title)
    return hashlib.sha1(" ".join(tokens).encode()).hexdigest()


def shingle_sequence(text: str, size: int = 3) -> list[int]:
    """Hashes of the word 3-shingles of a text, in text order."""
    tokens = words(text)
    out = []
    for i in range(len(tokens) - size + 1):
        digest = hashlib.blake2b(" ".join(tokens[i : i + size]).encode(), digest_size=4).digest()
        out.append(struct.unpack("<I", digest)[0])
    return out


def shingles(text: str, size: int = 3) -> set[int]:
    return set(shingle_sequence(text, size))


def minhash(shingle_set: set[int]) -> np.ndarray:
    """MinHash signature (NUM_PERM uint64 values) of a set of 32-bit shingle hashes."""
    values = np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))
    hashed = (values[None, :] * _PERM_A[:, None] + _PERM_B[:, None]) % _MERSENNE
    return hashed.min(axis=1)


# A second banding of the same signature, 42 bands of 3 rows: a copy that contains the whole
# original and as much again has a Jaccard similarity near 0.4, where the first banding finds
# it only three times in four (this one: 97 in 100). Its keys come after the first banding's,
# so articles stored before it are still found through those.
WIDE_ROWS = 3
WIDE_BANDS = NUM_PERM // WIDE_ROWS


def lsh_buckets(signature: np.ndarray) -> list[int]:
    """Bucket keys, one per band of each banding; two texts share a bucket with high
    probability when their Jaccard similarity is above ~0.3."""
    keys = []
    for prefix, bands, rows in ((0, BANDS, ROWS), (BANDS, WIDE_BANDS, WIDE_ROWS)):
        for band in range(bands):
            chunk = signature[band * rows : (band + 1) * rows].tobytes()
            digest = hashlib.blake2b(bytes([prefix + band]) + chunk, digest_size=8).digest()
            keys.append(struct.unpack("<q", digest)[0])
    return keys


def resemblance(a: set[int], b: set[int]) -> float:
    """Overlap of two shingle sets relative to the smaller one, so a copy that dropped a
    paragraph or gained a line still counts as the same text."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


MIN_WORDS_FOR_NEAR_DUP = 30
PARTS = 3  # overlap is checked in each third of the shorter text


class NearDuplicateKey:
    """Shingles (in order and as a set), signature and buckets of one text, computed once."""

    __slots__ = ("sequence", "shingles", "buckets")

    def __init__(self, text: str):
        self.sequence = shingle_sequence(text)
        self.shingles = set(self.sequence)
        if len(self.shingles) >= MIN_WORDS_FOR_NEAR_DUP:
            self.buckets = lsh_buckets(minhash(self.shingles))
        else:
            self.buckets = []


def overlap(a: NearDuplicateKey, b: NearDuplicateKey) -> float:
    """How much of the shorter text the longer one contains, taken in the shorter text's
    weakest third. Whole-text containment lets a copy drop a paragraph or gain a line; the
    per-third minimum stops two texts that share only a long block (a press release's
    boilerplate, a newsletter footer) from scoring as one: their own parts do not match."""
    if not a.shingles or not b.shingles:
        return 0.0
    short, long_ = (a, b) if len(a.shingles) <= len(b.shingles) else (b, a)
    sequence = short.sequence
    whole = len(short.shingles & long_.shingles) / len(short.shingles)
    if len(sequence) < PARTS * 10:
        return whole
    step = len(sequence) / PARTS
    parts = []
    for k in range(PARTS):
        part = set(sequence[int(k * step) : int((k + 1) * step)])
        parts.append(len(part & long_.shingles) / len(part))
    return min(whole, *parts)


# -- deciding whether an article is a copy -------------------------------------------------

SHORT_TEXT_WORDS = 50  # below this, a body alone does not identify an article
SHORT_TEXT_WINDOW = timedelta(days=2)  # … its headline and date must agree as well
CONFIRM_OVERLAP = 0.5  # a shared canonical URL is believed when the texts overlap this much
# pages often give a date without a time (read as midnight), so only a clear lead counts
PROMOTE_MARGIN = timedelta(days=1)


def _title_key(title: str) -> str:
    return " ".join(words(title))


def exact_copy(a: Article, b: Article) -> bool:
    """Two articles with the same content hash are one article when the body is long enough
    to be unique; a short or empty body (a live page's one line, a title-only item such as
    "Morning briefing") also needs the same headline and dates within two days."""
    if (a.content_hash or "") != (b.content_hash or ""):
        return False
    if len(words(a.text)) >= SHORT_TEXT_WORDS:
        return True
    if _title_key(a.title) != _title_key(b.title) or not a.published or not b.published:
        return False
    return abs(a.published - b.published) <= SHORT_TEXT_WINDOW


@dataclass
class Decision:
    """What dedupe decided about one article of a batch."""

    url_key: str
    near: NearDuplicateKey | None = None
    original: int | None = None  # id of the stored original, if a copy
    original_pending: int | None = None  # index of its original earlier in this batch
    replaces: int | None = None  # a stored original that turns out to be a copy of this one
    reason: str = ""

    @property
    def is_copy(self) -> bool:
        return self.original is not None or self.original_pending is not None

    @property
    def is_original(self) -> bool:
        return not self.is_copy


class Deduper:
    """Decides, over the Store contract, whether each article of a batch is a copy of one
    already stored or of one earlier in the batch: same text (`exact_copy`), near-identical
    text (MinHash LSH candidates verified by `overlap`), or a shared canonical URL confirmed
    by the texts. A copy always points at the root original, never at another copy."""

    def __init__(self, store, near_threshold: float = 0.8):
        self.store = store
        self.near_threshold = near_threshold

    def classify_batch(self, articles: list[Article], tx=None) -> list[Decision]:
        decisions: list[Decision] = []
        keys: dict[int, tuple[Article, NearDuplicateKey]] = {}
        for article in articles:
            decisions.append(self._classify(article, articles, decisions, keys, tx))
        return decisions

    def _key(self, article: Article, keys: dict) -> NearDuplicateKey:
        # keyed by id(), so the article is kept with its key: a stored article read for one
        # comparison and then freed would leave its id to the next one read, which would get
        # the wrong key
        found = keys.get(id(article))
        if found is None or found[0] is not article:
            found = keys[id(article)] = (article, NearDuplicateKey(article.text))
        return found[1]

    def _same(self, a: Article, b: Article, keys, confirm_only: bool) -> str | None:
        """Why `a` and `b` are one article, or None. `confirm_only`: they already share a URL
        key, so a lower text overlap suffices."""
        if exact_copy(a, b):
            return "same text"
        ka, kb = self._key(a, keys), self._key(b, keys)
        if not confirm_only and not (ka.buckets and set(ka.buckets) & set(kb.buckets)):
            return None  # no shared LSH band: the texts are not near-identical
        score = overlap(ka, kb)
        if confirm_only:
            if score >= CONFIRM_OVERLAP:
                return "same canonical url"
            if not ka.buckets and not kb.buckets and _title_key(a.title) == _title_key(b.title):
                return "same canonical url"  # two short pages: the headline must agree
            return None
        if score >= self.near_threshold:
            return "near-identical text"
        return None

    def _classify(self, article, batch, decisions, keys, tx) -> Decision:
        canonical = article.canonical_url
        if canonical and urlsplit(canonical).path.strip("/") == "":
            canonical = None  # a canonical link to a home page is a site template bug
        url_key = canonical_url(canonical or article.url)
        own_key = canonical_url(article.url)
        d = Decision(url_key=url_key, near=self._key(article, keys))
        # earlier in this batch
        for i, other in enumerate(decisions):
            confirm = other.url_key in (url_key, own_key)
            reason = self._same(article, batch[i], keys, confirm_only=confirm)
            if reason is None and confirm:
                reason = self._same(article, batch[i], keys, confirm_only=False)
            if reason is not None:
                d.reason = reason
                if other.original is not None:
                    d.original = other.original
                elif other.original_pending is not None:
                    d.original_pending = other.original_pending
                else:
                    d.original_pending = i
                return d
        # stored: URL key, then content hash, then near-duplicate candidates
        by_key = self.store.originals_by_url_key(url_key, tx)
        if own_key != url_key:
            by_key += self.store.originals_by_url_key(own_key, tx)
        checked = set()
        for candidates, confirm in (
            (by_key, True),
            (self.store.originals_by_hash(article.content_hash or "", tx), False),
            (self.store.bucket_candidates(d.near.buckets, tx) if d.near.buckets else [], False),
        ):
            todo = [c for c in dict.fromkeys(candidates) if c not in checked]
            checked.update(todo)
            stored = self.store.articles(todo, tx)
            for cid in todo:
                other = stored.get(cid)
                if other is None:
                    continue
                reason = self._same(article, other, keys, confirm_only=confirm)
                if reason is None and confirm:
                    reason = self._same(article, other, keys, confirm_only=False)
                if reason is not None:
                    return self._found_stored(d, article, other, reason, tx)
        return d

    def _found_stored(self, d: Decision, new: Article, stored: Article, reason: str, tx):
        """`new` and a stored original are one article. Usually `new` is the copy; but when the
        stored one names `new` as its canonical page, or `new` was published clearly earlier
        (the copy arrived first), `new` becomes the original and the stored one its copy."""
        d.reason = reason
        if stored.duplicate_of is not None:  # matched a stored copy: decide against its root
            root = self.store.root_of(stored.id, tx)
            stored = self.store.articles([root], tx, text=False).get(root) or stored
        new_key = canonical_url(new.url)
        names_new = bool(
            stored.canonical_url
            and canonical_url(stored.canonical_url) == new_key
            and canonical_url(stored.url) != new_key
        )
        names_stored = bool(
            new.canonical_url and canonical_url(new.canonical_url) == canonical_url(stored.url)
        )
        earlier = bool(
            stored.published and new.published and new.published < stored.published - PROMOTE_MARGIN
        )
        if names_new or (earlier and not names_stored):
            d.replaces = stored.id
            return d
        d.original = self.store.root_of(stored.id, tx)
        return d

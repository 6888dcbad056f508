"""Synthetic news archives for the scale benchmarks, deterministic from a seed.

An archive of N articles is a schedule of stories: story sizes are heavy-tailed (most stories
have 1-3 articles, a few 20-100), a story's articles spread over a few days, and the archive
spans N / per_day days (3,000 a day: a million articles is about a year). About 15% of the
articles are syndicated copies of another outlet's article (the same text, or the same text
with small edits), so dedupe does real work.

Text has the shape of news without being news: a Zipf vocabulary of 40,000 word types (real
English function words at the top, pseudo-words below), 150-1,200 words (log-normal) in
paragraphs, and each story's own capitalised names (places, people) and topic words repeated
across its articles. Stories belong to sections, and each section leans on its own words.

`SyntheticEmbedder` stands in for the model: it derives a vector from the text alone, so it
needs no registry and the real pipeline can run without the model. Its geometry imitates
MiniLM on news: an article sits at cosine 0.6-0.85 from its story's centre (closer when it
mentions the story's names more), the centre is set by the names the text mentions mixed with
a section direction, and the rest is a weighted bag of the text's words, so a copy gets nearly
its original's vector and unrelated articles land near 0-0.2.

Usage: archive = Archive(100_000); for article in archive.articles(): ...
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np

from tidings.embed import Embedder
from tidings.models import Article

SYNTH_VERSION = 3  # bump when the generated archive changes, so stored archives are rebuilt
DEFAULT_SEED = 1
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
DAY = 86400.0
VOCABULARY_SIZE = 40_000
ZIPF_EXPONENT = 1.0
MAX_STORY = 100
RUN_STRIDE = 10_000_000  # extras of one run: their URL numbers start run × this apart
STORY_SIZE_EXPONENT = 2.1  # P(size = k) ~ k^-2.1 on 1..100: 86% of stories have 1-3 originals
COPY_SHARE = 0.106  # originals with syndicated copies; ~1.7 copies each: 15% of all articles
EXACT_COPY_SHARE = 0.3  # copies with the very same text; the rest carry small edits
P_TOPIC, P_SECTION = 0.05, 0.08  # token shares of the story's and the section's own words

SECTIONS = (
    ("world", 14), ("politics", 12), ("business", 12), ("technology", 8), ("science", 5),
    ("health", 6), ("sport", 12), ("culture", 7), ("local", 10), ("environment", 5),
    ("crime", 6), ("weather", 3),
)  # fmt: skip

# The top of an English frequency list, in rough order: these carry no topic.
FUNCTION_WORDS = """the of to and a in that is for on was with he it as said at by his from be
have has an are were but not they this who had their been will which its she her after more we
one about also would up out or there when new all two over year than into last other could
people some can time them only what most so if no him first three before government while
years told our just where us like state being because such these those any through between
against then many now during since off per under very week back still should may well even
down did made make how do get because both today here around including however again part
while each group according next until city former another four public set high official told
five called last end take say help police country including""".split()

_ONSETS = "b c d f g h j k l m n p r s t v w z br cr dr fl gr pl pr st tr sh ch th bl sl".split()
_NUCLEI = "a e i o u a e i o u a e o ai ea ou".split()
_CODAS = ["", "", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck", "ng"]
_NAME_ONSETS = "B C D F G H K L M N P R S T V W Z Br Dr Gr Kr St Tr Ch Th".split()
_NAME_NUCLEI = "a e i o u a e o y ae".split()
_PLACE_ENDINGS = "ford ville burg stad ia ora wick mouth field haven grad mont ova lin".split()
_SURNAME_ENDINGS = "son ez ova ski er ani ard ley oglu sen ini ic berg owicz".split()
_GIVEN_ENDINGS = "a o ie en as el ine us ia an".split()
_OUTLET_KINDS = "Herald Times Post Courier Gazette Tribune Observer Chronicle Journal Wire".split()
_TOKEN = re.compile(r"[A-Za-z]+")


class Vocabulary:
    """40,000 word types ranked by frequency, with Zipf sampling, sections that own part of
    the mid-frequency words, and a pool of given names and outlets."""

    def __init__(self, seed: int = DEFAULT_SEED, size: int = VOCABULARY_SIZE):
        rng = np.random.default_rng([seed, 0])
        words = list(dict.fromkeys(FUNCTION_WORDS))
        self.function_words = len(words)
        seen = set(words)
        while len(words) < size:
            rank = len(words)
            syllables = (
                1
                + (rank > 150 and rng.random() < 0.6)
                + (rank > 3000)
                + (rank > 15000 and rng.random() < 0.4)
            )
            word = "".join(
                _pick(rng, _ONSETS) * (i > 0 or rng.random() < 0.8)
                + _pick(rng, _NUCLEI)
                + (_pick(rng, _CODAS) if i == syllables - 1 else "")
                for i in range(syllables)
            )
            if len(word) >= 2 and word not in seen:
                seen.add(word)
                words.append(word)
        self.words = np.array(words)
        self.rank = {w: i for i, w in enumerate(words)}
        self.rank.update({w.capitalize(): i for i, w in enumerate(words)})
        weights = np.arange(1, size + 1, dtype=np.float64) ** -ZIPF_EXPONENT
        self.cdf = np.cumsum(weights) / weights.sum()
        # half of the words from rank 200 on belong to one section each
        owned = (np.arange(size) >= 200) & (rng.random(size) < 0.5)
        self.section_of = np.full(size, -1, dtype=np.int16)
        self.section_of[owned] = rng.integers(len(SECTIONS), size=int(owned.sum()))
        self.section_words = [np.nonzero(self.section_of == s)[0] for s in range(len(SECTIONS))]
        self.section_cdfs = []
        for owned_words in self.section_words:
            w = np.arange(1, len(owned_words) + 1, dtype=np.float64) ** -0.9
            self.section_cdfs.append(np.cumsum(w) / w.sum())
        section_weights = np.array([w for _, w in SECTIONS], dtype=np.float64)
        self.section_p = section_weights / section_weights.sum()
        self.given_names = self._names(rng, 400, _GIVEN_ENDINGS, 1)
        outlet_names = self._names(rng, 120, _PLACE_ENDINGS, 1)
        self.outlets = [
            (f"The {name} {_pick(rng, _OUTLET_KINDS)}", f"{name.lower()}-news.example")
            for name in outlet_names
        ]
        w = np.arange(1, len(self.outlets) + 1, dtype=np.float64) ** -0.8
        self.outlet_p = w / w.sum()
        self.recurring = [  # officials and celebrities that many stories of a section mention
            [f"{_pick(rng, self.given_names)} {n}" for n in self._names(rng, 30, _SURNAME_ENDINGS)]
            for _ in SECTIONS
        ]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cdf, rng.random(n)), len(self.words) - 1)

    def sample_section(self, rng: np.random.Generator, section: int, n: int) -> np.ndarray:
        cdf = self.section_cdfs[section]
        picks = np.minimum(np.searchsorted(cdf, rng.random(n)), len(cdf) - 1)
        return self.section_words[section][picks]

    def name(self, rng: np.random.Generator, endings: Sequence[str], syllables: int = 0) -> str:
        while True:
            count = syllables or int(rng.integers(1, 3))
            stem = "".join(
                (_pick(rng, _NAME_ONSETS) if i == 0 else _pick(rng, _ONSETS))
                + _pick(rng, _NAME_NUCLEI)
                for i in range(count)
            )
            name = (stem + _pick(rng, endings)).capitalize()
            if name not in self.rank:
                return name

    def _names(self, rng, count: int, endings: Sequence[str], syllables: int = 0) -> list[str]:
        names: dict[str, None] = {}
        while len(names) < count:
            names[self.name(rng, endings, syllables)] = None
        return list(names)


@lru_cache(maxsize=4)
def vocabulary(seed: int = DEFAULT_SEED) -> Vocabulary:
    return Vocabulary(seed)


@dataclass(frozen=True)
class StoryInfo:
    """What a story's articles share: section, names, topic words, and the lead names."""

    section: int
    places: tuple[str, ...]
    people: tuple[str, ...]  # full names; the first is the lead
    topic: np.ndarray

    @property
    def mentions(self) -> list[str]:
        """How the names appear after their first mention (surnames alone)."""
        return list(self.places) + [p.split()[-1] for p in self.people]


class Archive:
    """The schedule of an archive of `size` articles; articles are generated on demand in
    publication order, each from its own seed, so any slice can be regenerated alone."""

    def __init__(self, size: int, seed: int = DEFAULT_SEED, per_day: float = 3000.0):
        self.size = size
        self.seed = seed
        self.per_day = per_day
        self.vocab = vocabulary(seed)
        rng = np.random.default_rng([seed, 1])
        # A snapshot of a steady stream: stories start uniformly from a few days before the
        # archive to its end, articles before 0 are dropped, and the first `size` in time are
        # kept, so the density is even up to the end, where some stories are cut short.
        span = size / per_day * DAY
        lead = 5 * DAY
        parts: list[tuple[np.ndarray, ...]] = []
        stories = inside = 0
        while inside < size:
            n = max(1024, int((size - inside) / (2.8 * (1 + COPY_SHARE / 0.6)) * 1.1))
            part = self._stories(rng, n, stories, -lead, span)
            parts.append(part)
            stories += n
            inside += int(((part[3] >= 0) & (part[3] <= span)).sum())
        self.story_size = np.concatenate([p[4] for p in parts])
        story, k, copy, t, t_original = (
            np.concatenate([p[i] for p in parts]) for i in (0, 1, 2, 3, 5)
        )
        keep = t_original >= 0  # a copy goes with its original
        story, k, copy, t = story[keep], k[keep], copy[keep], t[keep]
        order = np.argsort(t, kind="stable")[:size]
        self.story = story[order].astype(np.int32)
        self.k = k[order].astype(np.int32)
        self.copy = copy[order].astype(np.int16)  # -1: an original; j: its j-th copy
        self.t = t[order]

    @staticmethod
    def _stories(rng: np.random.Generator, n: int, first_id: int, t0: float, t1: float):
        """n stories starting in [t0, t1]: (story, k, copy, t) of every article and copy,
        the story sizes (originals), and the time of each one's original."""
        size = rng.zipf(STORY_SIZE_EXPONENT, size=n)
        while (size > MAX_STORY).any():
            over = size > MAX_STORY
            size[over] = rng.zipf(STORY_SIZE_EXPONENT, size=int(over.sum()))
        start = rng.uniform(t0, t1, n)
        duration = np.minimum(0.3 + 0.35 * np.sqrt(size), 10.0) * DAY
        story = np.repeat(np.arange(n), size)
        k = np.arange(len(story)) - np.repeat(np.cumsum(size) - size, size)
        offset = np.where(k == 0, 0.0, rng.exponential(1.0, len(story)) * duration[story])
        t = start[story] + offset
        # syndicated copies, minutes to hours after their original
        copies = np.where(rng.random(len(story)) < COPY_SHARE, rng.geometric(0.6, len(story)), 0)
        src = np.repeat(np.arange(len(story)), copies)
        j = np.arange(len(src)) - np.repeat(np.cumsum(copies) - copies, copies)
        return (
            np.concatenate([story, story[src]]) + first_id,
            np.concatenate([k, k[src]]),
            np.concatenate([np.full(len(story), -1), j]),
            np.concatenate([t, t[src] + rng.uniform(300, 10 * 3600, len(src))]),
            size,
            np.concatenate([t, t[src]]),
        )

    def __len__(self) -> int:
        return self.size

    @property
    def copies(self) -> int:
        return int((self.copy >= 0).sum())

    @property
    def end(self) -> datetime:
        return EPOCH + timedelta(seconds=float(self.t[-1]))

    def articles(self, start: int = 0, stop: int | None = None) -> Iterator[Article]:
        """Articles start..stop in publication order."""
        for i in range(start, self.size if stop is None else stop):
            yield self.article(i)

    def article(self, i: int) -> Article:
        s, k, j = int(self.story[i]), int(self.k[i]), int(self.copy[i])
        when = EPOCH + timedelta(seconds=float(self.t[i]))
        if j < 0:
            return self._original(s, k, when)
        return self._copy(s, k, j, when)

    def extras(self, count: int, run: int = 0) -> list[tuple[Article, str]]:
        """`count` new articles that continue stories active in the archive's last 3 days,
        published after its end; each with the URL of an archived article of its story.
        `run` makes another set (an archive can be measured again without reusing URLs)."""
        rng = np.random.default_rng([self.seed, 9, run])
        recent = (self.t >= self.t[-1] - 3 * DAY) & (self.copy < 0)
        stories, where = np.unique(self.story[recent], return_index=True)
        reference = np.nonzero(recent)[0][where]
        weight = self.story_size[stories].astype(np.float64)
        picks = rng.choice(len(stories), size=count, p=weight / weight.sum())
        offsets = np.sort(rng.uniform(60, 6 * 3600, count))
        out = []
        for n, (pick, offset) in enumerate(zip(picks, offsets, strict=True)):
            s = int(stories[pick])
            ref = self.article(int(reference[pick]))
            k = 1000 + run * RUN_STRIDE + n  # runs never share a URL, whatever their counts
            out.append((self._original(s, k, self.end + timedelta(seconds=float(offset))), ref.url))
        return out

    # -- generation ----------------------------------------------------------------------

    @lru_cache(maxsize=65536)  # noqa: B019 - one Archive per process; the cache is the point
    def story_info(self, s: int) -> StoryInfo:
        rng = np.random.default_rng([self.seed, 10, s])
        v = self.vocab
        section = int(rng.choice(len(SECTIONS), p=v.section_p))
        places = tuple(v.name(rng, _PLACE_ENDINGS) for _ in range(int(rng.integers(1, 3))))
        people = [
            f"{_pick(rng, v.given_names)} {v.name(rng, _SURNAME_ENDINGS)}"
            for _ in range(int(rng.integers(1, 4)))
        ]
        if rng.random() < 0.3:
            people.append(_pick(rng, v.recurring[section]))
        lo, hi = np.log(v.function_words + 20), np.log(12_000)
        topic = np.exp(rng.uniform(lo, hi, 10)).astype(np.int64)
        return StoryInfo(section, places, tuple(people), topic)

    def _original(self, s: int, k: int, when: datetime) -> Article:
        rng = np.random.default_rng([self.seed, 11, s, k])
        v = self.vocab
        info = self.story_info(s)
        outlet, domain = v.outlets[int(rng.choice(len(v.outlets), p=v.outlet_p))]
        title = self._title(rng, info)
        text = self._body(rng, info, focus=float(rng.random()))
        slug = "-".join(title.lower().split()[:6])
        section = SECTIONS[info.section][0]
        author = None
        if rng.random() < 0.85:
            author = f"{_pick(rng, v.given_names)} {v.name(rng, _SURNAME_ENDINGS)}"
        return Article(
            url=f"https://{domain}/{section}/{when:%Y/%m/%d}/{slug}-{s}-{k}",
            title=title,
            text=text,
            source=outlet,
            published=when.replace(microsecond=0),
            author=author,
            language="en",
        )

    def _copy(self, s: int, k: int, j: int, when: datetime) -> Article:
        """Another outlet's copy of article (s, k): the same text, or small edits of it."""
        original = self._original(s, k, when)  # its own date is replaced below
        rng = np.random.default_rng([self.seed, 12, s, k, j])
        v = self.vocab
        outlet, domain = original.source, ""
        while outlet == original.source:
            outlet, domain = v.outlets[int(rng.integers(len(v.outlets)))]
        text, title = original.text, original.title
        if rng.random() >= EXACT_COPY_SHARE:
            paragraphs = text.split("\n\n")
            if len(paragraphs) >= 4 and text.count(" ") > 300 and rng.random() < 0.35:
                paragraphs = paragraphs[:-1]
            words = paragraphs[-1].split(" ")
            for _ in range(int(rng.integers(1, 4))):
                words[int(rng.integers(len(words)))] = str(v.words[int(v.sample(rng, 1)[0])])
            paragraphs[-1] = " ".join(words)
            if rng.random() < 0.6:
                paragraphs.append(f"This article was first published by {original.source}.")
            text = "\n\n".join(paragraphs)
        if rng.random() < 0.5:
            title = f"{title} | {outlet}"
        path = original.url.split("/", 3)[3]
        return Article(
            url=f"https://{domain}/syndicated/{j}/{path}",
            title=title,
            text=text,
            source=outlet,
            published=when.replace(microsecond=0),
            author=original.author if rng.random() < 0.7 else None,
            language="en",
        )

    def _title(self, rng: np.random.Generator, info: StoryInfo) -> str:
        v = self.vocab
        words = [str(w) for w in v.words[info.topic[rng.integers(len(info.topic), size=2)]]]
        general = v.sample(rng, 12)
        general = general[general >= v.function_words][: int(rng.integers(3, 7))]
        words += [str(w) for w in v.words[general]]
        order = rng.permutation(len(words)).tolist()
        words = [words[i] for i in order]
        words.insert(int(rng.integers(0, 2)), _pick(rng, info.mentions))
        if rng.random() < 0.5:
            words.insert(int(rng.integers(1, len(words))), str(_pick(rng, FUNCTION_WORDS[:20])))
        title = " ".join(words)
        return title[0].upper() + title[1:]

    def _body(self, rng: np.random.Generator, info: StoryInfo, focus: float) -> str:
        v = self.vocab
        n_words = int(np.clip(rng.lognormal(np.log(480), 0.55), 150, 1150))
        kind = rng.random(n_words)
        ranks = v.sample(rng, n_words)
        topic = kind < P_TOPIC
        ranks[topic] = info.topic[rng.integers(len(info.topic), size=int(topic.sum()))]
        section = (kind >= P_TOPIC) & (kind < P_TOPIC + P_SECTION)
        ranks[section] = v.sample_section(rng, info.section, int(section.sum()))
        words = v.words[ranks].tolist()
        mentions = info.mentions
        mention_p = np.array([3.0] + [1.0] * (len(mentions) - 1))
        mention_p /= mention_p.sum()
        p_name = 0.15 + 0.6 * focus
        lengths = rng.integers(8, 28, size=n_words // 8 + 1)
        sentences: list[str] = []
        pos = 0
        for length in lengths.tolist():
            if pos >= n_words:
                break
            chunk = words[pos : pos + length]
            pos += length
            if not sentences:  # the lede names the lead person and the place in full
                chunk.insert(int(rng.integers(0, 3)), info.people[0])
                chunk.insert(int(rng.integers(3, len(chunk) + 1)), info.places[0])
            elif rng.random() < p_name:
                name = mentions[int(rng.choice(len(mentions), p=mention_p))]
                chunk.insert(int(rng.integers(0, len(chunk) + 1)), name)
            if len(chunk) > 12 and rng.random() < 0.5:
                chunk[int(rng.integers(3, len(chunk) - 3))] += ","
            sentence = " ".join(chunk)
            sentences.append(sentence[0].upper() + sentence[1:] + ".")
        paragraphs = []
        i = 0
        while i < len(sentences):
            n = int(rng.integers(1, 5))
            paragraphs.append(" ".join(sentences[i : i + n]))
            i += n
        return "\n\n".join(paragraphs)


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


# -- embedder ----------------------------------------------------------------------------

# C = normalise(NAMES·names + SECTION·section + GLOBAL·everything): unrelated stories of one
# section meet at ~0.3 before the article's own part, of different sections at ~0.08
NAMES_WEIGHT, SECTION_WEIGHT, GLOBAL_WEIGHT = 0.70**0.5, 0.22**0.5, 0.08**0.5
CENTRE_COS = (0.6, 0.85)  # cosine of an article to its story's centre
DENSITY = (0.02, 0.07)  # share of name tokens mapped onto that range


class SyntheticEmbedder(Embedder):
    """A deterministic stand-in for the model, from the text alone (see the module doc).

    Cheap to construct; the word vectors (40,000 × dim) are made on the first encode.
    """

    def __init__(self, seed: int = DEFAULT_SEED, dim: int = 384):
        self.seed = seed
        self.dim = dim
        self.model_id = f"synthetic-{dim}"
        self.seconds = 0.0  # spent encoding, so a benchmark can tell its share
        self._space: _Space | None = None

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        started = time.perf_counter()
        if self._space is None:
            self._space = _Space(vocabulary(self.seed), self.dim, self.seed)
        vectors = np.vstack([self._space.vector(text) for text in texts])
        self.seconds += time.perf_counter() - started
        return vectors


class _Space:
    def __init__(self, vocab: Vocabulary, dim: int, seed: int):
        rng = np.random.default_rng([seed, 20])
        self.vocab = vocab
        self.dim = dim
        self.word_vectors = rng.standard_normal((len(vocab.words), dim), dtype=np.float32)
        # rarer words say more about an article; function words say nothing
        ranks = np.arange(len(vocab.words), dtype=np.float32)
        self.weight = np.sqrt(ranks / 100.0)
        self.weight[: vocab.function_words] = 0.0
        self.sections = _unit(rng.standard_normal((len(SECTIONS), dim)))
        self.common = _unit(rng.standard_normal(dim))
        self.name_vector = lru_cache(maxsize=65536)(self._name_vector)

    def _name_vector(self, name: str) -> np.ndarray:
        return _hashed(name, self.dim)

    def vector(self, text: str) -> np.ndarray:
        rank = self.vocab.rank
        ranks: list[int] = []
        names: Counter[str] = Counter()
        tokens = _TOKEN.findall(text)
        for token in tokens:
            r = rank.get(token)
            if r is None:
                r = rank.get(token.lower())
            if r is not None:
                ranks.append(r)
            elif token[0].isupper():
                names[token] += 1
        if names:
            centre = sum(np.log1p(c) * self.name_vector(n) for n, c in names.items())
            centre = NAMES_WEIGHT * _unit(centre)
        else:
            centre = NAMES_WEIGHT * _hashed(text, self.dim)
        idx = np.asarray(ranks, dtype=np.int64)
        owned = self.vocab.section_of[idx]
        owned = owned[owned >= 0]
        if len(owned):
            centre = centre + SECTION_WEIGHT * self.sections[int(np.bincount(owned).argmax())]
        centre = _unit(centre + GLOBAL_WEIGHT * self.common)
        rest = self.weight[idx] @ self.word_vectors[idx] if len(idx) else np.zeros(self.dim)
        rest = rest - (rest @ centre) * centre
        if not np.any(rest):
            rest = _hashed(text + "\0", self.dim)
            rest = rest - (rest @ centre) * centre
        rest = _unit(rest)
        density = sum(names.values()) / max(1, len(tokens))
        share = np.clip((density - DENSITY[0]) / (DENSITY[1] - DENSITY[0]), 0.0, 1.0)
        cos = CENTRE_COS[0] + (CENTRE_COS[1] - CENTRE_COS[0]) * share
        return (cos * centre + np.sqrt(1 - cos * cos) * rest).astype(np.float32)


def _hashed(key: str, dim: int) -> np.ndarray:
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    rng = np.random.default_rng(int.from_bytes(digest, "little"))
    return _unit(rng.standard_normal(dim))


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm == 0, 1.0, norm)

"""Online story clustering: each new article joins the most similar recent story or starts one.

Works over the Store contract only. The clustering state of the stories active around the
articles being placed is kept in memory and caught up with the database at the start of each
write transaction (only stories changed after the generation it reflects are re-read), so
two processes writing one database never overwrite each other's story sizes or centroids.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from .index.vectors import EPOCH_KEY
from .store import Store, StoryState, Transaction

DAY = 86400.0
NAMES_KEPT = 64  # per story: the most frequent names of its members
NAME_BASELINE = 0.3  # name overlap that neither helps nor hurts
# above this many active stories, score only the stories of the article's nearest neighbours
# (plus the stories this process touched lately) instead of every active story
EXACT_LIMIT = 4096
NEIGHBOURS = 64
NAME_SCORED = 64  # stories whose names are compared with an article's, closest first
MERGE_CHECKED = 4  # after a join: the runner-up stories checked for a merge
# What a text says about its story depends on its length. Two headlines of one event share
# few words and their embeddings are noisy (same-story headline pairs have a median cosine
# near 0.45), so a headline joins a story at `short_text_margin` below the threshold; full
# texts share far more words, different events' included (two evacuation reports read alike
# for paragraphs), so merging on full text asks for FULL_TEXT_MERGE_MARGIN more. Both scale
# with the body's length up to FULL_TEXT_WORDS words (a feed summary sits in between).
FULL_TEXT_WORDS = 50
FULL_TEXT_MERGE_MARGIN = 0.15
NAME = re.compile(r"\b[A-Z][\w'’-]{2,}")
COMMON_CAPITALS = frozenset(
    """The This That These Those There They Their Then When What Where Which While Who Why How
    With From After Before About Above Below Into Over Under Officials Police Also Both But
    And For Our Its His Her Not Now New Yes One Two Three Four Five Six Seven Eight Nine Ten
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
    June July August September October November December Mr Mrs Ms Dr Updated Read More""".split()
)

# (vector, tx) -> ids of stories holding the vector's nearest articles
Candidates = Callable[[np.ndarray, Transaction], set[int]]


def salient_names(title: str, text: str, chars: int = 1500) -> Counter[str]:
    """Capitalised words of the headline and the opening (places, people, organisations —
    roughly): cheap evidence of *which* event an article is about, where the embedding
    mostly says what *kind* of event it is (two evacuations, two rescues)."""
    return Counter(
        word for word in NAME.findall(f"{title}\n{text[:chars]}") if word not in COMMON_CAPITALS
    )


class StoryClusterer:
    """Single-pass clustering against story centroids.

    A story keeps the sum of its members' unit vectors and a tally of the names they
    mention. An article's score for a story is the cosine similarity to the centroid plus
    `name_weight` × (share of the article's names the story already mentions − 0.3); it
    joins the best story active within `window_days` of its date if the score clears
    `threshold`, else it starts a story.

    Single-pass clustering makes fragments: an event's first reports can be far apart (two
    angles, two headlines), each starting a story, before later articles bridge them. So
    after an article joins a story, the runner-up stories for that article are compared
    with the grown story; one that scores `merge_threshold` against it (centroid cosine plus
    the name term, as for joining; more for full texts) is absorbed — the larger story keeps
    its id; 0 turns merging off.
    """

    def __init__(
        self,
        store: Store,
        threshold: float,
        window_days: float,
        name_weight: float = 0.3,
        candidates: Candidates | None = None,
        merge_threshold: float = 0.0,
        short_text_margin: float = 0.0,
    ):
        self.store = store
        self.threshold = threshold
        self.short_text_margin = short_text_margin
        self.merge_threshold = merge_threshold
        self.window = window_days * DAY
        self.name_weight = name_weight
        self.candidates = candidates
        self.invalidate()

    # -- in-memory state ---------------------------------------------------------------

    def invalidate(self) -> None:
        """Forget the in-memory state (after a rolled-back write)."""
        self.epoch: str | None = None
        self.generation = -1
        self.loaded_from = float("inf")  # every story with last_seen >= this is in memory
        self.ids: list[int] = []
        self.pos: dict[int, int] = {}
        self.labels: list[str] = []
        self.names: list[Counter[str]] = []
        self.first = np.zeros(0, dtype=np.float64)
        self.last = np.zeros(0, dtype=np.float64)
        self.label_time = np.zeros(0, dtype=np.float64)
        self.sizes = np.zeros(0, dtype=np.int64)
        self.norms = np.zeros(0, dtype=np.float32)
        self._sums: np.ndarray | None = None
        self.touched: set[int] = set()

    def _grow(self, dim: int) -> None:
        n = len(self.ids)
        if self._sums is None:
            self._sums = np.zeros((max(16, n), dim), dtype=np.float32)
        elif n > len(self._sums):
            grown = np.zeros((max(2 * len(self._sums), n), dim), dtype=np.float32)
            grown[: len(self._sums)] = self._sums
            self._sums = grown
        if n > len(self.first):  # doubling: loading a window's stories one by one is linear
            size = max(16, 2 * len(self.first), n)

            def grown(a: np.ndarray) -> np.ndarray:
                out = np.zeros(size, dtype=a.dtype)
                out[: len(a)] = a
                return out

            self.first, self.last, self.label_time = (
                grown(self.first), grown(self.last), grown(self.label_time)
            )
            self.sizes, self.norms = grown(self.sizes), grown(self.norms)

    def _put(self, state: StoryState) -> None:
        """Insert or replace one story's state."""
        if state.merged_into is not None:
            if state.id in self.pos:
                self._retire(self.pos[state.id])
            return
        if state.centroid is None:
            return
        i = self.pos.get(state.id)
        if i is None:
            i = len(self.ids)
            self.pos[state.id] = i
            self.ids.append(state.id)
            self.labels.append(state.label)
            self.names.append(Counter(state.names))
            self._grow(len(state.centroid))
        else:
            self.labels[i] = state.label
            self.names[i] = Counter(state.names)
        self._sums[i] = state.centroid
        self.norms[i] = max(float(np.linalg.norm(state.centroid)), 1e-9)
        self.first[i] = _ts(state.first_seen)
        self.last[i] = _ts(state.last_seen)
        self.label_time[i] = _ts(state.label_time or state.first_seen)
        self.sizes[i] = state.size

    def prepare(self, tx: Transaction, times: list[float]) -> None:
        """Make the in-memory state current for placing articles dated `times`, inside the
        write transaction `tx`: catch up with stories other writers changed, and load the
        stories active around these dates if they are not in memory yet."""
        epoch = self.store.get_meta(EPOCH_KEY, tx)
        if epoch != self.epoch:  # re-embedded with another model: every centroid changed
            self.invalidate()
            self.epoch = epoch
        if self.generation >= 0 and self.generation != tx.previous:
            for state in self.store.story_states(tx, since=self.generation):
                self._put(state)
        self.generation = tx.previous
        if times:
            wanted = min(times) - self.window
            if wanted < self.loaded_from:
                # only the stories not in memory yet: last seen in [wanted, loaded_from)
                before = None if self.loaded_from == float("inf") else _dt(self.loaded_from)
                for state in self.store.story_states(
                    tx, active_from=_dt(wanted), seen_before=before
                ):
                    self._put(state)
                self.loaded_from = wanted

    def committed(self, tx: Transaction) -> None:
        """The transaction that placed articles committed: memory reflects its generation."""
        self.generation = tx.generation

    def _retire(self, i: int) -> None:
        """Story row `i` was absorbed: it is never active again."""
        self.sizes[i] = 0
        self.first[i], self.last[i] = np.inf, -np.inf
        self.touched.discard(self.ids[i])

    # -- placing -----------------------------------------------------------------------

    def _best(
        self, vector: np.ndarray, t: float, names: Counter[str], tx: Transaction,
        threshold: float,
    ) -> tuple[int, float]:
        n = len(self.ids)
        empty = np.zeros(0, dtype=np.int64)
        if not n:
            return empty, np.zeros(0)
        lo, hi = t - self.window, t + self.window
        active = np.nonzero((self.last[:n] >= lo) & (self.first[:n] <= hi))[0]
        if len(active) > EXACT_LIMIT and self.candidates is not None:
            near = self.candidates(vector, tx) | self.touched
            rows = np.array(sorted(self.pos[s] for s in near if s in self.pos), dtype=np.int64)
            keep = (self.last[rows] >= lo) & (self.first[rows] <= hi)
            active = rows[keep] if len(rows) else rows
        if not len(active):
            return empty, np.zeros(0)
        if len(active) * 4 >= n:  # most of memory is active: one product, no copy
            scores = (self._sums[:n] @ vector)[active] / self.norms[active]
        else:
            scores = (self._sums[active] @ vector) / self.norms[active]
        if names and self.name_weight:
            # names can lift a story by at most weight × (1 − baseline): only score those,
            # and of those only the closest by meaning (a story far down that list cannot
            # be lifted past the ones above it in practice, and scoring is per story)
            reachable = np.nonzero(
                scores + self.name_weight * (1 - NAME_BASELINE) >= threshold
            )[0]
            if len(reachable) > NAME_SCORED:
                top = np.argpartition(-scores[reachable], NAME_SCORED)[:NAME_SCORED]
                reachable = reachable[top]
            keys = list(names)
            for j in reachable:
                story_names = self.names[active[j]]
                overlap = sum(1 for k in keys if k in story_names) / len(keys)
                scores[j] += self.name_weight * (overlap - NAME_BASELINE)
        return active, scores

    def _merge_runners_up(
        self, best: int, active: np.ndarray, scores: np.ndarray, fullness: float, tx
    ) -> int:
        """Absorb the runner-up stories whose centroid is now close to story row `best`'s;
        returns the row of the story that holds them all."""
        if self.merge_threshold <= 0 or len(active) < 2:
            return best
        needed = self.merge_threshold + FULL_TEXT_MERGE_MARGIN * fullness
        order = np.argsort(-scores, kind="stable")[: MERGE_CHECKED + 1]
        for j in order:
            other = int(active[j])
            if other == best or self.sizes[other] == 0:
                continue
            cosine = float(self._sums[best] @ self._sums[other]) / (
                self.norms[best] * self.norms[other]
            )
            if cosine + self.name_weight * (1 - NAME_BASELINE) < needed:
                continue
            overlap = _name_overlap(self.names[best], self.names[other])
            if cosine + self.name_weight * (overlap - NAME_BASELINE) < needed:
                continue
            keep, gone = best, other
            if (self.sizes[gone], -self.ids[gone]) > (self.sizes[keep], -self.ids[keep]):
                keep, gone = gone, keep
            self._sums[keep] += self._sums[gone]
            self.sizes[keep] += self.sizes[gone]
            self.first[keep] = min(self.first[keep], self.first[gone])
            self.last[keep] = max(self.last[keep], self.last[gone])
            self.names[keep].update(self.names[gone])
            if self.label_time[gone] < self.label_time[keep]:
                self.labels[keep], self.label_time[keep] = self.labels[gone], self.label_time[gone]
            self.norms[keep] = max(float(np.linalg.norm(self._sums[keep])), 1e-9)
            self.store.merge_story(tx, self.ids[gone], self.ids[keep])
            self._retire(gone)
            best = keep
        return best

    def assign(
        self, tx: Transaction, vector: np.ndarray, when: datetime, title: str, text: str = ""
    ) -> int:
        """Place one article; writes the story row through the open transaction `tx`."""
        t = when.timestamp()
        if t - self.window < self.loaded_from:
            self.prepare(tx, [t])
        names = salient_names(title, text)
        fullness = _fullness(text)
        threshold = self.threshold - self.short_text_margin * (1.0 - fullness)
        active, scores = self._best(vector, t, names, tx, threshold)
        pick = int(np.argmax(scores)) if len(scores) else -1
        if pick >= 0 and scores[pick] >= threshold:
            best = int(active[pick])
            self._sums[best] += vector
            self.sizes[best] += 1
            self.first[best] = min(self.first[best], t)
            self.last[best] = max(self.last[best], t)
            self.names[best].update(names)
            if t < self.label_time[best] and title:
                # the label is the headline of the earliest report
                self.labels[best] = title
                self.label_time[best] = t
            self.norms[best] = max(float(np.linalg.norm(self._sums[best])), 1e-9)
            best = self._merge_runners_up(best, active, scores, fullness, tx)
        else:
            story_id = self.store.create_story(tx, title, when)
            self._put(
                StoryState(story_id, title, when, when, 1, np.asarray(vector, np.float32),
                           dict(names), when)
            )
            best = self.pos[story_id]
        self.norms[best] = max(float(np.linalg.norm(self._sums[best])), 1e-9)
        kept = dict(self.names[best].most_common(NAMES_KEPT))
        self.names[best] = Counter(kept)
        story_id = self.ids[best]
        self.touched.add(story_id)
        if len(self.touched) > 4 * NEIGHBOURS:
            self.touched = {story_id}
        self.store.save_story(
            tx,
            StoryState(
                id=story_id,
                label=self.labels[best],
                first_seen=_dt(self.first[best]),
                last_seen=_dt(self.last[best]),
                size=int(self.sizes[best]),
                centroid=self._sums[best],
                names=kept,
                label_time=_dt(self.label_time[best]),
            ),
        )
        return story_id


def _fullness(text: str) -> float:
    """0 for a headline alone, rising with the body's words to 1 at FULL_TEXT_WORDS."""
    return min(len(text.split(None, FULL_TEXT_WORDS)), FULL_TEXT_WORDS) / FULL_TEXT_WORDS


def _name_overlap(a: Counter[str], b: Counter[str]) -> float:
    """Share of the mentions in the story with fewer mentions whose name the other story
    also mentions (1.0 when neither has names: nothing to tell them apart by)."""
    small, large = (a, b) if sum(a.values()) <= sum(b.values()) else (b, a)
    total = sum(small.values())
    if not total:
        return 1.0 if not large else NAME_BASELINE
    return sum(n for name, n in small.items() if name in large) / total


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value else 0.0


def _dt(ts: float) -> datetime:
    try:
        return datetime.fromtimestamp(ts, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=max(ts, 0))

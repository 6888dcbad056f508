"""Online story clustering: each new article joins the most similar recent story or starts one."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from datetime import UTC, datetime

import numpy as np

from .store.sqlite import blob_to_vector, from_iso

DAY = 86400.0
NAMES_KEPT = 64  # per story: the most frequent names of its members
NAME_BASELINE = 0.3  # name overlap that neither helps nor hurts
_NAME = re.compile(r"\b[A-Z][\w'’-]{2,}")
_COMMON_CAPITALS = frozenset(
    """The This That These Those There They Their Then When What Where Which While Who Why How
    With From After Before About Above Below Into Over Under Officials Police Also Both But
    And For Our Its His Her Not Now New Yes One Two Three Four Five Six Seven Eight Nine Ten
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
    June July August September October November December Mr Mrs Ms Dr Updated Read More""".split()
)


def salient_names(title: str, text: str, chars: int = 1500) -> Counter[str]:
    """Capitalised words of the headline and the opening (places, people, organisations —
    roughly): cheap evidence of *which* event an article is about, where the embedding
    mostly says what *kind* of event it is (two evacuations, two rescues)."""
    return Counter(
        word for word in _NAME.findall(f"{title}\n{text[:chars]}")
        if word not in _COMMON_CAPITALS
    )


class StoryClusterer:
    """Single-pass clustering against story centroids.

    A story keeps the sum of its members' unit vectors and a tally of the names they
    mention. An article's score for a story is the cosine similarity to the centroid plus
    `name_weight` × (share of the article's names the story already mentions − 0.3); it
    joins the best story active within `window_days` of its date if the score clears
    `threshold`, else it starts a story. The state lives in the database (stories.centroid,
    stories.names); this class keeps it in memory for speed.
    """

    def __init__(self, store, threshold: float, window_days: float, name_weight: float = 0.3):
        self.store = store
        self.threshold = threshold
        self.window = window_days * DAY
        self.name_weight = name_weight
        self._loaded = False

    def invalidate(self) -> None:
        """Forget the in-memory copy (after a rolled-back write or another process's write)."""
        self._loaded = False

    def _load(self) -> None:
        rows = self.store.story_rows()
        self.ids: list[int] = [row["id"] for row in rows]
        self.labels: list[str] = [row["label"] for row in rows]
        self.names: list[Counter[str]] = [Counter(json.loads(row["names"] or "{}")) for row in rows]
        self.first = np.array([_ts(row["first_seen"]) for row in rows], dtype=np.float64)
        self.last = np.array([_ts(row["last_seen"]) for row in rows], dtype=np.float64)
        self.sizes = np.array([row["size"] for row in rows], dtype=np.int64)
        self.label_time = self.first.copy()
        # centroid sums in a matrix with spare rows, so adding a story is amortised O(1)
        vectors = [blob_to_vector(row["centroid"]) for row in rows]
        self._sums = np.vstack(vectors).astype(np.float32) if vectors else None
        self._loaded = True

    @property
    def sums(self) -> np.ndarray | None:
        return None if self._sums is None else self._sums[: len(self.ids)]

    def _append_sum(self, vector: np.ndarray) -> None:
        n = len(self.ids)
        if self._sums is None:
            self._sums = np.zeros((16, len(vector)), dtype=np.float32)
        elif n > len(self._sums):
            grown = np.zeros((2 * len(self._sums), self._sums.shape[1]), dtype=np.float32)
            grown[: len(self._sums)] = self._sums
            self._sums = grown
        self._sums[n - 1] = vector

    def _best(self, vector: np.ndarray, t: float, names: Counter[str]) -> tuple[int, float]:
        sums = self.sums
        if sums is None or not len(self.ids):
            return -1, -1.0
        active = np.nonzero((self.last >= t - self.window) & (self.first <= t + self.window))[0]
        if not len(active):
            return -1, -1.0
        scores = (sums[active] @ vector) / np.maximum(np.linalg.norm(sums[active], axis=1), 1e-9)
        if names and self.name_weight:
            # names can lift a story by at most weight × (1 − baseline): only score those
            reachable = np.nonzero(scores + self.name_weight * (1 - NAME_BASELINE)
                                   >= self.threshold)[0]
            keys = list(names)
            for j in reachable:
                story_names = self.names[active[j]]
                overlap = sum(1 for k in keys if k in story_names) / len(keys)
                scores[j] += self.name_weight * (overlap - NAME_BASELINE)
        pick = int(np.argmax(scores))
        return int(active[pick]), float(scores[pick])

    def assign(
        self, db: sqlite3.Connection, vector: np.ndarray, when: datetime, title: str,
        text: str = "",
    ) -> int:
        """Place one article; writes the story row through `db` (the open transaction)."""
        if not self._loaded:
            self._load()
        t = when.timestamp()
        names = salient_names(title, text)
        best, score = self._best(vector, t, names)
        if best >= 0 and score >= self.threshold:
            self._sums[best] += vector
            self.sizes[best] += 1
            self.first[best] = min(self.first[best], t)
            self.last[best] = max(self.last[best], t)
            self.names[best].update(names)
            if t < self.label_time[best] and title:
                # the label is the headline of the earliest report
                self.labels[best] = title
                self.label_time[best] = t
        else:
            story_id = self.store.create_story(db, title, when)
            self.ids.append(story_id)
            self.labels.append(title)
            self.names.append(Counter(names))
            self.first = np.append(self.first, t)
            self.last = np.append(self.last, t)
            self.label_time = np.append(self.label_time, t)
            self.sizes = np.append(self.sizes, 1)
            self._append_sum(vector)
            best = len(self.ids) - 1
        kept = dict(self.names[best].most_common(NAMES_KEPT))
        self.names[best] = Counter(kept)
        self.store.save_story(
            db,
            self.ids[best],
            self.labels[best],
            _dt(self.first[best]),
            _dt(self.last[best]),
            int(self.sizes[best]),
            self._sums[best],
            json.dumps(kept, ensure_ascii=False),
        )
        return self.ids[best]


def _ts(value: str | None) -> float:
    parsed = from_iso(value)
    return parsed.timestamp() if parsed else 0.0


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)

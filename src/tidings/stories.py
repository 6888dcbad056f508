"""Online story clustering: each new article joins the most similar recent story or starts one."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import numpy as np

from .store.sqlite import blob_to_vector, from_iso

DAY = 86400.0


class StoryClusterer:
    """Single-pass clustering against story centroids.

    A story keeps the sum of its members' unit vectors; an article joins the story whose
    centroid direction is closest, if the cosine similarity clears `threshold` and the story
    was active within `window_days` of the article's date. The state lives in the database
    (stories.centroid); this class keeps a matrix of it in memory for speed.
    """

    def __init__(self, store, threshold: float, window_days: float):
        self.store = store
        self.threshold = threshold
        self.window = window_days * DAY
        self._loaded = False

    def invalidate(self) -> None:
        """Forget the in-memory copy (after a rolled-back write or another process's write)."""
        self._loaded = False

    def _load(self) -> None:
        rows = self.store.story_rows()
        self.ids: list[int] = [row["id"] for row in rows]
        self.labels: list[str] = [row["label"] for row in rows]
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

    def assign(self, db: sqlite3.Connection, vector: np.ndarray, when: datetime, title: str) -> int:
        """Place one article; writes the story row through `db` (the open transaction)."""
        if not self._loaded:
            self._load()
        t = when.timestamp()
        best, best_sim = -1, -1.0
        if self.sums is not None and len(self.ids):
            active = np.nonzero((self.last >= t - self.window) & (self.first <= t + self.window))[0]
            if len(active):
                sums = self.sums[active]
                sims = (sums @ vector) / np.maximum(np.linalg.norm(sums, axis=1), 1e-9)
                pick = int(np.argmax(sims))
                best, best_sim = int(active[pick]), float(sims[pick])
        if best >= 0 and best_sim >= self.threshold:
            self._sums[best] += vector
            self.sizes[best] += 1
            self.first[best] = min(self.first[best], t)
            self.last[best] = max(self.last[best], t)
            if t < self.label_time[best] and title:
                # the label is the headline of the earliest report
                self.labels[best] = title
                self.label_time[best] = t
        else:
            story_id = self.store.create_story(db, title, when)
            self.ids.append(story_id)
            self.labels.append(title)
            self.first = np.append(self.first, t)
            self.last = np.append(self.last, t)
            self.label_time = np.append(self.label_time, t)
            self.sizes = np.append(self.sizes, 1)
            self._append_sum(vector)
            best = len(self.ids) - 1
        self.store.save_story(
            db,
            self.ids[best],
            self.labels[best],
            _dt(self.first[best]),
            _dt(self.last[best]),
            int(self.sizes[best]),
            self._sums[best],
        )
        return self.ids[best]


def _ts(value: str | None) -> float:
    parsed = from_iso(value)
    return parsed.timestamp() if parsed else 0.0


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)

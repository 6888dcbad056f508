"""In-process rate limits: at most `limit` events per key in a sliding `window` of seconds."""

from __future__ import annotations

import threading
import time
from collections import deque

MAX_KEYS = 100_000  # bounded memory under a flood of distinct keys


class RateLimited(Exception):
    """Too many attempts; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= MAX_KEYS:
                self._prune(now)
            events = self._events[key] = deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
            del self._events[key]
        if len(self._events) >= MAX_KEYS:  # all busy: forget the oldest half
            for key in list(self._events)[: MAX_KEYS // 2]:
                del self._events[key]

    def retry_after(self, key: str) -> float:
        """0 when an event for `key` is allowed now, else seconds until one is."""
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            if len(events) < self.limit:
                return 0.0
            return max(events[0] + self.window - now, 0.001)

    def hit(self, key: str) -> None:
        """Count one event for `key`; RateLimited (not counted) when over the limit."""
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            if len(events) >= self.limit:
                raise RateLimited("too many attempts", events[0] + self.window - now)
            events.append(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

"""When to check a feed next: posting rate, cache hints, <ttl>, Retry-After; error backoff."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

UNKNOWN_RATE = 3600.0  # a feed without dates is checked hourly (within the bounds)
RATE_SAMPLE = 20  # newest entries the posting rate is taken from

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*\"?(\d+)", re.I)


def http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date)."""
    value = _header(headers, "retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = http_date(value)
    return max(0.0, (when - now).total_seconds()) if when else None


def cache_hint(headers: Mapping[str, str], now: datetime) -> float | None:
    """How long the server says the response stays fresh: Cache-Control max-age, else
    Expires (against the server's Date)."""
    control = _header(headers, "cache-control") or ""
    if re.search(r"\b(no-cache|no-store)\b", control, re.I):
        return 0.0
    match = _MAX_AGE.search(control)
    if match:
        return float(match.group(1))
    expires = http_date(_header(headers, "expires"))
    if expires is None:
        return None
    date = http_date(_header(headers, "date")) or now
    return max(0.0, (expires - date).total_seconds())


def posting_interval(published: Sequence[datetime], now: datetime) -> float | None:
    """Mean gap between the newest entries, and at least the time since the newest one:
    a feed that went quiet is asked less often."""
    dates = sorted((d for d in published if d is not None and d <= now), reverse=True)
    dates = dates[:RATE_SAMPLE]
    if len(dates) < 2:
        return None
    gap = (dates[0] - dates[-1]).total_seconds() / (len(dates) - 1)
    quiet = (now - dates[0]).total_seconds()
    return max(gap, min(quiet, gap * 4))


def next_interval(
    *,
    headers: Mapping[str, str],
    ttl_minutes: int | None,
    published: Sequence[datetime],
    now: datetime,
    minimum: float,
    maximum: float,
) -> float:
    """Seconds until the next check of a feed that answered. The posting rate sets the
    pace; the server's own hints (max-age, Expires, <ttl>, Retry-After) are floors it
    asked for; the result is kept within [minimum, maximum]."""
    interval = posting_interval(published, now) or UNKNOWN_RATE
    for hint in (
        cache_hint(headers, now),
        ttl_minutes * 60.0 if ttl_minutes else None,
        retry_after(headers, now),
    ):
        if hint is not None:
            interval = max(interval, hint)
    return bound(interval, minimum, maximum)


def backoff(
    errors: int,
    *,
    minimum: float,
    maximum: float,
    requested: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next try after `errors` consecutive failures: doubling from the
    minimum, ±20 % jitter so feeds failing together do not retry together, never before a
    server's Retry-After, at most the maximum: a long-dead feed is tried exactly once a
    maximum interval (a day by default)."""
    rng = rng or random
    base = minimum * 2 ** min(max(0, errors - 1), 60)
    delay = base * rng.uniform(0.8, 1.2)
    if requested is not None:
        delay = max(delay, requested)
    return bound(delay, minimum, maximum)


def bound(seconds: float, minimum: float, maximum: float) -> float:
    return max(minimum, min(maximum, seconds))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None

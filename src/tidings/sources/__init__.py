"""Where pages come from: polite HTTP, feeds, OPML and local files."""

from tidings.sources.files import Failure, LocalItem, iter_local
from tidings.sources.http import Fetcher, FetchError, FetchResult

__all__ = [
    "FetchError",
    "FetchResult",
    "Failure",
    "Fetcher",
    "LocalItem",
    "iter_local",
]

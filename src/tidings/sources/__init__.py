"""Where pages come from: polite HTTP, feeds, OPML and local files."""

from tidings.sources.feeds import FeedError, discover_feeds, looks_like_feed, parse_feed
from tidings.sources.files import Failure, LocalItem, iter_local
from tidings.sources.http import Fetcher, FetchError, FetchResult
from tidings.sources.opml import OpmlError, parse_opml, write_opml

__all__ = [
    "Failure",
    "FeedError",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "LocalItem",
    "OpmlError",
    "discover_feeds",
    "iter_local",
    "looks_like_feed",
    "parse_feed",
    "parse_opml",
    "write_opml",
]

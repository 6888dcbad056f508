"""Where pages come from: polite HTTP, feeds, OPML, subscriptions, the poller, files, WARC."""

from tidings.sources.feeds import FeedError, discover_feeds, looks_like_feed, parse_feed
from tidings.sources.files import Failure, Ignored, LocalItem, Note, iter_local
from tidings.sources.http import Fetcher, FetchError, FetchResult
from tidings.sources.opml import OpmlError, Outline, parse_opml, parse_opml_outlines, write_opml
from tidings.sources.poller import Poller, PollingThread, PollReport
from tidings.sources.subscriptions import Subscriptions, discover

__all__ = [
    "Failure",
    "FeedError",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "Ignored",
    "LocalItem",
    "Note",
    "OpmlError",
    "Outline",
    "PollReport",
    "Poller",
    "PollingThread",
    "Subscriptions",
    "discover",
    "discover_feeds",
    "iter_local",
    "looks_like_feed",
    "parse_feed",
    "parse_opml",
    "parse_opml_outlines",
    "write_opml",
]

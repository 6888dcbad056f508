"""Where pages come from: polite HTTP, feeds, OPML and local files."""

from tidings.sources.files import Failure, LocalItem, iter_local

__all__ = sorted(["Failure", "LocalItem", "iter_local"])

"""Tidings: a self-hosted semantic news aggregator.

>>> import tidings
>>> article = tidings.extract(html, url="https://example.com/story")
>>> with tidings.Engine() as engine:
...     engine.ingest(["feed-or-page-url", "pages/"])
...     hits = engine.search("ferry aground", mode="hybrid")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Article",
    "Engine",
    "Entry",
    "Feed",
    "Hit",
    "IngestResult",
    "Page",
    "Settings",
    "Story",
    "__version__",
    "extract",
]

# imported eagerly on purpose: the submodule `tidings.extract` would otherwise replace the
# function of the same name on this package the first time anything imports it
from .extract import extract
from .models import Article, Entry, Feed, Hit, IngestResult, Page, Story
from .settings import Settings

if TYPE_CHECKING:
    from .engine import Engine


def __getattr__(name: str) -> Any:
    # the engine pulls in numpy, usearch and the embedder; import it only when asked for
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(f"module 'tidings' has no attribute {name!r}")

"""Plain data types that flow between the pipeline stages; no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


@dataclass
class Page:
    """Raw bytes of one fetched or read document, before extraction."""

    url: str
    content: bytes
    final_url: str | None = None  # after redirects
    content_type: str | None = None
    fetched: datetime | None = None
    source: str | None = None  # outlet / feed title this page was found through
    hints: dict[str, Any] = field(default_factory=dict)  # feed entry title, date, author …


@dataclass
class Entry:
    """One item of a feed, normalised across RSS, Atom and JSON Feed."""

    url: str
    title: str = ""
    published: datetime | None = None
    author: str | None = None
    summary: str | None = None
    guid: str | None = None
    content: str | None = None  # full text the feed carries (content:encoded, Atom content)


@dataclass
class Feed:
    """A parsed feed: its own metadata and its entries."""

    url: str
    title: str = ""
    site_url: str | None = None
    entries: list[Entry] = field(default_factory=list)
    icon_url: str | None = None
    ttl_minutes: int | None = None  # RSS <ttl>: how long the feed may be cached


@dataclass
class Article:
    """One article: extracted text and metadata, plus its place in the database."""

    url: str
    title: str = ""
    text: str = ""
    canonical_url: str | None = None
    source: str | None = None  # outlet name as shown to readers
    author: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    fetched: datetime | None = None
    language: str | None = None
    excerpt: str | None = None
    site_name: str | None = None
    image: str | None = None
    # "article" for real articles; extract may also say "index", "paywall", "error", "empty"
    kind: str = "article"
    # stored from its feed entry's own title and summary because the page could not be read;
    # upgraded in place when the page is fetched later
    partial: bool = False
    # set by the store / pipeline
    id: int | None = None
    content_hash: str | None = None
    duplicate_of: int | None = None
    story_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out


@dataclass
class Story:
    """A group of articles about the same event."""

    id: int
    label: str
    first_seen: datetime | None
    last_seen: datetime | None
    size: int
    articles: list[Article] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "size": self.size,
            "articles": [a.to_dict() for a in self.articles],
        }


@dataclass
class Hit:
    """One search or related result."""

    article: Article
    score: float
    same_story: bool = False
    also_published_by: list[str] = field(default_factory=list)
    shared: list[str] = field(default_factory=list)  # related: names both articles mention

    def to_dict(self) -> dict[str, Any]:
        data = self.article.to_dict()
        data.pop("text", None)
        return {
            **data,
            "score": round(self.score, 6),
            "same_story": self.same_story,
            "also_published_by": self.also_published_by,
            "shared": self.shared,
        }


class Problem(NamedTuple):
    """One input that was not stored, and why."""

    item: str
    reason: str


@dataclass
class IngestResult:
    """Summary of one ingest run. `skipped` are readable inputs that are not articles (an
    index page, a paywall stub); `failed` are inputs that could not be read or stored."""

    new: int = 0
    duplicate: int = 0  # stored, folded into an earlier article
    unchanged: int = 0  # already in the database (idempotent re-run)
    skipped: list[Problem] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # stored, but something was dropped
    ignored: dict[str, int] = field(default_factory=dict)  # counted by kind, e.g. WARC revisits

    def to_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "duplicate": self.duplicate,
            "unchanged": self.unchanged,
            "skipped": [p._asdict() for p in self.skipped],
            "failed": [p._asdict() for p in self.failed],
            "notes": [p._asdict() for p in self.notes],
            "ignored": dict(self.ignored),
        }


@dataclass
class Account:
    """A person who signs in: an admin (moderates, manages feeds and accounts) or a reader."""

    id: int
    name: str
    role: str  # "admin" | "reader"
    created: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass
class Comment:
    """One comment on an article, stored as typed (plain text) and rendered escaped."""

    article_id: int
    author: str
    body: str
    status: str = "pending"  # "pending" | "approved" | "rejected"
    parent_id: int | None = None
    account_id: int | None = None
    id: int | None = None
    created: datetime | None = None
    replies: list[Comment] = field(default_factory=list)

"""Typed response models of the REST API: the OpenAPI schema documents every field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from .. import models

# Dates go out exactly as the API always wrote them (datetime.isoformat(): "+00:00", where
# pydantic would write "Z"), and are documented as RFC 3339 date-times.
IsoDatetime = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class _Response(BaseModel):
    # every field is always sent, defaults included: the schema says so
    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )


class ArticleSummary(_Response):
    """An article without its text, as lists, copies and story timelines show it."""

    id: int
    url: str
    canonical_url: str | None = None
    title: str = ""
    source: str | None = Field(None, description="Outlet name as shown to readers.")
    author: str | None = None
    published: IsoDatetime | None = None
    modified: IsoDatetime | None = None
    fetched: IsoDatetime | None = None
    language: str | None = None
    excerpt: str | None = None
    site_name: str | None = None
    image: str | None = None
    kind: str = "article"
    content_hash: str | None = None
    duplicate_of: int | None = Field(
        None, description="The original this article is a copy of; null for an original."
    )
    story_id: int | None = None
    partial: bool = Field(
        False,
        description="Stored from its feed entry's title and summary (the page could not be "
        "read); replaced by the full article when the page is fetched later.",
    )


class ArticleDetail(ArticleSummary):
    """One article with its full text and the copies other outlets published."""

    text: str
    copies: list[ArticleSummary]
    also_published_by: list[str] = Field(description="Outlets of the copies, sorted.")

    @classmethod
    def of(cls, original: models.Article, copies: list[models.Article]) -> ArticleDetail:
        return cls.model_validate(
            {
                **_fields(original),
                "copies": [ArticleSummary.model_validate(c) for c in copies],
                "also_published_by": sorted({c.source for c in copies if c.source}),
            }
        )


class Hit(ArticleSummary):
    """A search or related result: the original article and how it ranked."""

    score: float = Field(description="Rank score; higher is better, scale depends on mode.")
    same_story: bool = Field(
        description="Related results: in the story of the article asked about; search: false."
    )
    also_published_by: list[str] = Field(description="Outlets that published copies.")
    shared: list[str] = Field(
        description="Related results: names (people, places, organisations) both articles "
        "mention in their headline and opening, most mentioned first (at most 3); "
        "search: empty."
    )

    @classmethod
    def of(cls, hit: models.Hit) -> Hit:
        return cls.model_validate(
            {
                **_fields(hit.article),
                "score": round(hit.score, 6),
                "same_story": hit.same_story,
                "also_published_by": hit.also_published_by,
                "shared": hit.shared,
            }
        )


class Story(_Response):
    """A group of articles about one event."""

    id: int
    label: str
    first_seen: IsoDatetime | None
    last_seen: IsoDatetime | None
    size: int = Field(description="Number of original articles in the story.")


class StoryDetail(Story):
    """A story with its original articles in time order."""

    articles: list[ArticleSummary]


class Stats(BaseModel):
    """What the database holds."""

    articles: int = Field(description="Every stored article, copies included.")
    originals: int
    duplicates: int = Field(description="Copies folded into an original.")
    stories: int
    multi_article_stories: int
    model: str | None = Field(description="Embedding model the database was built with.")
    dim: int | None = Field(description="Embedding dimension.")
    vectors_indexed: int


class Feed(_Response):
    """A subscribed feed and its poll state."""

    id: int
    url: str = Field(description="Feed URL (updated when the feed moved permanently).")
    title: str
    category: str | None = None
    site_url: str | None = None
    icon_url: str | None = None
    enabled: bool = Field(description="False once the feed answered 410 Gone.")
    checked_at: IsoDatetime | None = Field(None, description="Last check.")
    next_check: IsoDatetime | None = Field(None, description="Next check; null if disabled.")
    check_interval: float | None = Field(None, description="Seconds between checks now.")
    last_status: int | None = Field(None, description="HTTP status of the last check.")
    error_count: int = Field(description="Consecutive failed checks.")
    last_error: str | None = None
    failing_since: IsoDatetime | None = None
    entries: int = Field(description="Entries of this feed stored as articles.")
    created_at: IsoDatetime


class FeedRequest(BaseModel):
    """A feed (or a site whose feed is discovered) to subscribe to."""

    url: str = Field(max_length=2000, description="Feed URL, or a site URL to discover from.")
    category: str | None = Field(None, max_length=500)
    title: str | None = Field(None, max_length=500)


class Removed(BaseModel):
    """The feed that was unsubscribed (its articles stay)."""

    removed: int


class ImportProblem(BaseModel):
    item: str
    reason: str


class OpmlImport(BaseModel):
    """What an OPML import did; importing the same file again adds nothing."""

    added: int
    existing: int = Field(description="Feeds that were subscribed already.")
    failed: list[ImportProblem]


class Error(BaseModel):
    """Why a request failed."""

    detail: str


class FieldError(BaseModel):
    """One invalid parameter."""

    loc: list[str | int] = Field(description='Where, e.g. ["query", "offset"].')
    msg: str = Field(description="What is wrong, e.g. the bound it passed.")
    type: str = Field(description="Machine-readable kind, e.g. less_than_equal.")
    input: str | None = Field(description="The value sent; null when it was missing.")


class ValidationProblem(BaseModel):
    """Why the parameters of a request are invalid."""

    detail: list[FieldError]


def _fields(article: models.Article) -> dict[str, Any]:
    return dict(vars(article))

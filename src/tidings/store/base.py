"""The Store contract: what every backend (SQLite today, PostgreSQL next) implements.

The database is the source of truth; indexes are derived from it. Every write happens in a
`transaction()`, which bumps the database's *generation*: rows written in it are tagged with
the new generation, so another process can catch up on what changed since the generation it
last saw (new and removed vectors, changed stories) without reading everything again.
Methods that take `tx` read through the open write transaction (they see its own writes);
without it they read the latest committed state.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np

from ..models import Account, Article, Comment, Story


class Outline(NamedTuple):
    """An article's outlet, the original it copies (None for an original) and its date."""

    source: str | None
    duplicate_of: int | None
    published: datetime | None


class Neighbour(NamedTuple):
    """A nearest article by meaning: its id, cosine similarity, outline and vector."""

    id: int
    score: float
    outline: Outline
    vector: np.ndarray | None


class StoreError(RuntimeError):
    """The database cannot be used as asked (bad URL, newer schema, out-of-range value)."""


class Transaction(abc.ABC):
    """An open write transaction. `previous` is the generation before it, `generation` the one
    it commits as."""

    previous: int
    generation: int


@dataclass
class StoryState:
    """What online clustering keeps of a story: the sum of its members' unit vectors and the
    names they mention."""

    id: int
    label: str
    first_seen: datetime
    last_seen: datetime
    size: int
    centroid: np.ndarray | None
    names: dict[str, int]
    label_time: datetime | None = None
    merged_into: int | None = None  # absorbed by that story: no longer a live story


@dataclass
class StreamQuery:
    """Which items a reader-app stream holds (the sync APIs and feeds out read through it).

    An item is an original article (`duplicate_of IS NULL`). It belongs to a feed when the
    original or one of its copies was stored from an entry of that feed. Crawl time is when
    the original was stored. Every given filter must hold; `None` means "any".
    """

    marked: tuple[str, ...] = ()  # the account has set every one of these marks
    unmarked: tuple[str, ...] = ()  # ... and none of these
    feed_ids: Sequence[int] | None = None  # in any of these feeds
    categories: Sequence[str] | None = None  # in a feed of any of these categories
    story_ids: Sequence[int] | None = None  # in any of these stories
    ids: Sequence[int] | None = None  # only these ids (ids of copies match nothing)
    saved_search: int | None = None  # matched by this saved search
    crawled_from: datetime | None = None  # crawl time >= this
    crawled_before: datetime | None = None  # crawl time < this
    after_id: int | None = None  # keyset: id > after_id
    before_id: int | None = None  # keyset: id < before_id
    oldest_first: bool = False  # ascending ids (insertion order) instead of descending
    limit: int = 1000


@dataclass
class StreamItem:
    """One item of a stream: its id, crawl time and feeds (the original's own first)."""

    id: int
    crawled: datetime
    feed_ids: tuple[int, ...] = ()


SUMMARY_FIELDS = (
    "id",
    "url",
    "canonical_url",
    "source",
    "title",
    "author",
    "published",
    "modified",
    "fetched",
    "language",
    "excerpt",
    "site_name",
    "image",
    "content_hash",
    "duplicate_of",
    "story_id",
    "partial",
)


class Store(abc.ABC):
    """The contract every backend implements; one contract test suite runs against each."""

    # True when the database answers vector searches itself (pgvector): the engine then
    # keeps no vector index of its own (see index.open_vector_index)
    searches_vectors = False

    def vector_search(
        self, vector: np.ndarray, limit: int, expansion: int | None = None
    ) -> list[tuple[int, float]]:
        """Nearest originals by cosine similarity (stores with `searches_vectors`)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no vector index")

    def hybrid_search(
        self, query: str, vector: np.ndarray, depth: int, limit: int,
        expansion: int | None = None,
    ) -> list[tuple[int, float]]:
        """Reciprocal-rank fusion of keyword and vector results (stores with
        `searches_vectors`): the same ranking as index.reciprocal_rank_fusion."""
        raise NotImplementedError(f"{type(self).__name__} keeps no vector index")

    def neighbours(
        self, article_id: int, limit: int, dim: int, expansion: int | None = None
    ) -> list[Neighbour] | None:
        """The `limit` nearest articles to a stored one, itself excluded, with outline and
        vector (stores with `searches_vectors`; index.VectorKeeper.neighbours otherwise);
        None when it has no vector of dimension `dim`."""
        raise NotImplementedError(f"{type(self).__name__} keeps no vector index")

    # -- lifecycle ---------------------------------------------------------------------

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """The single write path: everything inside commits together or not at all."""

    @abc.abstractmethod
    def snapshot(self) -> AbstractContextManager[None]:
        """Reads inside see one committed state of the database (none of the commits made
        meanwhile by others), so a catch-up that reads several things reads them coherently."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- meta --------------------------------------------------------------------------

    @abc.abstractmethod
    def get_meta(self, key: str, tx: Transaction | None = None) -> str | None: ...

    @abc.abstractmethod
    def set_meta(self, tx: Transaction, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def generation(self, tx: Transaction | None = None) -> int:
        """The generation of the latest committed write (or of `tx`'s snapshot)."""

    # -- dedupe lookups ----------------------------------------------------------------

    @abc.abstractmethod
    def id_by_url(self, url: str, tx: Transaction | None = None) -> int | None: ...

    @abc.abstractmethod
    def originals_by_url_key(self, url_key: str, tx: Transaction | None = None) -> list[int]:
        """Ids of the originals of articles stored under this URL key (newest first)."""

    @abc.abstractmethod
    def originals_by_hash(self, digest: str, tx: Transaction | None = None) -> list[int]:
        """Ids of the originals of articles with this content hash (newest first: a short
        item only matches one dated close to it)."""

    @abc.abstractmethod
    def bucket_candidates(
        self, buckets: Sequence[int], tx: Transaction | None = None, limit: int = 20
    ) -> list[int]:
        """Articles (originals and copies) sharing the most MinHash LSH buckets with
        `buckets`."""

    @abc.abstractmethod
    def root_of(self, article_id: int, tx: Transaction | None = None) -> int:
        """The original an article is a copy of (itself when it is an original)."""

    # -- article writes ----------------------------------------------------------------

    @abc.abstractmethod
    def insert_article(
        self,
        tx: Transaction,
        article: Article,
        url_key: str,
        buckets: Iterable[int] = (),
        vector: np.ndarray | None = None,
    ) -> int | None:
        """Store one article (with its vector if it is an original); None when its URL is
        already stored (another writer got there first)."""

    @abc.abstractmethod
    def upgrade_article(
        self,
        tx: Transaction,
        article_id: int,
        article: Article,
        buckets: Iterable[int] = (),
        vector: np.ndarray | None = None,
    ) -> str | None:
        """Replace a partial article (stored from its feed entry) with the extracted page, in
        place: same id, copies and story. Its text, keyword index entry, dedupe buckets and
        (for an original) vector change. Returns "original" or "copy" (the vector is only
        stored for an original), or None when it is gone or no longer partial."""

    @abc.abstractmethod
    def demote(self, tx: Transaction, old_id: int, new_id: int) -> None:
        """Make a stored original (and its copies) copies of `new_id`."""

    @abc.abstractmethod
    def replace_embeddings(
        self, tx: Transaction, pairs: Iterable[tuple[int, np.ndarray]]
    ) -> None: ...

    @abc.abstractmethod
    def rebuild_keyword_index(self) -> int:
        """Rebuild the keyword index from the articles; returns how many it holds."""

    # -- article reads -----------------------------------------------------------------

    @abc.abstractmethod
    def articles(
        self,
        ids: Sequence[int],
        tx: Transaction | None = None,
        text: bool = True,
        opening: int | None = None,
    ) -> dict[int, Article]:
        """Articles by id; `text=False` leaves their text out, `opening` keeps only its
        first characters (a long text stored out of line is then not read whole)."""

    def article(self, article_id: int, tx: Transaction | None = None) -> Article | None:
        return self.articles([article_id], tx).get(article_id)

    @abc.abstractmethod
    def latest(self, limit: int = 20, offset: int = 0) -> list[Article]:
        """Newest originals first, without their text."""

    @abc.abstractmethod
    def copies(self, ids: Sequence[int]) -> dict[int, list[Article]]:
        """Stored copies of each given original, without their text."""

    @abc.abstractmethod
    def iter_articles(self, batch: int = 1000) -> Iterator[Article]: ...

    @abc.abstractmethod
    def story_ids(self, article_ids: Sequence[int], tx: Transaction | None = None) -> set[int]:
        """The stories the given articles belong to."""

    @abc.abstractmethod
    def sources_of(self, article_ids: Sequence[int]) -> dict[int, Outline]:
        """Each stored article's source, original and date: what choosing among related
        candidates needs, read without the articles' rows where the backend can."""

    @abc.abstractmethod
    def keyword_search(self, query: str, limit: int) -> list[tuple[int, float]]: ...

    @abc.abstractmethod
    def counts(self) -> dict[str, Any]: ...

    # -- vectors (what derived vector indexes are built from) --------------------------

    @abc.abstractmethod
    def embeddings(self, ids: Sequence[int]) -> dict[int, np.ndarray]: ...

    @abc.abstractmethod
    def vector_count(self, tx: Transaction | None = None) -> int: ...

    @abc.abstractmethod
    def vector_ids(self, tx: Transaction | None = None) -> np.ndarray: ...

    @abc.abstractmethod
    def iter_vectors(
        self,
        tx: Transaction | None = None,
        since: int | None = None,
        ids: Sequence[int] | None = None,
        batch: int = 4096,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) chunks: all of them, those written after generation `since`, or
        those with the given ids."""

    @abc.abstractmethod
    def removed_vectors(self, since: int, tx: Transaction | None = None) -> np.ndarray:
        """Ids whose vectors were removed after generation `since`."""

    # -- stories -----------------------------------------------------------------------

    @abc.abstractmethod
    def create_story(self, tx: Transaction, label: str, when: datetime) -> int: ...

    @abc.abstractmethod
    def save_story(self, tx: Transaction, state: StoryState) -> None: ...

    @abc.abstractmethod
    def merge_story(self, tx: Transaction, gone: int, into: int) -> None:
        """Story `gone` was absorbed by `into`: its articles move there and its id leads
        there from now on (`story(gone)` answers `into`). The caller saves `into`'s state."""

    @abc.abstractmethod
    def story_states(
        self,
        tx: Transaction | None = None,
        active_from: datetime | None = None,
        active_to: datetime | None = None,
        since: int | None = None,
        seen_before: datetime | None = None,
    ) -> list[StoryState]:
        """Clustering state of stories active in [active_from, active_to] (and last seen
        before `seen_before`), and/or changed after generation `since`."""

    @abc.abstractmethod
    def stories(self, limit: int = 50, offset: int = 0, min_size: int = 1) -> list[Story]: ...

    @abc.abstractmethod
    def story(self, story_id: int) -> Story | None: ...

    @abc.abstractmethod
    def story_articles(
        self, story_id: int, text: bool = True, latest: int | None = None
    ) -> list[Article]:
        """A story's originals in time order (without their text when `text` is False);
        only the `latest` last of them when it is given."""

    # -- sources -----------------------------------------------------------------------

    @abc.abstractmethod
    def upsert_source(
        self, url: str, title: str, kind: str, site_url: str | None = None
    ) -> int: ...

    @abc.abstractmethod
    def record_source_check(
        self, url: str, etag: str | None, last_modified: str | None, error: str | None
    ) -> None: ...

    @abc.abstractmethod
    def source(self, url: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def sources(self) -> list[dict[str, Any]]: ...

    # -- readers: accounts and sessions ------------------------------------------------

    @abc.abstractmethod
    def add_account(self, name: str, password_hash: str, role: str) -> int | None:
        """A new account's id; None when the name (case-insensitively) is taken."""

    @abc.abstractmethod
    def account_credentials(self, name: str) -> tuple[Account, str] | None:
        """The account named so (case-insensitively) and its stored password hash."""

    @abc.abstractmethod
    def account(self, account_id: int) -> Account | None: ...

    @abc.abstractmethod
    def accounts(self) -> list[Account]: ...

    @abc.abstractmethod
    def set_password_hash(self, account_id: int, password_hash: str) -> None: ...

    @abc.abstractmethod
    def remove_account(self, name: str) -> bool:
        """Remove an account with its sessions and marks (its comments stay, unattributed)."""

    @abc.abstractmethod
    def add_session(self, token_hash: str, account_id: int, csrf: str, expires: datetime) -> None:
        """Record a session by the hash of its cookie token (expired sessions are dropped)."""

    @abc.abstractmethod
    def session(self, token_hash: str) -> tuple[Account, str, datetime] | None:
        """(account, CSRF token, expiry) of the session with this token hash."""

    @abc.abstractmethod
    def remove_session(self, token_hash: str) -> None: ...

    # -- readers: marks (read, starred, saved) -----------------------------------------

    @abc.abstractmethod
    def set_marks(self, account_id: int, article_ids: Sequence[int], mark: str, on: bool) -> int:
        """Set or clear one mark on articles (ids of missing articles are ignored)."""

    @abc.abstractmethod
    def marks(self, account_id: int, article_ids: Sequence[int]) -> dict[int, set[str]]: ...

    @abc.abstractmethod
    def marked(
        self, account_id: int, mark: str, limit: int = 50, offset: int = 0
    ) -> list[Article]:
        """Articles carrying a mark, most recently marked first, without their text."""

    # -- readers: visits ---------------------------------------------------------------

    @abc.abstractmethod
    def add_visits(
        self, counts: dict[tuple[int, str], int], tx: Transaction | None = None
    ) -> None:
        """Add counted visits keyed by (article id, UTC hour 'YYYY-MM-DDTHH'), atomically:
        in `tx` when given, else in a transaction of their own."""

    def counted_views(
        self, tx: Transaction, views: Sequence[tuple[str, int, float]], window: float
    ) -> list[bool]:
        """For each view (visitor key, article id, unix time), in order: True when no view of
        that article by that visitor was counted in the `window` seconds before it, by any
        process — it is counted now and remembered. Memories older than the window go."""
        firsts = [self.remember_view(tx, *view, window) for view in views]
        if views:
            self.forget_views(tx, max(at for _, _, at in views) - window)
        return firsts

    @abc.abstractmethod
    def remember_view(
        self, tx: Transaction, visitor: str, article_id: int, at: float, window: float
    ) -> bool:
        """Record the view unless the visitor's last counted view of the article is less
        than `window` seconds older; True when recorded."""

    @abc.abstractmethod
    def forget_views(self, tx: Transaction, before: float) -> None:
        """Drop the views recorded before unix time `before`."""

    @abc.abstractmethod
    def visit_counts(
        self, article_ids: Sequence[int], since_hour: str
    ) -> dict[int, tuple[int, int]]:
        """(all visits, visits in hours >= since_hour) per article."""

    @abc.abstractmethod
    def most_visited(self, since_hour: str, limit: int = 10) -> list[tuple[int, int]]:
        """(article id, visits) of the most visited articles in hours >= since_hour."""

    # -- readers: comments -------------------------------------------------------------

    @abc.abstractmethod
    def add_comment(self, comment: Comment, commenter: str) -> int | None:
        """Store a comment; None when its article or its parent (on that article) is gone."""

    @abc.abstractmethod
    def comment(self, comment_id: int) -> Comment | None: ...

    @abc.abstractmethod
    def comments(
        self, article_id: int, statuses: Iterable[str] = ("approved",)
    ) -> list[Comment]: ...

    @abc.abstractmethod
    def comments_with_status(self, status: str, limit: int = 100) -> list[Comment]: ...

    @abc.abstractmethod
    def set_comment_status(self, comment_id: int, status: str) -> bool: ...

    @abc.abstractmethod
    def remove_comment(self, comment_id: int) -> bool: ...

    @abc.abstractmethod
    def commenter_approved(self, commenter: str) -> bool:
        """Whether this commenter key has had a comment approved."""

    @abc.abstractmethod
    def comment_counts(self, article_ids: Sequence[int]) -> dict[int, int]:
        """Approved comments per article."""

    # -- what the reader site lists ----------------------------------------------------

    @abc.abstractmethod
    def story_summaries(
        self, story_ids: Sequence[int], burst_hours: float = 24.0
    ) -> dict[int, dict[str, Any]]:
        """Per story: "lead" (earliest original), "sources" (outlets, copies included) and
        "burst" (originals in the `burst_hours` before its last update)."""

    @abc.abstractmethod
    def outlets(self) -> list[dict[str, Any]]:
        """Outlets named on stored articles: source, originals, copies, latest."""

    # -- subscriptions and the poller's state ------------------------------------------

    @abc.abstractmethod
    def subscribe(
        self,
        url: str,
        title: str = "",
        category: str | None = None,
        site_url: str | None = None,
    ) -> tuple[int, bool]:
        """Subscribe to a feed URL (a known source becomes a subscription); returns its id and
        whether it is a new subscription."""

    @abc.abstractmethod
    def unsubscribe(self, source_id: int) -> bool:
        """Stop polling a feed; its articles stay. False when it was not subscribed."""

    @abc.abstractmethod
    def subscriptions(self, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Subscribed feeds with their poll state and how many entries were stored."""

    @abc.abstractmethod
    def subscription(self, source_id: int) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def subscription_by_url(self, url: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def due_subscriptions(self, now: datetime, limit: int = 1000) -> list[dict[str, Any]]:
        """Enabled subscriptions whose next check is due (never checked ones first)."""

    @abc.abstractmethod
    def next_check_due(self) -> str | None:
        """ISO time of the earliest next check ('' when one was never checked), or None."""

    @abc.abstractmethod
    def record_poll(self, source_id: int, fields: dict[str, Any]) -> bool:
        """Store a check's outcome (poller fields only); False when a moved URL belongs to
        another source already, in which case the URL is kept."""

    @abc.abstractmethod
    def known_entries(
        self, source_id: int, entries: Sequence[tuple[str | None, str]]
    ) -> list[int | None]:
        """Per (guid, url): the stored article id (0: known without one) or None if new.
        Identity is the feed and GUID, then the URL."""

    @abc.abstractmethod
    def record_entries(self, source_id: int, rows: Iterable[dict[str, Any]]) -> int: ...

    @abc.abstractmethod
    def feed_categories(self, article_ids: Sequence[int]) -> dict[int, set[str]]:
        """Per article (by the ids given, which are originals): the categories of the
        subscribed feeds whose entries brought it or one of its copies. Articles no
        categorised feed brought are left out."""

    @abc.abstractmethod
    def partial_entries_due(self, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
        """Entries stored partial whose page is due to be fetched again."""

    @abc.abstractmethod
    def record_entry_retry(
        self, entry_id: int, retry_at: datetime | None, error: str | None, upgraded: bool
    ) -> None: ...

    # -- API tokens --------------------------------------------------------------------

    @abc.abstractmethod
    def add_token(self, name: str, digest: str) -> bool:
        """Store a token's digest under a name; False when the name is taken."""

    @abc.abstractmethod
    def token_by_digest(self, digest: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def tokens(self) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def delete_token(self, name: str) -> bool: ...

    # -- reader-app sync: API passwords, streams, followed stories ---------------------

    @abc.abstractmethod
    def set_api_password(self, account_id: int, password_hash: str, fever_key: str) -> None:
        """Store (replace) an account's API password: its hash, and the Fever key
        md5("name:password") in lower-case hex (Fever clients send that key, so it is kept as
        it is). Replacing it invalidates every sync token derived from the previous hash."""

    @abc.abstractmethod
    def api_credentials(self, name: str) -> tuple[Account, str] | None:
        """The account named so (case-insensitively) and its API password hash, or None when
        it has no API password."""

    @abc.abstractmethod
    def account_by_fever_key(self, fever_key: str) -> Account | None:
        """The account whose Fever key is this one (compared in lower case)."""

    @abc.abstractmethod
    def stream_items(self, account_id: int, query: StreamQuery) -> list[StreamItem]:
        """Up to `query.limit` items of a stream for this account, ordered by id (descending
        unless `oldest_first`). Ids increase with crawl time, so `after_id`/`before_id` page
        through a stream without skipping or repeating items when marks change between
        pages."""

    @abc.abstractmethod
    def stream_counts(self, account_id: int, query: StreamQuery) -> dict[int, tuple[int, datetime]]:
        """Per feed (key 0: the whole stream): how many items of the stream are in it and the
        newest crawl time among them. Feeds without items are absent. Keyset and limit
        fields are ignored."""

    @abc.abstractmethod
    def edit_subscription(self, source_id: int, fields: dict[str, Any]) -> bool:
        """Change a subscription's "title" and/or "category" (None clears the category);
        other keys are refused with ValueError. False when it is not a subscription."""

    @abc.abstractmethod
    def follow_story(self, account_id: int, story_id: int, on: bool) -> bool:
        """Follow (or stop following) a story; False when nothing changed or the story is
        gone. A followed story absorbed by another is followed through the absorbing one."""

    @abc.abstractmethod
    def followed_stories(self, account_id: int) -> list[int]:
        """Ids of the live stories the account follows (absorbed ones resolved), ascending."""

    # -- saved searches ----------------------------------------------------------------

    @abc.abstractmethod
    def add_saved_search(self, account_id: int, fields: dict[str, Any]) -> int | None:
        """Save a search: "name", "query", "mode", "filters" (a JSON-able dict), "webhook_url"
        and "webhook_secret" (both may be None), "checked_id" (matches are looked for among
        articles with larger ids). None when the account has a search of that name
        (case-insensitively)."""

    @abc.abstractmethod
    def saved_searches(self, account_id: int | None = None) -> list[dict[str, Any]]:
        """Saved searches (every account's when None), by id: the fields above plus "id",
        "account_id", "created" and "matches" (how many)."""

    @abc.abstractmethod
    def remove_saved_search(self, account_id: int, search_id: int) -> bool: ...

    @abc.abstractmethod
    def add_search_matches(
        self, search_id: int, matches: Sequence[tuple[int, float]], checked_id: int
    ) -> list[int]:
        """Record (article id, score) matches of a saved search and move its "checked_id"
        forward to `checked_id` (never back), atomically; returns the ids that were new
        matches (missing articles and known matches are left out)."""

"""Streams of items as reader apps and feeds out see them: stream ids resolved to store
queries, pages of items assembled with their copies ("Also published by …"), marks, feeds
and the story they belong to. The Google Reader, Fever and feed-out adapters read here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from markupsafe import Markup

from .models import Account, Article
from .store import Store, StreamItem, StreamQuery

STATE = "user/-/state/com.google/"
READING_LIST = STATE + "reading-list"
READ = STATE + "read"
STARRED = STATE + "starred"
KEPT_UNREAD = STATE + "kept-unread"
LABEL = "user/-/label/"
STORY_LABEL = re.compile(r"^Story (\d{1,18})\b")
SEARCH_LABEL = "Search: "
_USER_PART = re.compile(r"^user/[^/]*/")
MAX_PAGE = 10_000


class StreamError(ValueError):
    """A stream id or parameter that names nothing Tidings can serve."""


def canonical(stream_id: str) -> str:
    """`user/<anything>/…` as `user/-/…` (clients send their user id or `-`)."""
    stream_id = (stream_id or "").strip()
    return _USER_PART.sub("user/-/", stream_id, count=1)


def story_label(story_id: int, label: str) -> str:
    short = " ".join((label or "").split())[:60]
    return f"Story {story_id}: {short}" if short else f"Story {story_id}"


@dataclass
class Item:
    """One item of a stream, ready to be written out in any protocol."""

    article: Article
    crawled: datetime
    copies: list[Article] = field(default_factory=list)
    marks: set[str] = field(default_factory=set)
    feed_ids: tuple[int, ...] = ()
    followed_story: int | None = None  # the followed story it belongs to

    @property
    def feed_id(self) -> int | None:
        return self.feed_ids[0] if self.feed_ids else None


class Streams:
    """Resolves stream ids for an account and assembles pages of items."""

    def __init__(self, store: Store):
        self.store = store

    # -- what a stream id names --------------------------------------------------------

    def query(self, account: Account, stream_id: str | None) -> StreamQuery:
        """The store query of a Google Reader stream id (none: the reading list)."""
        sid = canonical(stream_id or READING_LIST)
        if sid == READING_LIST:
            return StreamQuery()
        if sid == READ:
            return StreamQuery(marked=("read",))
        if sid == STARRED:
            return StreamQuery(marked=("starred",))
        if sid == KEPT_UNREAD:
            return StreamQuery(unmarked=("read",))
        if sid.startswith(LABEL):
            name = sid[len(LABEL) :]
            if name.startswith(SEARCH_LABEL):
                search = self.saved_search(account, name[len(SEARCH_LABEL) :])
                return StreamQuery(saved_search=search if search is not None else 0)
            story = self.followed_label(account, name)
            if story is not None:
                return StreamQuery(story_ids=[story])
            return StreamQuery(categories=[name])
        if sid.startswith("feed/"):
            return StreamQuery(feed_ids=[i] if (i := self.feed_id(sid)) else [])
        raise StreamError(f"unknown stream {stream_id!r}")

    def feed_id(self, stream_id: str) -> int | None:
        """The source id of `feed/<id>` or `feed/<url>`, None when there is none."""
        rest = canonical(stream_id).removeprefix("feed/")
        if rest.isdigit() and len(rest) < 19:
            return int(rest)
        found = self.store.subscription_by_url(rest) or self.store.source(rest)
        return int(found["id"]) if found else None

    def followed_label(self, account: Account, name: str) -> int | None:
        """The followed story a label names ("Story 12: …"), None for other labels."""
        match = STORY_LABEL.match(name)
        if match is None:
            return None
        story = self.store.story(int(match.group(1)))
        if story is None or story.id not in self.store.followed_stories(account.id):
            return None
        return story.id

    def saved_search(self, account: Account, name: str) -> int | None:
        """The id of the account's saved search named so."""
        for search in self.store.saved_searches(account.id):
            if search["name"].lower() == name.strip().lower():
                return int(search["id"])
        return None

    def searches(self, account: Account) -> list[tuple[int, str]]:
        """(saved search id, label name) of each of the account's saved searches."""
        return [(int(s["id"]), SEARCH_LABEL + s["name"])
                for s in self.store.saved_searches(account.id)]

    def followed(self, account: Account) -> list[tuple[int, str]]:
        """(story id, label name) of each story the account follows."""
        out = []
        for story_id in self.store.followed_stories(account.id):
            story = self.store.story(story_id)
            if story is not None:
                out.append((story.id, story_label(story.id, story.label)))
        return out

    # -- pages -------------------------------------------------------------------------

    def page(self, account: Account, query: StreamQuery) -> list[StreamItem]:
        if not 0 < query.limit <= MAX_PAGE + 1:  # one more tells whether a next page exists
            raise StreamError(f"a page holds 1 to {MAX_PAGE} items")
        return self.store.stream_items(account.id, query)

    def items(self, account: Account, found: list[StreamItem]) -> list[Item]:
        """Articles (with text), copies, marks and followed story of stream items, in order."""
        ids = [i.id for i in found]
        articles = self.store.articles(ids)
        copies = self.store.copies(ids)
        marks = self.store.marks(account.id, ids)
        followed = set(self.store.followed_stories(account.id))
        out = []
        for entry in found:
            article = articles.get(entry.id)
            if article is None:  # removed meanwhile
                continue
            story = article.story_id if article.story_id in followed else None
            out.append(
                Item(article, entry.crawled, copies.get(entry.id, []), marks.get(entry.id, set()),
                     entry.feed_ids, story)
            )
        return out

    def by_ids(self, account: Account, ids: list[int]) -> list[Item]:
        """Items with these ids, in the order given (unknown ids and copies left out)."""
        wanted = list(dict.fromkeys(ids))[:MAX_PAGE]
        found = {i.id: i for i in self.store.stream_items(
            account.id, StreamQuery(ids=wanted, limit=max(len(wanted), 1)))}
        return self.items(account, [found[i] for i in wanted if i in found])

    def all_ids(self, account: Account, query: StreamQuery) -> list[int]:
        """Every id of a stream (newest first), read in keyset pages."""
        out: list[int] = []
        query = StreamQuery(**{**query.__dict__, "limit": MAX_PAGE, "oldest_first": False})
        while True:
            page = self.store.stream_items(account.id, query)
            out += [i.id for i in page]
            if len(page) < MAX_PAGE:
                return out
            query.before_id = page[-1].id

    def feeds(self) -> dict[int, dict]:
        """Every source by id (subscribed or not) with its title, URLs and category."""
        return {int(s["id"]): s for s in self.store.sources()}


def item_html(article: Article, copies: list[Article]) -> str:
    """The article's text as escaped paragraphs, then "Also published by …" linking each copy
    (extracted text is never trusted as markup)."""
    paras = [p.strip() for p in re.split(r"\n\s*\n|\n", article.text or "") if p.strip()]
    html = Markup("\n").join(Markup("<p>{0}</p>").format(p) for p in paras)
    links = [
        Markup('<a href="{0}">{1}</a>').format(c.url, outlet_name(c))
        for c in copies
        if c.url.startswith(("http://", "https://"))
    ]
    if links:
        html += Markup("\n<p>Also published by {0}</p>").format(Markup(", ").join(links))
    return str(html)


def outlet_name(article: Article) -> str:
    return article.source or article.site_name or urlsplit(article.url).hostname or article.url


def published(item: Item) -> datetime:
    when = item.article.published or item.crawled
    return when if when.tzinfo else when.replace(tzinfo=UTC)


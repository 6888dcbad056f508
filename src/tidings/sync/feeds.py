"""Feeds out over HTTP: every stream as Atom, RSS or JSON Feed, paged by keyset (`before`),
with ETag / Last-Modified. Public streams (all, a category, a source, a story) need no auth; a
reader's own streams (unread, starred, followed stories, each saved search) take that
stream's secret token."""

from __future__ import annotations

import asyncio
import hashlib
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from .. import feeds_out
from ..models import Account
from ..store import StreamQuery

router = APIRouter(include_in_schema=False)
DEFAULT_PAGE = 50
MAX_PAGE = 200
PRIVATE = ("unread", "starred", "followed")
_ANYONE = Account(0, "", "reader")  # public streams: nobody's marks


class Problem(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _page_params(request: Request) -> tuple[int, int | None]:
    raw_n, raw_before = request.query_params.get("n"), request.query_params.get("before")
    n = DEFAULT_PAGE
    if raw_n is not None:
        if not raw_n.isdigit() or not 1 <= int(raw_n[:6]) <= MAX_PAGE:
            raise Problem(400, f"n must be between 1 and {MAX_PAGE}")
        n = int(raw_n)
    before = None
    if raw_before is not None:
        if not raw_before.isdigit() or len(raw_before) > 18:
            raise Problem(400, "before must be an item id")
        before = int(raw_before)
    return n, before


def _fmt(fmt: str) -> str:
    if fmt not in feeds_out.FORMATS:
        raise Problem(404, f"no such feed format {fmt!r}; use .atom, .rss or .json")
    return fmt


def _public(engine, kind: str, ident: str) -> tuple[StreamQuery, str, str]:
    """(query, title, site path) of a public stream."""
    if kind == "all":
        return StreamQuery(), engine.settings.site_title, "/"
    if kind == "category":
        return StreamQuery(categories=[ident]), f"{ident} — {engine.settings.site_title}", "/"
    if not ident.isdigit() or len(ident) > 18:
        raise Problem(404, f"no such {kind}")
    if kind == "source":
        found = engine.subscriptions.get(int(ident))
        if found is None:
            raise Problem(404, "no such source")
        return StreamQuery(feed_ids=[int(ident)]), found.get("title") or found["url"], "/"
    story = engine.store.story(int(ident))
    if story is None:
        raise Problem(404, "no such story")
    return StreamQuery(story_ids=[story.id]), story.label or f"Story {story.id}", (
        f"/story/{story.id}")


def _private(engine, name: str, stream: str, token: str | None):
    account = engine.readers.api_passwords.account_named(name)
    search = None
    if account is not None and stream.startswith("search-") and stream[7:].isdigit():
        search = engine.saved_searches.get(account, int(stream[7:]))
    if account is None or (stream not in PRIVATE and search is None) or not (
        engine.readers.api_passwords.stream_token_valid(account, stream, token)
    ):
        raise Problem(403, "this feed needs its secret token (tidings users feed-url NAME STREAM)")
    if stream == "unread":
        query = StreamQuery(unmarked=("read",))
    elif stream == "starred":
        query = StreamQuery(marked=("starred",))
    elif search is not None:
        return account, StreamQuery(saved_search=search["id"]), f"{name}: {search['name']}"
    else:
        query = StreamQuery(story_ids=engine.readers.follows.stories(account))
    return account, query, f"{name}: {stream}"


def _serve(request: Request, fmt: str, account: Account, query: StreamQuery, title: str,
           site_path: str, private: bool) -> Response:
    engine = request.app.state.engine
    n, before = _page_params(request)
    query.limit, query.before_id = n + 1, before
    found = engine.streams.page(account, query)
    more = len(found) > n
    items = engine.streams.items(account, found[:n])
    base = str(request.url).split("?")[0]
    keep = [(k, v) for k, v in request.query_params.multi_items() if k == "token"]
    self_url = base + ("?" + urlencode(keep + [("before", str(before))]) if before else (
        "?" + urlencode(keep) if keep else ""))
    next_url = None
    if more and items:
        next_url = base + "?" + urlencode(
            keep + [("n", str(n)), ("before", str(items[-1].article.id))]
        )
    site = str(request.base_url).rstrip("/") + site_path
    categories = {int(s["id"]): s["category"] for s in engine.subscriptions.list()
                  if s.get("category")}
    body = feeds_out.render(fmt, feeds_out.FeedInfo(title, self_url, site, next_url, categories),
                            items)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    modified = feeds_out.updated(items)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Cache-Control": "private, no-cache" if private else "public, max-age=60",
    }
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=feeds_out.FORMATS[fmt], headers=headers)


def _not_modified(request: Request, etag: str, modified) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


async def _answer(request: Request, work) -> Response:
    try:
        return await asyncio.to_thread(work)
    except Problem as exc:
        return PlainTextResponse(str(exc) + "\n", exc.status)


@router.get("/feeds/all.{fmt}")
async def all_articles(request: Request, fmt: str):
    return await _answer(request, lambda: _public_feed(request, fmt, "all", ""))


@router.get("/feeds/{kind}/{ident}.{fmt}")
async def public_stream(request: Request, kind: str, ident: str, fmt: str):
    if kind not in ("category", "source", "story"):
        return PlainTextResponse("no such feed\n", 404)
    return await _answer(request, lambda: _public_feed(request, fmt, kind, ident))


@router.get("/feeds/u/{name}/{stream}.{fmt}")
async def private_stream(request: Request, name: str, stream: str, fmt: str):
    def work():
        engine = request.app.state.engine
        account, query, title = _private(engine, name, stream,
                                         request.query_params.get("token"))
        return _serve(request, _fmt(fmt), account, query, title, "/", private=True)

    return await _answer(request, work)


def _public_feed(request: Request, fmt: str, kind: str, ident: str) -> Response:
    query, title, site_path = _public(request.app.state.engine, kind, ident)
    return _serve(request, _fmt(fmt), _ANYONE, query, title, site_path, private=False)


def private_path(name: str, stream: str, token: str, fmt: str = "atom") -> str:
    return f"/feeds/u/{quote(name)}/{stream}.{fmt}?token={token}"

"""The Atom newsreader endpoint as the original Google Reader served it: /reader/atom/<stream>
(the stream id percent-escaped), with `gr:` item ids, crawl times, continuation, and the
states as `<category scheme="http://www.google.com/reader/" label="read">`. newsboat's
`feedhq` mode reads articles this way and writes state back through edit-tag."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import UTC

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from ..streams import READ, READING_LIST, STARRED, canonical, item_html, outlet_name, published
from . import greader

ATOM = "http://www.w3.org/2005/Atom"
GR = "http://www.google.com/schemas/reader/atom/"
SCHEME = "http://www.google.com/reader/"
ET.register_namespace("gr", GR)

router = APIRouter(include_in_schema=False)


def _e(parent, tag: str, text: str | None = None, ns: str = ATOM, **attrs) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _state(entry, stream: str) -> None:
    _e(entry, "category", term=stream, scheme=SCHEME, label=stream.rsplit("/", 1)[1])


def render(ctx, stream_id: str, items, continuation: str | None) -> bytes:
    feeds = ctx.engine.streams.feeds()
    feed = ET.Element(f"{{{ATOM}}}feed")
    _e(feed, "generator", "Tidings", uri="https://github.com/")
    _e(feed, "id", f"tag:google.com,2005:reader/{canonical(stream_id)}")
    _e(feed, "title", stream_id)
    if continuation:
        _e(feed, "continuation", continuation, ns=GR)
    newest = max((i.crawled for i in items), default=None)
    if newest is not None:
        _e(feed, "updated", (newest if newest.tzinfo else newest.replace(tzinfo=UTC))
           .isoformat())
    for item in items:
        a = item.article
        crawled = item.crawled if item.crawled.tzinfo else item.crawled.replace(tzinfo=UTC)
        entry = _e(feed, "entry")
        entry.set(f"{{{GR}}}crawl-timestamp-msec", str(int(crawled.timestamp() * 1000)))
        ident = _e(entry, "id", greader.long_item_id(a.id))
        ident.set(f"{{{GR}}}original-id", a.url)
        _state(entry, READING_LIST)
        if "read" in item.marks:
            _state(entry, READ)
        if "starred" in item.marks:
            _state(entry, STARRED)
        source = feeds.get(item.feed_id or 0)
        if source and source.get("category"):
            _e(entry, "category", term=f"user/-/label/{source['category']}", scheme=SCHEME,
               label=source["category"])
        _e(entry, "title", a.title or a.url, type="html")
        when = published(item)
        _e(entry, "published", when.isoformat())
        _e(entry, "updated", (a.modified or when).isoformat())
        _e(entry, "link", rel="alternate", href=a.url, type="text/html")
        _e(entry, "content", item_html(a, item.copies), type="html")
        author = _e(entry, "author")
        _e(author, "name", a.author or outlet_name(a))
        origin = _e(entry, "source")
        origin.set(f"{{{GR}}}stream-id", f"feed/{item.feed_id}" if item.feed_id else "")
        _e(origin, "id", f"tag:google.com,2005:reader/feed/{(source or {}).get('url', '')}")
        _e(origin, "title", (source or {}).get("title") or outlet_name(a))
        _e(origin, "link", rel="alternate",
           href=(source or {}).get("site_url") or (source or {}).get("url") or a.url)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


@router.get("/reader/atom/{stream:path}")
@router.get("/api/greader.php/reader/atom/{stream:path}")
async def atom_stream(request: Request, stream: str):
    async def work(params):
        def call():
            engine = request.app.state.engine
            token = greader.auth_token(request)
            account = engine.readers.api_passwords.account_for_token(token)
            if account is None:
                raise greader.unauthorized()
            ctx = greader.Context(request, params, account, token)
            query = greader.stream_query(ctx, stream, greader.MAX_CONTENTS)
            found, continuation = greader.page(ctx, query)
            items = engine.streams.items(account, found)
            body = render(ctx, stream, items, continuation)
            return Response(body, media_type="application/atom+xml; charset=utf-8")

        return await asyncio.to_thread(call)

    if not stream.strip("/"):
        return PlainTextResponse("Bad request: a stream id is required\n", 400)
    return await greader.run(request, work)

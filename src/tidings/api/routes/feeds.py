"""Feeds: subscriptions (list, add, remove) and OPML import/export. Writes need a token."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from ..deps import EngineDep, FeedId, TokenDep
from ..errors import BAD_REQUEST, INVALID, NOT_FOUND, UNAUTHORIZED, refused_as_400
from ..schemas import Feed, FeedRequest, OpmlImport, Removed

router = APIRouter(tags=["feeds"])

MAX_OPML_BYTES = 5 * 1024 * 1024
OPML = {200: {"content": {"text/x-opml": {"schema": {"type": "string"}}},
              "description": "OPML 2.0 document; categories are folders"}}


@router.get("/feeds")
def feeds(engine: EngineDep) -> list[Feed]:
    """Subscribed feeds with their last and next check, last status and errors."""
    return [Feed.model_validate(f) for f in engine.subscriptions.list()]


@router.get("/feeds/opml", response_class=Response, responses=OPML)
def export_opml(engine: EngineDep) -> Response:
    """Every subscription as OPML 2.0."""
    return Response(
        engine.subscriptions.export_opml(),
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tidings.opml"'},
    )


@router.post("/feeds/opml", responses={**BAD_REQUEST, **UNAUTHORIZED, **INVALID})
async def import_opml(request: Request, engine: EngineDep, _token: TokenDep) -> OpmlImport:
    """Subscribe to every feed of the OPML document in the body (folders become
    categories; feeds already subscribed are counted, not added again)."""
    from ...sources.opml import OpmlError

    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_OPML_BYTES:
            raise HTTPException(400, f"OPML document over {MAX_OPML_BYTES} bytes")
    try:
        summary = engine.subscriptions.import_opml(bytes(body))
    except OpmlError as exc:
        raise HTTPException(400, str(exc)) from None
    return OpmlImport.model_validate(summary)


@router.post(
    "/feeds", status_code=201, responses={200: {"model": Feed, "description": "Already "
    "subscribed"}, **BAD_REQUEST, **UNAUTHORIZED, **INVALID},
)
def add(request: FeedRequest, response: Response, engine: EngineDep, _token: TokenDep) -> Feed:
    """Subscribe to a feed, or to the feed a site announces (autodiscovery)."""
    with refused_as_400():
        feed, created = engine.subscriptions.add(request.url, request.category, request.title)
    if not created:
        response.status_code = 200
    return Feed.model_validate(feed)


@router.get("/feeds/{feed_id}", responses={**NOT_FOUND, **INVALID})
def feed(feed_id: FeedId, engine: EngineDep) -> Feed:
    found = engine.subscriptions.get(feed_id)
    if found is None:
        raise HTTPException(404, f"no subscribed feed with id {feed_id}")
    return Feed.model_validate(found)


@router.delete("/feeds/{feed_id}", responses={**NOT_FOUND, **UNAUTHORIZED, **INVALID})
def remove(feed_id: FeedId, engine: EngineDep, _token: TokenDep) -> Removed:
    """Unsubscribe; the articles the feed brought stay."""
    if not engine.subscriptions.remove(feed_id):
        raise HTTPException(404, f"no subscribed feed with id {feed_id}")
    return Removed(removed=feed_id)

"""Admin pages: feeds (add one, import OPML), the comment moderation queue, accounts."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from ..readers import AccountError
from ..sources.opml import OpmlError
from .forms import MAX_UPLOAD_BYTES, Id, checked_form, field, need_admin, redirect
from .render import render

router = APIRouter(prefix="/admin", include_in_schema=False)


def _page(request: Request, status: int = 200, message: str = "", error: str = ""):
    engine = request.app.state.engine
    queue = engine.readers.comments.queue(200)
    titles = {a.id: a.title for a in engine.listing.articles([c.article_id for c in queue])}
    return render(
        request,
        "admin.html",
        status,
        queue=queue,
        titles=titles,
        feeds=engine.listing.feeds(),
        accounts=engine.readers.accounts.list(),
        message=message,
        error=error,
    )


@router.get("")
def admin(request: Request):
    need_admin(request)
    return _page(request, message=request.query_params.get("done", "")[:200])


@router.post("/comments/{comment_id}")
async def moderate(request: Request, comment_id: Id):
    form = await checked_form(request)
    who = need_admin(request)
    comments = request.app.state.engine.readers.comments
    action = field(form, "action", 20)
    done = {"approve": comments.approve, "reject": comments.reject, "delete": comments.delete}.get(
        action
    )
    if done is None:
        raise HTTPException(400, "Unknown moderation action.")
    if not done(comment_id):
        raise HTTPException(404, "There is no such comment.")
    return redirect(who, f"/admin?done=comment+{comment_id}+{action}d#moderation")


@router.post("/feeds")
async def add_feed(request: Request):
    form = await checked_form(request)
    who = need_admin(request)
    subscriptions = request.app.state.engine.subscriptions
    try:  # a site address is fetched to find its feed: off the event loop
        _, created = await run_in_threadpool(
            subscriptions.add,
            field(form, "url", 4096),
            field(form, "category", 300) or None,
            field(form, "title", 300) or None,
        )
    except ValueError as exc:
        return _page(request, 400, error=f"Feed not added: {exc}.")
    done = "feed+added" if created else "feed+already+subscribed"
    return redirect(who, f"/admin?done={done}#feeds")


@router.post("/opml")
async def import_opml(request: Request):
    form = await checked_form(request, MAX_UPLOAD_BYTES)
    try:
        who = need_admin(request)
        upload = form.get("opml")
        if upload is None or isinstance(upload, str):
            return _page(request, 400, error="Choose an OPML file to import.")
        content = await upload.read(MAX_UPLOAD_BYTES + 1)
    finally:
        await form.close()  # spooled upload files
    if len(content) > MAX_UPLOAD_BYTES:
        return _page(request, 413, error="That OPML file is too large.")
    try:
        summary = request.app.state.engine.subscriptions.import_opml(content)
    except OpmlError as exc:
        return _page(request, 400, error=f"Nothing imported: {exc}.")
    added, failed = summary["added"], summary["failed"]
    if failed:
        problems = "; ".join(f"{f['item'][:200]}: {f['reason']}" for f in failed[:20])
        return _page(request, message=f"{added} feeds imported; not imported: {problems}")
    return redirect(who, f"/admin?done={added}+feeds+imported#feeds")


@router.post("/accounts")
async def add_account(request: Request):
    form = await checked_form(request)
    who = need_admin(request)
    try:
        request.app.state.engine.readers.accounts.add(
            field(form, "name", 100),
            field(form, "password", 4096),
            admin=field(form, "role") == "admin",
        )
    except AccountError as exc:
        return _page(request, 400, error=f"Account not added: {exc}.")
    return redirect(who, "/admin?done=account+added#accounts")


@router.post("/accounts/remove")
async def remove_account(request: Request):
    form = await checked_form(request)
    who = need_admin(request)
    name = field(form, "name", 100)
    if who.account and name.lower() == who.account.name.lower():
        return _page(request, 400, error="You cannot remove your own account here.")
    if not request.app.state.engine.readers.accounts.remove(name):
        raise HTTPException(404, "There is no such account.")
    return redirect(who, "/admin?done=account+removed#accounts")

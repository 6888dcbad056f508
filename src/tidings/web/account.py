"""A signed-in reader's own pages: the account (API password for reader apps, private feed
addresses, followed stories), saved searches and their matches, following a story."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from ..api.deps import MAX_INT
from ..readers import RateLimited
from ..readers.searches import SearchError
from ..store import StreamQuery
from ..sync.feeds import PRIVATE, private_path
from .context import visitor
from .forms import Id, checked_form, field, local_path, need_account, redirect
from .pages import decorate
from .render import render

router = APIRouter(include_in_schema=False)
PAGE = 50


def _signed_in(request: Request, path: str):
    """The account, or a redirect to sign in and come back."""
    who = visitor(request)
    if who.account is None:
        return None, RedirectResponse(f"/login?next={path}", status_code=303)
    return who.account, None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _feed_urls(request: Request, account, streams: list[str]) -> dict[str, str]:
    """The secret feed address of each stream (none without an API password)."""
    passwords = request.app.state.engine.readers.api_passwords
    out = {}
    for stream in streams:
        token = passwords.stream_token(account, stream)
        if token is None:
            return {}
        out[stream] = _base(request) + private_path(account.name, stream, token)
    return out


def _account_page(request: Request, status: int = 200, message: str = "", error: str = ""):
    engine, who = request.app.state.engine, visitor(request)
    account = who.account
    stories = [
        s
        for s in (engine.listing.story_header(i) for i in engine.readers.follows.stories(account))
        if s is not None
    ]
    return render(
        request,
        "account.html",
        status,
        account=account,
        has_api_password=engine.readers.api_passwords.account_named(account.name) is not None,
        base=_base(request),
        feed_urls=_feed_urls(request, account, list(PRIVATE)),
        followed=stories,
        searches=engine.saved_searches.list(account),
        message=message,
        error=error,
    )


@router.api_route("/account", methods=["GET", "HEAD"])
def account(request: Request):
    _, away = _signed_in(request, "/account")
    if away:
        return away
    return _account_page(request, message=request.query_params.get("done", "")[:200])


@router.post("/account/api-password")
async def api_password(request: Request):
    form = await checked_form(request)
    who = need_account(request)
    engine = request.app.state.engine
    password = field(form, "password", 4096)
    if password != field(form, "password2", 4096):
        return _account_page(request, 400, error="The two API passwords differ.")
    try:  # the sign-in password again: a borrowed session must not mint lasting access
        confirmed = engine.readers.accounts.authenticate(
            who.account.name, field(form, "current", 4096), who.client
        )
    except RateLimited as exc:
        return _account_page(
            request,
            429,
            error="Too many failed sign-ins. Try again in "
            f"{max(int(exc.retry_after // 60), 1)} minutes.",
        )
    if confirmed is None or confirmed.id != who.account.id:
        return _account_page(request, 401, error="That is not your sign-in password.")
    try:
        engine.readers.api_passwords.set(who.account, password)
    except ValueError as exc:
        return _account_page(request, 400, error=f"API password not set: {exc}.")
    return redirect(who, "/account?done=API+password+set#apps")


@router.post("/story/{story_id}/follow")
async def follow(request: Request, story_id: Id):
    form = await checked_form(request)
    who = need_account(request)
    engine = request.app.state.engine
    if engine.listing.story_header(story_id) is None:
        raise HTTPException(404, "There is no such story.")
    engine.readers.follows.follow(who.account, story_id, field(form, "on", 5) == "1")
    return redirect(who, local_path(field(form, "next", 500), f"/story/{story_id}"))


@router.api_route("/searches", methods=["GET", "HEAD"])
def searches(request: Request):
    account, away = _signed_in(request, "/searches")
    if away:
        return away
    return _searches_page(request, account)


def _searches_page(request: Request, account, status: int = 200, error: str = ""):
    found = request.app.state.engine.saved_searches.list(account)
    return render(
        request,
        "searches.html",
        status,
        searches=found,
        error=error,
        feed_urls=_feed_urls(request, account, [f"search-{s['id']}" for s in found]),
    )


@router.post("/searches")
async def save_search(request: Request):
    form = await checked_form(request)
    who = need_account(request)
    engine = request.app.state.engine
    try:  # the first matches come from a search: off the event loop
        saved = await run_in_threadpool(
            engine.saved_searches.add,
            who.account,
            field(form, "name", 200),
            field(form, "q", 600),
            field(form, "mode", 20) or "hybrid",
            field(form, "category", 300) or None,
        )
    except SearchError as exc:
        return _searches_page(request, who.account, 400, error=f"Search not saved: {exc}.")
    return redirect(who, f"/searches/{saved['id']}")


@router.post("/searches/{search_id}/remove")
async def remove_search(request: Request, search_id: Id):
    await checked_form(request)
    who = need_account(request)
    if not request.app.state.engine.saved_searches.remove(who.account, search_id):
        raise HTTPException(404, "You have no such saved search.")
    return redirect(who, "/searches")


@router.api_route("/searches/{search_id}", methods=["GET", "HEAD"])
def saved_search(
    request: Request,
    search_id: Id,
    before: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
):
    account, away = _signed_in(request, f"/searches/{search_id}")
    if away:
        return away
    engine = request.app.state.engine
    search = engine.saved_searches.get(account, search_id)
    if search is None:
        raise HTTPException(404, "You have no such saved search.")
    found = engine.streams.page(
        account, StreamQuery(saved_search=search_id, before_id=before, limit=PAGE + 1)
    )
    articles = engine.listing.articles([i.id for i in found[:PAGE]])
    return render(
        request,
        "saved_search.html",
        search=search,
        articles=articles,
        older=found[PAGE - 1].id if len(found) > PAGE else None,
        paged=before is not None,
        feed_urls=_feed_urls(request, account, [f"search-{search_id}"]),
        **decorate(request, articles),
    )

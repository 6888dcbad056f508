"""The reader site's writes (POST): sign in and out, first-run setup, read/starred/saved marks,
"mark story read", comments. Every form is CSRF-checked."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from ..readers import AccountError, CommentError, RateLimited
from .context import SESSION_COOKIE, visitor
from .forms import Id, checked_form, field, local_path, need_account, redirect
from .render import is_htmx, render

router = APIRouter(include_in_schema=False)


def _sign_in(request: Request, account):
    engine, who = request.app.state.engine, visitor(request)
    token, session = engine.readers.sessions.start(account)
    who.set_cookies.append((SESSION_COOKIE, token, int(engine.settings.session_days * 86400)))
    who.session = session


@router.post("/login")
async def login(request: Request):
    form = await checked_form(request)
    engine, who = request.app.state.engine, visitor(request)
    name, password = field(form, "name", 100), field(form, "password", 4096)
    target = local_path(field(form, "next", 500))
    try:
        account = engine.readers.accounts.authenticate(name, password, who.client)
    except RateLimited as exc:
        response = render(
            request,
            "login.html",
            429,
            next=target,
            error=f"Too many failed sign-ins. Try again in "
            f"{max(int(exc.retry_after // 60), 1)} minutes.",
        )
        response.headers["retry-after"] = str(int(exc.retry_after) + 1)
        return response
    if account is None:
        return render(
            request, "login.html", 401, next=target, error="That name and password do not match."
        )
    engine.readers.sessions.end(request.cookies.get(SESSION_COOKIE))
    _sign_in(request, account)
    return redirect(who, target)


@router.post("/logout")
async def logout(request: Request):
    await checked_form(request)
    engine, who = request.app.state.engine, visitor(request)
    engine.readers.sessions.end(request.cookies.get(SESSION_COOKIE))
    who.session = None
    who.set_cookies.append((SESSION_COOKIE, "", 0))
    return redirect(who, "/")


@router.post("/setup")
async def setup(request: Request):
    form = await checked_form(request)
    engine = request.app.state.engine
    token = field(form, "token", 200)
    name, password = field(form, "name", 100), field(form, "password", 4096)
    if password != field(form, "password2", 4096):
        return render(request, "setup.html", 400, token=token, error="The passwords differ.")
    try:
        account = engine.readers.accounts.complete_setup(token, name, password)
    except AccountError as exc:
        return render(request, "setup.html", 400, token=token, error=str(exc))
    _sign_in(request, account)
    return redirect(visitor(request), "/admin")


@router.post("/article/{article_id}/mark")
async def mark(request: Request, article_id: Id):
    form = await checked_form(request)
    who = need_account(request)
    engine = request.app.state.engine
    which = field(form, "mark", 20)
    if which not in ("read", "starred", "saved"):
        raise HTTPException(400, "Unknown mark.")
    on = field(form, "on", 5) == "1"
    engine.readers.marks.set(who.account, [article_id], which, on)
    if is_htmx(request):
        marks = engine.readers.marks.of(who.account, [article_id])
        return render(
            request, "_marks.html", article_id=article_id, marks=marks.get(article_id, set())
        )
    return redirect(who, local_path(field(form, "next", 500), f"/article/{article_id}"))


@router.post("/story/{story_id}/read")
async def story_read(request: Request, story_id: Id):
    form = await checked_form(request)
    who = need_account(request)
    request.app.state.engine.readers.marks.mark_story_read(who.account, story_id)
    return redirect(who, local_path(field(form, "next", 500), f"/story/{story_id}"))


@router.post("/article/{article_id}/comments")
async def comment(request: Request, article_id: Id):
    form = await checked_form(request)
    engine, who = request.app.state.engine, visitor(request)
    parent = field(form, "parent", 20)
    try:
        posted = engine.readers.comments.post(
            article_id,
            field(form, "body", engine.settings.comment_max_length + 1),
            client=who.client,
            account=who.account,
            author=field(form, "author", 200),
            commenter_token=who.visitor_token,
            parent_id=int(parent) if parent.isdigit() and len(parent) < 19 else None,
            honeypot=field(form, "website", 500),
        )
    except RateLimited as exc:
        raise HTTPException(
            429,
            "You have posted several comments in a short time; "
            f"wait {max(int(exc.retry_after // 60), 1)} minutes.",
        ) from None
    except CommentError as exc:
        raise HTTPException(400, str(exc)) from None
    outcome = "approved" if posted.status == "approved" else "held"
    if is_htmx(request):
        return render(request, "_posted.html", outcome=outcome, article_id=article_id)
    return redirect(who, f"/article/{article_id}?posted={outcome}#comments")

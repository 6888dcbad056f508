"""The reader site's pages (GET): front page, story, article, search, sources, saved lists,
help. Each asks the engine and its rooms, then renders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from ..readers import is_person
from ..streams import story_label
from .context import visitor
from .forms import Id
from .render import render

router = APIRouter(include_in_schema=False)


def _engine(request: Request):
    return request.app.state.engine


def decorate(request: Request, articles) -> dict:
    """What every list of articles shows beside each one: the reader's marks, comment
    counts."""
    engine, who = _engine(request), visitor(request)
    ids = [a.id for a in articles]
    return {
        "marks": engine.readers.marks.of(who.account, ids),
        "comment_counts": engine.readers.comments.counts(ids),
    }


@router.api_route("/", methods=["GET", "HEAD"])
def front(request: Request):
    engine = _engine(request)
    ranked = engine.listing.front_stories(12)
    latest = engine.listing.latest(15)
    trending = engine.listing.trending(8)
    leads = [r.lead for r in ranked if r.lead is not None]
    listed = leads + latest + [a for a, _ in trending]
    return render(
        request,
        "front.html",
        ranked=ranked,
        latest=latest,
        trending=trending,
        stats=engine.listing.counts(),
        **decorate(request, listed),
    )


@router.api_route("/story/{story_id}", methods=["GET", "HEAD"])
def story(request: Request, story_id: Id):
    engine = _engine(request)
    page = engine.listing.story_page(story_id)
    if page is None:
        raise HTTPException(404, "There is no such story.")
    if page.story.id != story_id:  # merged into another story: its address moved there
        return RedirectResponse(f"/story/{page.story.id}", status_code=301)
    who = visitor(request)
    followed = bool(who.account) and page.story.id in engine.readers.follows.stories(who.account)
    return render(
        request,
        "story.html",
        page=page,
        followed=followed,
        follow_label=story_label(page.story.id, page.story.label),
        **decorate(request, page.story.articles),
    )


@router.api_route("/article/{article_id}", methods=["GET", "HEAD"])
def article(request: Request, article_id: Id):
    engine, who = _engine(request), visitor(request)
    found = engine.article(article_id)
    if found is None:
        raise HTTPException(404, "There is no such article.")
    original, copies = found
    if original.id != article_id:  # a copy's address shows its original
        return RedirectResponse(f"/article/{original.id}", status_code=301)
    if request.method == "GET" and is_person(who.user_agent, request.headers):
        key = f"account:{who.account.id}" if who.account else f"{who.client}|{who.user_agent}"
        engine.readers.visits.record(original.id, key)
    total, today = engine.readers.visits.counts([original.id])[original.id]
    more = engine.listing.more_on_story(original)
    related = engine.listing.related(original.id, 6, besides=more)
    story = engine.listing.story_header(original.story_id)
    listed = [original, *[h.article for h in related], *more]
    return render(
        request,
        "article.html",
        article=original,
        copies=copies,
        related=related,
        more=more,
        story=story,
        visits=total,
        visits_today=today,
        excerpt_only=engine.listing.shows_excerpt_only(original),
        comments=engine.readers.comments.for_article(original.id),
        comments_open=bool(who.account) or engine.settings.comment_anonymous,
        posted=request.query_params.get("posted", ""),
        **decorate(request, listed),
    )


def _day(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise HTTPException(400, f"The {name} date must look like 2026-11-03.") from None


@router.api_route("/search", methods=["GET", "HEAD"])
def search(
    request: Request,
    q: Annotated[str, Query(max_length=500)] = "",
    mode: Annotated[str, Query(pattern="^(hybrid|keyword|semantic)$")] = "hybrid",
    source: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=300)] = "",
    story: Annotated[str, Query(max_length=19, pattern="^[0-9]*$")] = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=50)] = 1,
):
    engine = _engine(request)
    result = engine.listing.search(
        q,
        mode,
        source=source or None,
        category=category or None,
        story_id=int(story) if story.strip("0") else None,  # the form sends "" for none
        date_from=_day(date_from, "from"),
        date_to=_day(date_to, "to"),
        page=page,
    )
    form = {
        "q": q,
        "mode": mode,
        "source": source,
        "category": category,
        "story": story or "",
        "from": date_from,
        "to": date_to,
    }
    return render(
        request,
        "search.html",
        result=result,
        form=form,
        outlets=[o["source"] for o in engine.listing.outlets()] if not q else [],
        categories=engine.listing.categories(),
        **decorate(request, [h.article for h in result.hits]),
    )


@router.api_route("/sources", methods=["GET", "HEAD"])
def sources(request: Request):
    engine = _engine(request)
    return render(
        request, "sources.html", feeds=engine.listing.feeds(), outlets=engine.listing.outlets()
    )


@router.api_route("/saved", methods=["GET", "HEAD"])
@router.api_route("/starred", methods=["GET", "HEAD"])
@router.api_route("/read", methods=["GET", "HEAD"])
def marked(request: Request, page: Annotated[int, Query(ge=1, le=10_000)] = 1):
    engine, who = _engine(request), visitor(request)
    mark = request.url.path.strip("/")
    mark = {"saved": "saved", "starred": "starred", "read": "read"}[mark]
    if who.account is None:
        return RedirectResponse(f"/login?next=/{mark}", status_code=303)
    articles = engine.readers.marks.listed(who.account, mark, 50, (page - 1) * 50)
    return render(
        request,
        "marked.html",
        mark=mark,
        articles=articles,
        page=page,
        **decorate(request, articles),
    )


@router.api_route("/login", methods=["GET", "HEAD"])
def login_page(request: Request, next: str = "/"):
    return render(request, "login.html", next=next if next.startswith("/") else "/", error="")


@router.api_route("/setup", methods=["GET", "HEAD"])
def setup_page(request: Request, token: Annotated[str, Query(max_length=200)] = ""):
    engine = _engine(request)
    if not engine.readers.accounts.setup_valid(token) or engine.readers.accounts.has_admin():
        raise HTTPException(
            404, "This setup link is not valid (it is used once, and only while there is no admin)."
        )
    return render(request, "setup.html", token=token, error="")


@router.api_route("/help", methods=["GET", "HEAD"])
def help_page(request: Request):
    engine = _engine(request)
    return render(request, "help.html", settings=engine.settings)


@router.api_route("/favicon.ico", methods=["GET", "HEAD"])
def favicon():
    return RedirectResponse("/static/favicon.svg", status_code=301)

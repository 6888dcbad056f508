"""Articles: latest list, one article with its copies, related articles."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from ..deps import ArticleId, EngineDep, Offset
from ..errors import BAD_REQUEST, INVALID, NOT_FOUND, refused_as_400
from ..schemas import ArticleDetail, ArticleSummary, Hit

router = APIRouter(tags=["articles"])


@router.get("/articles", responses={**BAD_REQUEST, **INVALID})
def latest(
    engine: EngineDep,
    limit: int = Query(20, ge=1, le=200),
    offset: Offset = 0,
) -> list[ArticleSummary]:
    """The newest articles (copies folded into their originals)."""
    with refused_as_400():
        found = engine.latest(limit, offset)
    return [ArticleSummary.model_validate(a) for a in found]


@router.get("/articles/{article_id}", responses={**NOT_FOUND, **INVALID})
def article(article_id: ArticleId, engine: EngineDep) -> ArticleDetail:
    """One article with its full text and the outlets that also published it. A copy's id
    gives its original."""
    found = engine.article(article_id)
    if found is None:
        raise HTTPException(404, f"no article with id {article_id}")
    return ArticleDetail.of(*found)


@router.get("/articles/{article_id}/related", responses={**NOT_FOUND, **BAD_REQUEST, **INVALID})
def related(
    engine: EngineDep,
    article_id: ArticleId,
    limit: int = Query(10, ge=1, le=100),
) -> list[Hit]:
    """Nearest articles by meaning; the article's own copies never appear."""
    try:
        with refused_as_400():
            found = engine.related(article_id, limit)
    except KeyError:
        raise HTTPException(404, f"no article with id {article_id}") from None
    return [Hit.of(hit) for hit in found]

"""Articles: latest list, one article with its copies, related articles."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from ..deps import EngineDep

router = APIRouter(tags=["articles"])


@router.get("/articles")
def latest(
    engine: EngineDep,
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> list[dict]:
    """The newest articles (copies folded into their originals)."""
    return [_summary(a) for a in engine.latest(limit, offset)]


@router.get("/articles/{article_id}")
def article(article_id: int, engine: EngineDep) -> dict:
    """One article with its full text and the outlets that also published it."""
    found = engine.article(article_id)
    if found is None:
        raise HTTPException(404, f"no article with id {article_id}")
    original, copies = found
    return {
        **original.to_dict(),
        "copies": [_summary(c) for c in copies],
        "also_published_by": sorted({c.source for c in copies if c.source}),
    }


@router.get("/articles/{article_id}/related")
def related(
    engine: EngineDep,
    article_id: int,
    limit: int = Query(10, ge=1, le=100),
) -> list[dict]:
    """Nearest articles by meaning; the article's own copies never appear."""
    try:
        return [hit.to_dict() for hit in engine.related(article_id, limit)]
    except KeyError:
        raise HTTPException(404, f"no article with id {article_id}") from None


def _summary(article) -> dict:
    data = article.to_dict()
    data.pop("text", None)
    return data

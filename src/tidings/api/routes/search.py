"""Search: keyword, semantic or hybrid."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from ..deps import EngineDep
from ..errors import BAD_REQUEST, INVALID, refused_as_400
from ..schemas import Hit

router = APIRouter(tags=["search"])


@router.get("/search", responses={**BAD_REQUEST, **INVALID})
def search(
    engine: EngineDep,
    q: str = Query(..., min_length=1, max_length=500, description="What to look for."),
    mode: Literal["hybrid", "keyword", "semantic"] = "hybrid",
    limit: int = Query(20, ge=1, le=100),
) -> list[Hit]:
    """Ranked articles; hybrid fuses BM25 and embedding ranks (reciprocal-rank fusion)."""
    with refused_as_400():
        found = engine.search(q, mode=mode, limit=limit)
    return [Hit.of(hit) for hit in found]

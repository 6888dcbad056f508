"""Search: keyword, semantic or hybrid."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from ..deps import EngineDep

router = APIRouter(tags=["search"])


@router.get("/search")
def search(
    engine: EngineDep,
    q: str = Query(..., min_length=1, max_length=500, description="What to look for."),
    mode: Literal["hybrid", "keyword", "semantic"] = "hybrid",
    limit: int = Query(20, ge=1, le=100),
) -> list[dict]:
    """Ranked articles; hybrid fuses BM25 and embedding ranks (reciprocal-rank fusion)."""
    return [hit.to_dict() for hit in engine.search(q, mode=mode, limit=limit)]

"""Stats: what the database holds."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import EngineDep
from ..schemas import Stats

router = APIRouter(tags=["meta"])


@router.get("/stats")
def stats(engine: EngineDep) -> Stats:
    """Counts of articles, copies, stories and indexed vectors; the embedding model."""
    return Stats.model_validate(engine.stats())

"""Stories: groups of articles about one event, with their timeline."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from ..deps import EngineDep

router = APIRouter(tags=["stories"])


@router.get("/stories")
def stories(
    engine: EngineDep,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    min_size: int = Query(1, ge=1),
) -> list[dict]:
    """Stories, most recently active first."""
    return [s.to_dict() for s in engine.stories(limit, offset, min_size)]


@router.get("/stories/{story_id}")
def story(story_id: int, engine: EngineDep) -> dict:
    """One story with its articles in time order."""
    found = engine.story(story_id)
    if found is None:
        raise HTTPException(404, f"no story with id {story_id}")
    data = found.to_dict()
    for item in data["articles"]:
        item.pop("text", None)
    return data

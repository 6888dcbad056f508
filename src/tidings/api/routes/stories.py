"""Stories: groups of articles about one event, with their timeline."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from ..deps import MAX_INT, EngineDep, Offset, StoryId
from ..errors import BAD_REQUEST, INVALID, NOT_FOUND, refused_as_400
from ..schemas import Story, StoryDetail

router = APIRouter(tags=["stories"])


@router.get("/stories", responses={**BAD_REQUEST, **INVALID})
def stories(
    engine: EngineDep,
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
    min_size: int = Query(1, ge=1, le=MAX_INT, description="Fewest articles a story has."),
) -> list[Story]:
    """Stories, most recently active first."""
    with refused_as_400():
        found = engine.stories(limit, offset, min_size)
    return [Story.model_validate(s) for s in found]


@router.get("/stories/{story_id}", responses={**NOT_FOUND, **INVALID})
def story(story_id: StoryId, engine: EngineDep) -> StoryDetail:
    """One story with its articles in time order."""
    found = engine.story(story_id)
    if found is None:
        raise HTTPException(404, f"no story with id {story_id}")
    return StoryDetail.model_validate(found)

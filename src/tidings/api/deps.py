"""Request-scoped access to the one Engine the app was built with, and the bounded path and
query parameters the routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from ..engine import Engine

# The widest integer a store holds (SQLite INTEGER and PostgreSQL bigint are signed 64-bit):
# a bigger id cannot exist, and a bigger offset cannot even be bound to a query.
MAX_INT = 2**63 - 1

ArticleId = Annotated[int, Path(ge=1, le=MAX_INT, description="Article id.")]
StoryId = Annotated[int, Path(ge=1, le=MAX_INT, description="Story id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="How many to skip.")]


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]

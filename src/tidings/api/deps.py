"""Request-scoped access to the one Engine the app was built with, and the bounded path and
query parameters the routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..engine import Engine

# The widest integer a store holds (SQLite INTEGER and PostgreSQL bigint are signed 64-bit):
# a bigger id cannot exist, and a bigger offset cannot even be bound to a query.
MAX_INT = 2**63 - 1

ArticleId = Annotated[int, Path(ge=1, le=MAX_INT, description="Article id.")]
StoryId = Annotated[int, Path(ge=1, le=MAX_INT, description="Story id.")]
FeedId = Annotated[int, Path(ge=1, le=MAX_INT, description="Feed (subscription) id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="How many to skip.")]


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]

_bearer = HTTPBearer(auto_error=False, description="An API token: `tidings tokens create NAME`.")


def require_token(
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """Write endpoints need `Authorization: Bearer <token>`; returns the token's name."""
    name = engine.readers.tokens.verify(credentials.credentials if credentials else None)
    if name is None:
        raise HTTPException(
            401,
            "a valid API token is required (Authorization: Bearer <token>; create one with "
            "`tidings tokens create NAME`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return name


TokenDep = Annotated[str, Depends(require_token)]

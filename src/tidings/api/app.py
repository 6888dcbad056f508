"""Builds the FastAPI app around an Engine."""

from __future__ import annotations

from fastapi import FastAPI

from .. import __version__, sync, web
from ..engine import Engine
from . import errors
from .routes import articles, feeds, search, stats, stories


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(
        title="Tidings",
        version=__version__,
        description="Semantic news aggregator: de-duplicated articles, stories, related "
        "articles and hybrid search.",
    )
    app.state.engine = engine
    errors.install(app)
    app.include_router(articles.router, prefix="/api")
    app.include_router(search.router, prefix="/api")
    app.include_router(stories.router, prefix="/api")
    app.include_router(stats.router, prefix="/api")
    app.include_router(feeds.router, prefix="/api")
    sync.install(app)  # reader apps: /reader/api/0/…, /api/greader.php/…, /api/fever.php
    web.install(app)  # the reader site: /, /story/…, /article/…, /search, /admin …
    return app

"""Builds the FastAPI app around an Engine."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from .. import __version__
from ..engine import Engine
from . import errors
from .routes import articles, feeds, search, stats, stories

INDEX_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tidings</title></head>
<body><h1>Tidings</h1>
<p>{articles} articles ({duplicates} copies folded) in {stories} stories.</p>
<ul>
<li><a href="/docs">API documentation (OpenAPI)</a></li>
<li><a href="/api/stories">Stories (JSON)</a></li>
<li><a href="/api/articles">Latest articles (JSON)</a></li>
<li><a href="/api/search?q=rescue">Search example (JSON)</a></li>
</ul></body></html>"""


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

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        counts = engine.stats()
        return INDEX_PAGE.format(
            articles=counts["originals"], duplicates=counts["duplicates"], stories=counts["stories"]
        )

    return app

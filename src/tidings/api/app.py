"""Builds the FastAPI app around an Engine."""

from __future__ import annotations

import contextlib
import gc

from fastapi import FastAPI

from .. import __version__, sync, web
from ..engine import Engine
from . import errors
from .routes import articles, feeds, search, stats, stories


def _lifespan(owns_engine: bool):
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        # What exists when serving starts (modules, the model's tensors' wrappers, the
        # engine) lives as long as the server: moved out of the collector's reach, a full
        # collection no longer walks it (that walk was a pause of up to 0.3 s under load)
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            if owns_engine:  # a worker process's own engine: buffered visits are written
                app.state.engine.close()

    return lifespan


def create_app(engine: Engine, owns_engine: bool = False) -> FastAPI:
    """The app around `engine`; with `owns_engine` the app closes it when serving ends."""
    app = FastAPI(
        lifespan=_lifespan(owns_engine),
        title="Tidings",
        version=__version__,
        description="Semantic news aggregator: de-duplicated articles, stories, related "
        "articles and hybrid search.",
    )
    app.state.engine = engine
    errors.install(app)
    # routes are matched in order: the site's pages, the most requested, come first (no
    # path of the site overlaps one of the APIs')
    web.install(app)  # the reader site: /, /story/…, /article/…, /search, /admin …
    app.include_router(articles.router, prefix="/api")
    app.include_router(search.router, prefix="/api")
    app.include_router(stories.router, prefix="/api")
    app.include_router(stats.router, prefix="/api")
    app.include_router(feeds.router, prefix="/api")
    sync.install(app)  # reader apps: /reader/api/0/…, /api/greader.php/…, /api/fever.php
    return app

"""The server-rendered reader site: Jinja2 templates (autoescaped), htmx as a static file,
security headers. Presentation only: every decision is the engine's or a room's."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .security import SecurityHeaders

STATIC = Path(__file__).parent / "static"

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add the site's pages, forms, static files and headers to the app (whose
    `state.engine` is set)."""
    from . import account, actions, admin, pages
    from .render import install_error_pages

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.include_router(admin.router)
    app.include_router(account.router)
    install_error_pages(app)
    app.add_middleware(SecurityHeaders)

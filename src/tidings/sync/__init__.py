"""Reader-app protocols as thin adapters over the Engine: the Google Reader API (FreshRSS
flavour), Fever, and feeds out (Atom, RSS, JSON Feed). `install(app)` mounts them."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["install"]


def install(app: FastAPI) -> None:
    from . import feeds, fever, greader

    app.include_router(greader.router)
    app.include_router(fever.router)
    app.include_router(feeds.router)

"""Reader-app protocols as thin adapters over the Engine: the Google Reader API (FreshRSS
flavour) and Fever. `install(app)` mounts them."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["install"]


def install(app: FastAPI) -> None:
    from . import fever, greader

    app.include_router(greader.router)
    app.include_router(fever.router)

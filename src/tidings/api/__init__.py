"""FastAPI application: JSON API over the Engine, OpenAPI docs at /docs."""

from .app import create_app

__all__ = ["create_app"]

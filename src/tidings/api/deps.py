"""Request-scoped access to the one Engine the app was built with."""

from __future__ import annotations

from fastapi import Request

from ..engine import Engine


def get_engine(request: Request) -> Engine:
    return request.app.state.engine

"""The worker processes of `tidings serve --workers N`: uvicorn starts each one, and each
builds its own engine on the database the parent names (every process of Tidings shares a
database safely: writes are transactions, indexes catch up by generation)."""

from __future__ import annotations

import json
import os

from fastapi import FastAPI

from ..engine import Engine
from ..settings import Settings
from .app import create_app

SETTINGS_ENV = "TIDINGS_WORKER_SETTINGS"  # the parent's resolved settings, as JSON


def worker_app() -> FastAPI:
    """uvicorn's app factory in a worker: the parent's settings, a warm engine of its own.
    The parent runs the poller; a worker only answers requests."""
    values = json.loads(os.environ[SETTINGS_ENV])
    settings = Settings.load(env={}, **{**values, "poll_in_serve": False})
    engine = Engine(settings)
    engine.warm()
    return create_app(engine, owns_engine=True)

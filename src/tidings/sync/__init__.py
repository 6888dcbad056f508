"""Reader-app protocols as thin adapters over the Engine: the Google Reader API (FreshRSS
flavour) with the Atom newsreader endpoint, Fever, and feeds out (Atom, RSS, JSON Feed).
`install(app)` mounts them."""

from __future__ import annotations

import re

from fastapi import FastAPI

__all__ = ["install"]

# where reader apps are pointed; a base URL typed with a trailing slash makes them ask for
# "//reader/api/0/…" (NetNewsWire, newsboat), which is served as if the slash were single
SYNC_PATHS = ("/reader/", "/accounts/", "/api/greader.php/", "/api/fever.php", "/fever")
_SLASHES = re.compile(r"/{2,}")


class SlashTolerant:
    """ASGI middleware: collapse repeated slashes in the paths reader apps use."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and "//" in scope["path"]:
            path = _SLASHES.sub("/", scope["path"])
            if path.startswith(SYNC_PATHS):
                scope = {**scope, "path": path}
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    from . import feeds, fever, greader, reader_atom

    app.include_router(greader.router)
    app.include_router(reader_atom.router)
    app.include_router(fever.router)
    app.include_router(feeds.router)
    app.add_middleware(SlashTolerant)

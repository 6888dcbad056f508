"""Form posts: a bounded body, a same-origin check and a valid CSRF token, or a 4xx."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import HTTPException, Path, Request
from fastapi.responses import RedirectResponse

from ..api.deps import MAX_INT
from .context import Visitor, finish, visitor

# a stored id is a positive signed 64-bit integer; anything else is a 400, not a 500
Id = Annotated[int, Path(ge=1, le=MAX_INT)]
MAX_FORM_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def local_path(value: str | None, default: str = "/") -> str:
    """A redirect target on this site only (no //host, no scheme, no backslash tricks)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) < 0x20 for ch in value) or urlsplit(value).netloc:
        return default
    return value


async def checked_form(request: Request, max_bytes: int = MAX_FORM_BYTES):
    """The posted form after the checks every write needs."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(411, "A form post needs a Content-Length.")
    if int(length) > max_bytes:
        raise HTTPException(413, "That form is too large.")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        ours = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin.rstrip("/") != ours:
            raise HTTPException(403, "That form came from another site.")
    form = await request.form(max_files=1, max_fields=50, max_part_size=max_bytes)
    who = visitor(request)
    engine = request.app.state.engine
    if who.new_visitor or not engine.readers.sessions.csrf_valid(
        form.get("_csrf"), who.session, who.visitor_token
    ):
        await form.close()
        raise HTTPException(403, "This form has expired. Go back, reload the page and try again.")
    return form


def field(form, name: str, limit: int = 10_000) -> str:
    """A text field of a posted form, cut to `limit` characters ("" when absent or a file)."""
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def redirect(who: Visitor, target: str) -> RedirectResponse:
    return finish(RedirectResponse(target, status_code=303), who)  # type: ignore[return-value]


def need_account(request: Request) -> Visitor:
    who = visitor(request)
    if who.account is None:
        raise HTTPException(403, "Sign in first.")
    return who


def need_admin(request: Request) -> Visitor:
    who = visitor(request)
    if not who.is_admin:
        raise HTTPException(403 if who.account else 401, "This page is for admins.")
    return who

"""Rendering: one autoescaping Jinja2 environment, the context every page gets, HTML error
pages."""

from __future__ import annotations

from pathlib import Path

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .context import finish, visitor
from .filters import FILTERS

TEMPLATES = Path(__file__).parent / "templates"

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every template, whatever its name
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(FILTERS)


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    who = visitor(request)
    engine = request.app.state.engine
    html = env.get_template(name).render(
        request=request,
        who=who,
        csrf=who.csrf,
        site_title=engine.settings.site_title,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if status_code == 200 and request.method == "GET":
        response.headers["cache-control"] = "private, no-cache"
    return finish(response, who)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/openapi", "/docs", "/redoc"))


def install_error_pages(app: FastAPI) -> None:
    api_http = app.exception_handlers.get(StarletteHTTPException)
    api_invalid = app.exception_handlers.get(RequestValidationError)

    async def http_error(request: Request, exc: StarletteHTTPException):
        if _wants_html(request):
            return render(
                request,
                "error.html",
                exc.status_code,
                status=exc.status_code,
                message=exc.detail if isinstance(exc.detail, str) else "Error",
            )
        if api_http:
            return await api_http(request, exc)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    async def invalid(request: Request, exc: RequestValidationError):
        if _wants_html(request):
            return render(
                request,
                "error.html",
                400,
                status=400,
                message="That address has a value this page cannot use.",
            )
        if api_invalid:
            return await api_invalid(request, exc)
        return JSONResponse({"detail": exc.errors()}, status_code=422)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)

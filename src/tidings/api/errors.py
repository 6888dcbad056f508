"""Errors as typed JSON bodies: engine refusals are 400s, invalid parameters 422s, each in the
shape the OpenAPI schema documents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .schemas import Error, FieldError, ValidationProblem

NOT_FOUND = {404: {"model": Error, "description": "No such id"}}
BAD_REQUEST = {400: {"model": Error, "description": "The engine refused the request"}}
UNAUTHORIZED = {401: {"model": Error, "description": "No valid API token"}}
# declared on every route, so FastAPI documents our body instead of its own default one
INVALID = {422: {"model": ValidationProblem, "description": "A parameter is invalid"}}


@contextmanager
def refused_as_400() -> Iterator[None]:
    """An engine ValueError names what is wrong with the request: a 400, not a 500. Wrap only
    the engine call, so a fault building the response still shows as the server's."""
    try:
        yield
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problem = ValidationProblem(
        detail=[
            FieldError(
                loc=list(error.get("loc", ())),
                msg=error.get("msg", ""),
                type=error.get("type", ""),
                input=error["input"] if isinstance(error.get("input"), str) else None,
            )
            for error in exc.errors()
        ]
    )
    return JSONResponse(problem.model_dump(mode="json"), status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid)

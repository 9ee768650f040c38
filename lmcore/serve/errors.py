"""Errors as the OpenAI API gives them (chapter 12).

Every error the service answers has the OpenAI body and a 4xx status::

    {"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens",
               "code": null}}

=======  ========================  ===================================================
status   type                      when
=======  ========================  ===================================================
400      invalid_request_error     malformed JSON, wrong types, missing fields, bad values
401      invalid_request_error     missing or wrong API key (code ``invalid_api_key``)
404      invalid_request_error     unknown model (code ``model_not_found``) or route
405      invalid_request_error     a route called with the wrong method
429      tokens                    a key's tokens-per-minute quota is spent
                                   (code ``rate_limit_exceeded``)
503      server_error              the service is starting or shutting down
=======  ========================  ===================================================

:func:`install_handlers` makes FastAPI answer this way everywhere, including the cases it
would otherwise answer with its own shapes (422 for validation, ``{"detail": ...}`` for 404).
An unexpected exception is answered with the same body shape (type ``server_error``); the
tests send every invalid request of the issue and assert that none of them reaches it.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["APIError", "error_body", "error_response", "install_handlers",
           "validation_message"]

log = logging.getLogger("lmcore.serve")

_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}


class APIError(Exception):
    """An error the client caused (or a refusal), answered as an OpenAI error body."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: Optional[str] = None, code: Optional[str] = None,
                 headers: Optional[dict[str, str]] = None):
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code, self.headers = param, code, headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(message: str, type: str = "invalid_request_error", param: Optional[str] = None,
               code: Optional[str] = None) -> dict[str, Any]:
    """The OpenAI error object: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_response(error: APIError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def validation_message(errors: list[dict[str, Any]]) -> tuple[str, Optional[str]]:
    """A sentence and the offending parameter from pydantic's error list (the first error).

    ``loc`` is the path of the field inside the body (``("max_tokens",)`` or
    ``("messages", 0, "role")``); ``param`` is that path written with dots.
    """
    if not errors:
        return "The request is invalid.", None
    first = errors[0]
    # union members appear in the path ("prompt", "list[str]", 0): keep only field names
    loc = [part for part in first.get("loc", ()) if part != "body"
           and not (isinstance(part, str) and (part in _TYPE_TAGS or "[" in part))]
    kind = first.get("type", "")
    if kind == "json_invalid":
        return ("We could not parse the JSON body of your request. The body must be a JSON "
                "object.", None)
    param = ".".join(str(part) for part in loc) or None
    shown = repr(first.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    if kind == "missing":
        return f"Missing required parameter: {param!r}.", param
    if kind == "extra_forbidden":
        return f"Unrecognized request argument supplied: {param!r}.", param
    if not loc:
        return (f"The request body must be a JSON object; got {shown}.", None)
    reason = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"Invalid value for {param!r}: {reason}. Got {shown}.", param


def install_handlers(app: FastAPI) -> None:
    """Answer every error with an OpenAI-style body: ours, FastAPI's and unexpected ones."""

    @app.exception_handler(APIError)
    async def _api_error(request: Request, error: APIError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        message, param = validation_message(list(error.errors()))
        return error_response(APIError(400, message, param=param))   # not FastAPI's 422

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            message = f"Invalid URL ({request.method} {request.url.path})."
        elif error.status_code == 405:
            message = (f"Method {request.method} is not allowed for {request.url.path}.")
        else:
            message = str(error.detail)
        code = "unknown_url" if error.status_code == 404 else None
        return error_response(APIError(error.status_code, message, code=code,
                                       headers=dict(error.headers or {})))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("The server had an error while processing your "
                                       "request.", "server_error"), status_code=500)

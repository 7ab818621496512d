"""GitHub-shaped error answers: ``{"message", "documentation_url", "status"}`` and 422 details."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

DOCS = "https://docs.github.com/rest"


class GitHubError(Exception):
    """Raised anywhere in a route to answer like GitHub does."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}


def not_found() -> GitHubError:
    return GitHubError(404, "Not Found")


def validation_failed(
    resource: str, field: str, code: str = "invalid", message: str = ""
) -> GitHubError:
    error: dict[str, Any] = {"resource": resource, "field": field, "code": code}
    if message:
        error["message"] = message
    return GitHubError(422, "Validation Failed", [error])


# GitHub refuses longer issue, pull request, comment and review bodies.
MAX_BODY_LENGTH = 65536


def limit_body(resource: str) -> Callable[[str | None], str | None]:
    """A pydantic ``AfterValidator``: 422 ``Validation Failed`` like GitHub's for a body over
    :data:`MAX_BODY_LENGTH` characters (a GitHubError goes through pydantic unchanged)."""

    def check(value: str | None) -> str | None:
        if value is not None and len(value) > MAX_BODY_LENGTH:
            raise validation_failed(
                resource,
                "body",
                "custom",
                f"body is too long (maximum is {MAX_BODY_LENGTH} characters)",
            )
        return value

    return check


def label_names(raw: object) -> list[str]:
    """Names from ``["a"]`` or ``[{"name": "a"}]``; 422 for anything else."""
    if not isinstance(raw, list):
        raise validation_failed("Label", "labels")
    names = []
    for item in raw:
        if isinstance(item, dict):
            item = item.get("name")
        if not isinstance(item, str):
            raise GitHubError(
                422,
                "Invalid request.\n\nFor 'items', it is not a string or an object with a name.",
                [{"resource": "Label", "field": "labels", "code": "invalid"}],
            )
        names.append(item)
    return names


def error_body(status: int, message: str, errors: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
    if errors is not None:
        body["errors"] = errors
    return body


def install_handlers(app: FastAPI) -> None:
    """Make every error, including FastAPI's own 404/405/422, look like GitHub's."""

    async def on_github_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GitHubError)
        return JSONResponse(
            error_body(exc.status, exc.message, exc.errors), exc.status, headers=exc.headers
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, exc.detail)
        return JSONResponse(error_body(exc.status_code, str(message)), exc.status_code)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "resource": "Request",
                "field": ".".join(str(p) for p in e["loc"][1:]),
                "code": "invalid",
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        return JSONResponse(error_body(422, "Invalid request.", errors), 422)

    app.add_exception_handler(GitHubError, on_github_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)

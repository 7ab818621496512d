"""The fault mode's API side: an ASGI middleware answering requests that match a fault rule
(`faults.ApiFaults`, kept on ``app.state.api_faults``) with the error GitHub would send.

It sits inside the rate-limit middleware, so a faulted request is counted and its answer
carries ``x-ratelimit-*`` and the same ``x-github-request-id`` its body names, as GitHub's
do. ghsim's own ``/api/v3/_ghsim/`` endpoints are never faulted.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from ghsim.errors import error_body
from ghsim.faults import ActiveRule, ApiFaults, api_path
from ghsim.ratelimit import REQUEST_ID_STATE, is_metered, secondary_limit_body

# GitHub's words for its own failures; 403 and 429 answer as a secondary rate limit.
_MESSAGES = {
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: (
        "We couldn't respond to your request in time. Sorry about that. Please try "
        "resubmitting your request and contact us if the problem persists."
    ),
}


def fault_body(active: ActiveRule, request_id: str) -> dict[str, Any]:
    rule = active.rule
    if rule.status in (403, 429):
        body: dict[str, Any] = {**secondary_limit_body(request_id), "status": str(rule.status)}
    else:
        body = error_body(rule.status, _MESSAGES.get(rule.status, "Server Error"))
    if rule.message is not None:
        body["message"] = rule.message
    return body


class ApiFaultAnswers:
    """ASGI middleware: a request a live fault rule matches gets the rule's answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_metered(scope):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        faults: ApiFaults = scope["app"].state.api_faults
        active = faults.answer(scope["method"], api_path(path), time.monotonic())
        if active is None:
            await self.app(scope, receive, send)
            return
        request_id = str((scope.get("state") or {}).get(REQUEST_ID_STATE, ""))
        body = orjson.dumps(fault_body(active, request_id))
        headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        if active.rule.retry_after is not None:
            headers.append((b"retry-after", str(active.rule.retry_after).encode()))
        await send(
            {"type": "http.response.start", "status": active.rule.status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})

"""Signed deliveries of the recorded payloads, as GitHub sends them, and the web app to send
them to."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

from bot.web.signature import sign
from handlers import router

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
# What the web app is given in `issue-pilot serve`: the composed router's subscriptions.
SUBSCRIPTIONS = router.subscriptions()


@dataclass(frozen=True)
class Recorded:
    event: str
    file: str
    body: bytes

    @property
    def id(self) -> str:
        return f"{self.event}/{self.file}"


def recorded_payloads() -> list[Recorded]:
    return [
        Recorded(path.parent.name, path.name, path.read_bytes())
        for path in sorted(FIXTURES.glob("*/*.json"))
    ]


def github_headers(
    event: str, body: bytes, secret: str | None, delivery_id: str | None = None
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc1234",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret.encode(), body)
    return headers


@asynccontextmanager
async def app_client(
    app: FastAPI, base_url: str = "http://pilot.test"
) -> AsyncIterator[httpx.AsyncClient]:
    """`app` with its lifespan running (Redis connected), and a client calling it in process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client

"""The App's webhook deliveries: list, inspect, redeliver (GitHub's /app/hook API)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from ghsim.auth import AppDep, Caller
from ghsim.errors import not_found, validation_failed
from ghsim.paging import paginate_cursor
from ghsim.sim import Sim, SimDep
from ghsim.store import Doc

router = APIRouter()


def _item(delivery: Doc) -> dict[str, Any]:
    return {
        "id": delivery["id"],
        "guid": delivery["guid"],
        "delivered_at": delivery["delivered_at"],
        "redelivery": delivery["redelivery"],
        "duration": delivery["duration"],
        "status": delivery["status"],
        "status_code": delivery["status_code"],
        "event": delivery["event"],
        "action": delivery["action"],
        "installation_id": delivery["installation_id"],
        "repository_id": delivery["repository_id"],
        "throttled_at": None,
    }


def _own_app(sim: Sim, caller: Caller) -> int | None:
    """The ``app_id`` the caller's deliveries carry: none for the built-in App's."""
    return None if caller.app_id == sim.identity.app_id else caller.app_id


def _delivery_or_404(sim: Sim, caller: Caller, delivery_id: int) -> Doc:
    delivery = sim.store.get("delivery", delivery_id)
    if delivery is None or delivery.get("app_id") != _own_app(sim, caller):
        raise not_found()
    return delivery


@router.get("/app/hook/deliveries")
def list_deliveries(
    request: Request,
    response: Response,
    sim: SimDep,
    caller: AppDep,
    status: str | None = None,
    redelivery: str | None = None,
) -> list[dict[str, Any]]:
    """Newest first, in cursor pages (``cursor``, ``per_page``, the ``Link`` header).

    Only attempted deliveries are listed: one still queued (or held by the fault mode) has no
    outcome yet. ``status=success`` lists those answered 200-399, ``failure`` 400-599 (a
    receiver that could not be reached counts as 502), as GitHub's docs say.
    """
    if status is None:
        outcome: str | list[str] = ["success", "failure"]
    elif status in ("success", "failure"):
        outcome = status
    else:
        raise validation_failed("Delivery", "status", message="must be success or failure")
    filters: dict[str, Any] = {"app_id": _own_app(sim, caller), "outcome": outcome}
    if redelivery is not None:
        filters["redelivery"] = redelivery.lower() == "true"
    page = paginate_cursor(request, response, sim.store, "delivery", **filters)
    return [_item(d) for d in page]


@router.get("/app/hook/deliveries/{delivery_id}")
def get_delivery(delivery_id: int, sim: SimDep, caller: AppDep) -> dict[str, Any]:
    delivery = _delivery_or_404(sim, caller, delivery_id)
    response = delivery.get("response") or {"headers": {}, "payload": None}
    return {
        **_item(delivery),
        "url": sim.webhooks.url(delivery) or "",
        "request": {
            "headers": sim.webhooks.headers(delivery),
            "payload": json.loads(delivery["body"]),
        },
        "response": {"headers": response["headers"], "payload": response["payload"]},
        "attempts": delivery["attempts"],
    }


@router.post("/app/hook/deliveries/{delivery_id}/attempts", status_code=202)
def redeliver(delivery_id: int, sim: SimDep, caller: AppDep) -> dict[str, Any]:
    sim.webhooks.redeliver(_delivery_or_404(sim, caller, delivery_id))
    return {}

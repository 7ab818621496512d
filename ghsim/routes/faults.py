"""ghsim's switch for its fault mode while it runs (not a GitHub endpoint): tests and benches
drop, shuffle or delay webhook deliveries and make API requests fail (`faults.py`).

``GET /_ghsim/faults`` shows both sides; ``PUT``/``DELETE /_ghsim/faults/deliveries`` set or
end the delivery faults; ``POST /_ghsim/faults/api`` adds an API rule, ``GET`` lists them,
``DELETE`` (all, or ``/{id}``) clears them; ``DELETE /_ghsim/faults`` ends everything.
The routes are ``async`` so they change the rules on the event loop that reads them.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ghsim.errors import GitHubError, not_found
from ghsim.faults import ApiFaults, ApiRule, DeliveryFaults
from ghsim.sim import SimDep

router = APIRouter()


class DeliveryFaultsBody(BaseModel):
    drop: float = 0.0
    reorder_window: int = 1
    reorder_hold_ms: int = 200
    delay_ms: int = 0
    delay_random: bool = False
    seed: int | None = None


class ApiRuleBody(BaseModel):
    method: str
    path: str
    status: int
    seconds: float | None = None
    count: int | None = None
    retry_after: int | None = None
    message: str | None = None


def _api_faults(request: Request) -> ApiFaults:
    faults: ApiFaults = request.app.state.api_faults
    return faults


def _invalid(exc: ValueError) -> GitHubError:
    return GitHubError(422, "Validation Failed", [{"resource": "Fault", "message": str(exc)}])


@router.get("/_ghsim/faults")
async def read_faults(request: Request, sim: SimDep) -> dict[str, Any]:
    return {
        "deliveries": sim.webhooks.dice.faults.as_json(),
        "api": _api_faults(request).listed(time.monotonic()),
    }


@router.delete("/_ghsim/faults", status_code=204)
async def clear_faults(request: Request, sim: SimDep) -> Response:
    sim.webhooks.set_faults(DeliveryFaults())
    _api_faults(request).clear()
    return Response(status_code=204)


@router.put("/_ghsim/faults/deliveries")
async def set_delivery_faults(body: DeliveryFaultsBody, sim: SimDep) -> dict[str, Any]:
    try:
        faults = DeliveryFaults(**body.model_dump())
    except ValueError as exc:
        raise _invalid(exc) from None
    sim.webhooks.set_faults(faults)
    return faults.as_json()


@router.delete("/_ghsim/faults/deliveries", status_code=204)
async def clear_delivery_faults(sim: SimDep) -> Response:
    sim.webhooks.set_faults(DeliveryFaults())
    return Response(status_code=204)


@router.post("/_ghsim/faults/api", status_code=201)
async def add_api_rule(body: ApiRuleBody, request: Request) -> dict[str, Any]:
    try:
        rule = ApiRule(**body.model_dump())
    except ValueError as exc:
        raise _invalid(exc) from None
    now = time.monotonic()
    return _api_faults(request).add(rule, now).as_json(now)


@router.get("/_ghsim/faults/api")
async def list_api_rules(request: Request) -> list[dict[str, Any]]:
    return _api_faults(request).listed(time.monotonic())


@router.delete("/_ghsim/faults/api", status_code=204)
async def clear_api_rules(request: Request) -> Response:
    _api_faults(request).clear()
    return Response(status_code=204)


@router.delete("/_ghsim/faults/api/{rule_id}", status_code=204)
async def remove_api_rule(rule_id: int, request: Request) -> Response:
    if not _api_faults(request).remove(rule_id):
        raise not_found()
    return Response(status_code=204)

"""The running simulator: its state plus the webhook dispatcher, shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ghsim.config import SimConfig
from ghsim.errors import GitHubError
from ghsim.state import SimState
from ghsim.webhooks import Webhooks


class Sim(SimState):
    """Everything a route needs; one per app, reachable as ``request.app.state.sim``."""

    def __init__(self, config: SimConfig) -> None:
        super().__init__(config)
        self.webhooks = Webhooks(self)


async def get_sim(request: Request) -> Sim:
    """FastAPI dependency: the simulator behind this app."""
    sim = request.app.state.sim
    if not isinstance(sim, Sim):
        raise GitHubError(500, "ghsim not initialised")
    return sim


SimDep = Annotated[Sim, Depends(get_sim)]

"""What a run is made with: the model, the sandboxes, the workspace, and the worker's
scheduler, stop signals, feed and counters (none of them in a test that needs none)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.agent.llm import LLM
from bot.agent.requirements import MAX_NODES
from bot.core.ci_index import CiIndex
from bot.core.feed import RunFeed
from bot.core.signals import StopFlag
from bot.github.workspace import Workspace
from bot.metrics.timing import NoRunMetrics, RunMetrics
from bot.sandbox.api import Sandboxes


class Scheduler(Protocol):
    async def later(self, event: dict[str, Any], key: str, delay_s: float) -> None:
        """Hands `event` back to this run after `delay_s` (the CI time-out)."""
        ...


class StopSignals(Protocol):
    async def stop_flag(self, repo_full_name: str, number: int) -> StopFlag | None: ...

    async def set_waiting(self, repo_full_name: str, number: int, on: bool) -> None: ...

    async def clear_stop(self, repo_full_name: str, number: int) -> None: ...

    async def pause_requested(self, repo_full_name: str, issue: int) -> str | None: ...

    async def clear_pause(self, repo_full_name: str, issue: int) -> None: ...


class Fence(Protocol):
    """The job's hold on its run (bot/run/lease.py): checked before each push and write."""

    lost: asyncio.Event

    async def check(self) -> None:
        """Raises unless this job still holds the run."""
        ...


@dataclass
class RunDeps:
    """What a run is made with; the worker builds it once, tests build their own."""

    llm: LLM
    sandboxes: Sandboxes
    workspace: Workspace
    runs_dir: Path
    sandbox_image: str
    command_prefix: str = "/pilot"
    trigger_label: str = "pilot"
    force_tools: bool = False
    require_tool: bool = False  # the agent's steps are one `tool_choice: required` call each
    context_tokens: int = 48_000
    plan_max_requirements: int = MAX_NODES  # the planner's bound (PILOT_LLM_PLAN_MAX_REQUIREMENTS)
    drafts: int = 0  # drafts before a requirement's tool loop (bot/agent/drafts.py)
    ci_timeout_s: float = 600.0
    max_parallel_attempts: int = 2  # candidates of one requirement working at once
    scheduler: Scheduler | None = None
    signals: StopSignals | None = None
    feed: RunFeed | None = None
    # Where the shas a run is done with are kept, so their CI news costs no GitHub call.
    ci_index: CiIndex | None = None
    metrics: RunMetrics = field(default_factory=NoRunMetrics)
    # None outside a worker (tests, `run-local`): nothing else can hold the run there.
    fence: Fence | None = None
    clock: Callable[[], float] = time.time
    extra: dict[str, Any] = field(default_factory=dict)

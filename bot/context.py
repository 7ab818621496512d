"""What every handler receives: the clients, made once by the worker."""

from __future__ import annotations

from dataclasses import dataclass

from bot.coordination import Coordination
from bot.github import GitHubApp
from bot.jobs import JobQueue
from bot.run_signals import RunSignals
from bot.settings import Settings


@dataclass
class HandlerContext:
    settings: Settings
    github: GitHubApp
    jobs: JobQueue
    coordination: Coordination
    signals: RunSignals

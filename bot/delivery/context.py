"""What every handler receives: the clients, made once by the worker."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.coordination import Coordination
from bot.core.jobs import JobQueue
from bot.core.settings import Settings
from bot.core.signals import RunSignals
from bot.github.api import GitHubApp


@dataclass
class HandlerContext:
    settings: Settings
    github: GitHubApp
    jobs: JobQueue
    coordination: Coordination
    signals: RunSignals

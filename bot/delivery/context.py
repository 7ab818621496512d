"""What every handler receives: the clients, made once by the worker."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.ci_index import CiIndex
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
    # Shas each run is done with: CI news about them is dropped unread (None: always wake).
    ci_index: CiIndex | None = None

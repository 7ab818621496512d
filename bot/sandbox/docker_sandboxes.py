"""Sandboxes on the docker SDK: one labelled volume per run, one locked-down container per phase."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import docker
from docker.models.containers import Container

from bot.sandbox.api import SandboxSpec, check_session_tree
from bot.sandbox.cleanup import (
    labelled,
    reap,
    remove_containers,
    remove_run,
    remove_session,
    remove_things,
)
from bot.sandbox.containers import (
    LABEL_CREATED,
    LABEL_OWNER,
    LABEL_RUN,
    LABEL_VOLUME,
    SessionState,
    run_detached,
)
from bot.sandbox.docker_sandbox import DockerSandbox
from bot.sandbox.image_volumes import declared_volumes
from bot.sandbox.setup_network import ensure_setup_network
from bot.sandbox.workspace_fill import fill_from_pack, fill_from_tar


class DockerSession:
    """The run's volume; each phase gets its own container on it."""

    def __init__(self, state: SessionState) -> None:
        self._state = state

    @property
    def volume(self) -> str:
        return self._state.volume

    @asynccontextmanager
    async def phase(self, name: str, network: bool = False) -> AsyncIterator[DockerSandbox]:
        state = self._state
        config = state.container_config(name, network, detach=True)
        container: Container | None = None if network else state.prepared.pop(name, None)
        try:
            if network:
                await asyncio.to_thread(ensure_setup_network, state.client)
            if container is None:
                container = await asyncio.to_thread(run_detached, state.client, config)
            yield DockerSandbox(state.client, container, state)
        finally:
            if container is not None:
                await asyncio.shield(asyncio.to_thread(remove_containers, [container]))


class DockerSandboxes:
    """Sandboxes on a docker daemon; `client` defaults to the one DOCKER_HOST names."""

    def __init__(self, client: docker.DockerClient | None = None, owner: str = "local") -> None:
        self._given = client
        self.owner = owner

    @property
    def _client(self) -> docker.DockerClient:
        # Made on first use: from_env() already talks to the daemon, and a worker should start
        # (and say what is wrong at the first run) even when dockerd is down.
        if self._given is None:
            self._given = docker.from_env()
        return self._given

    @asynccontextmanager
    async def session(
        self,
        spec: SandboxSpec,
        tree_tar: bytes | None = None,
        *,
        pack: bytes | None = None,
        commit: str | None = None,
    ) -> AsyncIterator[DockerSession]:
        check_session_tree(tree_tar, pack, commit)
        slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", spec.run_id)[:40].strip("-.") or "run"
        volume = f"issue-pilot-{slug}-{uuid.uuid4().hex[:8]}"
        labels = {
            LABEL_RUN: spec.run_id,
            LABEL_CREATED: str(int(time.time())),
            LABEL_OWNER: self.owner,
        }
        state = SessionState(self._client, spec, volume, labels={**labels, LABEL_VOLUME: volume})
        # tmpfs, because extracting and committing 20k files on disk takes seconds; the holder
        # keeps it mounted between phases (docker unmounts, and empties, an unused one).
        size = f"size={spec.workspace_bytes},uid=1000,gid=1000,mode=0755"
        options = {"type": "tmpfs", "device": "tmpfs", "o": size}
        # Only the run's lease holder opens its session: anything else under this run id is
        # what a worker that died mid-run left.
        _, state.image_volumes = await asyncio.gather(
            asyncio.to_thread(remove_run, self._client, spec.run_id, self.owner),
            asyncio.to_thread(declared_volumes, self._client, spec.image),
        )
        # The holder only ever runs the fill, never the agent: no CPU cap, so git and the walk
        # feeding it can use a core each.
        holder_config = state.container_config("holder", False, detach=True, nano_cpus=0)
        try:
            await asyncio.to_thread(
                self._client.volumes.create, name=volume, labels=labels, driver_opts=options
            )
            # The first phase's container starts beside the holder, before the tree goes in:
            # a container start is the largest fixed cost of a session.
            starts = [asyncio.to_thread(run_detached, self._client, holder_config)]
            if spec.prestart is not None:
                config = state.container_config(spec.prestart, False, detach=True)
                starts.append(asyncio.to_thread(run_detached, self._client, config))
            holder, *first = await asyncio.gather(*starts)
            if spec.prestart is not None:
                state.prepared[spec.prestart] = first[0]
            holder_id = str(holder.id)
            if pack is not None and commit is not None:
                state.baseline = await asyncio.to_thread(
                    fill_from_pack, self._client, holder_id, pack, commit
                )
            else:
                state.baseline = await asyncio.to_thread(
                    fill_from_tar, self._client, holder_id, tree_tar or b""
                )
            yield DockerSession(state)
        finally:
            await asyncio.shield(asyncio.to_thread(remove_session, self._client, volume))

    async def reap(self, older_than_s: float) -> list[str]:
        """Remove what outlived its run by age: see `cleanup.reap`."""
        return await reap(self._client, older_than_s)

    async def reap_orphans(self, alive: Callable[[str], Awaitable[bool]]) -> list[str]:
        """Remove this owner's containers and volumes of every run `alive` says no worker
        holds."""
        found = await asyncio.to_thread(labelled, self._client, self.owner)
        dead = {run for run in {run for run, _ in found} if not await alive(run)}
        orphans = [thing for run, thing in found if run in dead]
        return await asyncio.to_thread(remove_things, orphans)

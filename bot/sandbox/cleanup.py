"""Removing sandboxes: a session's own at its end, a dead worker's run's, and whatever outlived
its run; each removal safe to repeat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from docker.models.volumes import Volume

from bot.sandbox.containers import LABEL_CREATED, LABEL_OWNER, LABEL_RUN, LABEL_VOLUME


def remove_containers(containers: Iterable[Container]) -> list[str]:
    removed = []
    for container in containers:
        try:
            # With its anonymous volumes (an image's `VOLUME`s, should any slip through):
            # without `v`, dockerd keeps them, unlabelled, for ever.
            container.remove(v=True, force=True)
            removed.append(str(container.name))
        except NotFound:
            pass
        except APIError as error:
            if "already in progress" not in str(error):
                raise
    return removed


def remove_session(client: docker.DockerClient, volume: str) -> None:
    """Remove a session's containers, then its volume; safe to call again."""
    for attempt in range(40):
        # A container another removal took away between the list and its inspect is gone
        # already, which is what is wanted: `ignore_removed` keeps that from raising.
        remove_containers(client.containers.list(
            all=True, filters={"label": f"{LABEL_VOLUME}={volume}"}, ignore_removed=True
        ))  # fmt: skip
        try:
            client.volumes.get(volume).remove(force=True)
            return
        except NotFound:
            return
        except APIError as error:
            # A container removal someone else started (a reaper) may still hold it.
            if "in use" not in str(error) or attempt == 39:
                raise
            time.sleep(0.25)


def labelled(
    client: docker.DockerClient, owner: str | None = None
) -> list[tuple[str, Container | Volume]]:
    """Every container, then every volume, carrying a run label (and `owner`'s label when
    given), with that run id."""
    wanted = [LABEL_RUN, *([f"{LABEL_OWNER}={owner}"] if owner is not None else [])]
    label: dict[str, str | list[str] | bool] = {"label": wanted}
    containers = client.containers.list(all=True, filters=label, ignore_removed=True)
    volumes = client.volumes.list(filters=label)
    return [(c.labels.get(LABEL_RUN, ""), c) for c in containers] + [
        ((v.attrs.get("Labels") or {}).get(LABEL_RUN, ""), v) for v in volumes
    ]


def remove_run(client: docker.DockerClient, run_id: str, owner: str) -> list[str]:
    return remove_things([thing for run, thing in labelled(client, owner) if run == run_id])


def remove_things(things: list[Container | Volume]) -> list[str]:
    """Containers first (a volume in use cannot go), each one gone or already gone."""
    removed = remove_containers(t for t in things if isinstance(t, Container))
    for volume in things:
        if isinstance(volume, Volume):
            try:
                volume.remove(force=True)
                removed.append(str(volume.name))
            except NotFound:
                pass
            except APIError:  # still in use by a container that is not ours to remove
                pass
    return removed


def _created(labels: dict[str, str] | None) -> float:
    try:
        return float((labels or {}).get(LABEL_CREATED, "0"))
    except ValueError:
        return 0.0


def _reap(client: docker.DockerClient, older_than_s: float) -> list[str]:
    cutoff = time.time() - older_than_s
    stale: list[Container | Volume] = []
    for _, thing in labelled(client):
        if isinstance(thing, Container):
            if _created(thing.labels) < cutoff or thing.status in ("exited", "dead"):
                stale.append(thing)
        elif _created(thing.attrs.get("Labels")) < cutoff:
            stale.append(thing)
    return remove_things(stale)


async def reap(client: docker.DockerClient, older_than_s: float) -> list[str]:
    """Remove labelled containers and volumes that outlived their run; returns their names.

    A container counts as stale once it exited or was made more than `older_than_s` ago."""
    return await asyncio.to_thread(_reap, client, older_than_s)

"""Images that declare `VOLUME`: each declared path gets a capped tmpfs, and whatever the backend
removes goes with its anonymous volumes, so nothing is left on the daemon's disk."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator

import docker
import pytest

from bot.sandbox.api import SandboxError
from bot.sandbox.cleanup import reap
from bot.sandbox.containers import LABEL_CREATED, LABEL_RUN
from bot.sandbox.docker_sandboxes import DockerSandboxes
from bot.sandbox.image_volumes import MAX_IMAGE_VOLUMES, declared_volumes
from tests.sandbox.docker_support import IMAGE, labelled, make_tar, spec

pytestmark = pytest.mark.asyncio(loop_scope="module")

CAP = 8 * 1024**2


def build(client: docker.DockerClient, *instructions: str) -> str:
    """An image FROM the sandbox image, built here: no registry is asked for anything."""
    tag = f"issue-pilot-test-volumes:{uuid.uuid4().hex[:8]}"
    dockerfile = "\n".join([f"FROM {IMAGE}", *instructions, ""]).encode()
    client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True, forcerm=True)
    return tag


@pytest.fixture(scope="module")
def with_volume(client: docker.DockerClient) -> Iterator[str]:
    tag = build(client, "VOLUME /data /workspace")
    yield tag
    client.images.remove(tag, force=True)


def unlabelled_volumes(client: docker.DockerClient) -> set[str]:
    """Volumes no sandbox labelled: what an anonymous one would be."""
    return {str(v.name) for v in client.volumes.list() if not (v.attrs.get("Labels") or {})}


async def test_declared_paths_get_capped_tmpfs_and_nothing_is_left(
    client: docker.DockerClient, with_volume: str
) -> None:
    before = unlabelled_volumes(client)
    run = spec(image=with_volume, tmp_bytes=CAP)
    async with DockerSandboxes(client).session(run, make_tar({"a.txt": b"a\n"})) as session:
        async with session.phase("develop") as sandbox:
            mounts = client.containers.get(sandbox.container_id).attrs["Mounts"]
            # The workspace's own volume and nothing dockerd made for the image's `VOLUME`s.
            assert [m["Name"] for m in mounts if m["Type"] == "volume"] == [session.volume]
            small = await sandbox.run("echo kept > /data/small && cat /data/small a.txt")
            assert (small.exit_code, small.output) == (0, "kept\na\n")
            big = await sandbox.run(f"head -c {2 * CAP} /dev/zero > /data/big", timeout_s=30)
            assert big.exit_code != 0 and "No space left on device" in big.output, big
            size = await sandbox.run("stat -c %s /data/big")
            assert int(size.output) <= CAP
    assert labelled(client, run.run_id) == []
    assert unlabelled_volumes(client) - before == set()


async def test_the_declared_paths_are_read_from_the_image(
    client: docker.DockerClient, with_volume: str
) -> None:
    # /workspace is the run's volume already; only /data needs covering.
    assert declared_volumes(client, with_volume) == ("/data",)
    assert declared_volumes(client, IMAGE) == ()


async def test_an_image_declaring_too_many_volumes_is_refused(
    client: docker.DockerClient,
) -> None:
    paths = " ".join(f"/v{i}" for i in range(MAX_IMAGE_VOLUMES + 1))
    tag = build(client, f"VOLUME {paths}")
    run = spec(image=tag)
    try:
        with pytest.raises(SandboxError, match=f"declares {MAX_IMAGE_VOLUMES + 1} volumes"):
            async with DockerSandboxes(client).session(run, make_tar({"a": b""})):
                pass
        assert labelled(client, run.run_id) == []
    finally:
        client.images.remove(tag, force=True)


async def test_reaping_takes_anonymous_volumes_along(
    client: docker.DockerClient, with_volume: str
) -> None:
    """A container made without the tmpfs (an older worker's, say) has its anonymous volume;
    the reaper removes both."""
    labels = {LABEL_RUN: f"stale-{uuid.uuid4().hex[:8]}", LABEL_CREATED: str(int(time.time()))}
    container = client.containers.create(with_volume, ["true"], labels=labels)
    anonymous = [m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume"]
    assert len(anonymous) == 2  # /data and /workspace
    container.start()
    container.wait(timeout=30)  # exited: stale whatever its age
    removed = await reap(client, older_than_s=3600)
    assert container.name in removed
    names = {str(v.name) for v in client.volumes.list()}
    assert names.isdisjoint(anonymous)

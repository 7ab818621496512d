"""The volumes an image declares (`VOLUME /data`), which the sandbox covers with capped tmpfs.

Left alone, dockerd would give each declared path an anonymous volume: writable disk outside the
tmpfs caps, and left behind by any removal that forgets its volumes.
"""

from __future__ import annotations

import posixpath

import docker
from docker.errors import ImageNotFound

from bot.sandbox.api import WORKSPACE, SandboxError

# More than this is no image a repository needs for its tests; each would be a tmpfs of its own.
MAX_IMAGE_VOLUMES = 16
TMP = "/tmp"


def declared_volumes(client: docker.DockerClient, image: str) -> tuple[str, ...]:
    """The paths `image` declares as volumes, beyond those the sandbox mounts anyway; pulls the
    image when it is not here yet (a container start would pull it too)."""
    try:
        found = client.images.get(image)
    except ImageNotFound:
        found = client.images.pull(image)
    declared = (found.attrs.get("Config") or {}).get("Volumes") or {}
    paths = sorted({posixpath.normpath(str(path)) for path in declared} - {WORKSPACE, TMP})
    if len(paths) > MAX_IMAGE_VOLUMES:
        raise SandboxError(
            f"the image {image} declares {len(paths)} volumes; the sandbox covers at most "
            f"{MAX_IMAGE_VOLUMES} with tmpfs"
        )
    for path in paths:
        if not path.startswith("/") or path == "/":
            raise SandboxError(f"the image {image} declares a volume at {path!r}")
    return tuple(paths)

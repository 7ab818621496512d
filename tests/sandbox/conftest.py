"""The docker sandbox tests' client, one per module, on the daemon the tests use."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from tests.sandbox.docker_support import sandbox_client


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    made = sandbox_client()
    yield made
    made.close()

"""The deployment image and docker-compose.yml, built from the local base image and run on the
real dockerd: one build of the image (layer-cached on reruns), then the stack on compose."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import yaml

from tests.ghsim_support import free_port, wait_until
from tests.keys import app_private_key_pem
from tests.services import ROOT, setting, unavailable

IMAGE = "issue-pilot:test"
REDIS_IMAGE = "issue-pilot-redis:test"
PILOT_UID = 10001
BUILD_CA = ROOT / "docker" / "extra-ca" / "ca.crt"


@dataclass(frozen=True)
class Built:
    client: docker.DockerClient
    base: str
    seconds: float


def _pip_ca() -> Path | None:
    """The CA bundle pip is told to trust here (a TLS-intercepting proxy's), if any."""
    named = os.environ.get("PIP_CERT")
    if not named and Path("/etc/pip.conf").exists():
        found = re.search(r"^\s*cert\s*=\s*(\S+)", Path("/etc/pip.conf").read_text(), re.M)
        named = found.group(1) if found else None
    return Path(named) if named and Path(named).is_file() else None


def _provide_build_ca() -> None:
    # The build stage installs from PyPI; behind the proxy it needs the proxy's CA (see
    # docker/extra-ca/README.md). Same bytes leave the file untouched, so the cache holds.
    ca = _pip_ca()
    if ca is not None and (not BUILD_CA.exists() or BUILD_CA.read_bytes() != ca.read_bytes()):
        shutil.copyfile(ca, BUILD_CA)


@pytest.fixture(scope="module")
def built() -> Iterator[Built]:
    host = setting("DOCKER_HOST")
    try:
        client = docker.DockerClient(base_url=host, timeout=900) if host else docker.from_env()
        client.ping()
    except Exception:
        unavailable(f"dockerd at {host}")
    base = str(setting("PILOT_SANDBOX_IMAGE", "issue-pilot-sandbox:bookworm-1"))
    try:
        client.images.get(base)
    except docker.errors.ImageNotFound:
        unavailable(f"the base image {base}")
    _provide_build_ca()
    started = time.monotonic()
    log: list[str] = []
    for chunk in client.api.build(
        path=str(ROOT), tag=IMAGE, buildargs={"BASE_IMAGE": base}, rm=True, decode=True
    ):
        log.append(str(chunk.get("stream", "")))
        if "error" in chunk:
            pytest.fail(f"docker build failed: {chunk['error']}\n{''.join(log[-30:])}")
    seconds = time.monotonic() - started
    print(f"\nimage {IMAGE} built in {seconds:.1f} s")
    yield Built(client, base, seconds)
    client.close()


def run(
    built: Built,
    *command: str,
    entrypoint: str | None = None,
    environment: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run the image once, offline; its exit code and output."""
    container = built.client.containers.create(
        IMAGE, list(command), entrypoint=entrypoint, environment=environment, network_mode="none"
    )
    try:
        container.start()
        code = int(container.wait(timeout=120)["StatusCode"])
        return code, container.logs().decode()
    finally:
        container.remove(force=True)


def test_image_runs_as_an_unprivileged_user(built: Built) -> None:
    assert built.client.images.get(IMAGE).attrs["Config"]["User"] == f"{PILOT_UID}:{PILOT_UID}"
    code, out = run(
        built, "-c", "id -u && touch runs/x cache/x && echo writable", entrypoint="/bin/sh"
    )
    assert (code, out.split()) == (0, [str(PILOT_UID), "writable"])


def test_the_command_runs_inside(built: Built) -> None:
    code, out = run(built, "--help")
    assert code == 0, out
    for command in ("serve", "worker", "setup", "sim"):
        assert command in out


def test_serve_refuses_to_start_without_a_webhook_secret(built: Built) -> None:
    code, out = run(built, "serve")
    assert code == 2
    assert "PILOT_GITHUB_WEBHOOK_SECRET is not set" in out


def test_worker_names_the_missing_app_id(built: Built) -> None:
    code, out = run(built, "worker", environment={"PILOT_GITHUB_WEBHOOK_SECRET": "s-" + "x" * 20})
    assert code == 2
    assert "PILOT_GITHUB_APP_ID is not set" in out


def test_git_is_there_for_the_worker(built: Built) -> None:
    code, out = run(built, "--version", entrypoint="git")
    assert code == 0 and out.startswith("git version")


def test_build_tools_and_the_proxy_ca_stay_in_the_build_stage(built: Built) -> None:
    code, out = run(built, "-c", "ls /opt /tmp", entrypoint="/bin/sh")
    assert code == 0
    assert "tools" not in out and "extra-ca" not in out and "pilot" in out


def test_dependencies_install_before_the_source_is_copied() -> None:
    # What keeps rebuilds fast: a source change reuses the dependency layer.
    steps = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    lock = steps.index("COPY pyproject.toml uv.lock ./")
    install = next(i for i, s in enumerate(steps) if "-r /tmp/requirements.txt" in s)
    source = steps.index("COPY bot bot")
    assert lock < install < source
    assert not any(s.startswith("COPY . ") for s in steps)


# docker-compose.yml ---------------------------------------------------------------------------
def _compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    unavailable("docker compose (scripts/setup.sh installs Debian's docker-compose)")
    raise AssertionError("unreachable")


@dataclass
class Stack:
    command: list[str]
    env: dict[str, str]
    web_port: int

    def __call__(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            [*self.command, "-f", str(ROOT / "docker-compose.yml"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"compose {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout


@pytest.fixture(scope="module")
def stack(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    command = _compose_command()
    host = str(setting("DOCKER_HOST") or "unix:///var/run/docker.sock")
    socket_path = host.removeprefix("unix://")
    secrets_dir = tmp_path_factory.mktemp("compose")
    key = secrets_dir / "github-app.pem"
    key.write_text(app_private_key_pem(pkcs1=True))
    key.chmod(0o600)
    if os.geteuid() == 0:
        os.chown(key, PILOT_UID, PILOT_UID)  # what README asks of a deployer
    dotenv = secrets_dir / ".env"
    secret = uuid.uuid4().hex
    dotenv.write_text(
        f"PILOT_GITHUB_APP_ID=4242\nPILOT_GITHUB_WEBHOOK_SECRET={secret}\n"
        "PILOT_GITHUB_API_URL=http://127.0.0.1:9/api/v3\nPILOT_LOG_LEVEL=INFO\n"
        "PILOT_LLM_API_KEY=sk-only-for-the-worker\n"
    )
    web_port = free_port()
    env = {
        **os.environ,
        "DOCKER_HOST": host,
        "COMPOSE_PROJECT_NAME": f"pilot-test-{uuid.uuid4().hex[:8]}",
        "BASE_IMAGE": built.base,
        "PILOT_IMAGE": IMAGE,
        "PILOT_REDIS_IMAGE": REDIS_IMAGE,
        "PILOT_ENV_FILE": str(dotenv),
        "PILOT_KEY_FILE": str(key),
        "PILOT_WEB_PORT": str(web_port),
        "DOCKER_SOCKET": socket_path,
        "DOCKER_GID": str(os.stat(socket_path).st_gid),
        "PILOT_TEST_WEBHOOK_SECRET": secret,
        "PILOT_REDIS_PASSWORD": uuid.uuid4().hex,
    }
    made = Stack(command, env, web_port)
    try:
        yield made
    finally:
        made("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)


def test_compose_file_takes_the_base_image_and_wires_the_services(stack: Stack) -> None:
    real_world = {k: v for k, v in stack.env.items() if k not in ("BASE_IMAGE",)}
    config: dict[str, Any] = yaml.safe_load(Stack(stack.command, real_world, 0)("config"))
    services = config["services"]
    assert set(services) == {"web", "worker", "redis"}
    for name in services:
        assert services[name]["build"]["args"]["BASE_IMAGE"] == "python:3.11-slim-bookworm"
    assert services["web"]["image"] == services["worker"]["image"] == IMAGE
    assert services["web"]["command"][0] == "serve" and services["worker"]["command"] == ["worker"]
    worker_mounts = {str(v).split(":")[1] for v in services["worker"]["volumes"]}
    assert {"/var/run/docker.sock", "/var/lib/issue-pilot"} <= worker_mounts
    assert not any("docker.sock" in str(v) for v in services["web"].get("volumes", []))
    assert any(str(v).startswith("redis-data:/data") for v in services["redis"]["volumes"])
    assert {"pilot-data", "redis-data"} <= set(config["volumes"])
    local = yaml.safe_load(stack("config"))["services"]
    assert local["redis"]["build"]["args"]["BASE_IMAGE"] == stack.env["BASE_IMAGE"]
    password = stack.env["PILOT_REDIS_PASSWORD"]
    for name in ("web", "worker"):
        url = local[name]["environment"]["PILOT_REDIS_URL"]
        assert url == f"redis://:{password}@redis:6379/0"
    assert local["redis"]["environment"]["PILOT_REDIS_PASSWORD"] == password


def test_compose_refuses_to_start_without_a_redis_password(stack: Stack, tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"  # no project .env either
    empty.touch()
    env = {k: v for k, v in stack.env.items() if k != "PILOT_REDIS_PASSWORD"}
    result = subprocess.run(
        [
            *stack.command,
            "-f",
            str(ROOT / "docker-compose.yml"),
            "--env-file",
            str(empty),
            "config",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "set PILOT_REDIS_PASSWORD in .env" in result.stderr


def test_compose_stack_serves_webhooks_with_a_worker_on_the_docker_socket(stack: Stack) -> None:
    started = time.monotonic()
    stack("build")  # the image is the one built above, from cache; Redis is built here
    print(f"\ncompose build in {time.monotonic() - started:.1f} s")
    stack("up", "-d")
    health = f"http://127.0.0.1:{stack.web_port}/healthz"

    def healthy() -> bool:
        try:
            return httpx.get(health, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, 60, "the web app to answer with Redis behind it")

    body = b'{"zen":"Keep it logically awesome.","hook_id":1}'
    secret = stack.env["PILOT_TEST_WEBHOOK_SECRET"].encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
    url = f"http://127.0.0.1:{stack.web_port}/webhooks/github"
    assert httpx.post(url, content=body, headers=headers).status_code == 200
    forged = httpx.post(url, content=body, headers={**headers, "X-Hub-Signature-256": "sha256=0"})
    assert forged.status_code == 401

    # The worker, as uid 10001, reaches dockerd through the mounted socket and stays up.
    probe = "import docker; print(docker.from_env().ping())"
    out = stack("exec", "-T", "worker", "python3", "-c", probe)
    assert out.strip() == "True"
    time.sleep(2)
    ps = stack("ps", "-q", "worker").strip()
    inspect = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", ps],
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert inspect.stdout.split() == ["running", "0"]
    # Boundary 2: the model's key is the worker's alone, though both read the same .env.
    read_key = "import os; print(repr(os.environ.get('PILOT_LLM_API_KEY')))"
    assert stack("exec", "-T", "web", "python3", "-c", read_key).strip() == "''"
    assert "sk-only-for-the-worker" in stack("exec", "-T", "worker", "python3", "-c", read_key)
    ports = stack("port", "web", "8000").strip()
    assert ports.startswith("127.0.0.1:"), ports  # behind the host's TLS proxy, not on every NIC
    appendonly = stack("exec", "-T", "redis", "redis-cli", "config", "get", "appendonly")
    assert appendonly.split() == ["appendonly", "yes"]
    # Inside compose's own network, still nothing without the password.
    anonymous = "env -u REDISCLI_AUTH redis-cli ping 2>&1; true"
    assert "NOAUTH" in stack("exec", "-T", "redis", "sh", "-c", anonymous)

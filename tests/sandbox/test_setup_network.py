"""The set-up phase's network: a service listening only on the host does not answer it, while
nothing but traffic addressed to the host is refused (checked on the rules: no traffic here
leaves this machine)."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator

import docker
import pytest

from bot.sandbox.containers import LABEL_CREATED, LABEL_RUN
from bot.sandbox.docker_sandboxes import DockerSandboxes
from bot.sandbox.setup_network import (
    LABEL_NETWORK,
    SETUP_BRIDGE,
    SETUP_NETWORK,
    ensure_setup_network,
)
from tests.sandbox.docker_support import IMAGE, labelled, make_tar, spec
from tests.services import unavailable

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROBE = """
import socket, sys, time
for host in sys.argv[2:]:
    started = time.monotonic()
    try:
        socket.create_connection((host, int(sys.argv[1])), timeout=5).recv(16)
        print(f"REACHED {host}")
    except OSError as exc:
        print(f"BLOCKED {host} after {time.monotonic() - started:.1f}s: {exc}")
"""


@pytest.fixture(scope="module")
def host_port() -> Iterator[int]:
    """A service on the host listening on every interface, as a database left open would."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"host\n")

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def gateway(client: docker.DockerClient, network: str) -> str:
    """The host's address on `network`: the default bridge names only its subnet."""
    [config, *_] = client.networks.get(network).attrs["IPAM"]["Config"]
    first = next(ipaddress.ip_network(config["Subnet"]).hosts())
    return str(config.get("Gateway") or first)


def filter_rules(*args: str) -> list[str]:
    try:
        done = subprocess.run(["iptables", *args], capture_output=True, text=True, timeout=20)
    except FileNotFoundError:
        unavailable("iptables")
        raise
    if done.returncode != 0:
        unavailable(f"reading the host's iptables rules (root): {done.stderr.strip()}")
    return done.stdout.splitlines()


async def test_a_service_on_the_host_does_not_answer_set_up(
    client: docker.DockerClient, host_port: int
) -> None:
    ensure_setup_network(client)
    hosts = [gateway(client, SETUP_NETWORK), gateway(client, "bridge")]
    probe = f"python3 -c '{PROBE}' {host_port} {' '.join(hosts)}"

    # The control: from the default bridge, the same service answers on the host's address.
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    labels = {LABEL_RUN: run_id, LABEL_CREATED: str(int(time.time()))}
    control = client.containers.run(
        IMAGE, ["sh", "-c", probe], network_mode="bridge", labels=labels, detach=True
    )
    try:
        control.wait(timeout=30)
        assert f"REACHED {hosts[1]}" in control.logs().decode()
    finally:
        control.remove(v=True, force=True)

    run = spec()
    async with DockerSandboxes(client).session(run, make_tar({"a": b""})) as session:
        async with session.phase("setup", network=True) as sandbox:
            result = await sandbox.run(probe, timeout_s=30)
    assert "REACHED" not in result.output, result.output
    for host in hosts:
        assert f"BLOCKED {host} after 0." in result.output, result.output
    assert result.output.count("Connection refused") == len(hosts), result.output
    assert labelled(client, run.run_id) == []


async def test_only_traffic_addressed_to_the_host_is_refused(
    client: docker.DockerClient,
) -> None:
    ensure_setup_network(client)
    subnet = client.networks.get(SETUP_NETWORK).attrs["IPAM"]["Config"][0]["Subnet"]
    rules = [rule for rule in filter_rules("-S") if SETUP_BRIDGE in rule]
    ours = [rule for rule in rules if rule.startswith("-A INPUT ")]
    assert ours == [f"-A INPUT -i {SETUP_BRIDGE} -j REJECT --reject-with icmp-port-unreachable"]
    # Everything else naming the bridge is dockerd's own: out to anywhere is forwarded; what it
    # drops coming from the bridge goes to the bridge itself (set-up containers, icc off).
    assert f"-A FORWARD -i {SETUP_BRIDGE} ! -o {SETUP_BRIDGE} -j ACCEPT" in rules
    outbound_refused = [
        rule
        for rule in rules
        if rule not in ours
        and rule.endswith(("DROP", "REJECT"))
        and f"-i {SETUP_BRIDGE}" in rule
        and f"! -o {SETUP_BRIDGE}" not in rule
    ]
    assert outbound_refused == [f"-A FORWARD -i {SETUP_BRIDGE} -o {SETUP_BRIDGE} -j DROP"]
    nat = filter_rules("-t", "nat", "-S", "POSTROUTING")
    assert f"-A POSTROUTING -s {subnet} ! -o {SETUP_BRIDGE} -j MASQUERADE" in nat


async def test_the_network_is_made_once_and_labelled(client: docker.DockerClient) -> None:
    assert ensure_setup_network(client) == ensure_setup_network(client) == SETUP_NETWORK
    [network] = [n for n in client.networks.list(names=[SETUP_NETWORK]) if n.name == SETUP_NETWORK]
    attrs = network.attrs
    assert attrs["Labels"] == {LABEL_NETWORK: "setup"}
    assert attrs["Options"]["com.docker.network.bridge.name"] == SETUP_BRIDGE
    assert attrs["Internal"] is False

"""The network set-up commands get: a bridge of its own, so that the host's firewall can close
the host to it while the internet stays reachable.

Traffic from a container to any of the host's own addresses (the bridge's gateway, docker0,
eth0) arrives on the host's INPUT chain through this bridge; traffic to anywhere else is
forwarded. `scripts/setup.sh` installs `iptables -I INPUT -i pilot-setup0 -j REJECT` (and its
ip6tables twin), keyed on the bridge's name, so it holds before the network exists and after
dockerd recreates it.
"""

from __future__ import annotations

import docker
from docker.errors import APIError

SETUP_NETWORK = "issue-pilot-setup"
# The interface name the firewall rule names; at most 15 characters (IFNAMSIZ).
SETUP_BRIDGE = "pilot-setup0"
LABEL_NETWORK = "issue-pilot.network"
SETUP_OPTIONS = {
    "com.docker.network.bridge.name": SETUP_BRIDGE,
    # Set-up containers of different runs (different repositories) cannot reach each other.
    "com.docker.network.bridge.enable_icc": "false",
}


def _exists(client: docker.DockerClient) -> bool:
    # The daemon's name filter matches substrings: only an exact name counts.
    return any(n.name == SETUP_NETWORK for n in client.networks.list(names=[SETUP_NETWORK]))


def ensure_setup_network(client: docker.DockerClient) -> str:
    """The set-up network's name, creating the network when it is missing; safe to call twice,
    from two workers at once."""
    if _exists(client):
        return SETUP_NETWORK
    try:
        client.networks.create(
            SETUP_NETWORK,
            driver="bridge",
            options=SETUP_OPTIONS,
            labels={LABEL_NETWORK: "setup"},
            check_duplicate=True,
        )
    except APIError:
        # Another worker made it between the look and the create.
        if not _exists(client):
            raise
    return SETUP_NETWORK

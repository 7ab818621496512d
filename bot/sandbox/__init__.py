"""Sandboxes: the `Sandbox` interface (`api`) the agent and the run engine work through, and the
Docker backend that implements it with one ephemeral, locked-down container per phase.

    api                the Protocols and value types; imports no backend
    scripts/           what runs inside a container, as files, and the command lines that run them
    docker_sandboxes   DockerSandboxes (a run's session: volume, holder, fill) and DockerSession
    docker_sandbox     DockerSandbox, one phase's container: commands, file tools, patches
    workspace_fill     the run's tree into the workspace, committed as the baseline
    docker_exec        docker exec with its output kept to a bounded head and tail
    containers         labels, users, environment and the locked-down container configuration
    image_volumes      the paths an image declares as volumes, covered with capped tmpfs
    setup_network      the set-up phase's own bridge, which the host's firewall closes to the host
    cleanup            removing a session's, a dead run's and stale containers and volumes

A second backend (Kubernetes pods, say) would sit beside the docker modules and reuse `scripts`.

May import: nothing of bot but `bot.sandbox.api`.
"""

"""Open pull requests follow their head branch when it is pushed."""

from __future__ import annotations

from ghsim.serialize_pulls import PullSerializer
from ghsim.sim import Sim
from ghsim.state import now_iso
from ghsim.store import Doc


def synchronize_pulls(
    sim: Sim, repo: Doc, user: Doc, branch: str, before: str, after: str
) -> list[Doc]:
    """Move each open PR whose head is ``branch`` to ``after``; emit ``synchronize``."""
    moved = []
    for pull in sim.store.query("pull", repo_id=repo["id"], head_ref=branch, state="open"):
        if pull["head_sha"] == after:
            continue
        pull = sim.store.update("pull", pull["id"], {"head_sha": after})
        sim.store.update("issue", pull["issue_id"], {"updated_at": now_iso()})
        moved.append(pull)
        sim.webhooks.emit(
            "pull_request",
            {
                "action": "synchronize",
                "number": pull["number"],
                "before": before,
                "after": after,
                "pull_request": PullSerializer(sim).pull_request(pull),
            },
            repo["full_name"],
            user,
        )
    return moved

"""Changes to issues and pull requests that GitHub announces with a webhook.

An issue that is a pull request announces itself as ``pull_request`` (GitHub does the same).
"""

from __future__ import annotations

from typing import Any

from ghsim.serialize_pulls import PullSerializer
from ghsim.sim import Sim
from ghsim.state import now_iso
from ghsim.store import Doc


def announce(sim: Sim, issue: Doc, action: str, sender: Doc, **extra: Any) -> None:
    """Emit ``issues.<action>`` or, for a pull request, ``pull_request.<action>``."""
    ser = PullSerializer(sim)
    repo = sim.repo(issue["repo_id"])
    pull = sim.pull_for_issue(issue)
    if pull is None:
        payload: dict[str, Any] = {"action": action, "issue": ser.issue(issue), **extra}
        sim.webhooks.emit("issues", payload, repo["full_name"], sender)
        return
    payload = {
        "action": action,
        "number": pull["number"],
        "pull_request": ser.pull_request(pull),
        **extra,
    }
    sim.webhooks.emit("pull_request", payload, repo["full_name"], sender)


def ensure_label(sim: Sim, repo_id: int, name: str) -> Doc:
    """The repository label, created (grey) when an issue is first given it, as GitHub does."""
    with sim.store.transaction():
        label = sim.find_label(repo_id, name)
        if label is None:
            label = sim.store.insert(
                "label",
                {
                    "repo_id": repo_id,
                    "name": name,
                    "name_lower": name.lower(),
                    "color": "ededed",
                    "description": None,
                    "default": False,
                },
            )
        return label


def set_labels(sim: Sim, issue: Doc, names: list[str], sender: Doc) -> Doc:
    """Give the issue exactly ``names``; one labeled/unlabeled event per change."""
    labels = [ensure_label(sim, issue["repo_id"], n) for n in dict.fromkeys(names) if n]
    old = {n.lower(): n for n in issue.get("labels", [])}
    new = {label["name_lower"]: label for label in labels}
    issue = sim.store.update(
        "issue",
        issue["id"],
        {"labels": [label["name"] for label in labels], "updated_at": now_iso()},
    )
    ser = PullSerializer(sim)
    for key, name in old.items():
        if key not in new:
            gone = sim.find_label(issue["repo_id"], name)
            if gone is not None:
                announce(sim, issue, "unlabeled", sender, label=ser.label(gone))
    for key, label in new.items():
        if key not in old:
            announce(sim, issue, "labeled", sender, label=ser.label(label))
    return issue


def set_state(sim: Sim, issue: Doc, state: str, reason: str | None, sender: Doc) -> Doc:
    """Close or reopen; a closed pull request stays unmerged."""
    if state == issue["state"]:
        if reason and state == "closed":
            return sim.store.update("issue", issue["id"], {"state_reason": reason})
        return issue
    now = now_iso()
    closing = state == "closed"
    issue = sim.store.update(
        "issue",
        issue["id"],
        {
            "state": state,
            "updated_at": now,
            "closed_at": now if closing else None,
            "closed_by_id": sender["id"] if closing else None,
            "state_reason": (reason or "completed") if closing else "reopened",
        },
    )
    pull = sim.pull_for_issue(issue)
    if pull is not None:
        sim.store.update("pull", pull["id"], {"state": state})
    announce(sim, issue, "closed" if closing else "reopened", sender)
    return issue


def edit(sim: Sim, issue: Doc, title: str | None, body: str | None, sender: Doc) -> Doc:
    """Change title and body; ``edited`` carries what they were."""
    changes: dict[str, dict[str, str | None]] = {}
    update: dict[str, Any] = {}
    if title is not None and title != issue["title"]:
        changes["title"] = {"from": issue["title"]}
        update["title"] = title
    if body is not None and body != issue.get("body"):
        changes["body"] = {"from": issue.get("body")}
        update["body"] = body
    if not update:
        return issue
    issue = sim.store.update("issue", issue["id"], {**update, "updated_at": now_iso()})
    announce(sim, issue, "edited", sender, changes=changes)
    return issue


def create_issue(
    sim: Sim, repo: Doc, author: Doc, title: str, body: str | None, is_pr: bool = False
) -> Doc:
    """A new issue (or the issue half of a pull request) with the repo's next number."""
    now = now_iso()
    number = sim.store.next_id(f"number:{repo['id']}")
    return sim.store.insert(
        "issue",
        {
            "repo_id": repo["id"],
            "number": number,
            "title": title,
            "body": body,
            "user_id": author["id"],
            "state": "open",
            "state_reason": None,
            "labels": [],
            "assignee_ids": [],
            "locked": False,
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
            "closed_by_id": None,
            "is_pr": is_pr,
        },
    )

"""The GraphQL mutations GitHub offers no REST call for (ready for review, back to draft)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ghsim import issue_events
from ghsim.auth import CallerDep, has_role
from ghsim.errors import GitHubError
from ghsim.sim import SimDep
from ghsim.state import now_iso, parse_node_id

router = APIRouter()
_MUTATIONS = {
    "markPullRequestReadyForReview": (False, "ready_for_review"),
    "convertPullRequestToDraft": (True, "converted_to_draft"),
}
_FIELD = re.compile(r"\b(" + "|".join(_MUTATIONS) + r")\s*\(")
_INLINE_ID = re.compile(r'pullRequestId\s*:\s*"([^"]+)"')
_VARIABLE_ID = re.compile(r"pullRequestId\s*:\s*\$(\w+)")


class GraphQLRequest(BaseModel):
    query: str
    variables: dict[str, Any] | None = None
    operationName: str | None = None


def _pull_request_id(query: str, variables: dict[str, Any]) -> str | None:
    inline = _INLINE_ID.search(query)
    if inline:
        return inline.group(1)
    named = _VARIABLE_ID.search(query)
    if named:
        value = variables.get(named.group(1))
        if isinstance(value, dict):
            value = value.get("pullRequestId")
        return str(value) if value is not None else None
    nested = variables.get("input")
    if isinstance(nested, dict) and "pullRequestId" in nested:
        return str(nested["pullRequestId"])
    return None


def _error(field: str | None, kind: str, message: str) -> JSONResponse:
    body: dict[str, Any] = {
        "errors": [{"type": kind, "message": message, "path": [field] if field else []}]
    }
    if field:
        body["data"] = {field: None}
    return JSONResponse(body)


@router.post("/graphql")
def graphql(
    request: GraphQLRequest,
    sim: SimDep,
    caller: CallerDep,
) -> Any:
    if caller.kind in ("anonymous", "app"):
        raise GitHubError(401, "This endpoint requires you to be authenticated.")
    match = _FIELD.search(request.query)
    if match is None:
        return _error(
            None, "UNSUPPORTED", "ghsim's GraphQL knows only the mutations " + ", ".join(_MUTATIONS)
        )
    field = match.group(1)
    draft, action = _MUTATIONS[field]
    raw_id = _pull_request_id(request.query, request.variables or {})
    parsed = parse_node_id(raw_id or "")
    pull = sim.store.get("pull", parsed[1]) if parsed and parsed[0] == "PullRequest" else None
    if pull is None:
        return _error(
            field, "NOT_FOUND", f"Could not resolve to a node with the global id of '{raw_id}'"
        )
    repo = sim.repo(pull["repo_id"])
    issue = sim.issue_or_404(repo, pull["number"])
    assert caller.user is not None
    if issue["user_id"] != caller.user["id"] and not has_role(sim, repo, caller, "write"):
        return _error(
            field,
            "FORBIDDEN",
            f"{caller.user['login']} does not have permission to update this PR.",
        )
    if pull["draft"] != draft and pull["state"] == "open":
        pull = sim.store.update("pull", pull["id"], {"draft": draft})
        issue = sim.store.update("issue", issue["id"], {"updated_at": now_iso()})
        issue_events.announce(sim, issue, action, caller.user)
    html = f"{sim.config.base_url}/{repo['full_name']}/pull/{pull['number']}"
    return {
        "data": {
            field: {
                "pullRequest": {
                    "id": raw_id,
                    "number": pull["number"],
                    "isDraft": pull["draft"],
                    "state": pull["state"].upper(),
                    "title": issue["title"],
                    "url": html,
                }
            }
        }
    }

"""The HTML view: repositories, their issues and pull requests, conversations, diffs, checks."""

from __future__ import annotations

import re
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from ghsim import gitrepo
from ghsim.ci import checks_for
from ghsim.errors import not_found
from ghsim.git_refs import branches
from ghsim.routes.pulls import pull_range
from ghsim.sim import Sim, SimDep
from ghsim.store import Doc

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

router = APIRouter(include_in_schema=False)


@cache
def _templates() -> jinja2.Environment:
    import jinja2  # made on the first page: start-up does not pay for it

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["hex_color"] = hex_color
    return env


_HEX_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


def hex_color(value: object) -> str:
    """A label colour fit for ``style=``: six hex digits, else nothing."""
    return value if isinstance(value, str) and _HEX_COLOR.match(value) else ""


def safe_url(value: object) -> str | None:
    """A link fit for ``href=``: http(s) or a path on this server; ``javascript:`` and the
    like are dropped (a check run's ``details_url`` is whatever its creator sent)."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if url.startswith("/") and not url.startswith("//"):
        return url
    scheme, sep, _ = url.partition(":")
    return url if sep and scheme.lower() in ("http", "https") and "\\" not in url else None


class _SimLinks:
    """Mentions and references link as on GitHub: only to users and issues that exist."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim

    def user(self, login: str) -> str | None:
        user = self.sim.find_user(login)
        return f"/{user['login']}" if user is not None else None

    def issue(self, full_name: str, number: int) -> str | None:
        owner, _, name = full_name.partition("/")
        repo = self.sim.find_repo(owner, name)
        if repo is None:
            return None
        issue = self.sim.store.first("issue", repo_id=repo["id"], number=number)
        if issue is None:
            return None
        return f"/{repo['full_name']}/{'pull' if issue['is_pr'] else 'issues'}/{number}"


def _markdown(sim: Sim, repo: Doc, text: str | None) -> Markup:
    # markdown-it and nh3 load with the first conversation page: start-up does not pay for them
    from ghsim.markdown import render_gfm

    return render_gfm(text, repo["full_name"], _SimLinks(sim))


def _page(name: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates().get_template(name).render(**context))


def _labels(sim: Sim, issue: Doc) -> list[Doc]:
    found = (sim.find_label(issue["repo_id"], name) for name in issue.get("labels", []))
    return [label for label in found if label is not None]


def _item(sim: Sim, repo: Doc, issue: Doc) -> dict[str, Any]:
    pull = sim.pull_for_issue(issue)
    badge = issue["state"]
    if pull is not None and pull["merged"]:
        badge = "merged"
    elif pull is not None and pull["draft"] and badge == "open":
        badge = "draft"
    kind = "pull" if pull is not None else "issues"
    return {
        "number": issue["number"],
        "title": issue["title"],
        "badge": badge,
        "link": f"/{repo['full_name']}/{kind}/{issue['number']}",
        "labels": _labels(sim, issue),
        "author": sim.user(issue["user_id"])["login"],
        "assignees": [sim.user(u)["login"] for u in issue.get("assignee_ids", [])],
        "comments": sim.store.count("comment", issue_id=issue["id"]),
        "created_at": issue["created_at"],
        "updated_at": issue["updated_at"],
    }


def _timeline(sim: Sim, repo: Doc, issue: Doc, pull: Doc | None) -> list[dict[str, Any]]:
    entries = [
        {
            "at": c["created_at"],
            "author": sim.user(c["user_id"])["login"],
            "what": "commented",
            "body": _markdown(sim, repo, c["body"]),
            "where": None,
            "hunk": None,
        }
        for c in sim.store.query("comment", issue_id=issue["id"])
    ]
    if pull is not None:
        for review in sim.store.query("review", pull_id=pull["id"]):
            if review["state"] == "PENDING":
                continue
            what = {
                "APPROVED": "approved these changes",
                "CHANGES_REQUESTED": "requested changes",
            }.get(review["state"], "reviewed")
            entries.append(
                {
                    "at": review["submitted_at"],
                    "what": what,
                    "author": sim.user(review["user_id"])["login"],
                    "body": _markdown(sim, repo, review["body"]),
                    "where": None,
                    "hunk": None,
                }
            )
        for comment in sim.store.query("review_comment", pull_id=pull["id"]):
            entries.append(
                {
                    "at": comment["created_at"],
                    "what": "commented on the diff",
                    "author": sim.user(comment["user_id"])["login"],
                    "body": _markdown(sim, repo, comment["body"]),
                    "where": f"{comment['path']}:{comment.get('line') or ''}",
                    "hunk": comment["diff_hunk"],
                }
            )
    return sorted(entries, key=lambda e: str(e["at"]))


def _checks(sim: Sim, repo: Doc, sha: str) -> list[dict[str, Any]]:
    """Check runs of a commit, as the CI package lists them."""
    rows = checks_for(sim, repo, sha)
    return [
        {
            "name": r.get("name"),
            "status": r.get("status"),
            "conclusion": r.get("conclusion"),
            "url": safe_url(r.get("html_url") or r.get("log_url") or r.get("details_url")),
        }
        for r in rows
    ]


@router.get("/", response_class=HTMLResponse)
def index(sim: SimDep) -> HTMLResponse:
    repos = []
    for repo in sim.store.query("repo"):
        issues = sim.store.query("issue", repo_id=repo["id"], state="open")
        repos.append(
            {
                **repo,
                "open_issues": sum(1 for i in issues if not i["is_pr"]),
                "open_pulls": sum(1 for i in issues if i["is_pr"]),
            }
        )
    return _page("index.html", repos=repos)


@router.get("/avatars/{login}")
def avatar(login: str) -> Response:
    letter = escape(login[:1].upper() or "?")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        f'<rect width="64" height="64" fill="#8c959f"/><text x="32" y="42" '
        f'font-size="32" text-anchor="middle" fill="white">{letter}</text></svg>'
    )
    return Response(svg, media_type="image/svg+xml")


@router.get("/{login}", response_class=HTMLResponse)
def user_page(login: str, sim: SimDep) -> HTMLResponse:
    """A user's page, where @mentions link: GitHub answers 404 for a login nobody has."""
    user = sim.find_user(login)
    if user is None:
        raise not_found()
    # Nobody signs in to the HTML view: it shows what an anonymous visitor sees.
    repos = [r for r in sim.store.query("repo") if r["owner_id"] == user["id"] and not r["private"]]
    return _page("user.html", user=user, repos=repos)


@router.get("/{owner}/{name}", response_class=HTMLResponse)
def repository(owner: str, name: str, sim: SimDep) -> HTMLResponse:
    repo = sim.repo_or_404(owner, name)
    items = [_item(sim, repo, i) for i in sim.store.query("issue", order="-id", repo_id=repo["id"])]
    return _page(
        "repo.html",
        repo=repo,
        branches=sorted(branches(sim.git_dir(repo))),
        clone_url=f"{sim.config.base_url}/{repo['full_name']}.git",
        pulls=[i for i in items if "/pull/" in i["link"]],
        issues=[i for i in items if "/issues/" in i["link"]],
    )


@router.get("/{owner}/{name}/{kind}/{number}", response_class=HTMLResponse)
def conversation(owner: str, name: str, kind: str, number: int, sim: SimDep) -> HTMLResponse:
    if kind not in ("issues", "pull"):
        raise not_found()
    repo = sim.repo_or_404(owner, name)
    issue = sim.issue_or_404(repo, number)
    pull = sim.pull_for_issue(issue)
    files: list[gitrepo.FileDiff] = []
    checks: list[dict[str, Any]] = []
    if pull is not None:
        start, head = pull_range(sim, repo, pull)
        files = gitrepo.diff(sim.git_dir(repo), start, head)
        checks = _checks(sim, repo, pull["head_sha"])
    return _page(
        "issue.html",
        repo=repo,
        item=_item(sim, repo, issue),
        body=_markdown(sim, repo, issue.get("body")) if issue.get("body") else None,
        pull=pull,
        timeline=_timeline(sim, repo, issue, pull),
        files=files,
        checks=checks,
    )

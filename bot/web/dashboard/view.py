"""What the dashboard shows of a run: pure functions from a RunSummary to display values.

Everything here is untrusted text; `bot.dashboard_text` decides what it may become.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bot.core.feed import RunSummary
from bot.web.dashboard.text import Segment, age, safe_url, segments

# phase → (what a person reads, the colour family it is drawn in)
PHASES: dict[str, tuple[str, str]] = {
    "queued": ("queued", "working"),
    "plan": ("planning", "working"),
    "wait_approval": ("waiting for approval", "waiting"),
    "held": ("held for review", "waiting"),
    "setup": ("setting up", "working"),
    "execute": ("working", "working"),
    "check": ("checking", "working"),
    "pull_request": ("opening the PR", "working"),
    "await_ci": ("waiting for CI", "waiting"),
    "asked": ("asking a person", "waiting"),
    "stopped": ("stopped", "idle"),
    "failed": ("failed", "bad"),
    "ready": ("ready for review", "good"),
    "merged": ("merged", "good"),
    "closed": ("closed", "idle"),
}
NODE_STATUSES = {
    "pending": "pending",
    "in_progress": "in progress",
    "done": "done",
    "blocked": "blocked",
}
MAX_DEPTH = 3


@dataclass(frozen=True)
class Link:
    label: str
    href: str


@dataclass(frozen=True)
class Budget:
    tokens: str
    percent: int | None  # of the token limit, capped at 100; None without a limit
    tone: str  # "ok" | "high" | "over"
    steps: str
    ci: str


@dataclass(frozen=True)
class RunRow:
    """One line of the list of runs."""

    run_id: str
    href: str
    repo: str
    issue: str
    title: str
    phase: str
    tone: str
    headline: list[Segment]
    budget: Budget
    done: str
    age: str


@dataclass(frozen=True)
class NodeView:
    id: str
    title: str
    status: str
    label: str
    depth: int
    after: str
    description: str
    acceptance: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CiView:
    attempt: int
    sha: str
    href: str | None
    failing: int
    names: str
    tone: str


@dataclass(frozen=True)
class CandidateView:
    """One candidate of a requirement's attempts tree."""

    node: str
    candidate: int
    score: str
    reward: str
    chosen: bool
    tone: str


@dataclass(frozen=True)
class RunHead:
    """Everything on a run's page but its timeline."""

    run_id: str
    repo: str
    issue: str
    title: str
    phase: str
    tone: str
    headline: list[Segment]
    question: str | None
    error: str | None
    outcome: str | None
    requested_by: str
    started: str
    updated: str
    attempt: int
    budget: Budget
    links: list[Link]
    tree: list[NodeView]
    ci: list[CiView]
    done: str
    candidates: list[CandidateView] = field(default_factory=list)


def phase(name: str) -> tuple[str, str]:
    return PHASES.get(name, (name.replace("_", " "), "idle"))


def budget(run: RunSummary) -> Budget:
    limit = run.token_limit
    percent = min(100, round(100 * run.tokens_used / limit)) if limit else None
    tokens = f"{run.tokens_used:,} of {limit:,}" if limit else f"{run.tokens_used:,}"
    tone = "ok" if percent is None or percent < 80 else "high" if percent < 100 else "over"
    if not run.ci_attempt:
        ci = "—"
    else:
        ci = f"{run.ci_attempt} of {run.ci_max}" if run.ci_max else str(run.ci_attempt)
    steps = f"{run.steps} step" if run.steps == 1 else f"{run.steps} steps"
    return Budget(tokens, percent, tone, steps, ci)


def done(run: RunSummary) -> str:
    return f"{run.done_nodes} of {len(run.tree)} done" if run.tree else ""


def run_href(run_id: str, api: bool = False) -> str:
    """The run's page, or with `api` the JSON its page polls."""
    return ("/dashboard/api/runs/" if api else "/dashboard/runs/") + quote(run_id, safe="")


def run_row(run: RunSummary, now: float) -> RunRow:
    label, tone = phase(run.phase)
    return RunRow(
        run_id=run.run_id,
        href=run_href(run.run_id),
        repo=run.repo,
        issue=f"#{run.issue}",
        title=run.title,
        phase=label,
        tone=tone,
        headline=segments(run.headline),
        budget=budget(run),
        done=done(run),
        age=age(now - run.updated_at),
    )


def repo_url(run: RunSummary) -> str | None:
    """The repository's page, from the issue's: the summary names no GitHub host itself."""
    issue = safe_url(run.issue_url)
    suffix = f"/issues/{run.issue}"
    return issue[: -len(suffix)] if issue and issue.endswith(suffix) else None


def links(run: RunSummary) -> list[Link]:
    shown: list[Link] = []
    if issue := safe_url(run.issue_url):
        shown.append(Link(f"Issue #{run.issue}", issue))
    if pr := safe_url(run.pr_url):
        shown.append(
            Link(f"Pull request #{run.pr_number}" if run.pr_number else "Pull request", pr)
        )
    repo = repo_url(run)
    if repo and run.branch:
        shown.append(Link(f"Branch {run.branch}", f"{repo}/tree/{quote(run.branch, safe='/')}"))
    return shown


def tree(nodes: list[dict[str, Any]]) -> list[NodeView]:
    """The requirement tree in plan order, each node indented under its deepest dependency."""
    by_id = {str(n.get("id")): n for n in nodes}
    depths: dict[str, int] = {}

    def depth(node_id: str, seen: frozenset[str]) -> int:
        if node_id not in depths:
            deps = [d for d in by_id[node_id].get("depends_on") or [] if d in by_id]
            below = [depth(d, seen | {node_id}) for d in deps if d not in seen | {node_id}]
            depths[node_id] = min(MAX_DEPTH, 1 + max(below, default=-1))
        return depths[node_id]

    shown = []
    for node in nodes:
        node_id = str(node.get("id"))
        status = str(node.get("status", "pending"))
        shown.append(
            NodeView(
                id=node_id,
                title=str(node.get("title", "")),
                status=status if status in NODE_STATUSES else "pending",
                label=NODE_STATUSES.get(status, status),
                depth=depth(node_id, frozenset()),
                after=", ".join(str(d) for d in node.get("depends_on") or []),
                description=str(node.get("description", "")),
                acceptance=[str(a) for a in node.get("acceptance") or []],
            )
        )
    return shown


def ci(run: RunSummary) -> list[CiView]:
    repo = repo_url(run)
    shown = []
    for n, entry in enumerate(run.ci_history, 1):
        sha = str(entry.get("sha", ""))
        failing = int(entry.get("failing", 0) or 0)
        names = entry.get("names") or []
        shown.append(
            CiView(
                attempt=n,
                sha=sha[:7],
                href=f"{repo}/commit/{quote(sha, safe='')}" if repo and sha else None,
                failing=failing,
                names=", ".join(str(x) for x in names) if failing else "all checks passed",
                tone="bad" if failing else "good",
            )
        )
    return shown


def candidate_score(entry: dict[str, Any]) -> str:
    """`tests pass · 0 failing · 12 lines`, from what the state keeps of a candidate."""
    tests = entry.get("tests_pass")
    failing, lines = entry.get("failing"), entry.get("diff_lines")
    if lines is None:
        return "did not finish"
    return " · ".join(
        part
        for part in (
            "" if tests is None else "tests pass" if tests else "tests fail",
            f"{failing} failing" if isinstance(failing, int) else "",
            f"{lines} lines",
        )
        if part
    )


def candidates(run: RunSummary) -> list[CandidateView]:
    shown = []
    for entry in run.candidates:
        reward = entry.get("reward")
        chosen = bool(entry.get("chosen"))
        shown.append(
            CandidateView(
                node=str(entry.get("node") or ""),
                candidate=int(entry.get("candidate") or 0),
                score=candidate_score(entry),
                reward=f"{reward:.2f}" if isinstance(reward, int | float) else "",
                chosen=chosen,
                tone="good" if chosen else "muted",
            )
        )
    return shown


def run_head(run: RunSummary, now: float) -> RunHead:
    label, tone = phase(run.phase)
    nodes = tree(run.tree)
    return RunHead(
        run_id=run.run_id,
        repo=run.repo,
        issue=f"#{run.issue}",
        title=run.title,
        phase=label,
        tone=tone,
        headline=segments(run.headline),
        question=run.question,
        error=run.error,
        outcome=run.outcome,
        requested_by=run.requested_by,
        started=age(now - run.started_at),
        updated=age(now - run.updated_at),
        attempt=run.attempt,
        budget=budget(run),
        links=links(run),
        tree=nodes,
        ci=ci(run),
        done=done(run),
        candidates=candidates(run),
    )

"""DECOMPOSE: one model call, offering only `submit_plan`, turns an issue into a plan; a plan
bounded to one requirement is the issue itself, with no call."""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.agent.llm import LLM, Message, Reply, ToolSpec, Usage
from bot.agent.plan_size import size_plan
from bot.agent.requirements import (
    MAX_CRITERIA,
    MAX_NODES,
    MAX_TITLE,
    PlanRejected,
    Requirement,
    RequirementTree,
)
from bot.core.inert import fence_for
from bot.core.templates import render

TOOL_NAME = "submit_plan"
# Issue bodies and repo maps can be huge; the plan needs the gist, not every log line.
MAX_ISSUE_CHARS = 20_000
MAX_REPO_MAP_CHARS = 12_000
MAX_REASONS_SHOWN = 25

SUBMIT_PLAN_TOOL: ToolSpec = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": (
            "Submit the plan: small, verifiable requirements in dependency order. "
            "This is the only way to answer."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "requirements": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_NODES,
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {
                                "type": "string",
                                "pattern": "^[A-Za-z0-9._-]{1,32}$",
                                "description": "Short unique id, like R1.",
                            },
                            "title": {"type": "string", "description": "One short line."},
                            "description": {
                                "type": "string",
                                "description": "What to change and where.",
                            },
                            "acceptance": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": MAX_CRITERIA,
                                "items": {"type": "string"},
                                "description": "Checkable criteria (a test, a command, a file).",
                            },
                            "depends_on": {
                                "type": "array",
                                "items": {"type": "string"},
                                "description": "Ids that must be done first; [] if none.",
                            },
                        },
                        "required": ["id", "title", "description", "acceptance", "depends_on"],
                    },
                }
            },
            "required": ["requirements"],
        },
    },
}

OnStep = Callable[[dict[str, Any]], object]


def submit_plan_tool(max_nodes: int = MAX_NODES) -> ToolSpec:
    """SUBMIT_PLAN_TOOL allowing at most `max_nodes` requirements."""
    if max_nodes == MAX_NODES:
        return SUBMIT_PLAN_TOOL
    tool = copy.deepcopy(SUBMIT_PLAN_TOOL)
    tool["function"]["parameters"]["properties"]["requirements"]["maxItems"] = max_nodes
    return tool


@dataclass(frozen=True)
class IssueText:
    number: int
    title: str
    body: str


@dataclass(frozen=True)
class PlanResult:
    tree: RequirementTree
    usage: Usage
    attempts: int


class PlanError(RuntimeError):
    """The model gave no usable plan within the attempts; `reasons` are the last attempt's."""

    def __init__(self, reasons: list[str], attempts: int, usage: Usage) -> None:
        super().__init__(f"no usable plan after {attempts} attempt(s): " + "; ".join(reasons))
        self.reasons = reasons
        self.attempts = attempts
        self.usage = usage


async def plan(
    llm: LLM,
    issue: IssueText,
    repo_map: str,
    *,
    max_attempts: int = 3,
    force_tool: bool = False,
    on_step: OnStep | None = None,
    instructions: str = "",
    files: Sequence[tuple[str, str]] = (),
    max_nodes: int = MAX_NODES,
) -> PlanResult:
    """`max_nodes` below MAX_NODES bounds the plan for a model that cannot judge its size: the
    tool's schema says it (a grammar-bound server then cannot write more), and a longer plan
    is sent back. Bounded to one, the plan is the issue itself (`issue_as_plan`)."""
    max_nodes = max(1, min(max_nodes, MAX_NODES))
    if max_nodes == 1:
        if on_step is not None:
            step = {"attempt": 0, "from_issue": True, "seconds": 0.0, "problems": []}
            if inspect.isawaitable(result := on_step(step)):
                await result
        return PlanResult(tree=issue_as_plan(issue), usage=Usage(), attempts=0)
    tool = submit_plan_tool(max_nodes)
    messages: list[Message] = [
        {"role": "system", "content": render("planner/system.md.j2", max_nodes=max_nodes)},
        {"role": "user", "content": task_prompt(issue, repo_map, instructions, files, max_nodes)},
    ]
    usage = Usage()
    reasons: list[str] = []
    reported = 0
    for attempt in range(1, max_attempts + 1):
        started = time.monotonic()
        reply = await llm.complete(messages, [tool], force_tool=TOOL_NAME if force_tool else None)
        usage = usage + reply.usage
        tree, reasons = judge(reply, max_nodes)
        if on_step is not None:
            step = _step(attempt, messages, reported, reply, reasons, time.monotonic() - started)
            reported = len(messages)
            if inspect.isawaitable(result := on_step(step)):
                await result
        if tree is not None:
            return PlanResult(tree=tree, usage=usage, attempts=attempt)
        if attempt < max_attempts:
            messages.extend(_feedback(reply, reasons, attempts_left=max_attempts - attempt))
    raise PlanError(reasons, attempts=max_attempts, usage=usage)


def issue_as_plan(issue: IssueText) -> RequirementTree:
    """One requirement, in the issue's own words. With nothing to split, a model can only
    paraphrase the issue: the embedded Qwen took 37-73 s to do it, and its paraphrase of a
    progress bar stuck at 0% ("return 0.0 when done is 1") led the fix astray."""
    title = " ".join(issue.title.split())[:MAX_TITLE] or f"Issue #{issue.number}"
    return RequirementTree(
        [
            Requirement(
                "R1",
                title,
                "Everything the issue asks for, as one change.",
                ["What the issue asks for works, and the repository's tests pass."],
            )
        ]
    )


def task_prompt(
    issue: IssueText,
    repo_map: str,
    instructions: str = "",
    files: Sequence[tuple[str, str]] = (),
    max_nodes: int = MAX_NODES,
) -> str:
    body = _clip(issue.body, MAX_ISSUE_CHARS)
    title = " ".join(issue.title.split())
    tree_map = _clip(repo_map, MAX_REPO_MAP_CHARS)
    return render(
        "planner/task.md.j2",
        number=issue.number,
        title=title,
        body=body,
        repo_map=tree_map,
        issue_fence=fence_for(title + "\n" + body),
        map_fence=fence_for(tree_map),
        max_nodes=max_nodes,
        instructions=instructions,
        instructions_fence=fence_for(instructions),
        files=list(files),
    )


def judge(reply: Reply, max_nodes: int = MAX_NODES) -> tuple[RequirementTree | None, list[str]]:
    """The tree from the reply's first `submit_plan` call, or the reasons it is unusable."""
    calls = reply.tool_calls
    if not calls:
        return None, [f"you answered without calling `{TOOL_NAME}`; the plan must be its arguments"]
    call = calls[0]
    if call.name != TOOL_NAME:
        return None, [f"unknown tool `{call.name}`; the only tool is `{TOOL_NAME}`"]
    try:
        data = json.loads(call.arguments or "{}")
    except ValueError as exc:
        return None, [f"the `{TOOL_NAME}` arguments are not valid JSON: {exc}"]
    # Weak models sometimes send the list as a JSON string; decoding it beats a retry.
    if isinstance(data, dict) and isinstance(data.get("requirements"), str):
        try:
            data["requirements"] = json.loads(data["requirements"])
        except ValueError as exc:
            return None, [f"`requirements` is a string that is not a JSON list: {exc}"]
    try:
        tree = size_plan(RequirementTree.from_plan(data))
    except PlanRejected as exc:
        return None, exc.reasons
    if len(tree.nodes) > max_nodes:
        return None, [f"too many requirements: {len(tree.nodes)} (at most {max_nodes}); merge them"]
    return tree, []


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters cut ...]"


def _feedback(reply: Reply, reasons: list[str], attempts_left: int) -> list[Message]:
    shown = reasons[:MAX_REASONS_SHOWN]
    if len(reasons) > len(shown):
        shown.append(f"... and {len(reasons) - len(shown)} more problems")
    text = render("planner/feedback.md.j2", reasons=shown, attempts_left=attempts_left)
    if not reply.tool_calls:
        return [
            {"role": "assistant", "content": reply.content or ""},
            {"role": "user", "content": text},
        ]
    assistant: Message = {
        "role": "assistant",
        "content": reply.content or "",  # llama.cpp's server refuses a null content
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ],
    }
    # The API wants an answer to every call; only the first one is judged.
    others = "Ignored: only the first tool call of a reply is used."
    return [
        assistant,
        *(
            {"role": "tool", "tool_call_id": c.id, "content": text if i == 0 else others}
            for i, c in enumerate(reply.tool_calls)
        ),
    ]


def _step(
    attempt: int,
    messages: list[Message],
    reported: int,
    reply: Reply,
    problems: list[str],
    seconds: float,
) -> dict[str, Any]:
    """One trajectory record; it carries only the messages new since the previous record."""
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
    return {
        "attempt": attempt,
        "request": {"messages": len(messages), "sha256": digest, "new": messages[reported:]},
        "response": {
            "content": reply.content,
            "tool_calls": [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in reply.tool_calls
            ],
            "finish_reason": reply.finish_reason,
        },
        "usage": {
            "prompt_tokens": reply.usage.prompt_tokens,
            "completion_tokens": reply.usage.completion_tokens,
        },
        "seconds": round(seconds, 3),
        "problems": problems,
    }

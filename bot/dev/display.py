"""What the demo prints while it follows a run: the tree, the steps, the CI attempts (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.feed import RunSummary

# The run waits on nothing but itself (or CI) in these; any other phase is where it rests.
MOVING = frozenset({"queued", "plan", "setup", "execute", "check", "pull_request", "await_ci"})
STATUS_MARKS = {"done": "[x]", "in_progress": "[~]", "blocked": "[!]", "pending": "[ ]"}
STEPS_SHOWN = 8


def settled(summary: RunSummary | None) -> bool:
    return summary is not None and summary.phase not in MOVING


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


# Output from the sandbox or the model must not move the cursor or recolour the terminal.
_CONTROL = {c: None for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)]}


def _one_line(text: object, width: int) -> str:
    flat = " ".join(str(text).split()).translate(_CONTROL)
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"


def _result(output: str) -> str:
    """The short result of a tool call, from the observation the agent read."""
    first = output.strip().splitlines()[0] if output.strip() else ""
    if first.startswith("exit code") or first.startswith("exit"):
        return first
    return _one_line(first, 40)


def action_line(node: str, step: int, action: dict[str, Any], width: int) -> str:
    tool = str(action.get("tool") or "(no tool)")
    target = action.get("command") or action.get("path") or action.get("question") or ""
    target = target or action.get("summary") or ""
    result = _result(str(action.get("output", "")))
    head = f"{node} step {step}: {tool}"
    if target:
        head += f" {_one_line(target, max(10, width - len(head) - 30))}"
    return _one_line(f"{head} → {result}" if result else head, width)


def event_lines(event: dict[str, Any], width: int = 100) -> list[str]:
    """The lines one timeline event adds to the log; [] for those not worth a line."""
    kind = event.get("kind")
    if kind == "step":
        node, step = str(event.get("node")), int(event.get("step") or 0)
        return [action_line(node, step, a, width) for a in event.get("actions", [])]
    if kind == "plan":
        if event.get("from_issue"):
            return ["plan: the issue itself, as one requirement"]
        if event.get("submitted") and not event.get("problems"):
            return ["plan submitted"]
        problems = "; ".join(str(p) for p in event.get("problems", []))
        return [_one_line(f"plan refused: {problems or 'no plan in the reply'}", width)]
    if kind == "node_start":
        return [_one_line(f"{event.get('node')}: started — {event.get('title')}", width)]
    if kind == "draft" and event.get("draft"):
        verdict = str(event.get("verdict") or "").split("\n")[0]
        return [_one_line(f"{event.get('node')} draft {event.get('draft')}: {verdict}", width)]
    if kind == "node_end":
        ending = f"{event.get('node')}: {event.get('outcome')} after {event.get('steps')} steps"
        return [_one_line(ending, width)]
    if kind == "ci":
        failing = ", ".join(event.get("failing") or [])
        state = str(event.get("state"))
        line = f"CI on {str(event.get('sha'))[:7]}: {state}"
        return [_one_line(line + (f" (failing: {failing})" if failing else ""), width)]
    return []


def frame(
    summary: RunSummary | None,
    events: Sequence[dict[str, Any]],
    elapsed_s: float,
    width: int = 100,
) -> list[str]:
    """The whole progress display, redrawn in place on a terminal."""
    if summary is None:
        return [f"[{clock(elapsed_s)}] waiting for the bot to pick up the label…"]
    lines = [
        _one_line(f"[{clock(elapsed_s)}] {summary.repo}#{summary.issue}: {summary.title}", width),
        # The headline is markdown for GitHub; a terminal shows the emphasis as noise.
        _one_line(f"state: {summary.phase} — {summary.headline.replace('**', '')}", width),
    ]
    if summary.tree:
        lines.append("plan:")
        for node in summary.tree:
            mark = STATUS_MARKS.get(str(node.get("status")), "[?]")
            lines.append(
                "  " + _one_line(f"{mark} {node.get('id')} {node.get('title')}", width - 2)
            )
    steps = [line for e in events if e.get("kind") == "step" for line in event_lines(e, width)]
    if steps:
        lines.append(f"steps ({summary.steps} so far):")
        lines.extend(f"  {line}" for line in steps[-STEPS_SHOWN:])
    budget = f"tokens: {summary.tokens_used:,}"
    if summary.token_limit:
        budget += f" of {summary.token_limit:,}"
    if summary.ci_attempt:
        budget += f" · CI attempt {summary.ci_attempt} of {summary.ci_max}"
    lines.append(budget)
    for attempt in summary.ci_history:
        names = ", ".join(attempt.get("names") or []) or "none"
        failing = int(attempt.get("failing") or 0)
        verdict = f"red, failing: {names}" if failing else "green"
        lines.append("  " + _one_line(f"CI on {str(attempt.get('sha'))[:7]}: {verdict}", width - 2))
    return lines


@dataclass(frozen=True)
class Verdict:
    solved: bool
    line: str


def verdict(summary: RunSummary | None, elapsed_s: float, tiny_model: bool) -> Verdict:
    """The demo's last line: what became of the issue, in one sentence."""
    took = f"in {clock(elapsed_s)}"
    if summary is None:
        return Verdict(False, f"Verdict: the bot never picked up the issue ({took}).")
    if summary.phase in ("ready", "merged"):
        ci = f"CI green on attempt {summary.ci_attempt} of {summary.ci_max}"
        return Verdict(True, f"Verdict: solved {took}: PR #{summary.pr_number} is ready ({ci}).")
    small = " (expected with the embedded 135M model)" if tiny_model else ""
    if summary.phase == "asked":
        question = _one_line(summary.question or "how to go on", 120)
        return Verdict(False, f"Verdict: not solved{small}; the bot asked a person {took}: "
                       f"{question}")  # fmt: skip
    if summary.phase == "failed":
        return Verdict(False, f"Verdict: the run failed {took}{small}: {summary.error}")
    if summary.phase in MOVING:
        return Verdict(False, f"Verdict: still {summary.phase} when the demo gave up ({took}).")
    return Verdict(False, f"Verdict: the run ended {summary.phase} {took}.")

"""The developer agent: an LLM tool loop that works on one requirement node in the sandbox."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.agent.conversation import Conversation
from bot.agent.drafts import Drafts
from bot.agent.finish_gate import FinishGate, scratch_note
from bot.agent.llm import ANY_TOOL, DEFAULT_SAMPLING, LLM, Message, Reply, Sampling, ToolCall, Usage
from bot.agent.stuck import StuckWatch
from bot.agent.task import NodeTask, render_task
from bot.agent.toolbox import ToolBox
from bot.agent.tools import (
    CHOOSE_TOOL,
    TOOL_NAMES,
    AskHuman,
    Finish,
    MalformedCall,
    choose_tool_spec,
    parse_call,
    parse_choice,
    tool_specs,
)
from bot.agent.trajectory import Recorder, query_record, usage_record
from bot.core.templates import render
from bot.core.text import cut
from bot.sandbox.api import WORKSPACE, Sandbox

OutcomeKind = Literal[
    "finished", "asked", "out_of_steps", "out_of_tokens", "out_of_time", "malformed"
]


@dataclass(frozen=True)
class AgentLimits:
    max_steps: int = 30  # per node; a step is one model turn and the calls it made
    max_malformed: int = 3  # malformed turns in a row that get feedback; one more ends the node
    observation_chars: int = 8000
    context_tokens: int = 48_000
    keep_recent_turns: int = 4
    force_tools: bool = False  # two forced calls per step, for weak local models
    require_tool: bool = False  # instead, one call per step that must call some tool
    command_timeout_s: float = 600.0
    # `.github/workflows/` may not be changed (GitHub refuses those pushes from an App
    # without the `workflows` permission): the prompt says so and the file tools refuse.
    workflows_read_only: bool = True
    sampling: Sampling = DEFAULT_SAMPLING  # candidates after the first sample more freely
    # `finish` is refused once for each plain problem (no change, failing or weakened tests).
    finish_gate: bool = True
    # Drafts of the fix in plain code tried before the tool loop, when tests fail to check them.
    drafts: int = 0


@dataclass
class TokenBudget:
    """The run's tokens, shared by the planner and every node; counted from the API's usage."""

    limit: int | None
    used: Usage = field(default_factory=Usage)

    def add(self, usage: Usage) -> None:
        self.used = self.used + usage

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used.total >= self.limit


@dataclass(frozen=True)
class Deadline:
    """The run's wall-clock end, on a monotonic clock."""

    at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after_minutes(cls, minutes: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + minutes * 60, clock)

    @classmethod
    def unlimited(cls) -> Deadline:
        return cls(float("inf"))

    @property
    def remaining_s(self) -> float:
        return self.at - self.clock()

    @property
    def expired(self) -> bool:
        return self.remaining_s <= 0


@dataclass(frozen=True)
class NodeOutcome:
    kind: OutcomeKind
    summary: str
    question: str | None
    steps: int
    usage: Usage
    # The conversation as sent: system and task, then the turns (old observations elided).
    prompt: tuple[Message, ...] = ()
    messages: tuple[Message, ...] = ()


class AgentExit(Exception):
    """Ends the loop; `run` turns it into the node's outcome."""

    kind: OutcomeKind = "finished"

    def __init__(self, summary: str, question: str | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.question = question


class Finished(AgentExit):
    kind = "finished"


class AskedHuman(AgentExit):
    kind = "asked"


class LimitReached(AgentExit):
    def __init__(self, kind: OutcomeKind, summary: str) -> None:
        super().__init__(summary)
        self.kind = kind


TRUNCATED = " Your reply was cut at the output limit: write smaller files or edits."


class Agent:
    def __init__(
        self,
        llm: LLM,
        sandbox: Sandbox,
        task: NodeTask,
        limits: AgentLimits,
        budget: TokenBudget,
        deadline: Deadline,
        trajectory: Recorder,
    ) -> None:
        self.llm, self.sandbox, self.task, self.limits = llm, sandbox, task, limits
        self.budget, self.deadline, self.trajectory = budget, deadline, trajectory
        system = render(
            "agent/system.md.j2",
            workspace=WORKSPACE,
            forced=limits.force_tools and not limits.require_tool,
            workflows_read_only=limits.workflows_read_only,
        )
        self.conversation = Conversation(
            system, render_task(task), limits.context_tokens, limits.keep_recent_turns
        )
        # The same tool list on every request keeps the provider's prompt cache warm.
        forced = limits.force_tools and not limits.require_tool
        self.tools = tool_specs() + ([choose_tool_spec()] if forced else [])
        self.toolbox = ToolBox(sandbox, limits.observation_chars, limits.workflows_read_only)
        self.gate = FinishGate(sandbox, task.test_command)
        self.drafts = Drafts(
            llm, sandbox, task, limits.drafts, self.gate, trajectory, limits.sampling.seed or 0
        )
        self.stuck = StuckWatch()
        self.steps = 0
        self.malformed_in_row = 0
        self.usage = Usage()
        self._record: dict[str, Any] = {}

    async def run(self) -> NodeOutcome:
        node = self.task.node.id
        self.trajectory.record(kind="node_start", node=node, title=self.task.node.title)
        outcome: NodeOutcome | None = None
        error: str | None = None
        try:
            drafted = await self.drafts.try_all(self.timeout_s(), self.may_draft, self.spend)
            if drafted is not None:
                outcome = NodeOutcome(
                    "finished",
                    drafted.summary,
                    None,
                    self.steps,
                    self.usage,
                    drafted.messages[:2],
                    drafted.messages[2:],
                )
                return outcome
            while True:
                await self.step()
        except AgentExit as exit_:
            sent = self.conversation.messages
            outcome = NodeOutcome(
                exit_.kind,
                exit_.summary,
                exit_.question,
                self.steps,
                self.usage,
                tuple(sent[:2]),
                tuple(sent[2:]),
            )
            return outcome
        except BaseException as failure:
            error = repr(failure)
            raise
        finally:
            self.trajectory.record(
                kind="node_end",
                node=node,
                outcome=outcome.kind if outcome else "error",
                summary=outcome.summary if outcome else None,
                steps=self.steps,
                tokens=usage_record(self.usage),
                error=error,
                elided=self.conversation.elided,
                # The conversation in the candidate record's shape: what preference pairs
                # from outcomes (a CI fix that turned CI green) are made of.
                prompt=list(outcome.prompt) if outcome else self.conversation.messages[:2],
                messages=list(outcome.messages) if outcome else self.conversation.messages[2:],
            )

    async def step(self) -> None:
        self.check_limits()
        self.steps += 1
        self._record = {"kind": "step", "node": self.task.node.id, "step": self.steps}
        self._record.update(queries=[], actions=[])
        started = time.monotonic()
        try:
            if self.limits.require_tool:
                reply: Reply | None = await self.query(force_tool=ANY_TOOL)
            elif self.limits.force_tools:
                reply = await self.query_forced()
            else:
                reply = await self.query()
            if reply is not None:
                await self.execute(reply)
        except AgentExit as exit_:
            self._record["exit"] = exit_.kind
            raise
        finally:
            self._record["ms"] = round((time.monotonic() - started) * 1000)
            self.trajectory.record(**self._record)

    def may_draft(self) -> bool:
        """Another draft may start: time and tokens are left (the tool loop says so when not)."""
        return not (self.deadline.expired or self.budget.exhausted)

    def spend(self, usage: Usage) -> None:
        self.budget.add(usage)
        self.usage = self.usage + usage

    def check_limits(self) -> None:
        if self.deadline.expired:
            raise LimitReached("out_of_time", "The run's time ran out before this node was done.")
        if self.budget.exhausted:
            raise LimitReached("out_of_tokens", "The run's token budget is spent.")
        if self.steps >= self.limits.max_steps:
            raise LimitReached(
                "out_of_steps", f"Stopped after {self.steps} steps without finishing."
            )

    async def query(self, force_tool: str | None = None) -> Reply:
        self.conversation.fit()
        messages = list(self.conversation.messages)
        started = time.monotonic()
        reply = await self.llm.complete(
            messages, self.tools, force_tool=force_tool, sampling=self.limits.sampling
        )
        self.budget.add(reply.usage)
        self.usage = self.usage + reply.usage
        self.conversation.note_prompt_tokens(reply.usage.prompt_tokens, messages)
        self.conversation.add_reply(reply)
        ms = round((time.monotonic() - started) * 1000)
        self._record["queries"].append(query_record(messages, reply, force_tool, ms))
        return reply

    async def query_forced(self) -> Reply | None:
        """Forced mode: first force `choose_tool`, then force the tool it named."""
        choice = await self.query(force_tool=CHOOSE_TOOL)
        if not choice.tool_calls:
            self.malformed_turn("You did not call a tool.")
            return None
        first, *extra = choice.tool_calls
        try:
            name = parse_choice(first)
        except MalformedCall as error:
            self.answer(first, feedback(str(error)))
            self.skip(extra)
            self.malformed_turn(None)
            return None
        self.answer(first, f"Now call `{name}` with its arguments.")
        self.skip(extra)
        return await self.query(force_tool=name)

    async def execute(self, reply: Reply) -> None:
        if not reply.tool_calls:
            self.malformed_turn("You did not call a tool.")
            return
        ending: AgentExit | None = None
        malformed = 0
        for call in reply.tool_calls:
            if ending is not None:
                self.skip([call])
                continue
            try:
                action = parse_call(call)
            except MalformedCall as error:
                hint = TRUNCATED if reply.finish_reason == "length" else ""
                self.answer(call, feedback(f"{error}{hint}"))
                malformed += 1
                continue
            if isinstance(action, Finish):
                ending = await self.finish(call, action)
            elif isinstance(action, AskHuman):
                ending = AskedHuman("Asked the maintainers a question.", action.question)
                self.answer(call, "Your question was sent to the maintainers.")
            else:
                observation = await self.toolbox.execute(action, self.timeout_s())
                self.answer(call, self.watch(call, observation))
        if ending is not None:
            raise ending
        if malformed == len(reply.tool_calls):
            self.malformed_turn(None)
        else:
            self.malformed_in_row = 0

    def timeout_s(self) -> float:
        return max(1.0, min(self.limits.command_timeout_s, self.deadline.remaining_s))

    async def finish(self, call: ToolCall, action: Finish) -> AgentExit | None:
        """The node's end, or None when the gate refuses this `finish` (its answer says why)."""
        if self.limits.finish_gate:
            seen = await self.gate.inspect(action.keep, self.timeout_s())
            refusal = self.gate.review(seen)
            if refusal is not None:
                self._record["gate"] = sorted(self.gate.refused)
                self.answer(call, self.watch(call, refusal))
                return None
        gone = await self.gate.remove_scratch(action.keep) if self.limits.finish_gate else []
        self.answer(call, "Finished." + (f" {scratch_note(gone)}." if gone else ""))
        return Finished(action.summary)

    def watch(self, call: ToolCall, observation: str) -> str:
        """`observation`, with a nudge when the same call failed the same way before; a question
        to people when the nudge did not help."""
        verdict = self.stuck.see(call.name, call.arguments, observation)
        if verdict == "ask":
            raise AskedHuman(
                "Stuck: the same call kept getting the same answer.",
                f"I am stuck on {self.task.node.id} ({self.task.node.title}): I made the same "
                f"`{call.name}` call {self.stuck.counts.most_common(1)[0][1]} times, with the "
                "same answer each time:\n\n"
                f"{cut(observation, 1500)}\n\nHow should I go on?",
            )
        if verdict in ("nudge", "remind"):
            nudge = render("agent/nudge.md.j2", tool=call.name, failed=verdict == "nudge")
            return observation + "\n\n" + nudge
        return observation

    def answer(self, call: ToolCall, observation: str) -> None:
        """Every tool call gets its tool message: the API refuses unanswered call ids."""
        self.conversation.add_observation(call.id, observation)
        # The arguments are in the step's response already; not repeated here.
        self._record["actions"].append(
            {"id": call.id, "tool": call.name, "observation": observation}
        )

    def skip(self, calls: list[ToolCall]) -> None:
        for call in calls:
            self.answer(call, "Not run: an earlier call in the same reply ended this turn.")

    def malformed_turn(self, message: str | None) -> None:
        """Count a turn with no usable call; `message` goes back as a user message when there
        was no tool call to answer."""
        self.malformed_in_row += 1
        if self.malformed_in_row > self.limits.max_malformed:
            raise LimitReached(
                "malformed", f"{self.malformed_in_row} malformed tool calls in a row; stopped."
            )
        if message is not None:
            self.conversation.add_user(feedback(message))
            self._record["actions"].append({"tool": None, "observation": message})


def feedback(error: str) -> str:
    return render("agent/malformed.md.j2", error=error, tool_names=list(TOOL_NAMES))


async def run_node(
    llm: LLM,
    sandbox: Sandbox,
    task: NodeTask,
    limits: AgentLimits,
    budget: TokenBudget,
    deadline: Deadline,
    trajectory: Recorder,
) -> NodeOutcome:
    """Work on `task.node` until the agent finishes, asks, or a limit ends it. LLMError and
    sandbox failures propagate; the trajectory has the node's end either way."""
    return await Agent(llm, sandbox, task, limits, budget, deadline, trajectory).run()

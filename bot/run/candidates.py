"""Attempts as a tree: a requirement tried by several candidates, each in its own sandbox with
its own sampling, scored by bot/run/reward.py; the best one's patch is what gets committed.

`attempts: N` in .github/pilot.yml (or `/pilot retry attempts=N`). With `attempts_on: failing`
the node is tried once in the work's own sandbox, and only when the test command fails after it
do candidates 1..N-1 follow; with `always` all N work at once. Candidate 0 works in the work's
sandbox, the others in sessions of their own, at most `PILOT_MAX_PARALLEL_ATTEMPTS` at a time.
Every candidate's tokens count against the run's budget, and every one is kept in the
trajectory as a `candidate` record (prompt, conversation, diff, score, reward, chosen).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Any

from bot.agent.llm import DEFAULT_SAMPLING, Sampling
from bot.agent.loop import AgentLimits, Deadline, NodeOutcome, TokenBudget, run_node
from bot.agent.task import NodeTask
from bot.agent.trajectory import Recorder
from bot.github.checkout import Checkout
from bot.run.kernel import Run, Stopped
from bot.run.reward import Score, diff_paths, reward, score
from bot.run.state import RunState
from bot.sandbox.api import Sandbox, SandboxError, SandboxFileError, SandboxSpec

# A candidate's own sandbox session runs under this id: the Docker backend clears whatever
# else runs under a session's run id when it opens one, and the work's session is still open.
CANDIDATE_MARK = "::candidate-"
KEPT_IN_STATE = 30  # candidate scores the state keeps for the dashboard; the trajectory has all


def session_run_id(run_id: str, candidate: int) -> str:
    return f"{run_id}{CANDIDATE_MARK}{candidate}"


def owning_run(session_run: str) -> str:
    """The run a sandbox session's run id belongs to (a candidate's belongs to its run)."""
    return session_run.split(CANDIDATE_MARK, 1)[0]


def sampling_for(candidate: int) -> Sampling:
    """Candidate 0 samples as every other call does; the others hotter, each with its own seed,
    so that they do not all write the same answer."""
    if candidate == 0:
        return DEFAULT_SAMPLING
    return Sampling(temperature=round(min(1.2, 0.6 + 0.2 * candidate), 2), seed=candidate)


class Tagged:
    """The trajectory, with the candidate's number on each record its agent writes."""

    def __init__(self, inner: Recorder, candidate: int) -> None:
        self._inner, self._candidate = inner, candidate

    def record(self, **fields: Any) -> None:
        self._inner.record(**fields, candidate=self._candidate)


@dataclass
class Candidate:
    index: int
    outcome: NodeOutcome | None  # None: it never got to work (its sandbox failed)
    patch: bytes = b""
    score: Score | None = None
    touched: list[str] = field(default_factory=list)  # what it and its test run changed
    error: str | None = None

    @property
    def eligible(self) -> bool:
        finished = self.outcome is not None and self.outcome.kind == "finished"
        return finished and self.score is not None

    @property
    def reward(self) -> float:
        return reward(self.score) if self.score is not None else 0.0

    @property
    def diff(self) -> str:
        return self.patch.decode("utf-8", "replace")


@dataclass
class Choice:
    """What the work commits for the node: the chosen outcome, its patch (None: take it from
    the work's sandbox, as without attempts), and the paths the work's sandbox must take from
    the commit when another candidate's work was chosen over its own."""

    outcome: NodeOutcome
    patch: bytes | None = None
    follow: list[str] = field(default_factory=list)

    async def settle(self, sandbox: Sandbox, checkout: Checkout) -> None:
        """After the commit: the work's sandbox holds the files of the commit, so the next
        node starts from what was pushed, not from the candidate that lost."""
        if not self.follow:
            return
        for path in self.follow:
            content = await checkout.file_at_head(path)
            if content is not None:
                await sandbox.write_file(path, content)
                continue
            try:
                await sandbox.delete_file(path)
            except SandboxFileError:
                pass  # not there in this workspace either
        # The new starting point: this change is the commit's, already on the branch.
        await sandbox.take_patch()


@dataclass
class Attempts:
    """One node's attempts: what each candidate's agent is made with."""

    run: Run[Any]
    state: RunState
    checkout: Checkout
    task: NodeTask
    limits: AgentLimits
    budget: TokenBudget
    deadline: Deadline

    @property
    def count(self) -> int:
        return self.state.attempts or self.run.config.attempts

    async def choose(self, sandbox: Sandbox) -> Choice:
        """Tries the node as configured, in `sandbox` (the work's) first."""
        if self.count <= 1:
            return Choice(await self._agent(0, sandbox))
        semaphore = asyncio.Semaphore(max(1, self.run.deps.max_parallel_attempts))
        if self.run.config.attempts_on == "always":
            first, *others = await self._together(sandbox, semaphore, range(self.count))
        else:
            first = await self._own(sandbox, 0, semaphore)
            if first.eligible and first.score is not None and first.score.tests_pass is False:
                others = await self._together(None, semaphore, range(1, self.count))
            else:
                others = []
        return self._chosen([first, *others])

    async def _together(
        self, sandbox: Sandbox | None, semaphore: asyncio.Semaphore, indices: range
    ) -> list[Candidate]:
        """Candidates `indices` at once (0 in `sandbox`, the work's); the first to raise (a stop,
        the model unreachable) ends the others and is raised as itself."""
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(
                        self._own(sandbox, i, semaphore)
                        if i == 0 and sandbox is not None
                        else self._apart(i, semaphore)
                    )
                    for i in indices
                ]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]

    async def _own(self, sandbox: Sandbox, index: int, semaphore: asyncio.Semaphore) -> Candidate:
        async with semaphore:
            return await self._scored(index, sandbox)

    async def _apart(self, index: int, semaphore: asyncio.Semaphore) -> Candidate:
        """A candidate in a session of its own, on the files the node starts from."""
        run = self.run
        spec = SandboxSpec(
            session_run_id(run.run_id, index),
            run.config.image or run.deps.sandbox_image,
            prestart="execute",
        )
        async with semaphore:
            try:
                async with run.sandbox_session(spec, self.checkout) as session:
                    # The set-up the node's own sandbox ran, the config's or detected ones.
                    if self.task.setup_commands:
                        network = run.config.network_during_setup
                        async with session.phase("setup", network=network) as sandbox:
                            for command in self.task.setup_commands:
                                result = await sandbox.run(command)
                                if result.exit_code != 0:
                                    return self._lost(index, f"set-up `{command}` failed")
                            await sandbox.take_patch()  # set-up's leftovers are not the work
                    async with session.phase("execute") as sandbox:
                        return await self._scored(index, sandbox)
            except SandboxError as exc:
                # One candidate's broken sandbox costs that candidate, not the node.
                return self._lost(index, f"its sandbox failed: {exc}")

    def _lost(self, index: int, why: str) -> Candidate:
        return Candidate(index, None, error=f"Candidate {index}: {why}.")

    async def _scored(self, index: int, sandbox: Sandbox) -> Candidate:
        outcome = await self._agent(index, sandbox)
        found = Candidate(index, outcome)
        if outcome.kind != "finished":
            return found
        found.patch = await sandbox.take_patch()
        diff = found.diff
        sources: dict[str, bytes] = {}
        for path in diff_paths(diff):
            if path.endswith(".py"):
                try:
                    sources[path] = await sandbox.read_file(path)
                except SandboxFileError:
                    pass  # deleted: nothing to compile
        test = self.run.config.test
        exit_code: int | None = None
        output: str | None = None
        if test:
            since = perf_counter()
            result = await sandbox.run(test)
            self.run.timing("candidate_check", since, node=self.task.node.id, candidate=index)
            exit_code, output = (None if result.timed_out else result.exit_code), result.output
            # What the test run leaves in the workspace is not the candidate's work.
            leftovers = await sandbox.take_patch()
            found.touched = diff_paths(leftovers.decode("utf-8", "replace"))
        found.touched = [*diff_paths(diff), *found.touched]
        found.score = score(exit_code, output, sources, diff)
        return found

    async def _agent(self, index: int, sandbox: Sandbox) -> NodeOutcome:
        run, state = self.run, self.state
        limits = self.limits
        if index:
            limits = replace(limits, sampling=sampling_for(index))
        assert run.trajectory is not None
        recorder: Recorder = Tagged(run.trajectory, index) if self.count > 1 else run.trajectory
        since = perf_counter()
        outcome = await run.unless_stopped(
            run_node(run.deps.llm, sandbox, self.task, limits, self.budget, self.deadline, recorder)
        )
        node = self.task.node.id
        run.timing("agent", since, node=node, steps=outcome.steps, candidate=index)
        await run.spend(state, outcome.usage)
        state.steps += outcome.steps
        if run.stop_requested:
            raise Stopped
        return outcome

    def _chosen(self, candidates: list[Candidate]) -> Choice:
        eligible = [c for c in candidates if c.eligible]
        # The highest reward; on a tie the lower number, which costs the work's sandbox least.
        best = max(eligible, key=lambda c: (c.reward, -c.index), default=None)
        self._record(candidates, best)
        first = candidates[0]
        assert first.outcome is not None  # the work's own sandbox: never lost before the agent
        if best is None or best.outcome is None:
            return Choice(first.outcome, first.patch if first.score is not None else None)
        follow: list[str] = []
        if best.index != 0:
            follow = list(dict.fromkeys([*first.touched, *diff_paths(first.diff), *best.touched]))
        return Choice(best.outcome, best.patch, follow)

    def _record(self, candidates: list[Candidate], best: Candidate | None) -> None:
        node = self.task.node.id
        for candidate in candidates:
            value, outcome = candidate.score, candidate.outcome
            chosen = candidate is best
            self.run.record(
                kind="candidate",
                node=node,
                candidate=candidate.index,
                reward=candidate.reward,
                score=value.to_dict() if value is not None else None,
                chosen=chosen,
                outcome=outcome.kind if outcome is not None else "error",
                prompt=list(outcome.prompt) if outcome is not None else [],
                messages=list(outcome.messages) if outcome is not None else [],
                diff=candidate.diff,
                summary=outcome.summary if outcome is not None else candidate.error,
            )
            self.state.candidates.append(
                {
                    "node": node,
                    "candidate": candidate.index,
                    "reward": candidate.reward,
                    "chosen": chosen,
                    "tests_pass": value.tests_pass if value is not None else None,
                    "failing": value.failing if value is not None else None,
                    "diff_lines": value.diff_lines if value is not None else None,
                }
            )
        self.state.candidates = self.state.candidates[-KEPT_IN_STATE:]

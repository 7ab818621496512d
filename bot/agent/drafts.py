"""Drafts: before its tool loop, the agent asks the model a few times, in plain prose and code,
for the corrected functions, and keeps the first draft the repository's tests accept. This is
Agentless's repair step (sample patches, validate each with the tests, keep one that passes),
taken when there is something to validate against: the test command fails before the change, and
the files the work is about are small enough to show whole.

A draft changes source files only (test files are never its targets), and it must pass the whole
finish gate: tests green, none weakened, the base's tests green against it. No draft passing
costs a few model calls; the tool loop then starts on the untouched workspace.
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.agent.finish_gate import FinishGate, Gathered, refusal_reason
from bot.agent.function_patch import Replaced, apply_reply
from bot.agent.llm import LLM, Message, Sampling, Usage
from bot.agent.observations import command_observation
from bot.agent.task import NodeTask
from bot.agent.test_weakening import count_tests, is_test_file
from bot.agent.trajectory import Recorder, usage_record
from bot.core.templates import render
from bot.core.text import cut, decode
from bot.core.workflow_files import is_workflow_file
from bot.sandbox.api import WORKSPACE, Sandbox, SandboxFileError

DRAFTED_SUFFIX = ".py"  # the only language a draft's definitions are parsed in, for now
OUTPUT_CHARS = 2500
FILE_CHARS = 6000  # one file shown whole in a draft's prompt
SHOWN_CHARS = 12_000  # all of them together
# Drafts differ by sampling: at the loop's 0.2 a small model writes the same wrong fix each time.
DRAFT_TEMPERATURE = 0.7
_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_TRACEBACK_PATH = re.compile(r'File "(?:' + re.escape(WORKSPACE) + r'/)?([^"/][^"]*\.py)"')


@dataclass(frozen=True)
class Drafted:
    """A draft the gate accepted: it is in the workspace now."""

    summary: str
    messages: tuple[Message, ...]  # the draft's request and the reply that was kept


@dataclass
class Drafts:
    llm: LLM
    sandbox: Sandbox
    task: NodeTask
    count: int
    gate: FinishGate
    trajectory: Recorder
    seed: int = 0

    async def try_all(
        self, timeout_s: float, may_go_on: Callable[[], bool], spend: Callable[[Usage], None]
    ) -> Drafted | None:
        """The first draft the gate accepts, left in the workspace; None when there is nothing
        to validate a draft against, or none passed (the workspace is as it was)."""
        command = self.task.test_command
        if self.count <= 0 or not command or not self.task.files:
            return None
        node = self.task.node.id
        before = self.task.tests_before or await self.sandbox.run(command, timeout_s)
        if before.exit_code == 0 and not before.timed_out:
            self.trajectory.record(kind="draft", node=node, skipped="the tests already pass")
            return None
        originals = await self._read(self._paths(before.output))
        # The tests name the code they test: a failing tests/test_money.py points at
        # till/money.py even when the issue only speaks of receipts, and through a package's
        # __init__.py when the test imports `from till import format_price`.
        followed: set[str] = set()
        for _ in range(2):
            leads = [p for p in originals if _leads_to_code(p) and p not in followed]
            followed.update(leads)
            wanted = [m for p in leads for m in imported(originals[p]) if m not in originals]
            originals.update(await self._read(wanted, len("".join(originals.values()))))
        targets = {p: text for p, text in originals.items() if _draftable(p)}
        if not targets:
            return None
        messages: tuple[Message, ...] = (
            {"role": "system", "content": render("agent/draft_system.md.j2")},
            {
                "role": "user",
                "content": render(
                    "agent/draft.md.j2",
                    issue_number=self.task.issue_number,
                    issue_title=self.task.issue_title,
                    issue_body=self.task.issue_body,
                    node=self.task.node,
                    # A plan of one requirement is the issue itself; the planner's words for it
                    # add nothing and, from a small model, mislead ("return 0.0 when done is
                    # 1" for a progress bar stuck at 0%).
                    part_of_plan=len(self.task.tree.nodes) > 1,
                    instructions=self.task.instructions,
                    files=[(path, text.rstrip("\n")) for path, text in originals.items()],
                    command=command,
                    output=command_observation(before, OUTPUT_CHARS),
                    called=called_in_failures(before.output, targets),
                    example=next(iter(targets)),
                ),
            },
        )
        tried: set[tuple[tuple[str, str], ...]] = set()
        # The applied drafts the tests refused, as (failures, request, reply, output): every
        # second draft revises the one closest to passing not yet revised, shown its failures,
        # the way aider answers its --test-cmd; the others sample afresh, so one wrong idea
        # cannot hold all. A draft is revised once: asked again, the model repeats its revision.
        refused: list[tuple[int, tuple[Message, ...], str, str]] = []
        for number in range(1, self.count + 1):
            if not may_go_on():
                break
            started = time.monotonic()
            request = messages
            if number % 2 == 0 and refused:
                closest = min(range(len(refused)), key=lambda i: refused[i][0])
                _, earlier, last_reply, output = refused.pop(closest)
                request = (
                    *earlier,
                    {"role": "assistant", "content": last_reply},
                    {"role": "user", "content": render("agent/draft_again.md.j2", output=output)},
                )
            reply = await self.llm.complete(
                request, [], sampling=Sampling(DRAFT_TEMPERATURE, self.seed * 100 + number)
            )
            spend(reply.usage)
            record: dict[str, object] = {"kind": "draft", "node": node, "draft": number}
            if number == 1 or request is not messages:  # what the model was shown
                record["request"] = list(request)
            record["tokens"] = usage_record(reply.usage)
            text = reply.content or ""
            replaced = apply_reply(text, targets)
            change = tuple(sorted((r.path, r.text) for r in replaced))
            if not replaced:
                verdict = "no changed definition of the shown files in the reply"
            elif change in tried:
                verdict = "the same change as an earlier draft"
            else:
                tried.add(change)
                for r in replaced:
                    await self.sandbox.write_file(r.path, r.text.encode())
                seen = await self.gate.inspect((), timeout_s)
                reason = refusal_reason(seen, command)
                if reason is None:
                    record.update(verdict="kept", changed=_names(replaced), reply=text)
                    record["ms"] = round((time.monotonic() - started) * 1000)
                    self.trajectory.record(**record)
                    assistant: Message = {"role": "assistant", "content": text}
                    return Drafted(
                        _summary(text, self.task.node.title),
                        (*request, assistant),
                    )
                verdict = _verdict(reason, seen)
                if reason == "tests" and seen.tests is not None:
                    output = command_observation(seen.tests, OUTPUT_CHARS)
                    refused.append((_failures(seen.tests.output), request, text, output))
                for r in replaced:
                    await self.sandbox.write_file(r.path, originals[r.path].encode())
            record.update(verdict=verdict, changed=_names(replaced), reply=text)
            record["ms"] = round((time.monotonic() - started) * 1000)
            self.trajectory.record(**record)
        return None

    def _paths(self, failing_output: str) -> list[str]:
        """The shown files, then the workspace's files the failure's traceback names."""
        shown = [path for path, _ in self.task.files]
        return list(dict.fromkeys([*shown, *_TRACEBACK_PATH.findall(failing_output)]))

    async def _read(self, paths: Sequence[str], used: int = 0) -> dict[str, str]:
        """path -> text of each readable file, whole, within SHOWN_CHARS in all (`used` of them
        already taken)."""
        texts: dict[str, str] = {}
        for path in dict.fromkeys(paths):
            if path.startswith(("/", "..")) or "/site-packages/" in path:
                continue
            try:
                text = decode(await self.sandbox.read_file(path))
            except SandboxFileError:
                continue
            if len(text) > FILE_CHARS or used + len(text) > SHOWN_CHARS:
                continue
            texts[path] = text
            used += len(text)
        return texts


def called_in_failures(output: str, sources: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, path) of the functions of `sources` (path -> Python text) that the lines of a
    failure's traceback call, in the order the traceback shows them: where a small model should
    look, when the issue's words point elsewhere (an issue about uploads, a bug in chunking)."""
    defined: dict[str, str] = {}
    for path, text in sources.items():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.setdefault(node.name, path)
    found: dict[str, str] = {}
    lines = output.splitlines()
    for number, line in enumerate(lines[:-1]):
        if not _TRACEBACK_PATH.search(line):
            continue
        for name in _CALL.findall(lines[number + 1]):
            if name in defined and not name.startswith(("test", "assert")):
                found.setdefault(name, defined[name])
    return list(found.items())


def imported(source: str) -> list[str]:
    """The paths the modules a Python file imports would have in the repository (module or
    package), for `from a.b import c` and `import a.b`; nothing when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.append(node.module)
            modules.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
    paths: list[str] = []
    for module in modules:
        base = module.replace(".", "/")
        paths += [f"{base}.py", f"{base}/__init__.py"]
    return paths


def _failures(output: str) -> int:
    """How many tests a run reports failing or erroring; a run that says nothing (a crash before
    any test) counts as far from passing."""
    count = count_tests(output)
    return count.failed if count is not None else 1_000_000


def _leads_to_code(path: str) -> bool:
    """A file whose imports lead to the code under test: a test, or a package's __init__.py
    re-exporting its modules."""
    return is_test_file(path) or path.rsplit("/", 1)[-1] == "__init__.py"


def _draftable(path: str) -> bool:
    """Source files only: never a test (a draft must not pass by changing what checks it) nor
    anything under .github/workflows/ (the App may not push those)."""
    return path.endswith(DRAFTED_SUFFIX) and not is_test_file(path) and not is_workflow_file(path)


def _names(replaced: Sequence[Replaced]) -> list[str]:
    return [f"{r.path}: {', '.join(r.names)}" for r in replaced]


def _summary(reply: str, title: str) -> str:
    """The draft's own words before its code: what was wrong; the node's title without them."""
    prose = reply.split("```", 1)[0].strip()
    return cut(prose, 600) if prose else title


def _verdict(reason: str, seen: Gathered) -> str:
    if reason in ("tests", "base_tests"):
        result = seen.tests if reason == "tests" else seen.base_tests
        assert result is not None
        tail = command_observation(result, 600)
        return f"{'tests' if reason == 'tests' else 'base tests'} still fail: {tail}"
    return reason

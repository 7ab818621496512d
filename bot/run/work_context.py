"""What an agent item is told of the run's work so far, bounded for a small model's context: what
each earlier requirement did (its summary and the diff it committed), and the branch's diff
against the base branch for the items that follow the plan (the local check's fix, CI fixes,
reviews)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.agent.requirements import NodeStatus, RequirementTree
from bot.core.text import cut, decode
from bot.github.checkout import Checkout
from bot.sandbox.api import CommandResult

PER_NODE_CHARS = 3000  # one earlier requirement's entry
EARLIER_CHARS = 8000  # all of them together: each gets an even share, at most PER_NODE_CHARS
BRANCH_DIFF_CHARS = 8000
# Below this, a cut diff tells less than the files the agent can read: only a note is left.
MIN_DIFF_CHARS = 200
CUT_NOTE_CHARS = 40  # `cut`'s "[... N characters cut ...]" line


@dataclass(frozen=True)
class DoneWork:
    """A requirement the run finished: what the agent said of it and the diff committed."""

    node_id: str
    title: str
    summary: str
    diff: str


def readable_diff(patch: bytes) -> str:
    """A `git diff --binary` patch as prompt text: binary files keep their header, and their
    base85 content gives way to a line saying so."""
    return _plain(decode(patch))


def _plain(diff: str) -> str:
    # `index <sha>..<sha>` lines tell a model nothing and cost it 20 to 90 characters a file;
    # no hunk line can start with "index " or "diff --git " (hunk lines start with " +-\").
    kept: list[str] = []
    binary = False
    for line in diff.splitlines(keepends=True):
        if line.startswith("diff --git "):
            binary = False
        elif line.rstrip("\n") == "GIT binary patch":
            kept.append("(binary content not shown)\n")
            binary = True
        if not binary and not line.startswith("index "):
            kept.append(line)
    return "".join(kept)


def earlier_entries(done: Sequence[DoneWork]) -> list[str]:
    """One text per finished requirement, oldest first, for `NodeTask.earlier`; each within
    an even share of EARLIER_CHARS (at most PER_NODE_CHARS), its diff cut with a note."""
    if not done:
        return []
    share = min(PER_NODE_CHARS, EARLIER_CHARS // len(done))
    return [_entry(work, share) for work in done]


def _entry(work: DoneWork, limit: int) -> str:
    summary = _within(work.summary.strip() or "(no summary)", limit // 3)
    head = f"{work.node_id}: {work.title}\nSummary: {summary}\n"
    if not work.diff.strip():
        return head + "It changed no file."
    room = limit - len(head) - len("Diff:\n")
    if room < MIN_DIFF_CHARS:
        return head + f"Its diff ({len(work.diff)} characters) is left out: read the files."
    return head + "Diff:\n" + _within(work.diff.strip("\n"), room)


def branch_diff(diff: str) -> str:
    """The branch's diff against the base branch, within BRANCH_DIFF_CHARS (cut with a note)."""
    return _within(_plain(diff).strip("\n"), BRANCH_DIFF_CHARS)


def _within(text: str, limit: int) -> str:
    # `cut` keeps `limit` characters of the text and adds its note: the note counts here.
    return text if len(text) <= limit else cut(text, limit - CUT_NOTE_CHARS)


async def done_on_branch(checkout: Checkout, tree: RequirementTree) -> list[DoneWork]:
    """What the tree's finished requirements did, read from their commits on the branch (the
    message carries the agent's summary): a session that starts part-way through the tree,
    after a worker restart or a person's answer, carries it on too."""
    titles = {n.id: n.title for n in tree.nodes if n.status is NodeStatus.DONE}
    if not titles:
        return []  # a fresh tree: no git call
    return [
        DoneWork(commit.node, titles[commit.node], commit.body, _plain(commit.diff))
        for commit in await checkout.node_commits()
        if commit.node in titles
    ]


REPRODUCED_CHARS = 2500


def reproduction_note(command: str, result: CommandResult | None) -> str | None:
    """What the first requirement is told of the repository's tests before any change: when
    they fail, the failure, which is usually the reported bug, reproduced. A small model given
    the failing assertion and its line finds the fix; left to reproduce it, it often never runs
    the tests at all."""
    if result is None or (result.exit_code == 0 and not result.timed_out):
        return None
    how = "timed out" if result.timed_out else f"exits {result.exit_code}"
    return (
        f"Before any change, the test command `{command}` {how}. Its output (cut to the "
        f"essentials) shows what is wrong now:\n\n{cut(result.output, REPRODUCED_CHARS)}"
    )

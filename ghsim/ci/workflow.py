"""Parse `.github/workflows/*.yml` into the subset of GitHub Actions that ghsim runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ghsim.ci.expressions import has_expression
from ghsim.ci.matrix import MatrixError, MatrixExpression, combinations
from ghsim.ci.patterns import selected

SUPPORTED_EVENTS = ("push", "pull_request")
# The pull request actions a workflow runs on when `types` names none.
DEFAULT_PULL_TYPES = ("opened", "synchronize", "reopened")
DEFAULT_TIMEOUT_MINUTES = 360.0


class WorkflowError(ValueError):
    """GitHub refuses the file: what would run it gets a failed run with no jobs instead."""


class WorkflowUnsupported(ValueError):
    """Valid on GitHub but outside the subset ghsim runs: a reusable workflow's call, or an
    expression where ghsim needs a value (a matrix, `timeout-minutes`)."""


# GitHub evaluates `paths` filters on the first 300 changed files only ("Diffs are limited to
# 300 files"): a change past them that would match does not start the workflow.
MAX_FILTERED_FILES = 300


@dataclass(frozen=True)
class Trigger:
    branches: tuple[str, ...] = ()
    branches_ignore: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    paths_ignore: tuple[str, ...] = ()
    # `pull_request.types`; empty means GitHub's default.
    types: tuple[str, ...] = ()
    # `tags`/`tags-ignore` without a branch filter: the push runs for tags only, never for a
    # branch (and ghsim starts no runs for tags).
    tags_only: bool = False

    @property
    def filters_paths(self) -> bool:
        return bool(self.paths or self.paths_ignore)

    def matches(
        self, branch: str | None, action: str | None = None, changed: Sequence[str] = ()
    ) -> bool:
        """Whether an event on `branch` (a pull request's: its base) runs the workflow;
        `changed` is the event's diff when `filters_paths`."""
        if self.tags_only:
            return False
        if branch is None:
            if self.branches:
                return False
        elif not selected(branch, self.branches, self.branches_ignore):
            return False
        if action is not None and action not in (self.types or DEFAULT_PULL_TYPES):
            return False
        if not self.filters_paths:
            return True
        first = changed[:MAX_FILTERED_FILES]
        return any(selected(path, self.paths, self.paths_ignore) for path in first)


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    run: str | None = None
    uses: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    working_directory: str | None = None
    condition: str | None = None
    timeout_minutes: float | None = None
    continue_on_error: bool = False

    @property
    def is_checkout(self) -> bool:
        return self.uses is not None and self.uses.split("@", 1)[0] == "actions/checkout"


@dataclass(frozen=True)
class Job:
    key: str
    name: str
    steps: tuple[Step, ...]
    env: dict[str, str] = field(default_factory=dict)
    timeout_minutes: float = DEFAULT_TIMEOUT_MINUTES
    working_directory: str | None = None
    runs_on: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    condition: str | None = None
    # The matrix contexts of its instances; a job without a matrix has one, empty.
    matrix: tuple[dict[str, Any], ...] = ({},)


class Triggered:
    triggers: dict[str, Trigger]

    def runs_on_event(
        self,
        event: str,
        branch: str | None,
        action: str | None = None,
        changed: Sequence[str] = (),
    ) -> bool:
        trigger = self.triggers.get(event)
        return trigger is not None and trigger.matches(branch, action, changed)

    def filters_paths(self, event: str) -> bool:
        trigger = self.triggers.get(event)
        return trigger is not None and trigger.filters_paths


@dataclass(frozen=True)
class Workflow(Triggered):
    path: str
    name: str
    triggers: dict[str, Trigger]
    jobs: tuple[Job, ...]
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InvalidWorkflow(Triggered):
    """A file GitHub refuses. Each event it would run on gets a run named after its path,
    completed `failure` with no jobs ("This run likely failed because of a workflow file
    issue"); a file whose `on` cannot be read fails on every push."""

    path: str
    error: str
    triggers: dict[str, Trigger]


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return tuple(str(v) for v in value)
    raise WorkflowError(f"{what} must be a string or a list of strings")


def _runs_on(value: Any, what: str) -> tuple[str, ...]:
    """A label, a list of them, or GitHub's `{group, labels}` mapping (ghsim has one runner,
    so the labels are only shown)."""
    if isinstance(value, dict):
        unknown = set(value) - {"group", "labels"}
        if unknown:
            raise WorkflowError(f"{what}: Unexpected value '{sorted(unknown)[0]}'")
        labels = _strings(value.get("group"), f"{what}.group") + _strings(
            value.get("labels"), f"{what}.labels"
        )
    else:
        labels = _strings(value, what)
    if not labels:
        # GitHub's schema: a runner is named by at least one label.
        raise WorkflowError(f"{what}: a runner needs at least one label")
    return labels


def _env(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WorkflowError(f"{what} must be a mapping")
    return {
        str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in value.items()
    }


def _minutes(value: Any, what: str, default: float | None) -> float | None:
    if value is None:
        return default
    if isinstance(value, str) and has_expression(value):
        raise WorkflowUnsupported(f"{what} is an expression, which ghsim does not evaluate there")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise WorkflowError(f"{what} must be a positive number")
    return float(value)


def _triggers(on: Any) -> dict[str, Trigger]:
    if isinstance(on, str):
        on = [on]
    if isinstance(on, list):
        return {str(e): Trigger() for e in on if e in SUPPORTED_EVENTS}
    if not isinstance(on, dict):
        raise WorkflowError("`on` must be a string, a list or a mapping")
    triggers = {}
    for event, spec in on.items():
        if event not in SUPPORTED_EVENTS:
            continue
        spec = spec or {}
        if not isinstance(spec, dict):
            raise WorkflowError(f"`on.{event}` must be a mapping")
        # Other keys are ignored: GitHub runs a workflow whose filter has a typo (`path:`)
        # on every such event.
        where = f"on.{event}"
        for name in ("branches", "tags", "paths"):
            if name in spec and f"{name}-ignore" in spec:
                raise WorkflowError(
                    f"{where}: you cannot use both the {name} and {name}-ignore filters "
                    "for the same event"
                )
        triggers[event] = Trigger(
            branches=_strings(spec.get("branches"), f"{where}.branches"),
            branches_ignore=_strings(spec.get("branches-ignore"), f"{where}.branches-ignore"),
            paths=_strings(spec.get("paths"), f"{where}.paths"),
            paths_ignore=_strings(spec.get("paths-ignore"), f"{where}.paths-ignore"),
            types=_strings(spec.get("types"), f"{where}.types"),
            tags_only=bool({"tags", "tags-ignore"} & set(spec))
            and not {"branches", "branches-ignore"} & set(spec),
        )
    return triggers


# GitHub's workflow schema: the keys each level may hold; any other is refused. YAML 1.1
# reads a bare `on` as the boolean true.
_WORKFLOW_KEYS = (
    "name", "run-name", "description", "on", True, "permissions", "env", "defaults",
    "concurrency", "jobs",
)  # fmt: skip
_JOB_KEYS = (
    "name", "needs", "permissions", "runs-on", "environment", "outputs", "env", "defaults",
    "if", "steps", "timeout-minutes", "cancel-timeout-minutes", "strategy",
    "continue-on-error", "container", "services", "concurrency", "snapshot",
)  # fmt: skip
_CALL_KEYS = (
    "name", "needs", "permissions", "if", "uses", "with", "secrets", "strategy", "concurrency",
)  # fmt: skip
_STEP_KEYS = ("id", "if", "name", "env", "continue-on-error", "timeout-minutes")
# A step runs a command or uses an action; each has keys of its own.
_RUN_STEP_KEYS = (*_STEP_KEYS, "run", "working-directory", "shell")
_USES_STEP_KEYS = (*_STEP_KEYS, "uses", "with")


def _only(raw: dict[Any, Any], allowed: tuple[Any, ...], where: str) -> None:
    """GitHub refuses a key its workflow schema does not know, in its words."""
    for key in raw:
        if key not in allowed:
            raise WorkflowError(f"{where}: Unexpected value '{key}'")


def _step(index: int, raw: Any, job_key: str) -> Step:
    where = f"jobs.{job_key}.steps[{index - 1}]"
    if not isinstance(raw, dict):
        raise WorkflowError(f"{where} must be a mapping")
    run, uses = raw.get("run"), raw.get("uses")
    if (run is None) == (uses is None):
        raise WorkflowError(f"{where} needs exactly one of `run` and `uses`")
    _only(raw, _RUN_STEP_KEYS if uses is None else _USES_STEP_KEYS, where)
    default_name = f"Run {uses}" if uses is not None else f"Run {str(run).strip().splitlines()[0]}"
    return Step(
        number=index,
        name=str(raw.get("name") or default_name),
        run=None if run is None else str(run),
        uses=None if uses is None else str(uses),
        env=_env(raw.get("env"), f"{where}.env"),
        working_directory=raw.get("working-directory"),
        condition=_condition(raw.get("if")),
        timeout_minutes=_minutes(raw.get("timeout-minutes"), f"{where}.timeout-minutes", None),
        continue_on_error=bool(raw.get("continue-on-error", False)),
    )


def _job(key: str, raw: Any, top_run: dict[str, Any]) -> Job:
    if not isinstance(raw, dict):
        raise WorkflowError(f"jobs.{key} must be a mapping")
    if raw.get("uses") is not None:
        _only(raw, _CALL_KEYS, f"jobs.{key}")
        raise WorkflowUnsupported(f"jobs.{key} calls a reusable workflow, which ghsim does not run")
    _only(raw, _JOB_KEYS, f"jobs.{key}")
    if raw.get("runs-on") is None:
        # GitHub's words; only a reusable workflow's call may leave it out.
        raise WorkflowError(f"jobs.{key}: Required property is missing: runs-on")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        raise WorkflowError(f"jobs.{key}.steps must be a non-empty list")
    run_defaults = _run_defaults(raw.get("defaults"), f"jobs.{key}.defaults")
    timeout = _minutes(
        raw.get("timeout-minutes"), f"jobs.{key}.timeout-minutes", DEFAULT_TIMEOUT_MINUTES
    )
    strategy = raw.get("strategy") or {}
    if not isinstance(strategy, dict):
        raise WorkflowError(f"jobs.{key}.strategy must be a mapping")
    _only(strategy, ("matrix", "fail-fast", "max-parallel"), f"jobs.{key}.strategy")
    matrix: tuple[dict[str, Any], ...] = ({},)
    if strategy.get("matrix") is not None:
        try:
            matrix = combinations(strategy["matrix"], f"jobs.{key}.strategy.matrix")
        except MatrixError as exc:
            raise WorkflowError(str(exc)) from exc
        except MatrixExpression as exc:
            raise WorkflowUnsupported(str(exc)) from exc
    return Job(
        key=key,
        name=str(raw.get("name") or key),
        steps=tuple(_step(i, s, key) for i, s in enumerate(steps, start=1)),
        env=_env(raw.get("env"), f"jobs.{key}.env"),
        timeout_minutes=DEFAULT_TIMEOUT_MINUTES if timeout is None else timeout,
        # A job's `defaults.run` over the workflow's.
        working_directory={**top_run, **run_defaults}.get("working-directory"),
        runs_on=_runs_on(raw["runs-on"], f"jobs.{key}.runs-on"),
        needs=_strings(raw.get("needs"), f"jobs.{key}.needs"),
        condition=_condition(raw.get("if")),
        matrix=matrix,
    )


def _run_defaults(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WorkflowError(f"{where} must be a mapping")
    _only(value, ("run",), where)
    run = value.get("run") or {}
    if not isinstance(run, dict):
        raise WorkflowError(f"{where}.run must be a mapping")
    _only(run, ("shell", "working-directory"), f"{where}.run")
    return run


def _condition(value: Any) -> str | None:
    if value is None:
        return None
    # YAML reads `if: false` as a boolean; the expression is its lower-case word.
    return str(value).lower() if isinstance(value, bool) else str(value)


def _check_needs(jobs: tuple[Job, ...], others: frozenset[str] = frozenset()) -> None:
    """GitHub refuses a workflow whose `needs` name an unknown job or go round in a circle.

    `others` are jobs ghsim does not run (reusable workflows' calls): they exist.
    """
    keys = {job.key: job for job in jobs}
    for job in jobs:
        for need in job.needs:
            if need not in keys and need not in others:
                raise WorkflowError(f"Job '{job.key}' depends on unknown job '{need}'.")
    done: set[str] = set()

    def visit(key: str, path: tuple[str, ...]) -> None:
        if key in path:
            raise WorkflowError(f"Job '{key}' depends on itself through {' -> '.join(path)}.")
        if key in done or key not in keys:
            return
        for need in keys[key].needs:
            visit(need, (*path, key))
        done.add(key)

    for job in jobs:
        visit(job.key, ())


def _document(text: str) -> dict[Any, Any]:
    import yaml  # only pushes with workflows need it, start-up does not

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorkflowError(f"invalid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise WorkflowError("a workflow must be a mapping")
    return doc


def _on(doc: dict[Any, Any]) -> Any:
    # YAML 1.1 reads the bare key `on` as the boolean true.
    return doc.get("on", doc.get(True))


def parse_workflow(path: str, text: str) -> Workflow:
    """Parse one workflow file; raise WorkflowError saying what is wrong."""
    doc = _document(text)
    _only(doc, _WORKFLOW_KEYS, "the workflow")
    on = _on(doc)
    if on is None:
        raise WorkflowError("missing `on`")
    jobs = doc.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        raise WorkflowError("`jobs` must be a non-empty mapping")
    triggers = _triggers(on)
    env = _env(doc.get("env"), "env")
    top_run = _run_defaults(doc.get("defaults"), "defaults")
    # What ghsim cannot run is said only once the whole file is known valid: GitHub's refusal
    # of a later job (or of `needs`) is a failed run, and must not hide behind it.
    parsed: list[Job] = []
    unsupported: dict[str, WorkflowUnsupported] = {}
    for k, v in jobs.items():
        try:
            parsed.append(_job(str(k), v, top_run))
        except WorkflowUnsupported as exc:
            unsupported[str(k)] = exc
    _check_needs(tuple(parsed), frozenset(unsupported))
    if unsupported:
        raise next(iter(unsupported.values()))
    return Workflow(
        path=path,
        name=str(doc.get("name") or path),
        triggers=triggers,
        jobs=tuple(parsed),
        env=env,
    )


def read_workflow(path: str, text: bytes) -> Workflow | InvalidWorkflow:
    """A workflow file as GitHub takes it: runnable, or refused with the reason.

    Raises WorkflowUnsupported for a valid file ghsim cannot run.
    """
    try:
        return parse_workflow(path, text.decode())
    except (WorkflowError, UnicodeDecodeError) as exc:
        return InvalidWorkflow(path, str(exc), _readable_triggers(text))


def _readable_triggers(text: bytes) -> dict[str, Trigger]:
    every_push = {"push": Trigger()}
    try:
        on = _on(_document(text.decode()))
        return every_push if on is None else _triggers(on)
    except (WorkflowError, UnicodeDecodeError):
        # GitHub cannot tell which events an unreadable file names: it fails every push.
        return every_push

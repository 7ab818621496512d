"""Run one workflow job step by step in its own container and report each step as it moves."""

from __future__ import annotations

import posixpath
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ghsim.ci.conditions import UnsupportedCondition, should_run
from ghsim.ci.expressions import ExpressionError, Scope, interpolate
from ghsim.ci.logs import JobLog
from ghsim.ci.sandbox import WORKSPACE, JobContainer, SandboxConfig, SandboxError
from ghsim.ci.workflow import Job, Step


@dataclass(frozen=True)
class StepState:
    number: int
    name: str
    status: str = "queued"
    conclusion: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class JobOutcome:
    conclusion: str
    steps: tuple[StepState, ...]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _name(step: Step, scope: Scope) -> str:
    try:
        return interpolate(step.name, scope)
    except ExpressionError:
        return step.name


def _workdir(job: Job, step: Step) -> str:
    relative = step.working_directory or job.working_directory or "."
    return posixpath.normpath(posixpath.join(WORKSPACE, relative))


class JobExecutor:
    """Executes a parsed job; `on_step` sees every step change so callers can persist it."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config

    def run(
        self,
        job_id: int,
        job: Job,
        env: dict[str, str],
        checkout: Callable[[], bytes],
        log: JobLog,
        cancel: threading.Event,
        on_step: Callable[[StepState], None],
        scope: Scope | None = None,
    ) -> JobOutcome:
        scope = scope or Scope()
        states = {s.number: StepState(s.number, _name(s, scope)) for s in job.steps}
        deadline = time.monotonic() + job.timeout_minutes * 60

        def update(state: StepState) -> None:
            states[state.number] = state
            on_step(state)

        log.line(f"Job '{job.name}' in image {self.config.image}, no network")
        try:
            container = JobContainer(self.config, job_id)
        except SandboxError as exc:
            log.line(f"##[error]Could not start the job container: {exc}")
            return JobOutcome("failure", tuple(states.values()))
        failed = timed_out = cancelled = False
        try:
            for step in job.steps:
                cancelled = cancelled or cancel.is_set()
                remaining = deadline - time.monotonic()
                if remaining <= 0 and not timed_out:
                    timed_out = True
                    log.line(
                        f"##[error]The job has exceeded the maximum execution time of "
                        f"{job.timeout_minutes:g} minutes."
                    )
                try:
                    runs = not timed_out and should_run(
                        step.condition, failed, cancelled, scope.contexts
                    )
                except UnsupportedCondition as exc:
                    log.line(f"Skipping '{step.name}': ghsim cannot evaluate if: {exc}")
                    runs = False
                if not runs:
                    update(replace(states[step.number], status="completed", conclusion="skipped"))
                    continue
                update(replace(states[step.number], status="in_progress", started_at=_now()))
                conclusion = self._step(
                    container, job, step, env, remaining, log, cancel, checkout, scope
                )
                update(
                    replace(
                        states[step.number],
                        status="completed",
                        conclusion=conclusion,
                        completed_at=_now(),
                    )
                )
                if conclusion == "timed_out":
                    timed_out = True
                elif conclusion == "cancelled":
                    cancelled = True
                elif conclusion == "failure" and not step.continue_on_error:
                    failed = True
        finally:
            container.remove()
        log.line("Cleaning up orphan processes")
        if cancelled:
            return JobOutcome("cancelled", tuple(states.values()))
        if timed_out:
            return JobOutcome("timed_out", tuple(states.values()))
        return JobOutcome("failure" if failed else "success", tuple(states.values()))

    def _step(
        self,
        container: JobContainer,
        job: Job,
        step: Step,
        env: dict[str, str],
        remaining: float,
        log: JobLog,
        cancel: threading.Event,
        checkout: Callable[[], bytes],
        scope: Scope,
    ) -> str:
        if step.is_checkout:
            log.line(f"##[group]Run {step.uses}")
            log.line("##[endgroup]")
            return self._checkout(container, log, checkout)
        if step.run is None:
            log.line(f"##[group]Run {step.uses}")
            log.line(f"ghsim runs no actions besides actions/checkout; skipping {step.uses}")
            log.line("##[endgroup]")
            return "skipped"
        try:
            script = interpolate(step.run, scope)
            step_env = {k: interpolate(v, scope) for k, v in step.env.items()}
        except ExpressionError as exc:
            log.line(f"##[error]{exc}")
            return "failure"
        log.line(f"##[group]Run {script.strip().splitlines()[0] if script.strip() else ''}")
        log.line(script.rstrip())
        log.line("shell: /usr/bin/bash --noprofile --norc -e -o pipefail {0}")
        log.line("##[endgroup]")
        limit = remaining
        if step.timeout_minutes is not None:
            limit = min(remaining, step.timeout_minutes * 60)
        outcome = container.run_bash(
            script, {**env, **step_env}, _workdir(job, step), limit, log.output, cancel
        )
        log.flush()
        if outcome.cancelled:
            log.line("##[error]The operation was canceled.")
            return "cancelled"
        if outcome.timed_out:
            if step.timeout_minutes is not None and limit < remaining:
                log.line(
                    f"##[error]The action '{step.name}' has timed out after "
                    f"{step.timeout_minutes:g} minutes."
                )
            else:
                log.line(
                    f"##[error]The job has exceeded the maximum execution time of "
                    f"{job.timeout_minutes:g} minutes."
                )
            return "timed_out"
        if outcome.exit_code != 0:
            log.line(f"##[error]Process completed with exit code {outcome.exit_code}.")
            return "failure"
        return "success"

    def _checkout(self, container: JobContainer, log: JobLog, checkout: Callable[[], bytes]) -> str:
        try:
            container.put_checkout(checkout())
        except (RuntimeError, OSError) as exc:  # SandboxError, or git archive failing
            log.line(f"##[error]Checkout failed: {exc}")
            return "failure"
        log.line(f"Checked out the commit into {WORKSPACE}")
        return "success"
